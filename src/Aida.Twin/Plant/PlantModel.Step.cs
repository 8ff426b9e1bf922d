using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Twin.Physics;
using static Aida.Twin.Physics.PhysicalConstants;

namespace Aida.Twin.Plant;

internal sealed partial class PlantModel
{
    public PlantTotals Totals { get; } = new();

    public Weather.Ambient Ambient { get; private set; }

    /// <summary>Set by the workload model and faults before each step: utilisation per rack.</summary>
    public Span<double> RackUtilisation => _rackUtil;

    /// <summary>Per rack, as of the last step: where its share of a job runs, as the workload model's scheduler reads
    /// it: the rack it moved to, else itself while powered, not isolated and not paused, else
    /// <see cref="Workload.Placement.Held"/> (paused) or <see cref="Workload.Placement.Lost"/>.</summary>
    public ReadOnlySpan<int> RackPlacement => _rackPlacement;

    /// <summary>Set by the workload model before each step: per rack, whether its training job is stalled by the plant
    /// (published as <c>aida_rack_job_stalled</c>, the scheduler's view).</summary>
    public Span<bool> RackJobStalled => _rackJobStalled;

    public double Now { get; private set; }

    /// <summary>Advances the whole plant by <paramref name="dt"/> seconds.</summary>
    public void Step(double dt)
    {
        Now += dt;
        var a = _weather.At(Now);
        Ambient = _heatWaveDelta == 0 ? a : Weather.Ambient.From(a.DryBulbCelsius + _heatWaveDelta, a.DewPointCelsius + (0.5 * _heatWaveDelta), a.PressurePa);

        _actuators.Step(dt);
        StepFaults();
        StepPowerSources(dt);
        StepRedundancy();
        StepCduHydraulics(dt);
        StepIt(dt);
        StepCdus(dt);
        StepAir(dt);
        StepFacilityWater(dt);
        StepPowerChain(dt);
        _sensors.Sample(Now);
        SampleGpus();
    }

    private void StepIt(double dt)
    {
        var gpu = _f.Gpu;
        var throttle = gpu.ThrottleCelsius;
        var shutdown = gpu.ShutdownCelsius;
        var share = gpu.ConvectiveShare;
        var heatCapacity = gpu.HeatCapacityJPerK;
        var profile = _f.RackProfile;
        var n = _gpusPerRack;
        var t = Totals;
        PlaceWorkload();
        for (var r = 0; r < _rackUtil.Length; r++)
        {
            var cdu = _rackCdu[r];
            var tc = _cduCoolant[cdu];
            var rMult = _rackFouling[r] * ((1 - share) + (share * _cduFlowFactor[cdu]));
            var isolated = _actuators.Value(_aRackIsolate[r]) >= 0.5;
            var on = _rackPowered[r] && !isolated;
            var paused = _actuators.Value(_aRackPause[r]) >= 0.5;
            _rackPlacement[r] = PlacementOf(r);
            var u = _effectiveUtil[r];
            var cap = _actuators.Value(_aRackPowerLimit[r]);
            var alpha = 1 - Math.Exp(-dt / (gpu.ThermalResistanceKPerWatt * rMult * heatCapacity));
            var sum = 0.0;
            var max = double.MinValue;
            var throttled = 0;
            var capped = 0;
            var down = 0;
            var end = (r + 1) * n;
            for (var g = r * n; g < end; g++)
            {
                var p = 0.0;
                var rth = _gpuR[g] * rMult;
                var events = 0u;
                if (on && !_gpuDown[g])
                {
                    p = _gpuIdle[g] + (u * _gpuSpan[g]);
                    if (p > cap)
                    {
                        p = cap;
                        events = GpuClockEvents.SwPowerCap;

                        // A cap below the GPU's own maximum is someone's decision; at the maximum it is the GPU's TDP.
                        if (cap < gpu.MaxPowerWatts)
                        {
                            capped++;
                        }
                    }

                    // Clock throttling holds the junction at the slowdown temperature by cutting power (and work).
                    if (_gpuTemp[g] > throttle - 0.5)
                    {
                        var limit = (throttle - tc) / rth;
                        if (limit < p)
                        {
                            p = limit < _gpuIdle[g] ? _gpuIdle[g] : limit;
                            throttled++;
                            events = GpuClockEvents.SwThermalSlowdown; // the binding reason now
                        }
                    }
                }

                double temp = _gpuTemp[g];
                temp += (tc + (p * rth) - temp) * alpha;
                if (temp > shutdown)
                {
                    _gpuDown[g] = true;
                }
                else if (_gpuDown[g] && temp < throttle - 15)
                {
                    _gpuDown[g] = false;
                }

                if (_gpuDown[g] && on)
                {
                    down++; // an isolated rack is off on purpose: counted as unpowered, not as a thermal trip
                }

                _gpuTemp[g] = (float)temp;
                _gpuPower[g] = (float)p;
                _gpuClockEvents[g] = events;
                sum += p;
                if (temp > max)
                {
                    max = temp;
                }
            }

            // A GPU past its shutdown temperature takes its compute tray down with it (node thermal trip).
            var up = (double)(n - down) / n;
            var rackPower = on ? sum + (up * (profile.OtherIdleWatts + ((profile.OtherMaxWatts - profile.OtherIdleWatts) * u))) : 0;
            _rackPower[r] = rackPower;
            _rackEnergy[r] += rackPower * dt;
            _rackMaxGpuTemp[r] = max;
            _rackThrottled[r] = throttled;
            t.ItJoules += rackPower * dt;
            t.GpuThrottledSeconds += throttled * dt;
            t.GpuCappedSeconds += capped * dt;
            t.GpuShutdownSeconds += down * dt;
            if (paused && on)
            {
                t.GpuPausedSeconds += (n - down) * dt;
            }
            if (!on)
            {
                t.ItUnpoweredRackSeconds += dt;
            }

            if (max > t.MaxGpuTemp)
            {
                t.MaxGpuTemp = max;
            }
        }
    }

