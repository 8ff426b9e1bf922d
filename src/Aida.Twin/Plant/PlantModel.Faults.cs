using Aida.Model.Config;
using Aida.Model.Scenarios;
using Aida.Twin.Sensors;

namespace Aida.Twin.Plant;

internal sealed partial class PlantModel
{
    /// <summary>Checks, before the run starts, that every sensor and actuator fault names a real point or actuator, and
    /// that every planned write names a real actuator and a value within its range.</summary>
    public void ValidateScenario(Scenario scenario)
    {
        for (var i = 0; i < scenario.Faults.Count; i++)
        {
            var f = scenario.Faults[i];
            var entry = FaultCatalog.Of(f.Kind);
            if (entry.AssetKinds[0] == "point" && _sensors.Find(f.Point!) < 0)
            {
                throw new ConfigException(scenario.SourceFile, f.Line, $"faults[{i}].point", $"unknown point '{f.Point}' (points are named asset/quantity, e.g. cdu-h1-1/supply_temperature)");
            }

            if (entry.AssetKinds[0] == "actuator" && _actuators.Find(f.Point!) < 0)
            {
                throw new ConfigException(scenario.SourceFile, f.Line, $"faults[{i}].actuator", $"unknown actuator '{f.Point}' (actuators are named asset/setting, e.g. cdu-h1-1/supply_setpoint)");
            }
        }

        for (var i = 0; i < scenario.Writes.Count; i++)
        {
            var w = scenario.Writes[i];
            var a = _actuators.Find(w.Actuator);
            if (a < 0)
            {
                throw new ConfigException(scenario.SourceFile, w.Line, $"writes[{i}].actuator", $"unknown actuator '{w.Actuator}' (actuators are named asset/setting, e.g. cdu-h1-1/supply_setpoint)");
            }

            var info = _actuators.Info[a];
            if (w.Value < info.Min || w.Value > info.Max)
            {
                throw new ConfigException(scenario.SourceFile, w.Line, $"writes[{i}].value", $"{w.Value} {info.Unit} is outside {info.Name}'s range [{info.Min}, {info.Max}]");
            }
        }
    }

    /// <summary>Starts or ends a fault (ground truth from the scenario). Called by the simulator at the fault's start and end.</summary>
    public void ApplyFault(FaultSpec fault, bool active)
    {
        var f = _f;
        switch (fault.Kind)
        {
            case FaultKind.ChillerTrip:
                var ch = IndexOf(f.Cooling.Chillers, c => c.Id, fault.Asset);
                if (active)
                {
                    _chillerState[ch] = AssetState.Failed;
                }
                else if (_chillerState[ch] == AssetState.Failed)
                {
                    _chillerState[ch] = AssetState.Starting;
                    _chillerStartAt[ch] = Now + f.Cooling.Chillers[ch].RestartTime.TotalSeconds;
                }

                break;
            case FaultKind.CduPumpFailure:
                var cdu = IndexOf(f.Cooling.Cdus, c => c.Id, fault.Asset);
                var pumps = (int)fault.Parameter("pumps");
                _cduPumpsFailed[cdu] = Math.Max(0, _cduPumpsFailed[cdu] + (active ? pumps : -pumps));
                if (active)
                {
                    // Running pumps are the ones that fail; the BMS starts standbys after its changeover delay.
                    _cduPumpsRunning[cdu] = Math.Max(0, _cduPumpsRunning[cdu] - pumps);
                    _cduChangeoverAt[cdu] = Now + PumpChangeoverSeconds;
                }

                break;
            case FaultKind.CrahFanFailure:
                var cr = IndexOf(f.Cooling.Crahs, c => c.Id, fault.Asset);
                _crahState[cr] = active ? AssetState.Failed : AssetState.Standby;
                break;
            case FaultKind.ColdPlateFouling:
                for (var r = 0; r < f.Racks.Count; r++)
                {
                    if (f.Racks[r].Id == fault.Asset || f.Racks[r].Cdu == fault.Asset)
                    {
                        Foul(_rackFouling, _rackFoulingRate, _rackFoulingSince, r, fault, active);
                    }
                }

                break;
            case FaultKind.DryCoolerFouling:
                Foul(_dryCoolerFouling, _dryCoolerFoulingRate, _dryCoolerFoulingSince, IndexOf(f.Cooling.DryCoolers, d => d.Id, fault.Asset), fault, active);

                break;
            case FaultKind.CoolingTowerFouling:
                Foul(_towerFouling, _towerFoulingRate, _towerFoulingSince, IndexOf(f.Cooling.CoolingTowers, t => t.Id, fault.Asset), fault, active);

                break;
            case FaultKind.ValveStuck:
                var v = IndexOf(f.Cooling.Cdus, c => c.Id, fault.Asset);
                _cduValveStuck[v] = active ? fault.Parameter("position") : double.NaN;
                break;
            case FaultKind.UtilityOutage:
                _utilityUp[IndexOf(f.Power.Feeds, x => x.Id, fault.Asset)] = !active;
                break;
            case FaultKind.GeneratorFailToStart:
                _generatorFailToStart[IndexOf(f.Power.Generators, x => x.Id, fault.Asset)] = active;
                break;
            case FaultKind.Leak:
                var lr = IndexOf(f.Racks, x => x.Id, fault.Asset);
                _rackLeak[lr] = active;
                if (!active)
                {
                    _cduLevel[_rackCdu[lr]] = 1; // repaired and refilled
                }

                UpdateLeakRates(fault);
                break;
            case FaultKind.PowerSwing:
                for (var r = 0; r < f.Racks.Count; r++)
                {
                    if (fault.Asset == "site" || f.Racks[r].Id == fault.Asset || f.Racks[r].Hall == fault.Asset)
                    {
                        _swingScope[r] = active;
                        _swingFault = active ? fault : _swingFault;
                        if (!active)
                        {
                            _rackSwing[r] = double.NaN;
                        }
                    }
                }

                break;
            case FaultKind.HeatWave:
                _heatWaveDelta = active ? fault.Parameter("delta_celsius") : 0;
                break;
            case FaultKind.SensorStuck:
            case FaultKind.SensorDrift:
            case FaultKind.SensorNoise:
            case FaultKind.SensorDropout:
                var point = _sensors.Find(fault.Point!);
                if (!active)
                {
                    _sensors.ClearFault(point);
                    break;
                }

                var (kind, value) = fault.Kind switch
                {
                    FaultKind.SensorStuck => (SensorFaultKind.Stuck, _sensors.Read(point, out _)),
                    FaultKind.SensorDrift => (SensorFaultKind.Drift, fault.Parameter("per_hour")),
                    FaultKind.SensorNoise => (SensorFaultKind.Noise, fault.Parameter("sigma")),
                    _ => (SensorFaultKind.Dropout, 0.0),
                };
                _sensors.SetFault(point, new SensorFault(kind, value, Now));
                break;
            case FaultKind.ActuatorFailure:
                _actuators.SetFailed(_actuators.Find(fault.Point!), active);
                break;
        }
    }

