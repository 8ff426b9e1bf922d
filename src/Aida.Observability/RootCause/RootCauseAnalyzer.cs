using System.Globalization;
using Aida.Model.Facility;
using Aida.Model.Scenarios;
using Aida.Model.Topology;
using Aida.Observability.Detection;
using Aida.Observability.Incidents;

namespace Aida.Observability.RootCause;

/// <summary>Names the likely cause of an incident: an asset of the factory and a fault kind of TWIN.md (or
/// <see cref="TelemetryLoss"/>, which the twin does not inject), with ranked alternatives and the evidence behind each.</summary>
/// <remarks>Candidates come from fault signatures over the incident's alerts (an equipment fault, a flow collapse at one
/// CDU, inlets rising in one hall, a CDU that cannot hold its setpoint, a feed lost, a sensor frozen, silent or noisy,
/// an energy balance that does not close) and from graph position (the common upstream, on the cooling or power graph,
/// of the assets with physical symptoms). Scores add: signature strength, the share of symptomatic assets the candidate
/// explains, and timing (the candidate's evidence came first). A sensor fault is preferred over a plant fault when the
/// only departures are on the sensor's own series and the physically coupled signals (GPU temperatures, flow, its CDU's
/// energy balance) do not confirm a plant change.</remarks>
public sealed class RootCauseAnalyzer
{
    private readonly Factory _factory;
    private readonly TopologyGraph _topology;

    public RootCauseAnalyzer(Factory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _factory = factory;
        _topology = factory.Topology;
    }

    /// <summary>The cause named when devices cannot be reached (<see cref="AlertNames.CollectorDown"/>) on
    /// <see cref="AlertNames.TelemetryAsset"/>: the site's telemetry path to them is lost (their network, a gateway or the
    /// devices' own interfaces), and what happens in the plant behind them is unknown.</summary>
    public const string TelemetryLoss = "telemetry-loss";

    /// <summary>Every cause this analyser can name: the fault kinds of TWIN.md and <see cref="TelemetryLoss"/>.</summary>
    public static IReadOnlyList<string> CauseKinds { get; } = [.. FaultCatalog.All.Select(e => e.Name), TelemetryLoss];

    /// <summary>At most this many candidates are returned (default 5).</summary>
    public int MaxCandidates { get; init; } = 5;