    /// <summary>The scheduler's placement this step: a paused rack runs nothing; a rack whose jobs were moved runs
    /// nothing and its jobs run on its target instead (at the utilisation they would have had at home, alongside
    /// whatever the target runs: the larger of the two). A pause holds the jobs on the rack it names: so "move, then
    /// pause" on a rack runs its jobs elsewhere when there is room and holds them when there is none.</summary>
    /// <remarks>A move asked for (the rack's <c>workload_move</c> set to 1) takes a target once and keeps it until the
    /// move is undone: the first rack in the factory's order that is powered, not isolated, paused or moved, hosts
    /// nothing, is cooled by another CDU and runs no job of its own (utilisation at most <see cref="SpareUtilisation"/>).
    /// With none free the move does nothing (its <c>workload_moved</c> point stays 0). Like a pause, the move is the
    /// scheduler's and takes effect at once; the training job's restart it implies is the workload model's
    /// (<see cref="RackPlacement"/>).</remarks>
    private void PlaceWorkload()
    {
        var racks = _rackUtil.Length;
        for (var r = 0; r < racks; r++)
        {
            _effectiveUtil[r] = _actuators.Value(_aRackPause[r]) >= 0.5 ? 0 : Home(r);
        }

        for (var r = 0; r < racks; r++)
        {
            if (_actuators.Value(_aRackMove[r]) < 0.5)
            {
                _moveTarget[r] = -1;
                continue;
            }

            if (_moveTarget[r] < 0)
            {
                _moveTarget[r] = SpareRackFor(r);
            }

            if (_moveTarget[r] is var target and >= 0)
            {
                // A pause holds the jobs on the rack it names: the source's pause no longer touches jobs that moved
                // away, and the target's holds what it hosts.
                _effectiveUtil[target] = _actuators.Value(_aRackPause[target]) >= 0.5 ? 0 : Math.Max(_effectiveUtil[target], Home(r));
                _effectiveUtil[r] = 0;
            }
        }
    }

    /// <summary>Where rack <paramref name="r"/>'s share of a job runs (<see cref="RackPlacement"/>): on the rack hosting
    /// it (itself, or its move's target), unless that rack is off (lost) or paused (held).</summary>
    private int PlacementOf(int r)
    {
        var host = _moveTarget[r] >= 0 ? _moveTarget[r] : r;
        if (!_rackPowered[host] || _actuators.Value(_aRackIsolate[host]) >= 0.5)
        {
            return Workload.Placement.Lost;
        }

        return _actuators.Value(_aRackPause[host]) >= 0.5 ? Workload.Placement.Held : host;
    }