    private readonly Dictionary<int, double> _leakRates = [];

    private void UpdateLeakRates(FaultSpec fault)
    {
        var r = IndexOf(_f.Racks, x => x.Id, fault.Asset);
        _leakRates[r] = _rackLeak[r] ? fault.Parameter("litres_per_minute") / 60 : 0;
    }

    /// <summary>Slow faults (fouling) and conditions that depend on actuators (a leak stops when its rack is isolated).</summary>
    private void StepFaults()
    {
        for (var r = 0; r < _rackFoulingRate.Length; r++)
        {
            if (_rackFoulingRate[r] > 0)
            {
                _rackFouling[r] = 1 + (_rackFoulingRate[r] * (Now - _rackFoulingSince[r]) / 86_400);
            }
        }

        for (var d = 0; d < _dryCoolerFoulingRate.Length; d++)
        {
            if (_dryCoolerFoulingRate[d] > 0)
            {
                _dryCoolerFouling[d] = 1 + (_dryCoolerFoulingRate[d] * (Now - _dryCoolerFoulingSince[d]) / 86_400);
            }
        }

        for (var t = 0; t < _towerFoulingRate.Length; t++)
        {
            if (_towerFoulingRate[t] > 0)
            {
                _towerFouling[t] = 1 + (_towerFoulingRate[t] * (Now - _towerFoulingSince[t]) / 86_400);
            }
        }

        if (_leakRates.Count > 0)
        {
            Array.Clear(_cduLeakLitresPerSecond);
            foreach (var (r, rate) in _leakRates)
            {
                if (_actuators.Value(_aRackIsolate[r]) < 0.5)
                {
                    _cduLeakLitresPerSecond[_rackCdu[r]] += rate;
                }
            }
        }

        if (_swingFault is { } swing)
        {
            var u = swing.Parameter("utilisation");
            var period = swing.Parameter("period_seconds");
            var on = period <= 0 || (Now - swing.Start.TotalSeconds) % period < period / 2;
            for (var r = 0; r < _swingScope.Length; r++)
            {
                if (_swingScope[r])
                {
                    _rackSwing[r] = on ? u : 0.05;
                }
            }
        }
    }

    private static int IndexOf<T>(IReadOnlyList<T> items, Func<T, string> id, string wanted)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (id(items[i]) == wanted)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"asset '{wanted}' not in the factory");
    }

    /// <summary>A fouling fault starts (its factor grows at its rate from now) or ends: the repair is a clean, back to 1.</summary>
    private void Foul(double[] fouling, double[] rate, double[] since, int i, FaultSpec fault, bool active)
    {
        rate[i] = active ? fault.Parameter("rate_per_day") : 0;
        since[i] = Now;
        if (!active)
        {
            fouling[i] = 1;
        }
    }
}
