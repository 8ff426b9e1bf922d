using System.Globalization;
using System.Text.RegularExpressions;
using Aida.Model.Facility;
using Aida.Observability.Anomalies;
using Aida.Observability.Incidents;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Observability.Detection;

/// <summary>Turns a window of telemetry into time-ordered alerts: threshold rules a facility engineer would set, the
/// part-1 anomaly detectors (stuck, dropout, noise, energy balance) and two derived drift checks (cold plates, dry
/// coolers). Every alert names the topology asset it is about.</summary>
/// <remarks>Reads telemetry only through <see cref="IQueryEngine"/> and the factory model. <see cref="DetectAsync"/>
/// returns the alerts that fire in (from, to], judged over [from - <see cref="AlertingOptions.Lookback"/>, to], so calling
/// it on successive windows gives the alerts one call over their union gives (up to conditions that began more than the
/// lookback before a window). Nothing reads a clock or a random source: the same telemetry gives the same alerts.</remarks>
public sealed class TelemetryAlerting
{
    private readonly IQueryEngine _query;
    private readonly Factory _factory;
    private readonly AlertingOptions _options;
    private readonly EconomiserPlant? _economiser;
    private readonly IReadOnlyList<EquipmentAlarm> _equipmentAlarms;

    public TelemetryAlerting(IQueryEngine query, Factory factory, AlertingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(factory);
        _query = query;
        _factory = factory;
        _options = options ?? new AlertingOptions();
        _economiser = EconomiserPlant.Of(factory, _options);
        _equipmentAlarms = EquipmentAlarm.Of(_options);
    }

    /// <summary>The alerts that fire in (<paramref name="from"/>, <paramref name="to"/>], oldest first (ties by name, then asset).</summary>
    public async Task<IReadOnlyList<Alert>> DetectAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        if (to <= from)
        {
            throw new ArgumentException($"the window must end after it starts ({from:O} .. {to:O})", nameof(to));
        }