    /// <summary>A rack whose own utilisation is at most this runs no job: it is spare capacity for a move (the
    /// scenarios' idle utilisation is 0.03).</summary>
    private const double SpareUtilisation = 0.05;

    private double Home(int r) => double.IsNaN(_rackSwing[r]) ? _rackUtil[r] : _rackSwing[r];

    private int SpareRackFor(int source)
    {
        for (var t = 0; t < _rackUtil.Length; t++)
        {
            if (t == source || _rackCdu[t] == _rackCdu[source] || !_rackPowered[t] || _actuators.Value(_aRackIsolate[t]) >= 0.5
                || _actuators.Value(_aRackPause[t]) >= 0.5 || _actuators.Value(_aRackMove[t]) >= 0.5 || Home(t) > SpareUtilisation
                || Array.IndexOf(_moveTarget, t) >= 0)
            {
                continue;
            }

            return t;
        }

        return -1;
    }

    private void StepCduHydraulics(double dt)
    {
        var cdus = _f.Cooling.Cdus;
        for (var c = 0; c < cdus.Count; c++)
        {
            var cdu = cdus[c];
            if (_cduLeakLitresPerSecond[c] > 0)
            {
                _cduLevel[c] = Math.Max(0, _cduLevel[c] - (_cduLeakLitresPerSecond[c] * dt / cdu.CoolantLitres));
            }

            var available = Math.Max(0, cdu.Pumps - _cduPumpsFailed[c] - _cduPumpsMaintenance[c]);
            var wanted = Math.Min(cdu.PumpsRequired, available);
            if (_cduLevel[c] < LowCoolantLevel)
            {
                wanted = 0; // low suction pressure trips the pumps (cavitation protection)
            }

            if (wanted < _cduPumpsRunning[c])
            {
                _cduPumpsRunning[c] = wanted;
                _cduChangeoverAt[c] = Now + PumpChangeoverSeconds;
            }
            else if (wanted > _cduPumpsRunning[c] && Now >= _cduChangeoverAt[c])
            {
                _cduPumpsRunning[c] = wanted;
            }

            var powered = AnyUpsAlive();
            var speed = _actuators.Value(_aCduPumpSpeed[c]);
            var fraction = powered ? (double)_cduPumpsRunning[c] / cdu.PumpsRequired : 0;

            // Affinity laws: flow ~ speed, power ~ speed^3 (TWIN.md; pumps in parallel add flow).
            _cduFlow[c] = AffinityLaws.Flow(cdu.DesignFlowKgPerS, speed) * fraction;
            _cduPumpPower[c] = AffinityLaws.Power(cdu.PumpPowerWattsAtDesign, speed) * fraction;
            var relative = Math.Max(_cduFlow[c] / cdu.DesignFlowKgPerS, 0.05);
            _cduFlowFactor[c] = Math.Pow(1 / relative, ConvectionFlowExponent);
        }
    }

