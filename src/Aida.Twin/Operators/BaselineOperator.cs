using Aida.Model.Facility;
using Aida.Model.Plant;

namespace Aida.Twin.Operators;

/// <summary>The human and digital ways of operating, played against any <see cref="IPlant"/>: threshold alarms on
/// sensor readings, a person who notices and fixes after a delay (sometimes wrongly), and restores settings afterwards.</summary>
/// <remarks>It sees only readings and writes only actuators, like the people it stands for; the factory file tells it the layout.</remarks>
internal sealed class BaselineOperator
{
    // Alarm thresholds as a BMS/DCIM would configure them.
    private const double GpuHotCelsius = 83; // a few kelvin under the slowdown temperature
    private const double RackInletHotCelsius = 27; // ASHRAE TC 9.9 recommended upper inlet limit
    private const double FacilityWaterMargin = 2;
    private const double CduSupplyMargin = 3;
    private const double StartupGraceSeconds = 60;
    private const double Deadband = 1.5;

    private readonly OperatorProfile _profile;
    private readonly IPlant _plant;
    private readonly Factory _factory;
    private readonly TimeProvider _clock;
    private readonly DateTimeOffset _start;
    private readonly Random _random;
    private readonly Dictionary<string, Alarm> _active = new(StringComparer.Ordinal);
    private readonly Dictionary<int, double> _baseline = [];
    private readonly Dictionary<string, double> _lastFix = new(StringComparer.Ordinal);
    private readonly List<Rule> _rules = [];
    private readonly string[] _silentKeys;
    private double _restoreAt = double.NaN;
    private int _routineHour = -1;
    private bool _economiserMode;

    public BaselineOperator(OperatorProfile profile, IPlant plant, Factory factory, TimeProvider clock, int seed)
    {
        _profile = profile;
        _plant = plant;
        _factory = factory;
        _clock = clock;
        _start = clock.GetUtcNow();
        _random = new Random(seed);
        _silentKeys = plant.Points.Select(p => $"{AlarmKind.SensorSilent}:{p.Name}").ToArray();
        BuildRules();
    }

    public OperatorStats Stats { get; } = new();

    public string Mode => _profile.Mode;

    private double Now => (_clock.GetUtcNow() - _start).TotalSeconds;

    /// <summary>Applies the mode's standing setpoints: called once before the run.</summary>
    public void Begin()
    {
        ApplySetpoints(_profile.SetpointsFor(_clock.GetUtcNow().Month), initial: true);
    }

    /// <summary>One look at the plant: raise and clear alarms, act on noticed ones, restore, and routine changes.</summary>
    public void Tick()
    {
        var now = Now;
        EvaluateRules(now);
        Respond(now);
        Restore(now);
        if (_profile.SeasonalEconomiser)
        {
            Routine(now);
        }
    }

    private void ApplySetpoints(Setpoints s, bool initial)
    {
        Set("facility-water/supply_setpoint", s.FacilityWater, initial);
        Set("facility-water/pump_speed", s.FacilityPumpSpeed, initial);
        Set("economiser/enable", s.Economiser ? 1 : 0, initial);
        foreach (var c in _factory.Cooling.Cdus)
        {
            Set($"{c.Id}/supply_setpoint", s.CduSupply, initial);
            Set($"{c.Id}/pump_speed", s.PumpSpeed, initial);
        }

        foreach (var c in _factory.Cooling.Crahs)
        {
            Set($"{c.Id}/supply_setpoint", s.CrahSupply, initial);
            Set($"{c.Id}/fan_speed", s.CrahFanSpeed, initial);
            if (_profile.EnableStandbyCrahs)
            {
                Set($"{c.Id}/enable", 1, initial);
            }
        }
    }

    private void Set(string name, double value, bool initial)
    {
        var i = _plant.Actuator(name);
        if (i < 0)
        {
            return;
        }

        var info = _plant.Actuators[i];
        var result = _plant.Write(i, Math.Clamp(value, info.Min, info.Max));
        if (result.Ok)
        {
            Stats.Writes++;
            if (initial)
            {
                _baseline[i] = Math.Clamp(value, info.Min, info.Max);
            }
        }
    }

    /// <summary>A change made to fix an alarm: remembered so it can be undone once things are normal.</summary>
    private void Override(string name, double value)
    {
        var i = _plant.Actuator(name);
        if (i < 0)
        {
            return;
        }

        if (!_baseline.ContainsKey(i))
        {
            _baseline[i] = ReadActuatorBaseline(i);
        }

        _overridden.Add(i);
        var info = _plant.Actuators[i];
        if (_plant.Write(i, Math.Clamp(value, info.Min, info.Max)).Ok)
        {
            Stats.Writes++;
        }
    }