        var read = new Window(from - _options.Lookback, from, to);
        var alerts = new List<Alert>();
        await ThresholdsAsync(read, alerts, cancellationToken);
        await PowerAndAmbientAsync(read, alerts, cancellationToken);
        var up = await CollectorsDownAsync(read, alerts, cancellationToken);
        var stuck = await SensorAnomaliesAsync(read, alerts, up, cancellationToken);
        await EnergyBalanceAsync(read, alerts, stuck, cancellationToken);
        await ColdPlateDriftAsync(read, alerts, cancellationToken);
        await EconomiserAsync(read, alerts, cancellationToken);
        return [.. alerts.Where(a => a.At > from && a.At <= to)
            .OrderBy(a => a.At).ThenBy(a => a.Name, StringComparer.Ordinal).ThenBy(a => a.Asset, StringComparer.Ordinal)];
    }

    private readonly record struct Window(DateTimeOffset ReadFrom, DateTimeOffset From, DateTimeOffset To);

    /// <summary>How far a CDU's supply must read from the median of its hall's others to be named the drifting reading
    /// (<see cref="SupplyApartFromPeersAsync"/>), and at least this many times their spread: before the drift on
    /// faults/sensor-drift the supplies of hall 1's five CDUs, every valve fully open, read within 0.23 K of each other
    /// under their different loads; at 02:38, when the energy balance found the drift, cdu-h1-a's read 1.1 K above.</summary>
    private const double SupplyApartKelvin = 1.0;

    private const double SupplyApartSpreads = 5;

    /// <summary>A valve at least this open is fully open (its feedback's resolution).</summary>
    private const double ValveFullyOpen = 0.98;

    /// <summary>The supply reading of CDU <paramref name="cdu"/> when it stands apart from the other CDUs of its hall
    /// (by <see cref="SupplyApartKelvin"/> and <see cref="SupplyApartSpreads"/> times their median absolute deviation,
    /// 0.1 K at least) over the 5 min before <paramref name="at"/>, with every valve of the hall fully open throughout;
    /// null otherwise. With every valve fully open the supplies are the same facility water through like exchangers,
    /// apart only by their loads' approach: one reading apart is that reading. A CDU energy balance that does not close
    /// (supply, return or flow wrong) names no reading; asked once it is answered as a drift, this names the supply
    /// when it is the one apart. With a valve modulating (a supply held at its setpoint, the drifting reading included)
    /// nothing is named, nor in a hall of fewer than three CDUs reporting.</summary>
    public async Task<(Labels Series, string Evidence)?> SupplyApartFromPeersAsync(string cdu, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        if (_factory.Cooling.Cdus.FirstOrDefault(c => c.Id == cdu) is not { } own)
        {
            return null;
        }

        var hall = _factory.Cooling.Cdus.Where(c => c.Hall == own.Hall && _factory.Racks.Any(r => r.Cdu == c.Id)).Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var span = F($"{(long)TimeSpan.FromMinutes(5).TotalMilliseconds}ms");
        var supply = ByAsset(await _query.QueryAsync(F($"avg_over_time(aida_cdu_supply_celsius[{span}])"), at, cancellationToken), hall);
        var valve = ByAsset(await _query.QueryAsync(F($"min_over_time(aida_cdu_valve_ratio[{span}])"), at, cancellationToken), hall);
        if (hall.Count < 3 || !hall.All(c => supply.ContainsKey(c) && valve.ContainsKey(c)) || valve.Values.Any(v => v.Value < ValveFullyOpen))
        {
            return null;
        }

        var others = supply.Where(kv => kv.Key != cdu).Select(kv => kv.Value.Value).Order().ToList();
        var median = Median(others);
        var spread = Math.Max(0.1, Median([.. others.Select(x => Math.Abs(x - median)).Order()]));
        var (labels, reading) = supply[cdu];
        var apart = reading - median;
        if (Math.Abs(apart) < SupplyApartKelvin || Math.Abs(apart) < SupplyApartSpreads * spread)
        {
            return null;
        }

        return (labels.With(Labels.MetricNameLabel, "aida_cdu_supply_celsius"),
            F($"{cdu}'s supply reads {reading:0.0} °C over the last 5 min, {Math.Abs(apart):0.0} K {(apart > 0 ? "above" : "below")} the median of {own.Hall}'s other CDUs ({median:0.0} °C, spread {spread:0.00} K), every valve of the hall fully open: the same facility water through like exchangers, so the reading is apart, not the water"));

        static Dictionary<string, (Labels Labels, double Value)> ByAsset(QueryResult r, HashSet<string> assets) =>
            r.Series.Where(s => s.Labels.Get("asset") is { } a && assets.Contains(a) && s.Samples.Count > 0 && double.IsFinite(s.Samples[^1].Value))
                .ToDictionary(s => s.Labels.Get("asset")!, s => (s.Labels, s.Samples[^1].Value), StringComparer.Ordinal);

        static double Median(List<double> sorted) => sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>The devices of <paramref name="devices"/> (collector, device: the labels of <c>aida_collector_up</c>) that
    /// have not answered throughout <paramref name="from"/> to <paramref name="to"/>: a reading of 0 there, or none since
    /// <paramref name="from"/>. Empty: every one of them answered every poll of the window.</summary>
    public async Task<IReadOnlyList<(string Collector, string Device)>> DevicesNotAnsweringAsync(IReadOnlyCollection<(string Collector, string Device)> devices, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(devices);
        if (to <= from)
        {
            throw new ArgumentException($"the window must end after it starts ({from:O} .. {to:O})", nameof(to));
        }

        var up = await RawAsync("aida_collector_up", new Window(from, from, to), cancellationToken);
        var answering = up.Where(s => s.Samples.Count > 0 && s.Samples.All(x => x.Value >= 0.5))
            .Select(s => (s.Labels.Get("collector") ?? "?", s.Labels.Get("device") ?? "?")).ToHashSet();
        return [.. devices.Where(d => !answering.Contains(d))];
    }

    /// <summary>Why reading <paramref name="series"/> is not to be trusted again yet, judged over [<paramref name="from"/>,
    /// <paramref name="to"/>] by the rules that find a reading lying (null: it behaved throughout).</summary>
    /// <remarks>A reading alerted stuck, dropped out or scattering stops alerting long before it can be believed: a stuck
    /// run alerts once, and every rule is quiet for a while after it fires. So the reading must show it behaves: at least
    /// half the samples due every <see cref="AlertingOptions.Step"/>, finite, with no dropout (from the window's start to
    /// its end) and no frozen run (the stuck scan, with a CDU temperature's partner as the alerts use it), and no usual
    /// level of scatter held for it (<see cref="Noise"/> holds the level that found the scatter until the whole lookback
    /// is back near it). A caller
    /// that asks this must also run <see cref="DetectAsync"/> up to <paramref name="to"/>: the scatter held is that
    /// detection's. A drift is not judged here: see <see cref="IncidentPipeline.SensorStillLyingAsync"/>.</remarks>
    public async Task<string?> StillLyingAsync(Labels series, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (to <= from)
        {
            throw new ArgumentException($"the window must end after it starts ({from:O} .. {to:O})", nameof(to));
        }

        var w = new Window(from, from, to);
        var metric = series.MetricName;
        var samples = (await RawAsync(metric, w, cancellationToken)).FirstOrDefault(s => Labels.Compare(s.Labels, series) == 0);
        var finite = samples?.Samples.Where(s => double.IsFinite(s.Value)).ToList() ?? [];
        var expected = (int)((to - from) / _options.Step);
        if (samples is null || finite.Count < expected / 2)
        {
            return F($"{finite.Count} finite readings since {from:HH:mm:ss}, {expected} expected");
        }

        var asset = AssetOf(series);
        var partnerMetric = PartnerOf(metric);
        var partner = partnerMetric is null ? null : (await RawAsync(partnerMetric, w, cancellationToken)).FirstOrDefault(s => AssetOf(s.Labels) == asset);
        var scan = SeriesAnomalies.Scan(samples, partner is null ? AloneScan : CoupledScan, to, partner);
        if (scan.Anomalies.FirstOrDefault(a => a.Kind is AnomalyKind.Stuck or AnomalyKind.Dropout) is { } lie)
        {
            return F($"{lie.Kind.ToString().ToLowerInvariant()} at {lie.Onset:HH:mm:ss}: {lie.Evidence}");
        }

        // The scan finds gaps between readings and after the last; one before the first is the window's to find.
        var first = At(finite[0].TimestampMs);
        if (first - from > scan.Interval * AloneScan.DropoutIntervals)
        {
            return F($"no reading from {from:HH:mm:ss} to {first:HH:mm:ss}");
        }

        if (_scatterHeld.TryGetValue(series, out var held))
        {
            return F($"still judged against the usual scatter {held:0.00} that found it scattering");
        }

        return null;
    }

    private async Task ThresholdsAsync(Window w, List<Alert> alerts, CancellationToken ct)
    {
        var hold = (long)_options.Hold.TotalMilliseconds;
        var slowdown = _factory.Gpu.ThrottleCelsius;
        await RuleAsync(w, alerts, "aida_rack_inlet_celsius", AlertNames.RackInletHigh, "warning", hold,
            (_, v) => v > _options.RackInletLimitCelsius, v => F($"rack inlet {v:0.0} °C above the ASHRAE recommended {_options.RackInletLimitCelsius:0} °C"), ct);
        var hottest = await RawAsync("aida_rack_gpu_max_temperature_celsius", w, ct);
        await RuleAsync(w, alerts, "aida_rack_gpu_max_temperature_celsius", AlertNames.GpuNearSlowdown, "critical", hold,
            (_, v) => v > slowdown - _options.GpuSlowdownMarginCelsius, v => F($"hottest GPU {v:0} °C, within {_options.GpuSlowdownMarginCelsius:0} K of the {slowdown:0} °C slowdown"), ct,
            read: hottest);
        await GpusNearSlowdownAsync(w, alerts, hottest, slowdown - _options.GpuSlowdownMarginCelsius, hold, ct);
        await RuleAsync(w, alerts, "aida_rack_gpus_throttled", AlertNames.GpuThrottling, "critical", hold,
            (_, v) => v > 0, v => F($"{v:0} GPUs throttling"), ct);
        await RuleAsync(w, alerts, "aida_cdu_coolant_level_ratio", AlertNames.CoolantLevelLow, "critical", hold,
            (_, v) => v < _options.CoolantLevelLow, v => F($"coolant level {v:P0}"), ct);
        // Equipment alarms fire at their first raised reading: the reading before the window is all the history they need.
        var recent = w with { ReadFrom = Max(w.ReadFrom, w.From - _options.EquipmentAlarmLookback) };
        foreach (var alarm in _equipmentAlarms)
        {
            await RuleAsync(recent, alerts, alarm.Metric, alarm.Name, "critical", 0, (_, v) => alarm.Raised(v), alarm.Summary, ct);
        }

        var setpoints = await RawAsync("aida_setpoint_celsius", w, ct);
        IReadOnlyList<Sample> SetpointOf(string asset) =>
            setpoints.FirstOrDefault(s => s.Labels.Get("asset") == asset)?.Samples ?? [];
        // A CDU whose facility-water valve is fully open is doing all it can: its supply above the setpoint is the
        // facility water's (a warmer loop, alerted upstream when it leaves its own setpoint, or an optimiser that left the
        // CDU setpoint below the reachable supply on purpose), not the CDU's fault. Regression (faults week, agent, seed
        // 1): the water raised to 21.5 °C under CDU setpoints of 20.5 °C called four healthy valves stuck.
        var valves = await RawAsync("aida_cdu_valve_ratio", w, ct);
        IReadOnlyList<Sample> ValveOf(string asset) => SamplesOf(valves, asset);
        await RuleAsync(w, alerts, "aida_cdu_supply_celsius", AlertNames.CduSupplyOffSetpoint, "warning", hold,
            null, v => F($"CDU supply {v:0.0} °C, more than {_options.CduSupplyOffsetCelsius:0} K above its setpoint with its valve short of fully open"), ct,
            conditionOf: asset =>
            {
                var sp = SetpointOf(asset);
                var valve = ValveOf(asset);
                return (t, v) => ThresholdCrossings.ValueAt(sp, t) is not { } s ? null
                    : !(v > s + _options.CduSupplyOffsetCelsius) ? false
                    : !(ThresholdCrossings.ValueAt(valve, t) >= 1 - ValveResponse.ValveLimit);
            });
        // A setpoint written (its command, as the writer reads it back) that the active setpoint does not take up: the
        // actuator accepts writes and does nothing (TWIN.md's actuator failure). One that follows ramps toward its
        // command at its rate limit; a command the active setpoint has reached, or is moving toward, is healthy. The
        // same for a pump's or fan's speed command against its drive's speed feedback.
        var setpointTakeUp = (long)_options.SetpointTakeUpWindow.TotalMilliseconds;
        await CommandRuleAsync(w, alerts, "aida_setpoint_command_celsius", setpoints, AlertNames.SetpointNotApplied, hold,
            _options.SetpointCommandGapCelsius, _options.SetpointTakeUpCelsius, setpointTakeUp,
            v => F($"setpoint written as {v:0.0} °C, and the active setpoint has not moved toward it for {(setpointTakeUp + hold) / 1000:0} s: the actuator does not follow its writes"), ct);
        var speedTakeUp = (long)_options.SpeedTakeUpWindow.TotalMilliseconds;
        await CommandRuleAsync(w, alerts, "aida_speed_command_ratio", await RawAsync("aida_speed_ratio", w, ct), AlertNames.SpeedNotApplied, hold,
            _options.SpeedCommandGapRatio, _options.SpeedTakeUpRatio, speedTakeUp,
            v => F($"speed commanded at {v:P0}, and the drive's speed has not moved toward it for {(speedTakeUp + hold) / 1000:0} s: the drive does not follow its commands"), ct);
        // The GPUs' enforced limit per rack: DCGM serves it per GPU (the twin's own point per rack); the rack's cap is
        // applied once its most permissive GPU has taken it.
        var enforced = await _query.QueryRangeAsync("max by (rack) (DCGM_FI_DEV_POWER_MGMT_LIMIT)", w.ReadFrom, w.To, _options.Step, ct);
        await CommandRuleAsync(w, alerts, "aida_gpu_power_limit_command_watts", enforced.Series, AlertNames.PowerLimitNotApplied, hold,
            _options.PowerLimitCommandGapWatts, _options.PowerLimitCommandGapWatts, speedTakeUp,
            v => F($"GPU power limit set to {v:0} W, and the limit the GPUs enforce has not moved toward it for {(speedTakeUp + hold) / 1000:0} s: the cap is not applied"), ct);
        await RuleAsync(w, alerts, "aida_facility_water_supply_celsius", AlertNames.FacilityWaterHigh, "warning", hold,
            null, v => F($"facility water supply {v:0.0} °C, more than {_options.FacilityWaterOffsetCelsius:0} K above its setpoint"), ct,
            conditionOf: asset =>
            {
                var sp = SetpointOf(asset);
                return (t, v) => ThresholdCrossings.ValueAt(sp, t) is { } s ? v > s + _options.FacilityWaterOffsetCelsius : null;
            });

        foreach (var supply in await RawAsync("aida_cdu_supply_celsius", w, ct))
        {
            var asset = AssetOf(supply.Labels);
            if (valves.FirstOrDefault(s => AssetOf(s.Labels) == asset) is not { } valve)
            {
                continue;
            }

            foreach (var (at, error, position) in ValveResponse.Find(supply.Samples, SetpointOf(asset), valve.Samples, _options.ValveDepartureCelsius))
            {
                alerts.Add(new Alert(AlertNames.CduValveUnresponsive, AlertSource.Anomaly, asset, At(at),
                    F($"CDU supply {error:0.0} K above its setpoint within minutes while its valve held at {position:P0}, short of its limits: the valve does not follow its controller"))
                { Severity = "warning", Series = supply.Labels });
            }
        }

        foreach (var flow in await RawAsync("aida_cdu_flow_kg_per_second", w, ct))
        {
            var reference = flow.Samples.Where(s => s.TimestampMs <= Ms(w.From) && double.IsFinite(s.Value)).Select(s => s.Value).ToArray();
            if (reference.Length < 10)
            {
                continue;
            }

            Array.Sort(reference);
            var median = reference[reference.Length / 2];
            Add(alerts, flow.Labels, AlertNames.CduFlowLow, "critical",
                ThresholdCrossings.Find(flow.Samples, (_, v) => v < _options.CduFlowLowShare * median, hold),
                flow.Samples, v => F($"CDU flow {v:0.0} kg/s, under {_options.CduFlowLowShare:P0} of its normal {median:0.0} kg/s"));
        }

        var feeds = await RawAsync("aida_utility_available", w, ct);
        var running = await RawAsync("aida_asset_running", w, ct);
        foreach (var gen in _factory.Power.Generators)
        {
            var feed = feeds.FirstOrDefault(s => s.Labels.Get("asset") == gen.Feed);
            var run = running.FirstOrDefault(s => s.Labels.Get("asset") == gen.Id);
            if (feed is null || run is null)
            {
                continue;
            }

            foreach (var (_, fire) in ThresholdCrossings.Find(feed.Samples, (_, v) => v < 0.5, (long)_options.GeneratorStartLimit.TotalMilliseconds))
            {
                if (ThresholdCrossings.ValueAt(run.Samples, fire) is < 0.5)
                {
                    alerts.Add(new Alert(AlertNames.GeneratorNotRunning, AlertSource.Threshold, gen.Id, At(fire),
                        F($"{gen.Id} not running {_options.GeneratorStartLimit.TotalSeconds:0} s after {gen.Feed} was lost"))
                    { Severity = "critical", Series = run.Labels });
                }
            }
        }

        await RunCommandsAsync(w, alerts, feeds, running, ct);
    }

    /// <summary>Proof of run: a unit commanded to run (<c>aida_enable_command</c>) that neither reports running
    /// (<c>aida_asset_running</c>; the economiser, <c>aida_economiser_enabled</c>) nor starting (<c>aida_asset_starting</c>,
    /// a chiller controller's start sequence) for <see cref="AlertingOptions.UnitStartAllowance"/>, or has been starting
    /// longer than its start time (a chiller's restart time from the factory model) plus that allowance. A site that
    /// reports no starting state is judged on the start time plus the allowance alone. Not while the unit reports a fault
    /// (a tripped unit is alerted as such) or is out of service for maintenance (<c>aida_asset_maintenance</c>: it will
    /// not run, and the command was the writer's mistake, not the unit's), nor while a chiller's feed is dead (no
    /// utility and none of its generators running: it starts again once power is back). Only this direction: a BMS's
    /// automatic changeover runs a standby unit it was never commanded to.</summary>
    private async Task RunCommandsAsync(Window w, List<Alert> alerts, IReadOnlyList<SeriesSamples> feeds, IReadOnlyList<SeriesSamples> running, CancellationToken ct)
    {
        var commands = await RawAsync("aida_enable_command", w, ct);
        if (commands.Count == 0)
        {
            return;
        }

        var faults = await RawAsync("aida_asset_fault", w, ct);
        var maintenance = await RawAsync("aida_asset_maintenance", w, ct);
        var startings = await RawAsync("aida_asset_starting", w, ct);
        var states = running.Concat(await RawAsync("aida_economiser_enabled", w, ct)).ToList();
        foreach (var command in commands)
        {
            var asset = AssetOf(command.Labels);
            var state = SamplesOf(states, asset);
            if (state.Count == 0)
            {
                continue;
            }

            var fault = SamplesOf(faults, asset);
            var outOfService = SamplesOf(maintenance, asset);
            var starting = SamplesOf(startings, asset);
            var chiller = _factory.Cooling.Chillers.FirstOrDefault(c => c.Id == asset);
            var utility = chiller is null ? [] : SamplesOf(feeds, chiller.Feed);
            var generators = chiller is null ? [] : _factory.Power.Generators.Where(g => g.Feed == chiller.Feed).Select(g => SamplesOf(running, g.Id)).ToList();
            bool Powered(long t) => chiller is null || utility.Count == 0 || ThresholdCrossings.ValueAt(utility, t) >= 0.5 || generators.Any(g => ThresholdCrossings.ValueAt(g, t) >= 0.5);
            var startLimit = (long)((chiller?.RestartTime ?? TimeSpan.Zero) + _options.UnitStartAllowance).TotalMilliseconds;
            bool InItsStart(long t) => starting.Count > 0 && ThresholdCrossings.ValueAt(starting, t) >= 0.5 && t - StartingSince(starting, t) < startLimit;
            var hold = starting.Count > 0 ? (long)_options.UnitStartAllowance.TotalMilliseconds : startLimit;
            Add(alerts, command.Labels, AlertNames.RunCommandNotApplied, "warning",
                ThresholdCrossings.Find(command.Samples, (t, v) => Watched(t) && ThresholdCrossings.ValueAt(state, t) is { } on
                    ? v >= 0.5 && on < 0.5 && !(ThresholdCrossings.ValueAt(fault, t) >= 0.5) && !(ThresholdCrossings.ValueAt(outOfService, t) >= 0.5) && Powered(t) && !InItsStart(t)
                    : null, hold),
                command.Samples, _ => F($"commanded to run and not running, with no fault reported, {(starting.Count > 0 ? $"not starting after {hold / 1000:0} s" : $"after {hold / 1000:0} s")}: the unit did not start"));
        }
    }

    /// <summary>The samples of the series in <paramref name="list"/> whose asset is <paramref name="asset"/>; none when
    /// there is no such series.</summary>
    private IReadOnlyList<Sample> SamplesOf(IReadOnlyList<SeriesSamples> list, string asset) =>
        list.FirstOrDefault(s => AssetOf(s.Labels) == asset)?.Samples ?? [];

    /// <summary>When the run of "starting" readings holding at <paramref name="t"/> began: the first of the consecutive
    /// readings of 1 ending at the newest reading at or before <paramref name="t"/>.</summary>
    private static long StartingSince(IReadOnlyList<Sample> starting, long t)
    {
        var since = t;
        for (var i = ThresholdCrossings.IndexAt(starting, t); i >= 0 && starting[i].Value >= 0.5; i--)
        {
            since = starting[i].TimestampMs;
        }

        return since;
    }

    /// <summary>Alerts a command (<paramref name="commandMetric"/>) its asset's active value (in <paramref name="active"/>)
    /// does not take up: more than <paramref name="gap"/> apart, and moved toward it by less than
    /// <paramref name="takeUp"/> over the last <paramref name="takeUpMs"/>, held for <paramref name="holdMs"/>.</summary>
    private Task CommandRuleAsync(
        Window w, List<Alert> alerts, string commandMetric, IReadOnlyList<SeriesSamples> active, string name, long holdMs,
        double gap, double takeUp, long takeUpMs, Func<double, string> summary, CancellationToken ct) =>
        RuleAsync(w, alerts, commandMetric, name, "warning", holdMs, null, summary, ct,
            conditionOf: asset =>
            {
                var value = SamplesOf(active, asset);
                return (t, command) => ThresholdCrossings.ValueAt(value, t) is not { } now || ThresholdCrossings.ValueAt(value, t - takeUpMs) is not { } before ? null
                    : Math.Abs(command - now) <= gap ? false
                    : Math.Abs(command - before) - Math.Abs(command - now) < takeUp;
            });

    /// <summary>The samples split where the load comes back from a break (a stretch not judged: unsteady, or no data) at
    /// a level more than <see cref="AlertingOptions.ReferenceLoadShare"/> away from the load its run of samples began at:
    /// each run is judged against a reference of its own. A load that climbs steadily (an inference hall's evening) keeps
    /// its reference, and one that dips and comes back to its level (a checkpoint) does too.</summary>
    private List<List<Sample>> LoadRegimes(List<Sample> samples, Dictionary<long, double> load, long stepMs)
    {
        var regimes = new List<List<Sample>>();
        double? at = null;
        long last = long.MinValue;
        foreach (var s in samples)
        {
            if (!load.TryGetValue(s.TimestampMs, out var l))
            {
                continue;
            }

            var gap = s.TimestampMs - last;
            var broke = gap > stepMs;
            if (at is not { } reference || (broke && Math.Abs(l - reference) > _options.ReferenceLoadShare * reference)
                || gap >= _options.ReferenceBreak.TotalMilliseconds)
            {
                regimes.Add([]);
                at = l;
            }

            regimes[^1].Add(s);
            last = s.TimestampMs;
        }

        return regimes;
    }

    /// <summary>Each GPU whose DCGM temperature (<c>DCGM_FI_DEV_GPU_TEMP</c>) comes above <paramref name="limit"/> and holds
    /// there, as the per-GPU alarms of a site's DCGM alerting: the GPUs a storm is made of, which the ML platform drains.
    /// Only the racks whose hottest GPU (<paramref name="hottest"/>, already read for the rack rule) came above the limit
    /// in the window are read, so a minute with no hot rack costs
    /// one series per rack, not one per GPU.</summary>
    private async Task GpusNearSlowdownAsync(Window w, List<Alert> alerts, IReadOnlyList<SeriesSamples> hottest, double limit, long holdMs, CancellationToken ct)
    {
        var racks = hottest
            .Where(s => s.Samples.Any(x => x.Value > limit)).Select(s => s.Labels.Get("rack")).OfType<string>().ToList();
        if (racks.Count == 0)
        {
            return;
        }

        var gpus = await RawAsync(F($"DCGM_FI_DEV_GPU_TEMP{{rack=~\"{string.Join('|', racks.Select(Regex.Escape))}\"}}"), w, ct);
        foreach (var gpu in gpus)
        {
            Add(alerts, gpu.Labels, AlertNames.GpuTemperatureHigh, "critical", ThresholdCrossings.Find(gpu.Samples, (t, v) => Watched(t) && v > limit, holdMs), gpu.Samples,
                v => F($"GPU {gpu.Labels.Get("gpu")} of {gpu.Labels.Get("Hostname")} ({gpu.Labels.Get("UUID")}) at {v:0} °C, within {_options.GpuSlowdownMarginCelsius:0} K of its slowdown"));
        }
    }

    /// <summary>Whether a sample at <paramref name="ms"/> is after <see cref="AlertingOptions.WatchStart"/> (always, without one).</summary>
    private bool Watched(long ms) => _options.WatchStart is not { } watch || ms > watch.ToUnixTimeMilliseconds();

    private async Task RuleAsync(
        Window w, List<Alert> alerts, string metric, string name, string severity, long holdMs,
        Func<long, double, bool>? condition, Func<double, string> summary, CancellationToken ct,
        Func<string, Func<long, double, bool?>>? conditionOf = null, IReadOnlyList<SeriesSamples>? read = null)
    {
        foreach (var series in read ?? await RawAsync(metric, w, ct))
        {
            // A fixed limit, or one the asset's own series set (its setpoint, its valve): null where it is unknown.
            Func<long, double, bool?> test = conditionOf is not null ? conditionOf(AssetOf(series.Labels)) : (t, v) => condition!(t, v);

            Add(alerts, series.Labels, name, severity, ThresholdCrossings.Find(series.Samples, (t, v) => Watched(t) ? test(t, v) : false, holdMs), series.Samples, summary);
        }
    }

    private void Add(List<Alert> alerts, Labels labels, string name, string severity, List<(long StartMs, long FireMs)> crossings, IReadOnlyList<Sample> samples, Func<double, string> summary)
    {
        foreach (var (_, fire) in crossings)
        {
            var v = ThresholdCrossings.ValueAt(samples, fire) ?? double.NaN;
            alerts.Add(new Alert(name, AlertSource.Threshold, AssetOf(labels), At(fire), summary(v)) { Severity = severity, Series = labels });
        }
    }

    private async Task PowerAndAmbientAsync(Window w, List<Alert> alerts, CancellationToken ct)
    {
        var step = _options.Step;
        var halls = await _query.QueryRangeAsync("sum by (hall) (aida_rack_power_watts)", w.ReadFrom, w.To, step, ct);
        foreach (var hall in halls.Series)
        {
            foreach (var (at, first) in PowerSwings.Find(hall.Samples, _options))
            {
                var asset = hall.Labels.Get("hall") ?? _factory.Site.Name;
                alerts.Add(new Alert(AlertNames.PowerSwing, AlertSource.Threshold, asset, At(at),
                    F($"{asset} IT power stepped by more than {_options.PowerStepWatts / 1e6:0.0} MW, up and down in turn, {(at - first) / 1000.0:0} s since the first step"))
                { Severity = "warning", Series = hall.Labels });
            }
        }

        var spanMs = (long)_options.AmbientJumpSpan.TotalMilliseconds;
        foreach (var amb in await RawAsync("aida_ambient_dry_bulb_celsius", w, ct))
        {
            var s = amb.Samples;
            var jumps = ThresholdCrossings.Find(s, (t, v) =>
            {
                var min = double.PositiveInfinity;
                for (var i = s.Count - 1; i >= 0; i--)
                {
                    if (s[i].TimestampMs > t)
                    {
                        continue;
                    }

                    if (s[i].TimestampMs < t - spanMs)
                    {
                        break;
                    }

                    min = double.IsFinite(s[i].Value) ? Math.Min(min, s[i].Value) : min;
                }

                return v - min > _options.AmbientJumpCelsius;
            }, 0);
            Add(alerts, amb.Labels.With("asset", _factory.Site.Name), AlertNames.AmbientJump, "warning", jumps, s,
                v => F($"outdoor dry bulb {v:0.0} °C, up more than {_options.AmbientJumpCelsius:0} K within {_options.AmbientJumpSpan.TotalMinutes:0} min"));
            var design = _factory.Site.DesignDryBulbCelsius ?? _options.AmbientHighCelsius;
            var source = _factory.Site.DesignDryBulbCelsius is null ? "the default design day" : _factory.Site.DesignDryBulbSource;
            Add(alerts, amb.Labels.With("asset", _factory.Site.Name), AlertNames.AmbientHigh, "warning",
                ThresholdCrossings.Find(s, (_, v) => v > design, (long)_options.Hold.TotalMilliseconds), s,
                v => F($"outdoor dry bulb {v:0.0} °C above the site's {design:0.0} °C design dry bulb ({source})"));
        }
    }

    /// <summary>Alerts each collector's device down (<c>aida_collector_up</c> 0) for the hold, on the site's telemetry
    /// (<see cref="AlertNames.TelemetryAsset"/>); returns the health series read (none for the embedded twin).</summary>
    private async Task<IReadOnlyList<SeriesSamples>> CollectorsDownAsync(Window w, List<Alert> alerts, CancellationToken ct)
    {
        var up = await RawAsync("aida_collector_up", w, ct);
        foreach (var series in up)
        {
            var (collector, device) = (series.Labels.Get("collector") ?? "?", series.Labels.Get("device") ?? "?");
            foreach (var (start, fire) in ThresholdCrossings.Find(series.Samples, (t, v) => Watched(t) && v < 0.5, (long)_options.Hold.TotalMilliseconds))
            {
                alerts.Add(new Alert(AlertNames.CollectorDown, AlertSource.Threshold, AlertNames.TelemetryAsset, At(fire),
                    F($"{collector} device {device} down since {At(start):HH:mm:ss}: its polls fail (aida_collector_errors_total), so its readings stop arriving; not a sensor fault"))
                { Severity = "warning", Series = series.Labels });
            }
        }

        return up;
    }

    /// <summary>Whether the device delivering <paramref name="series"/> (<see cref="AlertingOptions.ReadingSource"/>)
    /// reported down at <paramref name="at"/>: its readings stopped because it could not be reached.</summary>
    private bool SourceDown(Labels series, DateTimeOffset at, IReadOnlyList<SeriesSamples> up)
    {
        if (_options.ReadingSource?.Invoke(series) is not var (collector, device))
        {
            return false;
        }

        var health = up.FirstOrDefault(s => s.Labels.Get("collector") == collector && s.Labels.Get("device") == device);
        return health is not null && ThresholdCrossings.ValueAt(health.Samples, Ms(at)) < 0.5;
    }

    private static readonly string[] ScannedSensors =
        ["aida_rack_inlet_celsius", "aida_cdu_supply_celsius", "aida_cdu_return_celsius", "aida_cdu_flow_kg_per_second", "aida_facility_water_supply_celsius"];

    /// <summary>The reading that vouches a CDU temperature's loop moves (its other temperature); null for others.</summary>
    private static string? PartnerOf(string metric) => metric switch
    {
        "aida_cdu_supply_celsius" => "aida_cdu_return_celsius",
        "aida_cdu_return_celsius" => "aida_cdu_supply_celsius",
        _ => null,
    };

    // Only stuck readings and dropouts are read from the scans here: outliers and level shifts are not computed.
    private static readonly AnomalyOptions CoupledScan = new() { StuckSamples = 12, ScanLevels = false };
    private static readonly AnomalyOptions AloneScan = new() { ScanLevels = false };

    /// <summary>Alerts on stuck, dropped-out and scattering readings; returns, per asset, the spans over which a reading of
    /// the CDU energy balance (supply, return, flow) was found stuck in the window.</summary>
    private async Task<Dictionary<string, List<ReadingSpan>>> SensorAnomaliesAsync(Window w, List<Alert> alerts, IReadOnlyList<SeriesSamples> up, CancellationToken ct)
    {
        var stuckSpans = new Dictionary<string, List<ReadingSpan>>(StringComparer.Ordinal);
        var byMetric = new Dictionary<string, IReadOnlyList<SeriesSamples>>(StringComparer.Ordinal);
        foreach (var metric in ScannedSensors)
        {
            byMetric[metric] = await RawAsync(metric, w, ct);
        }

        foreach (var metric in ScannedSensors)
        {
            var partner = PartnerOf(metric);
            foreach (var series in byMetric[metric])
            {
                var asset = AssetOf(series.Labels);
                var coupled = partner is null ? null : byMetric[partner].FirstOrDefault(s => AssetOf(s.Labels) == asset);
                // A CDU temperature has its partner to vouch that the loop moves: 2 min of a frozen reading is enough there.
                var scan = SeriesAnomalies.Scan(series, coupled is null ? AloneScan : CoupledScan, w.To, coupled);
                foreach (var a in scan.Anomalies)
                {
                    switch (a.Kind)
                    {
                        case AnomalyKind.Stuck:
                            alerts.Add(new Alert(AlertNames.SensorStuck, AlertSource.Anomaly, asset, a.Detected, a.Evidence) { Series = series.Labels, Severity = "warning" });
                            if (metric.StartsWith("aida_cdu_", StringComparison.Ordinal))
                            {
                                (stuckSpans.TryGetValue(asset, out var spans) ? spans : stuckSpans[asset] = []).Add(new ReadingSpan(a.Onset, a.Until ?? w.To));
                            }

                            break;
                        case AnomalyKind.Dropout when !SourceDown(series.Labels, a.Detected, up):
                            alerts.Add(new Alert(AlertNames.SensorDropout, AlertSource.Anomaly, asset, a.Detected, a.Evidence) { Series = series.Labels, Severity = "warning" });
                            break;
                        default:
                            break;
                    }
                }

                if (metric is "aida_rack_inlet_celsius" or "aida_facility_water_supply_celsius" or "aida_cdu_supply_celsius")
                {
                    // Readings a slow or controlled process drives; a CDU's return and flow follow the GPUs' synchronous
                    // dips within seconds, which is the plant moving, not the sensor scattering.
                    Noise(series, asset, w, alerts);
                }
            }
        }

        return stuckSpans;
    }

    /// <summary>Per series that scattered, the usual level its first alert was judged against, held while it scatters.</summary>
    /// <remarks>A window is judged against the 2 h before it, so a reading that went on scattering became its own usual
    /// level once the noise filled most of that: on faults/sensor-noise (3 K on h2-b04's inlet from 02:00 to 08:00),
    /// stepped a minute at a time as the agent steps, the alerts stopped at 03:14 and the reading, still scattering, later
    /// crossed 27 °C as if it were the room. Held, the level that found the noise judges the later windows too, until
    /// the lookback's own level is back within <see cref="AlertingOptions.NoiseRatio"/> of it (the scatter gone from
    /// the whole lookback). A single window over a whole run (aida eval) is judged as before.</remarks>
    private readonly Dictionary<Labels, double> _scatterHeld = [];

    private void Noise(SeriesSamples series, string asset, Window w, List<Alert> alerts)
    {
        var held = _scatterHeld.TryGetValue(series.Labels, out var level) ? level : double.PositiveInfinity;
        var (found, usual, judged) = ReadingScatter.Judge(series.Samples, Ms(w.From), _options, held);
        foreach (var (at, why) in found)
        {
            alerts.Add(new Alert(AlertNames.SensorNoise, AlertSource.Anomaly, asset, At(at), F($"{series.Labels.MetricName}: {why}: the reading scatters"))
            { Series = series.Labels, Severity = "warning" });
        }

        if (found.Count > 0)
        {
            _scatterHeld[series.Labels] = judged;
        }
        else if (double.IsFinite(held) && double.IsFinite(usual) && usual <= _options.NoiseRatio * held)
        {
            _scatterHeld.Remove(series.Labels);
        }
    }

    /// <summary>The readings a CDU's energy balance is derived from.</summary>
    private static readonly string[] EnergyBalanceReads =
        ["aida_cdu_supply_celsius", "aida_cdu_return_celsius", "aida_cdu_flow_kg_per_second", "aida_cdu_pump_power_watts", "aida_rack_power_watts"];

    /// <summary>The readings the cold plates' check is derived from.</summary>
    private static readonly string[] ColdPlateReads = ["aida_rack_gpu_max_temperature_celsius", "aida_rack_power_watts", "aida_cdu_supply_celsius"];

    private async Task EnergyBalanceAsync(Window w, List<Alert> alerts, Dictionary<string, List<ReadingSpan>> stuck, CancellationToken ct)
    {
        var balance = new CduEnergyBalance(_query, _factory, _options.EnergyBalance);
        foreach (var cdu in _factory.Cooling.Cdus)
        {
            if (!_factory.Racks.Any(r => r.Cdu == cdu.Id))
            {
                continue;
            }

            EnergyBalanceResidual residual;
            try
            {
                // A reading found stuck is not judged on the balance, nor sets its reference: its alert names it already,
                // and a frozen return under a swinging load took the residual off its reference again and again.
                residual = await balance.CheckAsync(cdu.Id, w.ReadFrom, w.To, stuck.GetValueOrDefault(cdu.Id) ?? [], ct);
            }
            catch (InvalidOperationException)
            {
                // A CDU with an input missing over the window cannot be balanced; its dropout is alerted on its own.
                continue;
            }

            foreach (var a in residual.Anomalies)
            {
                alerts.Add(new Alert(AlertNames.EnergyBalance, AlertSource.Anomaly, cdu.Id, a.Detected, a.Evidence) { Series = a.Series, Severity = "warning", Reads = EnergyBalanceReads });
            }

            BalanceStillOpen(w, alerts, cdu.Id, residual.Anomalies);
        }
    }

    /// <summary>A CDU supply found off its setpoint (<see cref="AlertNames.IsSupplyOffSetpoint"/>) in this window while
    /// its energy balance is out, in a run alerted before the window, gets that run's alert again at its own time: root
    /// cause tells a drifting supply sensor (the balance does not close) from a stuck valve (it does) by the balance
    /// within the same incident, and the run's own alert may lie in an earlier one, quiet by then. The balance is still
    /// out when the run lasts to the alert, or ended at a transient (samples not judged) at most
    /// <see cref="EnergyBalanceOptions.SteadySpan"/> before it with no judged sample back within the threshold since: the
    /// supply leaving its band is such a transient. Regression: on faults/sensor-drift with the CDU's setpoint held
    /// where its valve stays short of fully open, the balance alerted at 02:37, the supply read 3 K off at 03:31 in a
    /// new incident, and the agent ran the stuck-valve runbook on a healthy valve.</summary>
    private void BalanceStillOpen(Window w, List<Alert> alerts, string cdu, IReadOnlyList<Anomaly> runs)
    {
        var recent = TimeSpan.FromTicks(Math.Max(_options.EnergyBalance.Step.Ticks, _options.EnergyBalance.SteadySpan.Ticks));
        var supplyAlerts = alerts.Where(a => AlertNames.IsSupplyOffSetpoint(a.Name) && a.Asset == cdu && a.At > w.From && a.At <= w.To).ToList();
        foreach (var a in supplyAlerts)
        {
            var run = runs.FirstOrDefault(r => r.Detected <= w.From && r.Onset <= a.At && r.Until is { } until
                && a.At - until <= recent && !(r.Closed <= a.At));
            if (run is not null && !alerts.Any(x => x.Name == AlertNames.EnergyBalance && x.Asset == cdu && x.At == a.At))
            {
                alerts.Add(new Alert(AlertNames.EnergyBalance, AlertSource.Anomaly, cdu, a.At,
                    F($"{run.Evidence}; still out at {a.At:HH:mm:ss} as the supply leaves its setpoint (out since {run.Onset:HH:mm:ss}, last judged {run.Until:HH:mm:ss})"))
                {
                    Series = run.Series,
                    Severity = "warning",
                    Reads = EnergyBalanceReads,
                });
            }
        }
    }

    /// <summary>Per CDU, its racks' mean (hottest GPU - CDU supply) per kW of rack power, divided by the median of the
    /// other CDUs of its hall: workload moves every CDU alike and cancels; a fouling cold plate moves one.</summary>
    private async Task ColdPlateDriftAsync(Window w, List<Alert> alerts, CancellationToken ct)
    {
        var step = TimeSpan.FromMinutes(1);
        var gpu = await RangeByAsync("avg_over_time(aida_rack_gpu_max_temperature_celsius[5m])", "rack", w, step, ct);
        var power = await RangeByAsync("avg_over_time(aida_rack_power_watts[5m])", "rack", w, step, ct);
        var supply = await RangeByAsync("avg_over_time(aida_cdu_supply_celsius[5m])", "asset", w, step, ct);
        var perCdu = new Dictionary<string, Dictionary<long, double>>(StringComparer.Ordinal);
        var loads = new Dictionary<string, Dictionary<long, double>>(StringComparer.Ordinal);
        var drawing = new Dictionary<string, Dictionary<long, int>>(StringComparer.Ordinal);
        foreach (var cdu in _factory.Cooling.Cdus)
        {
            if (!supply.TryGetValue(cdu.Id, out var ts))
            {
                continue;
            }

            var sum = new Dictionary<long, (double Sum, int N)>();
            foreach (var rack in _factory.Racks.Where(r => r.Cdu == cdu.Id))
            {
                if (!gpu.TryGetValue(rack.Id, out var tg) || !power.TryGetValue(rack.Id, out var pw))
                {
                    continue;
                }

                foreach (var (t, g) in tg)
                {
                    if (pw.TryGetValue(t, out var p) && ts.TryGetValue(t, out var s) && p > 1000)
                    {
                        var x = (g - s) / (p / 1000);
                        var cur = sum.GetValueOrDefault(t);
                        sum[t] = (cur.Sum + x, cur.N + 1);
                    }
                }
            }

            perCdu[cdu.Id] = sum.ToDictionary(kv => kv.Key, kv => kv.Value.Sum / kv.Value.N);
            drawing[cdu.Id] = sum.ToDictionary(kv => kv.Key, kv => kv.Value.N);
            var load = new Dictionary<long, double>();
            foreach (var rack in _factory.Racks.Where(r => r.Cdu == cdu.Id))
            {
                foreach (var (t, p) in power.GetValueOrDefault(rack.Id) ?? [])
                {
                    load[t] = load.GetValueOrDefault(t) + p;
                }
            }

            loads[cdu.Id] = load;
        }

        foreach (var cdu in _factory.Cooling.Cdus)
        {
            if (!perCdu.TryGetValue(cdu.Id, out var own))
            {
                continue;
            }

            var peers = _factory.Cooling.Cdus.Where(c => c.Hall == cdu.Hall && c.Id != cdu.Id && perCdu.ContainsKey(c.Id)).Select(c => (X: perCdu[c.Id], Load: loads[c.Id], Racks: drawing[c.Id])).ToList();
            var ownLoad = loads[cdu.Id];
            var ownRacks = drawing[cdu.Id];
            if (peers.Count == 0)
            {
                continue;
            }

            var relative = new List<Sample>();
            var comparable = new List<(long T, double Own, double[] Peers)>();
            var spanMs = (long)_options.SteadyLoadSpan.TotalMilliseconds;
            var stepMs = (long)step.TotalMilliseconds;
            List<int>? reference = null;
            int[]? racksAtReference = null;
            foreach (var (t, x) in own.OrderBy(kv => kv.Key))
            {
                // Judged against the same peers as its reference: with one of them silent (a supply sensor dropped out)
                // the median moves for a reason that is not this CDU's.
                if (peers.Any(p => !p.X.ContainsKey(t)))
                {
                    continue;
                }

                // Only peers carrying a similar load: the rise per kW is not linear in load (idle racks' CPUs and switches).
                var similar = Enumerable.Range(0, peers.Count)
                    .Where(i => peers[i].Load.TryGetValue(t, out var l) && ownLoad.TryGetValue(t, out var m) && Math.Abs(l - m) <= _options.PeerLoadShare * m)
                    .ToList();
                // And the same ones throughout the window, those of its first judged sample: a peer whose load comes
                // within the share for a while (a training row beside an inference row at its evening peak) has a rise
                // per kW of its own, and the median stepped by 2-3 % each time it joined (faults week, hall 2).
                reference ??= similar.Count > 0 ? similar : null;
                if (reference is null || reference.Any(i => !similar.Contains(i)))
                {
                    continue;
                }

                // And only while those peers' load is steady too, as this CDU's must be (below): a peer's checkpoint dip
                // moves its rise per kW for minutes, and the median with it (a training row beside inference rows).
                if (reference.Any(i => !SteadyLoad.IsSteady(t, peers[i].Load, spanMs, stepMs, _options.SteadyLoadShare)))
                {
                    continue;
                }

                // And only with as many racks under load on each CDU as at its reference: a CDU that lost a rack (a leak's
                // isolated) carries less heat in the same coolant, so its rise per kW falls and the median with it (the
                // leak scenario: 3-4 false cold-plate drifts on the hall's other CDUs while the rack was out).
                var racks = reference.Select(i => peers[i].Racks[t]).Append(ownRacks[t]).ToArray();
                racksAtReference ??= racks;
                if (!racks.AsSpan().SequenceEqual(racksAtReference))
                {
                    continue;
                }

                if (SteadyLoad.IsSteady(t, ownLoad, spanMs, stepMs, _options.SteadyLoadShare))
                {
                    comparable.Add((t, x, [.. reference.Select(i => peers[i].X[t])]));
                }
            }

            // Each CDU's rise per kW against its own level over the first comparable minutes, the peers' median of those
            // then taken: the hall's CDUs sit 1-3 % apart (their racks' places, flows), so a median of raw values steps
            // from one CDU to the next when any one of them moves (a drifting supply sensor on cdu-h1-a moved its
            // peers' medians by 0.5-1 %: two false drifts on seed 2 of sensor-drift at a tighter scale, and a widened
            // reference spread that held a fouling unfound for 50 min); levelled, they sit together and one moving
            // leaves the median where it was.
            var first = comparable.Take(ColdPlateReference).ToList();
            var ownLevel = first.Count > 0 ? RobustStatistics.Median(first.Select(c => c.Own)) : double.NaN;
            var peerLevels = first.Count > 0 ? Enumerable.Range(0, first[0].Peers.Length).Select(i => RobustStatistics.Median(first.Select(c => c.Peers[i]))).ToArray() : [];
            if (ownLevel > 0 && peerLevels.All(l => l > 0))
            {
                foreach (var (t, x, others) in comparable)
                {
                    var levelled = others.Select((v, i) => v / peerLevels[i]).Order().ToList();
                    var median = levelled[levelled.Count / 2];
                    if (median > 0)
                    {
                        relative.Add(new Sample(t, x / ownLevel / median));
                    }
                }
            }

            var labels = Labels.Metric("aida_cdu_cold_plate_relative_resistance_ratio", ("asset", cdu.Id));
            foreach (var (at, ratio) in LoadRegimes(relative, ownLoad, stepMs).SelectMany(regime => DriftCusum.Find(regime, ColdPlateReference, _options.ColdPlateDrift)))
            {
                alerts.Add(new Alert(AlertNames.ColdPlateDrift, AlertSource.Anomaly, cdu.Id, At(at),
                    F($"{cdu.Id}: its racks' GPUs run {ratio - 1:P1} hotter per kW over their coolant than at the start of the window, against the other CDUs of {cdu.Hall} (thermal resistance rising)"))
                { Severity = "warning", Series = labels, Reads = ColdPlateReads });
            }
        }
    }

    /// <summary>Compressor power under which the water-cooled chillers count as stopped in the economiser check: 1 kW,
    /// far under a running chiller's minimum (17 kW on ref-10mw-tower on a July night, its 10 % of full-load duty at a
    /// high COP) and over a stopped one's reading (0).</summary>
    private const double CompressorRunningWatts = 1000;

    /// <summary>Samples of a cold-plate drift check's reference (1 min apart).</summary>
    private const int ColdPlateReference = 30;

    /// <summary>The economiser's conductance while it runs: heat rejected per kelvin of (facility water return - dry bulb,
    /// for cooling towers the wet bulb) per unit of fan speed. A dry cooler's capacity at a given temperature difference grows with its
    /// airflow (taken as proportional to fan speed, first order); fan speed is the drives' reported speed where the site
    /// reports it (the mean over the running units), else it follows from fan power by the affinity law (power ~
    /// speed^3, against the factory's design fan power). So the weather (the temperature difference) and the
    /// duty (the fans slowing while the economiser holds the setpoint with margin) cancel, and fouling, which lowers the
    /// conductance at any airflow, is left; a one-sided CUSUM (<see cref="DriftCusum"/>) on its inverse finds it.
    /// Cooling towers' fans also carry the water-cooled chillers' condenser heat (their evaporator heat plus their
    /// compressor power), so towers are judged only while no water-cooled chiller runs: the condenser's share of the
    /// fans cannot be told from telemetry well enough (below).</summary>
    private async Task EconomiserAsync(Window w, List<Alert> alerts, CancellationToken ct)
    {
        if (_economiser is not { } e)
        {
            return;
        }

        var means = e.Means;
        var step = TimeSpan.FromMinutes(1);
        async Task<Dictionary<long, double>> One(string promql)
        {
            var r = await _query.QueryRangeAsync(promql, w.ReadFrom, w.To, step, ct);
            var map = new Dictionary<long, double>();
            foreach (var x in r.Series.Count == 1 ? r.Series[0].Samples : [])
            {
                if (double.IsFinite(x.Value))
                {
                    map[x.TimestampMs] = x.Value;
                }
            }

            return map;
        }

        var mean = $"{(int)means.TotalSeconds}s";
        var heat = await One($"sum(avg_over_time(aida_economiser_heat_watts[{mean}]))");
        var fans = await One($"sum(avg_over_time({e.FanMetric}[{mean}]))");
        // The drives' speed, where reported: power read to 10 W is a coarse speed at low speed (a 470 W fan at 0.4 draws
        // 30 W), and the cube root of a mean power is above the mean speed while the fans ramp. On a July morning under
        // the agent the economiser's fans slowed from 0.9 to 0.4 within the hour; read through their power the ratio
        // rose 1.1-1.6 % and clean dry coolers were called fouled three times in the faults week's seed 1 (session 23).
        var speeds = await One($"avg(avg_over_time({e.SpeedMetric}[{mean}]) > 0)");
        var water = await One($"avg(avg_over_time(aida_facility_water_return_celsius[{mean}]))");
        var air = await One($"avg(avg_over_time({e.AirMetric}[{mean}]))");
        var enabled = await One($"min(min_over_time(aida_economiser_enabled[{mean}]))");
        // Means over EconomiserMeans (10 min): the ambient reading (0.2 K of noise every 30 s) is the largest noise term
        // of the ratio, and over 5 min it left a reference spread that varied 2x from seed to seed (docs/evaluation.md).
        // The means agree with one another only while the loop's flow holds: a pump speed step (the optimiser's,
        // a standby pump) moves return temperature, heat and fan duty at different rates for a few minutes, and their
        // means' ratio jumps by 5-10 % for as long, which is not fouling. Judged only where the flow held within
        // SteadyLoadShare over the means' span and the step before.
        var span = $"{(int)(means + step).TotalSeconds}s";
        var flowHigh = await One($"sum(max_over_time(aida_facility_water_flow_kg_per_second[{span}]))");
        var flowLow = await One($"sum(min_over_time(aida_facility_water_flow_kg_per_second[{span}]))");
        // And only at steady IT load: a training job's checkpoint dip cools the return water for a few minutes, and the
        // heat the economiser rejects falls faster than the return's 5 min mean, so the ratio rose 10-15 % for each dip
        // (faults week, agent mode: 4-10 false incidents in a week), as the cold plates' did before their steady-load rule.
        var itLoad = await One("sum(avg_over_time(aida_rack_power_watts[5m]))");
        // Towers: and only where no water-cooled chiller ran over the means' span and the step before. The condenser's
        // share of the fans is its heat over the towers' rating, and its heat is the chillers' evaporator heat plus their
        // compressor power. Read from the facility water's balance (flow x c_p x (return - supply), less the economiser's
        // heat) that evaporator heat missed the loop's own cooling as the setpoint moved: on the reference day on
        // ref-10mw-tower under the agent, one chiller at its minimum, the ratio rose 10 % within 15 min of the water
        // setpoint lowered 1 K, and five false alerts came in the day (session 21).
        var compressors = e.WaterCooledChillers is { } waterCooled ? await One($"sum(max_over_time(aida_chiller_power_watts{{asset=~\"{waterCooled}\"}}[{span}]))") : [];
        var resistance = new List<Sample>();
        var difference = new Dictionary<long, double>();
        foreach (var (t, q) in heat.OrderBy(kv => kv.Key))
        {
            if (enabled.GetValueOrDefault(t) < 0.5 || !fans.TryGetValue(t, out var p) || !water.TryGetValue(t, out var tw) || !air.TryGetValue(t, out var ta))
            {
                continue;
            }

            // (A site that does not report the loop's flow is judged without this filter.)
            if (flowHigh.Count > 0 && (!flowHigh.TryGetValue(t, out var high) || !flowLow.TryGetValue(t, out var low) || !(high - low <= _options.SteadyLoadShare * high)))
            {
                continue;
            }

            // (Unread compressors count as running.)
            if (e.WaterCooledChillers is not null && !(compressors.GetValueOrDefault(t, double.NaN) < CompressorRunningWatts))
            {
                continue;
            }

            // Too little heat, airflow or temperature difference to measure a conductance by.
            var speed = speeds.Count > 0 ? speeds.GetValueOrDefault(t, 0) : Math.Cbrt(p / e.DesignFanWatts);
            if (q <= 0.02 * e.CapacityWatts || speed < 0.1 || tw - ta < 2)
            {
                continue;
            }

            resistance.Add(new Sample(t, speed * (tw - ta) / q));
            difference[t] = tw - ta;
        }

        var labels = Labels.Metric("aida_economiser_conductance_watts_per_kelvin", ("asset", e.Asset));
        var steadySpan = (long)Math.Max(_options.SteadyLoadSpan.TotalMilliseconds, means.TotalMilliseconds);
        var steady = itLoad.Count == 0 ? resistance : SteadyLoad.Keep(resistance, itLoad, steadySpan, (long)step.TotalMilliseconds, _options.SteadyLoadShare);
        // The ratio's largest noise is the ambient reading's, a fixed noise in kelvin: relative to the temperature difference
        // it grows as the difference narrows (19 K on the March days the scale was chosen on, 12 K on a July night, 9 K by
        // 6 a.m.), and judged at March's scale clean coolers were called fouled on July mornings (session 24). Below the
        // nominal difference each sample's scale grows as 1 / difference.
        var nominal = e.Drift.NominalDifference;
        foreach (var (at, ratio) in DriftCusum.Find(steady, 30, e.Drift, t => nominal > 0 ? Math.Max(1, nominal / difference[t]) : 1))
        {
            alerts.Add(new Alert(AlertNames.EconomiserDegraded, AlertSource.Anomaly, e.Asset, At(at),
                F($"the {e.Units} reject {1 - (1 / ratio):P1} less heat per kelvin of return over {e.Bulb} bulb, at the same fan speed, than at the start of the window ({e.Cause})"))
            { Severity = "warning", Series = labels });
        }
    }

    /// <summary>What the economiser check reads of the factory's economiser, dry coolers or cooling towers, worked out
    /// once: its fans' power series, their drives' speed selector and design power, its capacity, the ambient bulb it tracks, the check's settings, the
    /// asset its alerts name (the first running unit, standing for them all), and for towers the water-cooled chillers
    /// whose running stops the check (an <c>asset=~</c> alternation; null when none or dry coolers).</summary>
    private sealed record EconomiserPlant(string Units, string FanMetric, string SpeedMetric, string AirMetric, string Bulb, string Cause, double DesignFanWatts,
        double CapacityWatts, string Asset, string? WaterCooledChillers, TimeSpan Means, DriftCheck Drift)
    {
        /// <summary>Null when the factory has no economiser fans or capacity to judge.</summary>
        public static EconomiserPlant? Of(Factory factory, AlertingOptions options)
        {
            var c = factory.Cooling;
            if (c.EvaporativeEconomiser)
            {
                var waterCooled = string.Join('|', c.Chillers.Where(x => x.Condenser == CondenserKind.Water).Select(x => x.Id));
                return Judged(new EconomiserPlant("cooling towers", "aida_cooling_tower_fan_power_watts", Speeds(c.CoolingTowers.Select(t => t.Id)), "aida_ambient_wet_bulb_celsius", "wet", "scale or fouling",
                    c.CoolingTowers.Sum(t => t.FanPowerWatts), c.CoolingTowers.Sum(t => t.CapacityWatts), c.CoolingTowers.FirstOrDefault(t => !t.Standby)?.Id ?? "facility-water",
                    waterCooled.Length > 0 ? waterCooled : null, options.CoolingTowerMeans, options.CoolingTowerDrift));
            }

            return Judged(new EconomiserPlant("dry coolers", "aida_dry_cooler_fan_power_watts", Speeds(c.DryCoolers.Select(d => d.Id)), "aida_ambient_dry_bulb_celsius", "dry", "fouling",
                c.DryCoolers.Sum(d => d.FanPowerWatts), c.DryCoolers.Sum(d => d.CapacityWatts), c.DryCoolers.FirstOrDefault(d => !d.Standby)?.Id ?? "facility-water",
                null, options.EconomiserMeans, options.EconomiserDrift));
        }

        private static EconomiserPlant? Judged(EconomiserPlant e) => e.DesignFanWatts > 0 && e.CapacityWatts > 0 ? e : null;

        /// <summary>The units' drives' speed feedback, the series every drive of the plant reports its speed by.</summary>
        private static string Speeds(IEnumerable<string> units) => $"aida_speed_ratio{{asset=~\"{string.Join('|', units.Select(Regex.Escape))}\"}}";
    }

    private async Task<Dictionary<string, Dictionary<long, double>>> RangeByAsync(string promql, string label, Window w, TimeSpan step, CancellationToken ct)
    {
        var r = await _query.QueryRangeAsync(promql, w.ReadFrom, w.To, step, ct);
        var map = new Dictionary<string, Dictionary<long, double>>(StringComparer.Ordinal);
        foreach (var s in r.Series)
        {
            if (s.Labels.Get(label) is not { } key)
            {
                continue;
            }

            var values = new Dictionary<long, double>();
            foreach (var x in s.Samples)
            {
                if (double.IsFinite(x.Value))
                {
                    values[x.TimestampMs] = x.Value;
                }
            }

            map[key] = values;
        }

        return map;
    }

    /// <summary>The raw samples of every series of <paramref name="metric"/> in the read window (an instant query of a
    /// range selector, which every Prometheus-compatible API answers with the stored samples).</summary>
    private async Task<IReadOnlyList<SeriesSamples>> RawAsync(string metric, Window w, CancellationToken ct)
    {
        var ms = (long)(w.To - w.ReadFrom).TotalMilliseconds;
        var r = await _query.QueryAsync(F($"{metric}[{ms}ms]"), w.To, ct);
        return [.. r.Series.OrderBy(s => s.Labels, Comparer<Labels>.Create(Labels.Compare))];
    }

    /// <summary>The topology asset a series is about: its <c>asset</c> label, else its rack, else its hall, else the site.</summary>
    private string AssetOf(Labels labels) =>
        labels.Get("asset") ?? labels.Get("rack") ?? labels.Get("hall") ?? _factory.Site.Name;

    private static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