    private void StepCdus(double dt)
    {
        var cdus = _f.Cooling.Cdus;
        Array.Clear(_cduHeatIn);
        var liquid = _f.RackProfile.LiquidFraction;
        for (var r = 0; r < _rackPower.Length; r++)
        {
            _cduHeatIn[_rackCdu[r]] += _rackPower[r] * liquid;
        }

        var t = Totals;
        for (var c = 0; c < cdus.Count; c++)
        {
            var cdu = cdus[c];
            var q = _cduHeatIn[c] + _cduPumpPower[c]; // pump work ends up as heat in the coolant
            var m = _cduFlow[c];
            var capacity = _cduCoolantCapacity[c] * Math.Max(_cduLevel[c], 0.05);
            var ts = _cduSupply[c];
            var tc = _cduCoolant[c];
            if (m > 1e-6)
            {
                // C dTc/dt = Q - 2 m cp (Tc - Ts): Tc is the mean coolant temperature at the cold plates.
                var k = 2 * m * WaterSpecificHeat;
                var eq = ts + (q / k);
                tc = eq + ((tc - eq) * Math.Exp(-dt * k / capacity));
            }
            else
            {
                tc += q * dt / capacity;
            }

            var tr = m > 1e-6 ? Math.Max((2 * tc) - ts, ts) : tc;

            // Plate heat exchanger, secondary side the smaller capacity rate: Q = eps * m cp (Tr - Tfws) at a fully open valve.
            var set = _actuators.Value(_aCduSetpoint[c]);
            var qMax = cdu.HxEffectiveness * m * WaterSpecificHeat * Math.Max(tr - _fwSupply, 0);
            var qNeed = m * WaterSpecificHeat * Math.Max(tr - set, 0);
            // The controller asks for the opening that holds the setpoint (fully open when none can); a stuck valve
            // stays where it stuck whatever is asked.
            var asked = qMax <= 0 || qNeed > qMax ? 1 : qNeed / qMax;
            double valve, target;
            if (!double.IsNaN(_cduValveStuck[c]))
            {
                valve = _cduValveStuck[c];
                target = tr - (valve * cdu.HxEffectiveness * Math.Max(tr - _fwSupply, 0));
            }
            else if (qMax <= 0)
            {
                valve = 1;
                target = tr;
            }
            else if (qNeed <= qMax)
            {
                valve = asked;
                target = Math.Max(set, tr - (cdu.HxEffectiveness * (tr - _fwSupply)));
            }
            else
            {
                valve = 1;
                target = tr - (cdu.HxEffectiveness * (tr - _fwSupply));
            }

            ts += (target - ts) * (1 - Math.Exp(-dt / CduSupplyTimeConstant));
            _cduValve[c] = valve;
            _cduValveCommand[c] = asked;
            if (Math.Abs(asked - valve) <= ValveDeviationRatio)
            {
                _cduValveDeviatingSince[c] = double.PositiveInfinity;
            }
            else if (double.IsPositiveInfinity(_cduValveDeviatingSince[c]))
            {
                _cduValveDeviatingSince[c] = Now;
            }
            _cduSupply[c] = ts;
            _cduCoolant[c] = tc;
            _cduReturn[c] = tr;
            _cduHeatToWater[c] = m > 1e-6 ? m * WaterSpecificHeat * Math.Max(tr - ts, 0) : 0;
            t.CduPumpJoules += _cduPumpPower[c] * dt;
        }
    }

    private void StepAir(double dt)
    {
        var crahs = _f.Cooling.Crahs;
        var profile = _f.RackProfile;
        Array.Clear(_hallAirHeat);
        Array.Clear(_hallAirflow);
        Array.Clear(_hallSupplyAir);
        for (var r = 0; r < _rackPower.Length; r++)
        {
            _hallAirHeat[_rackHall[r]] += _rackPower[r] * (1 - profile.LiquidFraction);
        }

        var t = Totals;
        var powered = AnyUpsAlive();
        for (var i = 0; i < crahs.Count; i++)
        {
            var running = _crahState[i] == AssetState.Running && powered;
            var speed = running ? _actuators.Value(_aCrahFanSpeed[i]) : 0;
            var airflow = AffinityLaws.Flow(crahs[i].AirflowM3PerS, speed);

            // Coil: supply air cannot be colder than facility water plus the coil approach.
            var supply = Math.Max(_actuators.Value(_aCrahSetpoint[i]), _fwSupply + crahs[i].CoilApproachCelsius);
            _crahSupplyAir[i] = supply;
            _crahFanPower[i] = AffinityLaws.Power(crahs[i].FanPowerWattsAtDesign, speed);
            var h = _crahHall[i];
            _hallAirflow[h] += airflow;
            _hallSupplyAir[h] += supply * airflow;
            t.CrahFanJoules += _crahFanPower[i] * dt;
        }

        for (var h = 0; h < _hallAirflow.Length; h++)
        {
            var flow = _hallAirflow[h];
            _hallSupplyAir[h] = flow > 0 ? _hallSupplyAir[h] / flow : _fwSupply + 10;

            // Racks pull the airflow their heat needs at their design air delta-T (Q = rho cp V dT); what the CRAHs
            // do not supply, the racks draw from the hot aisle (recirculation).
            var demand = _hallAirHeat[h] / (AirDensity * AirSpecificHeat * profile.AirDeltaCelsius);
            _hallRecirculation[h] = demand > 0 ? Math.Clamp(1 - (flow / demand), 0, 1) : 0;
        }

        var alpha = 1 - Math.Exp(-dt / AirTimeConstant);
        for (var r = 0; r < _rackInlet.Length; r++)
        {
            var h = _rackHall[r];
            var target = _hallSupplyAir[h] + (_hallRecirculation[h] * profile.AirDeltaCelsius) + _rackInletOffset[r];
            _rackInlet[r] += (target - _rackInlet[r]) * alpha;
            if (_rackInlet[r] > t.MaxRackInlet)
            {
                t.MaxRackInlet = _rackInlet[r];
            }
        }
    }

