using Aida.Model.Facility;
using Aida.Model.Scenarios;

namespace Aida.Twin.Plant;

internal sealed partial class PlantModel
{
    // Sampling intervals (TWIN.md: facility points ~10-60 s, GPU metrics ~1 s) and sensor accuracy:
    // RTD/thermistor class ~0.1-0.3 K, flow meters ~1 %, power meters ~0.5 % (IEC 62053-22 class 0.5S).
    private static readonly TimeSpan Facility = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Fast = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(30);
    private const double CduLoopQuantum = 0.01;

    private void RegisterPoints(Scenario scenario)
    {
        var site = _f.Site.Name;
        var s = _sensors;
        Dictionary<string, string> L(params (string K, string V)[] kv)
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal) { ["site"] = site };
            foreach (var (k, v) in kv)
            {
                d[k] = v;
            }

            return d;
        }

        s.Add("site", "ambient_dry_bulb", "aida_ambient_dry_bulb_celsius", L(), "celsius", Slow, 0.2, 0.1, () => Ambient.DryBulbCelsius);
        s.Add("site", "ambient_wet_bulb", "aida_ambient_wet_bulb_celsius", L(), "celsius", Slow, 0.3, 0.1, () => Ambient.WetBulbCelsius);
        s.Add("site", "it_power", "aida_it_power_watts", L(), "watts", Facility, 0, 100, () => Sum(_rackPower));
        s.Add("site", "facility_power", "aida_facility_power_watts", L(), "watts", Facility, 0, 100, FacilityPowerNow);
        // Energy meters are counters, as revenue-grade meters and PDUs export them (joules, Prometheus base unit).
        s.Add("site", "it_energy", "aida_it_energy_joules_total", L(), "joules", Facility, 0, 1, () => Totals.ItJoules);
        s.Add("site", "facility_energy", "aida_facility_energy_joules_total", L(), "joules", Facility, 0, 1, () => Totals.FacilityJoules);
        s.Add("facility-water", "supply_temperature", "aida_facility_water_supply_celsius", L(("asset", "facility-water")), "celsius", Facility, 0.1, 0.1, () => _fwSupply);
        s.Add("facility-water", "return_temperature", "aida_facility_water_return_celsius", L(("asset", "facility-water")), "celsius", Facility, 0.1, 0.1, () => _fwReturn);
        s.Add("facility-water", "flow", "aida_facility_water_flow_kg_per_second", L(("asset", "facility-water")), "kg/s", Facility, 0, 0.1, () => _fwFlow);
        s.Add("facility-water", "pump_power", "aida_facility_water_pump_power_watts", L(("asset", "facility-water")), "watts", Facility, 0, 10, () => _fwPumpPower);
        s.Add("facility-water", "supply_setpoint", "aida_setpoint_celsius", L(("asset", "facility-water")), "celsius", Facility, 0, 0.1, () => _actuators.Value(_aFwSetpoint));
        s.Add("economiser", "enabled", "aida_economiser_enabled", L(("asset", "economiser")), "bool", Facility, 0, 0, () => _actuators.Value(_aEconomiser));
        s.Add("economiser", "heat", "aida_economiser_heat_watts", L(("asset", "economiser")), "watts", Facility, 0, 100, () => _economiserHeat);

        var chillers = _f.Cooling.Chillers;
        for (var i = 0; i < chillers.Count; i++)
        {
            var k = i;
            var id = chillers[i].Id;
            s.Add(id, "power", "aida_chiller_power_watts", L(("asset", id)), "watts", Facility, 0, 100, () => _chillerPower[k]);
            s.Add(id, "running", "aida_asset_running", L(("asset", id)), "bool", Facility, 0, 0, () => _chillerState[k] == AssetState.Running ? 1 : 0);
            s.Add(id, "fault", "aida_asset_fault", L(("asset", id)), "bool", Facility, 0, 0, () => _chillerState[k] == AssetState.Failed ? 1 : 0);
        }

        var dcs = _f.Cooling.DryCoolers;
        for (var i = 0; i < dcs.Count; i++)
        {
            var k = i;
            var id = dcs[i].Id;
            s.Add(id, "fan_power", "aida_dry_cooler_fan_power_watts", L(("asset", id)), "watts", Facility, 0, 10, () => _dryCoolerPower[k]);
            // The fans' drive reports its output as a share of full speed (a VFD's output frequency, read to 0.01-0.1
            // Hz of 50-60 Hz: 0.1 % here); its power to 10 W is a coarse speed at the low speeds of a warm morning.
            // (No command beside it: the economiser's own controller sets it, not the BMS.)
            s.Add(id, "fan_speed", "aida_speed_ratio", L(("asset", id)), "ratio", Facility, 0, 0.001, () => _dryCoolerSpeed[k]);
        }

        var towers = _f.Cooling.CoolingTowers;
        for (var i = 0; i < towers.Count; i++)
        {
            var k = i;
            var id = towers[i].Id;
            s.Add(id, "fan_power", "aida_cooling_tower_fan_power_watts", L(("asset", id)), "watts", Facility, 0, 10, () => _towerPower[k]);
            s.Add(id, "fan_speed", "aida_speed_ratio", L(("asset", id)), "ratio", Facility, 0, 0.001, () => _towerSpeed[k]);
            s.Add(id, "water", "aida_cooling_tower_water_litres_total", L(("asset", id)), "litres", Facility, 0, 1, () => _towerWaterLitres[k]);
        }

        for (var i = 0; i < chillers.Count; i++)
        {
            if (chillers[i].Condenser == CondenserKind.Water)
            {
                var k = i;
                var id = chillers[i].Id;
                s.Add(id, "condenser_pump_power", "aida_condenser_pump_power_watts", L(("asset", id)), "watts", Facility, 0, 10, () => _condenserPumpPower[k]);
            }
        }

        var cdus = _f.Cooling.Cdus;
        for (var c = 0; c < cdus.Count; c++)
        {
            var k = c;
            var id = cdus[c].Id;
            var l = L(("asset", id), ("hall", cdus[c].Hall));
            // A CDU's loop temperatures resolve 0.01 K: the controller publishes them as 32-bit floats (as liquid-cooling
            // units' Modbus maps do, e.g. the cool-water supply and return of the Vertiv Liebert DCDactive fan module user
            // manual, table 8.2, "32 bit float"), so the reading steps far below the 0.1 K of noise kept here.
            s.Add(id, "supply_temperature", "aida_cdu_supply_celsius", l, "celsius", Facility, 0.1, CduLoopQuantum, () => _cduSupply[k]);
            s.Add(id, "return_temperature", "aida_cdu_return_celsius", l, "celsius", Facility, 0.1, CduLoopQuantum, () => _cduReturn[k]);
            s.Add(id, "flow", "aida_cdu_flow_kg_per_second", l, "kg/s", Facility, 0.1, 0.01, () => _cduFlow[k]);
            s.Add(id, "pump_power", "aida_cdu_pump_power_watts", l, "watts", Facility, 0, 10, () => _cduPumpPower[k]);
            s.Add(id, "valve", "aida_cdu_valve_ratio", l, "ratio", Facility, 0, 0.01, () => _cduValve[k]);
            s.Add(id, "pumps_running", "aida_cdu_pumps_running", l, "count", Facility, 0, 0, () => _cduPumpsRunning[k]);
            s.Add(id, "pump_faults", "aida_cdu_pump_faults", l, "count", Facility, 0, 0, () => _cduPumpsFailed[k]);
            s.Add(id, "coolant_level", "aida_cdu_coolant_level_ratio", l, "ratio", Facility, 0, 0.01, () => _cduLevel[k]);
            s.Add(id, "supply_setpoint", "aida_setpoint_celsius", l, "celsius", Facility, 0, 0.1, () => _actuators.Value(_aCduSetpoint[k]));
        }

        var crahs = _f.Cooling.Crahs;
        for (var i = 0; i < crahs.Count; i++)
        {
            var k = i;
            var id = crahs[i].Id;
            var l = L(("asset", id), ("hall", crahs[i].Hall));
            s.Add(id, "supply_air_temperature", "aida_crah_supply_air_celsius", l, "celsius", Facility, 0.2, 0.1, () => _crahSupplyAir[k]);
            s.Add(id, "fan_power", "aida_crah_fan_power_watts", l, "watts", Facility, 0, 10, () => _crahFanPower[k]);
            s.Add(id, "running", "aida_asset_running", l, "bool", Facility, 0, 0, () => _crahState[k] == AssetState.Running ? 1 : 0);
            s.Add(id, "fault", "aida_asset_fault", l, "bool", Facility, 0, 0, () => _crahState[k] == AssetState.Failed ? 1 : 0);
        }

        for (var r = 0; r < _f.Racks.Count; r++)
        {
            var k = r;
            var rack = _f.Racks[r];
            var l = L(("hall", rack.Hall), ("row", rack.Row), ("rack", rack.Id));
            s.Add(rack.Id, "inlet_temperature", "aida_rack_inlet_celsius", l, "celsius", Facility, 0.2, 0.1, () => _rackInlet[k]);
            s.Add(rack.Id, "power", "aida_rack_power_watts", l, "watts", Facility, 0, 10, () => _rackPower[k]);
            s.Add(rack.Id, "energy", "aida_rack_energy_joules_total", l, "joules", Facility, 0, 1, () => _rackEnergy[k]);
            s.Add(rack.Id, "gpu_max_temperature", "aida_rack_gpu_max_temperature_celsius", l, "celsius", Facility, 0.5, 1, () => _rackMaxGpuTemp[k]);
            s.Add(rack.Id, "gpus_throttled", "aida_rack_gpus_throttled", l, "count", Facility, 0, 0, () => _rackThrottled[k]);
            s.Add(rack.Id, "leak", "aida_rack_leak_detected", l, "bool", Fast, 0, 0, () => _rackLeak[k] ? 1 : 0);
            s.Add(rack.Id, "isolated", "aida_rack_isolated", l, "bool", Facility, 0, 0, () => _actuators.Value(_aRackIsolate[k]));
            // The scheduler's view: 1 while the training job this rack belongs to is stalled by the plant (a rack lost and
            // the job restarting without it, the work since its checkpoint redone, or a restart for a planned change of its
            // racks: a share paused, moved or brought back).
            s.Add(rack.Id, "job_stalled", "aida_rack_job_stalled", l, "bool", Facility, 0, 0, () => _rackJobStalled[k] ? 1 : 0);
            s.Add(rack.Id, "workload_paused", "aida_rack_workload_paused", l, "bool", Facility, 0, 0, () => _actuators.Value(_aRackPause[k]));
            // 1 while the rack's jobs run on another rack (a move the scheduler found room for).
            s.Add(rack.Id, "workload_moved", "aida_rack_workload_moved", l, "bool", Facility, 0, 0, () => _moveTarget[k] >= 0 ? 1 : 0);
            // PDU input status: a live busway reaches the rack (whether or not it is isolated or its GPUs tripped).
            s.Add(rack.Id, "powered", "aida_rack_powered", l, "bool", Facility, 0, 0, () => _rackPowered[k] ? 1 : 0);
            s.Add(rack.Id, "gpu_power_limit", "DCGM_FI_DEV_POWER_MGMT_LIMIT", l, "watts", Facility, 0, 1, () => _actuators.Value(_aRackPowerLimit[k]));
        }

        // GPU temperature distribution per hall, as a gauge histogram (cumulative counts per upper bound, Prometheus
        // bucket convention), so histogram_quantile answers "the 99th percentile GPU temperature in hall 1".
        for (var h = 0; h < _f.Halls.Count; h++)
        {
            var hall = h;
            var id = _f.Halls[h].Id;
            foreach (var le in TemperatureBuckets)
            {
                var bound = le;
                var text = double.IsPositiveInfinity(le) ? "+Inf" : le.ToString(System.Globalization.CultureInfo.InvariantCulture);
                s.Add(id, $"gpu_temperature_le_{text}", "aida_gpu_temperature_celsius_bucket", L(("hall", id), ("le", text)), "count", Facility, 0, 0, () => GpusAtOrBelow(hall, bound));
            }
        }

        var ups = _f.Power.Ups;
        for (var u = 0; u < ups.Count; u++)
        {
            var k = u;
            var id = ups[u].Id;
            s.Add(id, "output_power", "aida_ups_output_power_watts", L(("asset", id)), "watts", Facility, 0, 100, () => _upsOutput[k]);
            s.Add(id, "on_battery", "aida_ups_on_battery", L(("asset", id)), "bool", Fast, 0, 0, () => _upsOnBattery[k] ? 1 : 0);
            s.Add(id, "battery", "aida_ups_battery_ratio", L(("asset", id)), "ratio", Facility, 0, 0.01, () => _upsBattery[k]);
            s.Add(id, "eco_mode", "aida_ups_eco_mode", L(("asset", id)), "bool", Fast, 0, 0, () => _actuators.Value(_aUpsEco[k]));
        }

        var feeds = _f.Power.Feeds;
        for (var i = 0; i < feeds.Count; i++)
        {
            var k = i;
            s.Add(feeds[i].Id, "available", "aida_utility_available", L(("asset", feeds[i].Id)), "bool", Fast, 0, 0, () => _utilityUp[k] ? 1 : 0);
        }

        var gens = _f.Power.Generators;
        for (var i = 0; i < gens.Count; i++)
        {
            var k = i;
            s.Add(gens[i].Id, "running", "aida_asset_running", L(("asset", gens[i].Id)), "bool", Fast, 0, 0, () => _generatorRunning[k] ? 1 : 0);
        }

        var txs = _f.Power.Transformers;
        for (var i = 0; i < txs.Count; i++)
        {
            var k = i;
            s.Add(txs[i].Id, "load", "aida_transformer_load_watts", L(("asset", txs[i].Id)), "watts", Facility, 0, 100, () => _txLoad[k]);
        }

        // The setpoints' commands as the control system that writes them reads them back (the BMS point's present value),
        // beside the active setpoints above (what the controller works to): the two part when an actuator accepts a write
        // and does nothing (TWIN.md). Registered last, so every point above keeps its index.
        s.Add("facility-water", "supply_setpoint_command", "aida_setpoint_command_celsius", L(("asset", "facility-water")), "celsius", Facility, 0, 0.1, () => _actuators.Command(_aFwSetpoint));
        for (var c = 0; c < cdus.Count; c++)
        {
            var k = c;
            var id = cdus[c].Id;
            s.Add(id, "supply_setpoint_command", "aida_setpoint_command_celsius", L(("asset", id), ("hall", cdus[c].Hall)), "celsius", Facility, 0, 0.1, () => _actuators.Command(_aCduSetpoint[k]));
        }

        // The same pair for the drives' speeds (a BMS reads a VFD's speed feedback beside the speed it commanded) and the
        // CRAHs' supply setpoints, so that a failed pump, fan or CRAH setpoint actuator shows too. After the setpoints'
        // commands, for the same reason.
        void ActiveAndCommand(string id, string setting, string metric, string commandMetric, Dictionary<string, string> l, string unit, double step, int actuator)
        {
            s.Add(id, setting, metric, l, unit, Facility, 0, step, () => _actuators.Value(actuator));
            s.Add(id, setting + "_command", commandMetric, l, unit, Facility, 0, step, () => _actuators.Command(actuator));
        }

        ActiveAndCommand("facility-water", "pump_speed", "aida_speed_ratio", "aida_speed_command_ratio", L(("asset", "facility-water")), "ratio", 0.01, _aFwPumpSpeed);
        for (var c = 0; c < cdus.Count; c++)
        {
            ActiveAndCommand(cdus[c].Id, "pump_speed", "aida_speed_ratio", "aida_speed_command_ratio", L(("asset", cdus[c].Id), ("hall", cdus[c].Hall)), "ratio", 0.01, _aCduPumpSpeed[c]);
        }

        for (var i = 0; i < crahs.Count; i++)
        {
            var l = L(("asset", crahs[i].Id), ("hall", crahs[i].Hall));
            ActiveAndCommand(crahs[i].Id, "supply_setpoint", "aida_setpoint_celsius", "aida_setpoint_command_celsius", l, "celsius", 0.1, _aCrahSetpoint[i]);
            ActiveAndCommand(crahs[i].Id, "fan_speed", "aida_speed_ratio", "aida_speed_command_ratio", l, "ratio", 0.01, _aCrahFanSpeed[i]);
        }

        // A CDU controller's valve: the opening it asks for beside the position its actuator reports, and the actuator's
        // alarm (asked and reported apart by more than ValveDeviationRatio for ValveDeviationSeconds), the point a stuck
        // valve's repair is seen by. After the drives, for the same reason.
        for (var c = 0; c < cdus.Count; c++)
        {
            var k = c;
            var l = L(("asset", cdus[c].Id), ("hall", cdus[c].Hall));
            s.Add(cdus[c].Id, "valve_command", "aida_cdu_valve_command_ratio", l, "ratio", Facility, 0, 0.01, () => _cduValveCommand[k]);
            s.Add(cdus[c].Id, "valve_fault", "aida_cdu_valve_fault", l, "bool", Facility, 0, 0, () => Now - _cduValveDeviatingSince[k] >= ValveDeviationSeconds ? 1 : 0);
        }

        // Each rack's GPU power limit as the writer reads its command back (the limit last set through the node's BMC or
        // NVML), beside the limit DCGM reports the GPUs enforce (above): the two part when a cap write is accepted and
        // the GPUs keep their old limit (a failed power-cap actuator). After the valves, for the same reason.
        for (var r = 0; r < _f.Racks.Count; r++)
        {
            var k = r;
            var rack = _f.Racks[r];
            s.Add(rack.Id, "gpu_power_limit_command", "aida_gpu_power_limit_command_watts", L(("hall", rack.Hall), ("row", rack.Row), ("rack", rack.Id)), "watts", Facility, 0, 1, () => _actuators.Command(_aRackPowerLimit[k]));
        }

        // The units' run commands (the BMS's start/stop output, as it reads it back) beside their run status (above): a
        // unit commanded to run that does not is a failed start (proof of run), whether its starter ignored the command
        // or the command never reached it. With them, 1 while a powered unit is in its start sequence (a chiller
        // controller's "starting" state; a CRAH's fans ramping), so a start that nothing takes up shows within the
        // allowance, not after a chiller's 5 min start; and 1 while it is out of service for maintenance (locked out at
        // its local panel; the BMS's "not in auto"): commanded or not, it will not run. The economiser's enable beside
        // its state. After the power limits.
        void RunStatus(string id, Dictionary<string, string> l, int enable, Func<bool> starting, Func<bool> maintenance)
        {
            s.Add(id, "enable_command", "aida_enable_command", l, "bool", Facility, 0, 0, () => _actuators.Command(enable));
            s.Add(id, "starting", "aida_asset_starting", l, "bool", Facility, 0, 0, () => starting() ? 1 : 0);
            s.Add(id, "maintenance", "aida_asset_maintenance", l, "bool", Facility, 0, 0, () => maintenance() ? 1 : 0);
        }

        for (var i = 0; i < chillers.Count; i++)
        {
            var k = i;
            RunStatus(chillers[i].Id, L(("asset", chillers[i].Id)), _aChillerEnable[k],
                () => _chillerState[k] == AssetState.Starting && !double.IsPositiveInfinity(_chillerStartAt[k]), () => _chillerState[k] == AssetState.Maintenance);
        }

        for (var i = 0; i < crahs.Count; i++)
        {
            var k = i;
            RunStatus(crahs[i].Id, L(("asset", crahs[i].Id), ("hall", crahs[i].Hall)), _aCrahEnable[k],
                () => _crahState[k] == AssetState.Starting, () => _crahState[k] == AssetState.Maintenance);
        }

        s.Add("economiser", "enable_command", "aida_enable_command", L(("asset", "economiser")), "bool", Facility, 0, 0, () => _actuators.Command(_aEconomiser));

        _sensors.Sample(0);
        _ = scenario;
    }

    private static readonly double[] TemperatureBuckets = [40, 50, 60, 65, 70, 75, 80, 85, 90, double.PositiveInfinity];

    private double[,]? _histogram;
    private double _histogramAt = double.NaN;

    /// <summary>How many of the hall's GPUs are at or below <paramref name="bound"/>; all halls' buckets are counted in
    /// one pass per sampling instant and cached.</summary>
    private double GpusAtOrBelow(int hall, double bound)
    {
        var buckets = TemperatureBuckets.Length;
        _histogram ??= new double[_f.Halls.Count, buckets];
        if (_histogramAt != Now)
        {
            _histogramAt = Now;
            Array.Clear(_histogram);
            for (var r = 0; r < _rackHall.Length; r++)
            {
                var h = _rackHall[r];
                for (var g = r * _gpusPerRack; g < (r + 1) * _gpusPerRack; g++)
                {
                    var b = 0;
                    while (_gpuTemp[g] > TemperatureBuckets[b])
                    {
                        b++;
                    }

                    _histogram[h, b]++;
                }
            }

            for (var h = 0; h < _f.Halls.Count; h++)
            {
                for (var b = 1; b < buckets; b++)
                {
                    _histogram[h, b] += _histogram[h, b - 1];
                }
            }
        }

        return _histogram[hall, Array.IndexOf(TemperatureBuckets, bound)];
    }

    private static double Sum(double[] values)
    {
        var s = 0.0;
        foreach (var v in values)
        {
            s += v;
        }

        return s;
    }

    /// <summary>Everything the site draws right now: IT, cooling, losses and lighting.</summary>
    internal double FacilityPowerNow()
    {
        var p = Sum(_rackPower) + Sum(_chillerPower) + Sum(_dryCoolerPower) + Sum(_towerPower) + Sum(_condenserPumpPower) + _fwPumpPower + Sum(_cduPumpPower) + Sum(_crahFanPower)
            + Sum(_txLoss) + Sum(_upsLoss) + Sum(_buswayLoss) + _f.MiscPowerWatts;
        return p;
    }
}