    private readonly HashSet<int> _overridden = [];

    private double ReadActuatorBaseline(int actuator)
    {
        var info = _plant.Actuators[actuator];
        return info.Name.EndsWith("/isolate", StringComparison.Ordinal) ? 0 : info.Max;
    }

    /// <summary>An alarm rule: raised when <paramref name="Active"/> holds, cleared only when <paramref name="Clear"/> does
    /// (a deadband, as BMS alarms have, so a reading hovering at the threshold does not flap).</summary>
    private sealed record Rule(AlarmKind Kind, string Asset, Func<bool> Active, Func<bool> Clear)
    {
        public string Key { get; } = $"{Kind}:{Asset}";
    }

    private void BuildRules()
    {
        int P(string point) => _plant.Point(point);
        foreach (var rack in _factory.Racks)
        {
            var gpu = P($"{rack.Id}/gpu_max_temperature");
            var inlet = P($"{rack.Id}/inlet_temperature");
            var leak = P($"{rack.Id}/leak");
            _rules.Add(new Rule(AlarmKind.GpuHot, rack.Id, () => _plant.Read(gpu).Value > GpuHotCelsius, () => _plant.Read(gpu).Value < GpuHotCelsius - Deadband));
            _rules.Add(new Rule(AlarmKind.RackInletHot, rack.Id, () => _plant.Read(inlet).Value > RackInletHotCelsius, () => _plant.Read(inlet).Value < RackInletHotCelsius - Deadband));
            _rules.Add(new Rule(AlarmKind.Leak, rack.Id, () => _plant.Read(leak).Value >= 0.5, () => _plant.Read(leak).Value < 0.5));
        }

        foreach (var cdu in _factory.Cooling.Cdus)
        {
            var supply = P($"{cdu.Id}/supply_temperature");
            var set = P($"{cdu.Id}/supply_setpoint");
            var faults = P($"{cdu.Id}/pump_faults");
            var flow = P($"{cdu.Id}/flow");
            var design = cdu.DesignFlowKgPerS;
            _rules.Add(new Rule(AlarmKind.CduSupplyHot, cdu.Id, () => _plant.Read(supply).Value > _plant.Read(set).Value + CduSupplyMargin,
                () => _plant.Read(supply).Value < _plant.Read(set).Value + CduSupplyMargin - Deadband));
            _rules.Add(new Rule(AlarmKind.PumpFault, cdu.Id, () => _plant.Read(faults).Value > 0, () => _plant.Read(faults).Value <= 0));
            _rules.Add(new Rule(AlarmKind.CduNoFlow, cdu.Id, () => _plant.Read(flow).Value < 0.05 * design, () => _plant.Read(flow).Value > 0.2 * design));
        }

        var fws = P("facility-water/supply_temperature");
        var fwSet = P("facility-water/supply_setpoint");
        _rules.Add(new Rule(AlarmKind.FacilityWaterHot, "facility-water", () => _plant.Read(fws).Value > _plant.Read(fwSet).Value + FacilityWaterMargin,
            () => _plant.Read(fws).Value < _plant.Read(fwSet).Value + FacilityWaterMargin - Deadband));
        foreach (var c in _factory.Cooling.Chillers)
        {
            var p = P($"{c.Id}/fault");
            _rules.Add(new Rule(AlarmKind.ChillerFault, c.Id, () => _plant.Read(p).Value >= 0.5, () => _plant.Read(p).Value < 0.5));
        }

        foreach (var c in _factory.Cooling.Crahs)
        {
            var p = P($"{c.Id}/fault");
            _rules.Add(new Rule(AlarmKind.CrahFault, c.Id, () => _plant.Read(p).Value >= 0.5, () => _plant.Read(p).Value < 0.5));
        }

        foreach (var u in _factory.Power.Ups)
        {
            var p = P($"{u.Id}/on_battery");
            _rules.Add(new Rule(AlarmKind.OnBattery, u.Id, () => _plant.Read(p).Value >= 0.5, () => _plant.Read(p).Value < 0.5));
        }

        foreach (var feed in _factory.Power.Feeds)
        {
            var p = P($"{feed.Id}/available");
            _rules.Add(new Rule(AlarmKind.UtilityLost, feed.Id, () => _plant.Read(p).Value < 0.5, () => _plant.Read(p).Value >= 0.5));
        }
    }