    private void StepFacilityWater(double dt)
    {
        var fw = _f.Cooling.FacilityWater;
        var t = Totals;
        var set = _actuators.Value(_aFwSetpoint);
        var speed = _actuators.Value(_aFwPumpSpeed);
        _fwFlow = AffinityLaws.Flow(fw.DesignFlowKgPerS, speed);
        _fwPumpPower = AffinityLaws.Power(fw.PumpPowerWattsAtDesign, speed);

        var heatIn = _fwPumpPower;
        for (var c = 0; c < _cduHeatToWater.Length; c++)
        {
            heatIn += _cduHeatToWater[c];
        }

        for (var h = 0; h < _hallAirHeat.Length; h++)
        {
            heatIn += _hallAirHeat[h];
        }

        for (var i = 0; i < _crahFanPower.Length; i++)
        {
            heatIn += _crahFanPower[i];
        }

        _fwHeatIn = heatIn;
        var mcp = _fwFlow * WaterSpecificHeat;
        _fwReturn = _fwSupply + (heatIn / mcp);
        var dry = Ambient.DryBulbCelsius;
        var wet = Ambient.WetBulbCelsius;

        // Economiser (dry coolers or cooling towers in series ahead of the chillers): cools the return toward the dry
        // bulb (dry coolers) or the wet bulb (towers) plus the approach.
        var dcs = _f.Cooling.DryCoolers;
        var economiserOn = _actuators.Value(_aEconomiser) >= 0.5;
        double capacity = 0, floor = double.NegativeInfinity, fanDesign = 0;
        for (var i = 0; i < dcs.Count; i++)
        {
            if (economiserOn && _feedPowered[_dryCoolerFeed[i]] && _dryCoolerState[i] is AssetState.Running or AssetState.Standby)
            {
                capacity += dcs[i].CapacityAt(_fwReturn - dry) / _dryCoolerFouling[i];
                floor = Math.Max(floor, dry + (dcs[i].ApproachCelsius * _dryCoolerFouling[i]));
                fanDesign += dcs[i].FanPowerWatts;
            }
        }

        var towers = _f.Cooling.CoolingTowers;
        double towerCapacity = 0, towerRated = 0, towerFanDesign = 0;
        for (var i = 0; i < towers.Count; i++)
        {
            if (_feedPowered[_towerFeed[i]])
            {
                towerRated += towers[i].CapacityWatts;
                towerFanDesign += towers[i].FanPowerWatts;
                if (economiserOn)
                {
                    // Scale on the fill and the plate exchanger lowers the conductance and raises the approach, as the
                    // dry coolers' fouling does (ASHRAE HVAC Systems and Equipment 2020, ch. 40: fouling and scale
                    // raise a tower's approach; water treatment keeps them down).
                    towerCapacity += towers[i].CapacityAt(_fwReturn - wet) / _towerFouling[i];
                    floor = Math.Max(floor, wet + (towers[i].ApproachCelsius * _towerFouling[i]));
                }
            }
        }

        var eco = 0.0;
        if (capacity + towerCapacity > 0)
        {
            eco = Math.Clamp(mcp * (_fwReturn - Math.Max(set, floor)), 0, capacity + towerCapacity);
        }

        // Fan speed follows the duty; power ~ speed^3 (fan affinity law).
        var dryEco = towerCapacity > 0 ? 0 : eco;
        var fanSpeed = capacity > 0 ? dryEco / capacity : 0;
        var dcPower = AffinityLaws.Power(fanDesign, fanSpeed);
        for (var i = 0; i < dcs.Count; i++)
        {
            _dryCoolerPower[i] = fanDesign > 0 ? dcPower * dcs[i].FanPowerWatts / fanDesign : 0;
            _dryCoolerSpeed[i] = _dryCoolerPower[i] > 0 ? fanSpeed : 0;
        }

        var afterEco = _fwReturn - (eco / mcp);

        // Chillers trim the rest down to the setpoint. A water-cooled chiller rejects its heat through the towers: with
        // no tower powered it cannot (high head pressure), so it cools nothing.
        var chillers = _f.Cooling.Chillers;
        var chillerCapacity = 0.0;
        for (var i = 0; i < chillers.Count; i++)
        {
            if (ChillerCools(i, towerRated))
            {
                chillerCapacity += chillers[i].CapacityWatts;
            }
        }

        var mech = chillerCapacity > 0 ? Math.Clamp(mcp * (afterEco - set), 0, chillerCapacity) : 0;
        double chillerPower = 0, condenserHeat = 0, condenserPumps = 0;
        for (var i = 0; i < chillers.Count; i++)
        {
            var ch = chillers[i];
            _condenserPumpPower[i] = _chillerState[i] == AssetState.Running && ch.Condenser == CondenserKind.Water && towerRated > 0 ? ch.CondenserPumpWatts : 0;
            condenserPumps += _condenserPumpPower[i];
            if (!ChillerCools(i, towerRated))
            {
                _chillerPower[i] = 0;
                _chillerHeatArr[i] = 0;
                continue;
            }

            var share = mech * ch.CapacityWatts / chillerCapacity;
            var ambient = ch.Condenser == CondenserKind.Water ? wet : dry;
            var cop = ChillerPhysics.Cop(ch.CarnotFraction, _fwSupply, ambient, ch.CondenserApproachCelsius, ch.MinCondensingCelsius);

            // A running chiller cannot unload below its minimum: it still draws min_power_fraction of full-load power.
            var power = Math.Max(share, ch.MinPowerFraction * ch.CapacityWatts) / cop;
            _chillerPower[i] = power;
            _chillerHeatArr[i] = share;
            chillerPower += power;
            if (ch.Condenser == CondenserKind.Water)
            {
                condenserHeat += share + power;
            }
        }

        // The towers' fans carry the economiser duty at today's wet bulb and the condensers' duty at rating; the water
        // they evaporate carries that heat away, and blowdown adds 1 / (cycles - 1) of it.
        var towerEco = towerCapacity > 0 ? eco : 0;
        var towerSpeed = Math.Min(1, (towerCapacity > 0 ? towerEco / towerCapacity : 0) + (towerRated > 0 ? condenserHeat / towerRated : 0));
        var towerPower = AffinityLaws.Power(towerFanDesign, towerSpeed);
        var water = 0.0;
        for (var i = 0; i < towers.Count; i++)
        {
            var on = _feedPowered[_towerFeed[i]] && towerRated > 0;
            _towerPower[i] = on ? towerPower * towers[i].FanPowerWatts / towerFanDesign : 0;
            _towerSpeed[i] = on ? towerSpeed : 0;
            var share = on ? (towerEco + condenserHeat) * towers[i].CapacityWatts / towerRated : 0;
            var evaporated = share / WaterLatentHeat;
            var litres = evaporated * towers[i].CyclesOfConcentration / (towers[i].CyclesOfConcentration - 1) / WaterDensity * 1000 * dt;
            _towerWaterLitres[i] += litres;
            water += litres;
        }

        _economiserHeat = eco;
        _chillerHeat = mech;
        var removed = eco + mech;
        var loopCapacity = fw.VolumeLitres / 1000 * WaterDensity * WaterSpecificHeat;
        _fwSupply += (heatIn - removed) * dt / loopCapacity;

        t.ChillerJoules += chillerPower * dt;
        t.DryCoolerJoules += dcPower * dt;
        t.CoolingTowerJoules += towerPower * dt;
        t.CondenserPumpJoules += condenserPumps * dt;
        t.WaterLitres += water;
        t.FacilityPumpJoules += _fwPumpPower * dt;
        t.HeatRejectedJoules += removed * dt;
        t.HeatIntoWaterJoules += heatIn * dt;
        if (economiserOn && eco > 0)
        {
            t.EconomiserSeconds += dt;
        }

        if (_fwSupply > t.MaxFacilityWaterSupply)
        {
            t.MaxFacilityWaterSupply = _fwSupply;
        }
    }

    /// <summary>Whether chiller <paramref name="i"/> can cool now: running, and, if water-cooled, with a tower to take its heat.</summary>
    private bool ChillerCools(int i, double towerRatedWatts) =>
        _chillerState[i] == AssetState.Running && (_f.Cooling.Chillers[i].Condenser == CondenserKind.Air || towerRatedWatts > 0);
}