    public RootCauseFinding Analyze(IncidentGroup incident)
    {
        ArgumentNullException.ThrowIfNull(incident);
        // SLO burn-rate alerts say the budget burns, not why: a drifting sensor's own readings can burn its SLO, which is
        // no physical confirmation of a plant fault. They are left out of the scoring.
        var alerts = incident.Alerts.Where(a => a.Source != AlertSource.SloBurn).OrderBy(a => a.At).ToList();
        var board = new CandidateBoard();
        if (alerts.Count == 0)
        {
            return new RootCauseFinding([]);
        }

        var first = alerts[0].At;
        var span = Math.Max(1, (alerts[^1].At - first).TotalSeconds);
        double Early(Alert a) => 0.1 * (1 - Math.Min(1, (a.At - first).TotalSeconds / span));

        var sensorSeries = alerts.Where(IsSensorAlert).Select(a => a.Series?.ToString() ?? a.Asset).ToHashSet(StringComparer.Ordinal);
        var physical = alerts.Where(a => !IsSensorAlert(a) && a.Name != AlertNames.EnergyBalance
            && !(a.Series is not null && sensorSeries.Contains(a.Series.ToString()))).ToList();
        var plantSymptoms = physical.Count;

        foreach (var a in alerts)
        {
            var kindOfAsset = _topology.AssetKinds.GetValueOrDefault(a.Asset, "");
            switch (a.Name)
            {
                case AlertNames.AssetFault when kindOfAsset == "chiller":
                    board.Add(a.Asset, Kind(FaultKind.ChillerTrip), 0.9 + Early(a), Say(a, "the chiller reports a fault"));
                    break;
                case AlertNames.AssetFault when kindOfAsset == "crah":
                    board.Add(a.Asset, Kind(FaultKind.CrahFanFailure), 0.9 + Early(a), Say(a, "the CRAH reports a fan fault"));
                    break;
                case AlertNames.AssetFault:
                    board.Add(a.Asset, kindOfAsset + "-fault", 0.6 + Early(a), Say(a, "equipment fault"));
                    break;
                case AlertNames.CduPumpFault:
                    board.Add(a.Asset, Kind(FaultKind.CduPumpFailure), 0.9 + Early(a), Say(a, "CDU pumps report faults"));
                    break;
                case AlertNames.CduValveFault:
                    board.Add(a.Asset, Kind(FaultKind.ValveStuck), 0.95 + Early(a), Say(a, "the valve actuator reports its position off the commanded one"));
                    break;
                case AlertNames.CduFlowLow:
                    board.Add(a.Asset, Kind(FaultKind.CduPumpFailure), 0.7 + Early(a), Say(a, "flow collapsed at this CDU only"));
                    break;
                case AlertNames.LeakDetected:
                    board.Add(a.Asset, Kind(FaultKind.Leak), 0.95 + Early(a), Say(a, "leak sensor tripped"));
                    break;
                case AlertNames.CoolantLevelLow:
                    board.Add(a.Asset, Kind(FaultKind.Leak), 0.5 + Early(a), Say(a, "coolant is being lost"));
                    break;
                case AlertNames.GeneratorNotRunning:
                    // Outranks the outage that called on it: the outage alone would have been carried by this generator.
                    board.Add(a.Asset, Kind(FaultKind.GeneratorFailToStart), 1.5 + Early(a), Say(a, "generator did not start after its feed was lost, so the outage reached the batteries"));
                    break;
                case AlertNames.UtilityLost:
                    board.Add(a.Asset, Kind(FaultKind.UtilityOutage), 0.9 + Early(a), Say(a, "utility feed lost"));
                    break;
                case AlertNames.UpsOnBattery:
                    foreach (var feed in _topology.Upstream(a.Asset, EdgeKind.Feeds).Where(x => _topology.AssetKinds.GetValueOrDefault(x) == "utility-feed"))
                    {
                        board.Add(feed, Kind(FaultKind.UtilityOutage), 0.5 + Early(a), Say(a, $"UPS on battery; {feed} feeds it"));
                    }

                    break;
                case AlertNames.PowerSwing:
                    board.Add(a.Asset, Kind(FaultKind.PowerSwing), 0.9 + Early(a), Say(a, "IT power swinging"));
                    break;
                case AlertNames.AmbientJump:
                case AlertNames.AmbientHigh:
                    board.Add(a.Asset, Kind(FaultKind.HeatWave), 0.85 + Early(a), Say(a, "outdoor air hot"));
                    break;
                case AlertNames.SetpointNotApplied:
                    board.Add(a.Asset, Kind(FaultKind.ActuatorFailure), 0.95 + Early(a), Say(a, "a setpoint was written and the active setpoint did not follow: the actuator accepts writes and does nothing"));
                    break;
                case AlertNames.SpeedNotApplied:
                    board.Add(a.Asset, Kind(FaultKind.ActuatorFailure), 0.95 + Early(a), Say(a, "a speed was commanded and the drive's speed did not follow: the actuator accepts writes and does nothing"));
                    break;
                case AlertNames.RunCommandNotApplied:
                    board.Add(a.Asset, Kind(FaultKind.ActuatorFailure), 0.95 + Early(a), Say(a, "the unit was commanded to run and did not start, reporting no fault: its start command does nothing"));
                    break;
                case AlertNames.PowerLimitNotApplied:
                    board.Add(a.Asset, Kind(FaultKind.ActuatorFailure), 0.95 + Early(a), Say(a, "a GPU power limit was set and the limit the GPUs enforce did not follow: the cap write is accepted and does nothing"));
                    break;
                case AlertNames.ColdPlateDrift:
                    board.Add(a.Asset, Kind(FaultKind.ColdPlateFouling), 0.85 + Early(a), Say(a, "GPU-to-coolant resistance rising against the hall's other CDUs"));
                    break;
                case AlertNames.EconomiserDegraded:
                    // One candidate, the alert's dry cooler standing for all that run: the check measures them together
                    // and cannot say which one fouls. Scored once for each of five, they filled the ranking's top five
                    // and pushed a leak that shared their incident out of it (faults week, seed 2).
                    var towers = _factory.Cooling.EvaporativeEconomiser;
                    var running = towers ? _factory.Cooling.CoolingTowers.Where(t => !t.Standby).Select(t => t.Id) : _factory.Cooling.DryCoolers.Where(d => !d.Standby).Select(d => d.Id);
                    board.Add(a.Asset, Kind(towers ? FaultKind.CoolingTowerFouling : FaultKind.DryCoolerFouling), 0.8 + Early(a),
                        Say(a, $"the running {(towers ? "cooling towers" : "dry coolers")} ({string.Join(", ", running)}) together reject less heat per kelvin{(towers ? " over the wet bulb" : "")}"));

                    break;
                case AlertNames.SensorStuck:
                    board.Add(a.Asset, Kind(FaultKind.SensorStuck), 0.8 + Early(a), Say(a, $"{Series(a)} frozen while its history or coupled series moves"));
                    break;
                case AlertNames.SensorDropout:
                    board.Add(a.Asset, Kind(FaultKind.SensorDropout), 0.85 + Early(a), Say(a, $"{Series(a)} stopped reporting"));
                    break;
                case AlertNames.SensorNoise:
                    board.Add(a.Asset, Kind(FaultKind.SensorNoise), 0.8 + Early(a), Say(a, $"{Series(a)} scattering"));
                    break;
                default:
                    break;
            }
        }

        SupplyOffSetpoint(alerts, board, Early);
        EnergyBalance(alerts, board, Early);
        TelemetryLost(alerts, board, Early);
        CommonUpstream(physical, board);

        // A sensor fault with no physical symptom beyond its own readings: the plant is fine.
        foreach (var c in board.Kinds().Where(k => k.Kind.StartsWith("sensor-", StringComparison.Ordinal)))
        {
            var confirmed = physical.Any(p => p.Asset == c.Asset || Near(p.Asset, c.Asset));
            if (!confirmed)
            {
                board.Add(c.Asset, c.Kind, 0.15, "no physically coupled signal (GPU temperatures, flow, neighbours' readings) moved with it");
            }
        }

        return new RootCauseFinding(board.Ranked(MaxCandidates));
    }