    private void EvaluateRules(double now)
    {
        foreach (var rule in _rules)
        {
            var raised = _active.ContainsKey(rule.Key);
            Raise(now, rule.Key, rule.Kind, rule.Asset, raised ? !rule.Clear() : rule.Active());
        }

        // A sensor that stopped reporting is an alarm of its own (NaN readings never trip a threshold).
        for (var i = 0; i < _silentKeys.Length; i++)
        {
            var silent = now >= StartupGraceSeconds && _plant.Read(i).IsMissing;
            Raise(now, _silentKeys[i], AlarmKind.SensorSilent, _plant.Points[i].Name, silent);
        }
    }

    private void Raise(double now, string key, AlarmKind kind, string asset, bool on)
    {
        if (on && !_active.ContainsKey(key))
        {
            var alarm = new Alarm(kind, asset, now) { NoticeAt = now + Draw(_profile.NoticeDelaySeconds) };
            _active[key] = alarm;
            Stats.AlarmsRaised++;
        }
        else if (!on && _active.Remove(key, out var cleared))
        {
            cleared.ClearedAt = now;
        }
    }

    private readonly List<Alarm> _scratch = [];

    private void Respond(double now)
    {
        _scratch.Clear();
        _scratch.AddRange(_active.Values);
        foreach (var alarm in _scratch)
        {
            if (alarm.Fixed || now < alarm.NoticeAt)
            {
                continue;
            }

            if (double.IsNaN(alarm.FixAt))
            {
                Stats.AlarmsNoticed++;
                Stats.NoticeSeconds += now - alarm.RaisedAt;
                alarm.FixAt = now + Draw(_profile.FixDelaySeconds);
                continue;
            }

            if (now < alarm.FixAt)
            {
                continue;
            }

            if (!alarm.WrongFixDone && _random.NextDouble() < _profile.WrongFixProbability)
            {
                alarm.WrongFixDone = true;
                Stats.WrongFixes++;
                Stats.ManualActions++;
                WrongFix(alarm);
                alarm.FixAt = now + Draw(_profile.FixDelaySeconds);
                continue;
            }

            alarm.Fixed = true;
            Stats.FixSeconds += now - alarm.RaisedAt;
            Stats.AlarmsFixed++;
            var scope = FixScope(alarm);
            if (_lastFix.TryGetValue(scope, out var at) && now - at < 1800)
            {
                continue; // the same fix was made for a sibling alarm moments ago
            }

            _lastFix[scope] = now;
            Stats.ManualActions++;
            RightFix(alarm);
        }
    }

    private string FixScope(Alarm alarm) => alarm.Kind switch
    {
        AlarmKind.GpuHot => "cdu:" + _factory.Racks[_factory.RackIndex(alarm.Asset)].Cdu,
        AlarmKind.CduSupplyHot or AlarmKind.PumpFault => "cdu:" + alarm.Asset,
        AlarmKind.RackInletHot => "hall:" + _factory.Racks[_factory.RackIndex(alarm.Asset)].Hall,
        AlarmKind.CrahFault => "hall:" + _factory.Cooling.Crahs.First(c => c.Id == alarm.Asset).Hall,
        AlarmKind.FacilityWaterHot or AlarmKind.ChillerFault => "chillers",
        AlarmKind.OnBattery or AlarmKind.UtilityLost => "power",
        _ => alarm.Key,
    };

    private void RightFix(Alarm alarm)
    {
        switch (alarm.Kind)
        {
            case AlarmKind.GpuHot:
                CoolCdu(_factory.Racks[_factory.RackIndex(alarm.Asset)].Cdu);
                break;
            case AlarmKind.CduSupplyHot:
            case AlarmKind.PumpFault:
                CoolCdu(alarm.Asset);
                break;
            case AlarmKind.CduNoFlow:
                // No flow at all: shut the CDU's racks down before the GPUs cook.
                foreach (var r in _factory.Racks.Where(r => r.Cdu == alarm.Asset))
                {
                    Override($"{r.Id}/isolate", 1);
                }

                break;
            case AlarmKind.RackInletHot:
                CoolHall(_factory.Racks[_factory.RackIndex(alarm.Asset)].Hall);
                break;
            case AlarmKind.CrahFault:
                CoolHall(_factory.Cooling.Crahs.First(c => c.Id == alarm.Asset).Hall);
                break;
            case AlarmKind.FacilityWaterHot:
            case AlarmKind.ChillerFault:
                foreach (var c in _factory.Cooling.Chillers)
                {
                    Override($"{c.Id}/enable", 1);
                }

                break;
            case AlarmKind.Leak:
                Override($"{alarm.Asset}/isolate", 1);
                break;
            case AlarmKind.OnBattery:
            case AlarmKind.UtilityLost:
                // Stretch battery runtime: cap every GPU at its lowest power limit.
                foreach (var r in _factory.Racks)
                {
                    Override($"{r.Id}/gpu_power_limit", 0.5 * _factory.Gpu.MaxPowerWatts);
                }

                break;
            case AlarmKind.SensorSilent:
                break; // a work order to replace the sensor: toil, no write
        }
    }

