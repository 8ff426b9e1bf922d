using Aida.Model.Facility;
using Aida.Twin.Physics;

namespace Aida.Twin.Plant;

internal sealed partial class PlantModel
{
    private bool AnyUpsAlive()
    {
        for (var u = 0; u < _upsAlive.Length; u++)
        {
            if (_upsAlive[u])
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Utility feeds, generators (start after a delay unless they fail to) and which feeds are live.</summary>
    private void StepPowerSources(double dt)
    {
        var gens = _f.Power.Generators;
        for (var i = 0; i < _feedPowered.Length; i++)
        {
            var powered = _utilityUp[i];
            for (var g = 0; g < gens.Count; g++)
            {
                if (_feedIndexOfGenerator[g] != i)
                {
                    continue;
                }

                if (_utilityUp[i])
                {
                    _generatorRunning[g] = false;
                    _generatorStartAt[g] = double.NaN;
                    continue;
                }

                // NFPA 110 Type 10: a standby generator takes the load within 10 s of the outage.
                if (double.IsNaN(_generatorStartAt[g]))
                {
                    _generatorStartAt[g] = Now + gens[g].StartTime.TotalSeconds;
                }

                if (!_generatorFailToStart[g] && Now >= _generatorStartAt[g])
                {
                    _generatorRunning[g] = true;
                }

                if (_generatorFailToStart[g])
                {
                    _generatorRunning[g] = false;
                }

                powered |= _generatorRunning[g];
            }

            _feedPowered[i] = powered;
        }

        // Chillers and dry coolers on a dead feed stop; chillers need their restart time once power is back.
        var chillers = _f.Cooling.Chillers;
        for (var i = 0; i < chillers.Count; i++)
        {
            if (!_feedPowered[_chillerFeed[i]] && _chillerState[i] is AssetState.Running or AssetState.Starting)
            {
                _chillerState[i] = AssetState.Starting;
                _chillerStartAt[i] = double.PositiveInfinity;
            }
            else if (_feedPowered[_chillerFeed[i]] && _chillerState[i] == AssetState.Starting && double.IsPositiveInfinity(_chillerStartAt[i]))
            {
                _chillerStartAt[i] = Now + chillers[i].RestartTime.TotalSeconds;
            }
        }

        var ups = _f.Power.Ups;
        for (var u = 0; u < ups.Count; u++)
        {
            var input = _feedPowered[_txFeed[_upsTx[u]]];
            _upsOnBattery[u] = !input && _upsBattery[u] > 0;
            if (input)
            {
                _upsAlive[u] = true;
                _upsBattery[u] = Math.Min(1, _upsBattery[u] + (dt / BatteryRechargeSeconds));
            }
            else if (_upsBattery[u] <= 0)
            {
                _upsAlive[u] = false;
            }
        }

        for (var r = 0; r < _rackPowered.Length; r++)
        {
            var on = false;
            foreach (var b in _rackBusways[r])
            {
                on |= _upsAlive[_buswayUps[b]];
            }

            _rackPowered[r] = on;
        }
    }

    /// <summary>BMS automatic changeover: standby CRAHs and chillers start when an enabled unit is failed or in maintenance,
    /// and go back to standby once it is back.</summary>
    private void StepRedundancy()
    {
        Changeover(_chillerState, _chillerStartAt, _chillerAutoStarted, _aChillerEnable, _chillerGroup, _chillerRestartSeconds);
        Changeover(_crahState, _crahStartAt, _crahAutoStarted, _aCrahEnable, _crahGroup, _crahStartSeconds);
    }

    /// <param name="group">Redundancy group of each unit: a standby only replaces a unit of its own group.</param>
    private void Changeover(AssetState[] state, double[] startAt, bool[] auto, int[] enableActuator, int[] group, double[] startSeconds)
    {
        var missing = _groupScratch;
        Array.Clear(missing);
        for (var i = 0; i < state.Length; i++)
        {
            if (_actuators.Value(enableActuator[i]) >= 0.5 && (state[i] is AssetState.Failed or AssetState.Maintenance || (state[i] == AssetState.Starting && double.IsPositiveInfinity(startAt[i]))))
            {
                missing[group[i]]++;
            }
        }

        for (var i = 0; i < state.Length; i++)
        {
            if (missing[group[i]] == 0)
            {
                auto[i] = false;
            }
            else if (auto[i])
            {
                missing[group[i]]--;
            }
        }

        for (var i = 0; i < state.Length; i++)
        {
            if (missing[group[i]] > 0 && !auto[i] && state[i] == AssetState.Standby && _actuators.Value(enableActuator[i]) < 0.5)
            {
                auto[i] = true;
                missing[group[i]]--;
            }
        }

        for (var i = 0; i < state.Length; i++)
        {
            var enabled = _actuators.Value(enableActuator[i]) >= 0.5 || auto[i];
            switch (state[i])
            {
                case AssetState.Starting when Now >= startAt[i]:
                    state[i] = AssetState.Running;
                    break;
                case AssetState.Running when !enabled:
                case AssetState.Starting when !enabled && !double.IsPositiveInfinity(startAt[i]):
                    state[i] = AssetState.Standby;
                    break;
                case AssetState.Standby when enabled:
                    state[i] = AssetState.Starting;
                    startAt[i] = Now + startSeconds[i];
                    break;
            }
        }
    }

    /// <summary>Loads and losses from racks back to the utility; UPS batteries discharge when their input is dead.</summary>
    private void StepPowerChain(double dt)
    {
        var t = Totals;
        var p = _f.Power;
        Array.Clear(_buswayLoad);
        for (var r = 0; r < _rackPower.Length; r++)
        {
            var live = 0;
            foreach (var b in _rackBusways[r])
            {
                live += _upsAlive[_buswayUps[b]] ? 1 : 0;
            }

            // Dual-corded racks share their load between live sides.
            foreach (var b in _rackBusways[r])
            {
                if (_upsAlive[_buswayUps[b]])
                {
                    _buswayLoad[b] += _rackPower[r] / live;
                }
            }
        }

        Array.Clear(_upsOutput);
        for (var b = 0; b < _buswayLoad.Length; b++)
        {
            _buswayLoss[b] = ElectricalLosses.Busway(p.Busways[b], _buswayLoad[b]);
            _upsOutput[_buswayUps[b]] += _buswayLoad[b] + _buswayLoss[b];
            t.BuswayLossJoules += _buswayLoss[b] * dt;
        }

        // Critical mechanical load (CDU pumps, CRAH fans, facility water pumps) rides the UPSs, shared between live ones,
        // so cooling keeps running through the generator start gap.
        var critical = _fwPumpPower;
        foreach (var x in _cduPumpPower)
        {
            critical += x;
        }

        foreach (var x in _crahFanPower)
        {
            critical += x;
        }

        var liveUps = 0;
        foreach (var alive in _upsAlive)
        {
            liveUps += alive ? 1 : 0;
        }

        Array.Clear(_txLoad);
        var anyBattery = false;
        for (var u = 0; u < _upsOutput.Length; u++)
        {
            if (!_upsAlive[u])
            {
                _upsOutput[u] = 0;
                _upsLoss[u] = 0;
                continue;
            }

            _upsOutput[u] += critical / liveUps;
            // On battery the inverter carries the load whatever the mode; on utility, eco mode bypasses it.
            var mode = !_upsOnBattery[u] && _actuators.Value(_aUpsEco[u]) >= 0.5 ? UpsMode.Eco : UpsMode.DoubleConversion;
            _upsLoss[u] = ElectricalLosses.Ups(p.Ups[u], mode, _upsOutput[u]);
            t.UpsLossJoules += _upsLoss[u] * dt;
            if (_upsOnBattery[u])
            {
                anyBattery = true;
                var energy = p.Ups[u].RatedWatts * p.Ups[u].RuntimeAtRatedLoad.TotalSeconds;
                _upsBattery[u] = Math.Max(0, _upsBattery[u] - ((_upsOutput[u] + _upsLoss[u]) * dt / energy));
            }
            else
            {
                _txLoad[_upsTx[u]] += _upsOutput[u] + _upsLoss[u];
            }

            t.MinUpsBattery = Math.Min(t.MinUpsBattery, _upsBattery[u]);
        }

        if (anyBattery)
        {
            t.UpsOnBatterySeconds += dt;
        }

        // Non-critical mechanical load and lighting go straight to the transformers of their feed.
        var chillers = _f.Cooling.Chillers;
        for (var i = 0; i < chillers.Count; i++)
        {
            AddToFeed(_chillerFeed[i], _chillerPower[i] + _condenserPumpPower[i]);
        }

        for (var i = 0; i < _dryCoolerPower.Length; i++)
        {
            AddToFeed(_dryCoolerFeed[i], _dryCoolerPower[i]);
        }

        for (var i = 0; i < _towerPower.Length; i++)
        {
            AddToFeed(_towerFeed[i], _towerPower[i]);
        }

        var misc = _f.MiscPowerWatts;
        t.MiscJoules += misc * dt;
        var txCount = _txLoad.Length;
        for (var x = 0; x < txCount; x++)
        {
            _txLoad[x] += misc / txCount;
            _txLoss[x] = _feedPowered[_txFeed[x]] ? ElectricalLosses.Transformer(p.Transformers[x], _txLoad[x]) : 0;
            t.TransformerLossJoules += _txLoss[x] * dt;
        }
    }

    private void AddToFeed(int feed, double watts)
    {
        var count = 0;
        for (var x = 0; x < _txFeed.Length; x++)
        {
            count += _txFeed[x] == feed ? 1 : 0;
        }

        for (var x = 0; x < _txFeed.Length; x++)
        {
            if (_txFeed[x] == feed)
            {
                _txLoad[x] += watts / count;
            }
        }
    }
}