    /// <summary>Devices their collectors cannot reach: one <see cref="TelemetryLoss"/> candidate on the site's telemetry,
    /// saying how many of each protocol and which (a lost gateway or switch shows as all of one kind or one building).</summary>
    private static void TelemetryLost(List<Alert> alerts, CandidateBoard board, Func<Alert, double> early)
    {
        var down = alerts.Where(a => a.Name == AlertNames.CollectorDown).ToList();
        if (down.Count == 0)
        {
            return;
        }

        var devices = down.Select(a => (Collector: a.Series?.Get("collector") ?? "?", Device: a.Series?.Get("device") ?? "?")).Distinct().ToList();
        var byProtocol = string.Join(", ", devices.GroupBy(d => d.Collector, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => F($"{g.Count()} {g.Key}")));
        var names = devices.Select(d => d.Device).Order(StringComparer.Ordinal).ToList();
        var named = string.Join(", ", names.Take(8)) + (names.Count > 8 ? F($", and {names.Count - 8} more") : "");
        board.Add(AlertNames.TelemetryAsset, TelemetryLoss, 0.9 + early(down[0]),
            F($"{down[0].At:HH:mm:ss} {AlertNames.CollectorDown}: {devices.Count} device(s) cannot be reached ({byProtocol}: {named}); their readings stopped, so the plant behind them is unseen, not known faulty"));
    }