    private void WrongFix(Alarm alarm)
    {
        // The plausible wrong knob: make the facility water colder, which costs chiller energy and fixes nothing local.
        var set = _plant.ReadValue("facility-water/supply_setpoint");
        if (!double.IsNaN(set) && alarm.Kind is not (AlarmKind.Leak or AlarmKind.SensorSilent))
        {
            Override("facility-water/supply_setpoint", set - 2);
        }
    }

    private void CoolCdu(string cdu)
    {
        Override($"{cdu}/pump_speed", 1);
        var set = _plant.ReadValue($"{cdu}/supply_setpoint");
        if (!double.IsNaN(set))
        {
            Override($"{cdu}/supply_setpoint", set - 3);
        }

        foreach (var r in _factory.Racks.Where(r => r.Cdu == cdu))
        {
            Override($"{r.Id}/gpu_power_limit", 0.7 * _factory.Gpu.MaxPowerWatts);
        }
    }

    private void CoolHall(string hall)
    {
        foreach (var c in _factory.Cooling.Crahs.Where(c => c.Hall == hall))
        {
            Override($"{c.Id}/enable", 1);
            Override($"{c.Id}/fan_speed", 1);
            Override($"{c.Id}/supply_setpoint", 20);
        }
    }

    /// <summary>Once no alarm has been active for a while, settings changed by fixes go back to the standing ones.</summary>
    private void Restore(double now)
    {
        if (_overridden.Count == 0)
        {
            return;
        }

        var blocking = _active.Values.Any(a => a.Kind != AlarmKind.SensorSilent);
        if (blocking)
        {
            _restoreAt = double.NaN;
            return;
        }

        if (double.IsNaN(_restoreAt))
        {
            _restoreAt = now + Draw(_profile.RestoreDelaySeconds);
            return;
        }

        if (now < _restoreAt)
        {
            return;
        }

        foreach (var i in _overridden)
        {
            if (_plant.Write(i, _baseline[i]).Ok)
            {
                Stats.Writes++;
            }
        }

        _overridden.Clear();
        Stats.ManualActions++;
        _restoreAt = double.NaN;
    }

    /// <summary>Digital operation's routine: seasonal setpoints, and an economiser that runs alone only with a wide margin.</summary>
    private void Routine(double now)
    {
        var hour = (int)(now / 3600);
        if (hour == _routineHour)
        {
            return;
        }

        _routineHour = hour;
        var s = _profile.SetpointsFor(_clock.GetUtcNow().Month);
        // Cooling towers work against the wet bulb, dry coolers against the dry bulb.
        var towers = _factory.Cooling.CoolingTowers;
        var sink = _plant.ReadValue(_factory.Cooling.EvaporativeEconomiser ? "site/ambient_wet_bulb" : "site/ambient_dry_bulb");
        if (double.IsNaN(sink))
        {
            return;
        }

        // Conservative changeover: free cooling only when the economiser can beat the setpoint by its approach plus 3 K;
        // back to chillers as soon as the margin is gone. No partial (integrated) economiser operation.
        var approach = _factory.Cooling.EvaporativeEconomiser ? towers.Max(d => d.ApproachCelsius)
            : _factory.Cooling.DryCoolers.Count > 0 ? _factory.Cooling.DryCoolers.Max(d => d.ApproachCelsius) : 0;
        if (!_economiserMode && sink < s.FacilityWater - approach - 3)
        {
            _economiserMode = true;
        }
        else if (_economiserMode && sink > s.FacilityWater - approach - 1)
        {
            _economiserMode = false;
        }

        if (_overridden.Count == 0)
        {
            Set("facility-water/supply_setpoint", s.FacilityWater, initial: true);
        }

        Set("economiser/enable", _economiserMode ? 1 : 0, initial: true);
        foreach (var c in _factory.Cooling.Chillers.Where(c => !c.Standby))
        {
            Set($"{c.Id}/enable", _economiserMode ? 0 : 1, initial: true);
        }
    }

    private double Draw((double Min, double Max) range) => range.Min + ((range.Max - range.Min) * _random.NextDouble());
}

/// <summary>What the baseline operator did: alarms, manual actions (toil) and response times.</summary>
internal sealed class OperatorStats
{
    public int AlarmsRaised { get; set; }

    public int AlarmsNoticed { get; set; }

    public int AlarmsFixed { get; set; }

    public int ManualActions { get; set; }

    public int WrongFixes { get; set; }

    public int Writes { get; set; }

    public double NoticeSeconds { get; set; }

    public double FixSeconds { get; set; }
}