    /// <summary>A CDU supply above setpoint: the valve (plant) when the energy balance still closes, the supply sensor
    /// when it does not, pumps when flow is gone too.</summary>
    private static void SupplyOffSetpoint(List<Alert> alerts, CandidateBoard board, Func<Alert, double> early)
    {
        foreach (var a in alerts.Where(a => AlertNames.IsSupplyOffSetpoint(a.Name)))
        {
            var pumps = alerts.Any(x => x.Asset == a.Asset && (x.Name == AlertNames.CduPumpFault || x.Name == AlertNames.CduFlowLow));
            // Who moved first: a drifting supply sensor breaks the balance before its reading leaves the setpoint band; a
            // stuck valve moves the (true) supply first and may unbalance the loop only in the transient after.
            var balance = alerts.Any(x => x.Asset == a.Asset && x.Name == AlertNames.EnergyBalance && x.At <= a.At);
            var hot = alerts.Any(x => x.Name is AlertNames.GpuNearSlowdown or AlertNames.GpuThrottling);
            if (pumps)
            {
                continue;
            }

            if (balance && !hot)
            {
                board.Add(a.Asset, Kind(FaultKind.SensorDrift), 0.8 + early(a), Say(a, "supply reads off setpoint but the energy balance does not close and no GPU heats: the supply sensor is drifting"));
                board.Add(a.Asset, Kind(FaultKind.ValveStuck), 0.35, Say(a, "supply off setpoint"));
            }
            else if (a.Name == AlertNames.CduValveUnresponsive)
            {
                board.Add(a.Asset, Kind(FaultKind.ValveStuck), 0.9 + early(a), Say(a, "supply left its setpoint while the valve, short of its limits, did not move"));
                board.Add(a.Asset, Kind(FaultKind.ActuatorFailure), 0.3, Say(a, "setpoint not followed"));
            }
            else
            {
                board.Add(a.Asset, Kind(FaultKind.ValveStuck), 0.8 + early(a), Say(a, "supply off setpoint while flow holds and the energy balance closes: the valve cannot hold it"));
                board.Add(a.Asset, Kind(FaultKind.ActuatorFailure), 0.3, Say(a, "setpoint not followed"));
                board.Add(a.Asset, Kind(FaultKind.SensorDrift), 0.2, Say(a, "supply reading off"));
            }
        }
    }

    /// <summary>An energy balance that does not close: a sensor when nothing physical is wrong at that CDU.</summary>
    private static void EnergyBalance(List<Alert> alerts, CandidateBoard board, Func<Alert, double> early)
    {
        foreach (var a in alerts.Where(a => a.Name == AlertNames.EnergyBalance))
        {
            var plant = alerts.Any(x => x.Asset == a.Asset && (x.Name is AlertNames.CduPumpFault or AlertNames.CduFlowLow or AlertNames.CoolantLevelLow));
            if (plant)
            {
                continue;
            }

            var stuck = alerts.Any(x => x.Asset == a.Asset && x.Name == AlertNames.SensorStuck);
            var supplyFirst = alerts.Any(x => x.Asset == a.Asset && AlertNames.IsSupplyOffSetpoint(x.Name) && x.At < a.At);
            if (supplyFirst && !stuck)
            {
                // The supply left its band before the balance broke: the balance follows a plant change (see above).
                continue;
            }

            board.Add(a.Asset, Kind(stuck ? FaultKind.SensorStuck : FaultKind.SensorDrift), (stuck ? 0.1 : 0.7) + early(a),
                Say(a, "electrical heat and water-side heat disagree while flow and pumps are normal: a temperature or flow reading is wrong"));
        }
    }

    /// <summary>Graph position: the asset upstream (cooling or power) of most of the physically symptomatic assets.</summary>
    private void CommonUpstream(List<Alert> physical, CandidateBoard board)
    {
        var symptomatic = physical.Select(a => a.Asset).Where(_topology.Contains).Distinct(StringComparer.Ordinal).ToList();
        if (symptomatic.Count == 0)
        {
            return;
        }

        var hotRacks = physical.Where(a => a.Name is AlertNames.GpuNearSlowdown or AlertNames.GpuThrottling).Select(a => a.Asset).Distinct(StringComparer.Ordinal).ToList();
        var warmInlets = physical.Where(a => a.Name == AlertNames.RackInletHigh).Select(a => a.Asset).Distinct(StringComparer.Ordinal).ToList();
        foreach (var (cdu, n) in Parents(hotRacks, r => _factory.Racks.FirstOrDefault(x => x.Id == r)?.Cdu))
        {
            var share = (double)n / hotRacks.Count;
            board.Add(cdu, Kind(FaultKind.CduPumpFailure), 0.3 * share, F($"{n} of the {hotRacks.Count} racks with hot GPUs are cooled by {cdu}"));
            board.Add(cdu, Kind(FaultKind.ColdPlateFouling), 0.25 * share, F($"{n} racks with hot GPUs share {cdu}"));
            board.Add(cdu, Kind(FaultKind.ValveStuck), 0.2 * share, F($"{n} racks with hot GPUs share {cdu}"));
        }

        foreach (var (hall, n) in Parents(warmInlets, r => _factory.Racks.FirstOrDefault(x => x.Id == r)?.Hall))
        {
            foreach (var crah in _factory.Cooling.Crahs.Where(c => c.Hall == hall))
            {
                board.Add(crah.Id, Kind(FaultKind.CrahFanFailure), 0.25 * n / warmInlets.Count, F($"{n} racks with warm inlets in {hall}, which {crah.Id} cools"));
            }
        }

        if (physical.Any(a => a.Name == AlertNames.FacilityWaterHigh) && !physical.Any(a => a.Name == AlertNames.AssetFault))
        {
            foreach (var ch in _factory.Cooling.Chillers)
            {
                board.Add(ch.Id, Kind(FaultKind.ChillerTrip), 0.3, "facility water warm plant-wide; chillers reject its heat");
            }

            board.Add(_factory.Site.Name, Kind(FaultKind.HeatWave), 0.25, "facility water warm plant-wide");
        }
    }

    private static IEnumerable<(string Parent, int Count)> Parents(List<string> assets, Func<string, string?> parent) =>
        assets.Select(parent).OfType<string>().GroupBy(p => p, StringComparer.Ordinal)
            .Select(g => (g.Key, g.Count())).OrderByDescending(g => g.Item2).ThenBy(g => g.Key, StringComparer.Ordinal);

    /// <summary>Within two hops on the topology (a rack and its CDU, a CDU and its racks' neighbours).</summary>
    private bool Near(string a, string b)
    {
        if (a == b)
        {
            return true;
        }

        var one = _topology.Outgoing(b).Select(e => e.To).Concat(_topology.Incoming(b).Select(e => e.From)).ToHashSet(StringComparer.Ordinal);
        return one.Contains(a) && _topology.AssetKinds.GetValueOrDefault(a) is not ("hall" or "facility-water-loop");
    }

    private static bool IsSensorAlert(Alert a) => a.Name is AlertNames.SensorStuck or AlertNames.SensorDropout or AlertNames.SensorNoise;

    private static string Series(Alert a) => a.Series?.ToString() ?? a.Asset;

    private static string Kind(FaultKind kind) => FaultCatalog.Of(kind).Name;

    private static string Say(Alert a, string what) => F($"{a.At:HH:mm:ss} {a.Name} on {a.Asset}: {what} ({a.Summary})");

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Scores per (asset, kind), summed, with their evidence.</summary>
    private sealed class CandidateBoard
    {
        private readonly Dictionary<(string Asset, string Kind), (double Score, List<string> Evidence)> _scores = [];

        public void Add(string asset, string kind, double score, string evidence)
        {
            var key = (asset, kind);
            if (!_scores.TryGetValue(key, out var entry))
            {
                entry = (0, []);
            }

            // Repeated evidence of one signature (eight racks, each alerting) adds less and less.
            var added = entry.Evidence.Count == 0 ? score : score / (2 + entry.Evidence.Count);
            if (entry.Evidence.Count < 8)
            {
                entry.Evidence.Add(evidence);
            }

            _scores[key] = (entry.Score + added, entry.Evidence);
        }

        public IEnumerable<(string Asset, string Kind)> Kinds() => [.. _scores.Keys];

        public List<CauseCandidate> Ranked(int max)
        {
            var total = _scores.Values.Sum(v => v.Score);
            return [.. _scores
                .OrderByDescending(kv => kv.Value.Score).ThenBy(kv => kv.Key.Asset, StringComparer.Ordinal).ThenBy(kv => kv.Key.Kind, StringComparer.Ordinal)
                .Take(max)
                .Select(kv => new CauseCandidate(kv.Key.Asset, kv.Key.Kind, Math.Round(kv.Value.Score / Math.Max(total, 1e-9), 4), kv.Value.Evidence))];
        }
    }
}
