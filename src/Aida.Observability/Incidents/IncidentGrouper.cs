using System.Collections.Concurrent;
using Aida.Model.Topology;

namespace Aida.Observability.Incidents;

/// <summary>How alerts are folded into incidents.</summary>
public sealed record IncidentGroupingOptions
{
    /// <summary>The quiet period: an alert joins an incident whose latest alert is at most this much older; an incident
    /// with no alert for longer is closed and never joined again. Default 30 min.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>…and whose assets lie within this many topology hops (either direction, any edge kind) of the alert's
    /// asset, never turning at a hub. Default 3.</summary>
    public int MaxHops { get; init; } = 3;

    /// <summary>A critical alert does not join an incident of warnings only that has been quiet for at least this long
    /// (default 5 min): a critical alarm after a pause is a new event, not the next symptom of a slow degradation.
    /// Within it, a warning's consequences (a CDU's supply off its setpoint, then its racks' GPUs near slowdown) still
    /// fold together.</summary>
    public TimeSpan QuietBeforeCritical { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>An SLO burn-rate alert that no open incident takes reopens, if its last alert is at most this old (default
    /// 2 h; zero turns it off), the closed incident holding its asset or an alert on a series its SLI reads: a budget
    /// burns after its symptoms, sometimes after their incident went quiet (a drifting CDU supply sensor's energy balance
    /// at 02:29, the CDU supply SLO's ticket at 03:00). Other alerts never reopen an incident: letting a warning reopen
    /// one on the same asset was measured twice (sessions 11 and 15) and an earlier false alert then captured a later
    /// real fault, whose runbook did not run (docs/incidents.md).</summary>
    public TimeSpan Recurrence { get; init; } = TimeSpan.FromHours(2);

    /// <summary>An asset with more than this many edges is a hub (default 16): the facility water loop (every CDU, CRAH
    /// and chiller), a hall (its racks and CRAHs), a busway (its hall's racks). A walk may start or end on a hub, and
    /// pass through one going on in the direction it came (upstream, from a CDU through the loop to a chiller, or
    /// downstream, from a UPS through a busway to a rack), but never turns at one: two CDUs are not neighbours through
    /// the water loop they share, nor two racks through their hall.</summary>
    /// <remarks><see cref="TopologyGraph.FacilityWaterLoop"/> is always a hub, whatever its degree.</remarks>
    public int HubDegree { get; init; } = 16;
}

/// <summary>A group of alerts taken for one problem: the first alert opened it.</summary>
/// <param name="Number">1, 2, … in the order the incidents opened.</param>
/// <param name="Alerts">In time order.</param>
public sealed record IncidentGroup(int Number, DateTimeOffset Opened, DateTimeOffset LastAlert, IReadOnlyList<Alert> Alerts, IReadOnlySet<string> Assets)
{
    /// <summary>When the quiet period after the last alert ends: the incident takes no alert after this but an SLO
    /// burn-rate alert that reopens it (<see cref="IncidentGroupingOptions.Recurrence"/>).</summary>
    public DateTimeOffset QuietFrom { get; init; } = LastAlert;
}

/// <summary>Folds alerts into incidents by topology and time: one physical problem becomes one incident, unrelated
/// problems stay apart.</summary>
/// <remarks>
/// <para>Alerts are taken in a total order (time, then asset, name, source, severity, summary, series), so the result
/// does not depend on the order they are given in. An alert joins the open incident nearest in topology (fewest hops
/// from the alert's asset to any of the incident's assets, at most <see cref="IncidentGroupingOptions.MaxHops"/>, walks
/// never turning at a hub, see <see cref="IncidentGroupingOptions.HubDegree"/>); ties go to the incident that alerted most recently, then the one opened first.
/// Otherwise it opens one.</para>
/// <para>An incident closes once it has been quiet for <see cref="IncidentGroupingOptions.Window"/>: so within an
/// incident, consecutive alerts are never further apart than the window, and a quiet period longer than the window
/// with no alert anywhere separates every incident before it from every incident after it; except that an SLO burn-rate
/// alert may reopen the incident whose symptoms burn its budget (<see cref="IncidentGroupingOptions.Recurrence"/>).</para>
/// <para>Alerts on an asset the topology does not know (a site-wide alert, a series without an asset) join only
/// incidents holding that same asset name.</para>
/// </remarks>
public sealed class IncidentGrouper(TopologyGraph topology, IncidentGroupingOptions? options = null)
{
    private readonly IncidentGroupingOptions _options = Checked(options ?? new IncidentGroupingOptions());
    // Shared by every fold of this grouper, which may run on several threads.
    private readonly ConcurrentDictionary<string, Dictionary<string, int>> _neighbourhoods = new(StringComparer.Ordinal);

    /// <summary>The incidents the alerts fold into, in the order they opened.</summary>
    public IReadOnlyList<IncidentGroup> Fold(IEnumerable<Alert> alerts)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        var fold = Begin();
        foreach (var alert in alerts.Order(AlertOrder.Instance))
        {
            fold.Add(alert);
        }

        return fold.Incidents;
    }

    /// <summary>Starts an incremental fold, for a live pipeline that sees alerts one at a time (in time order); fed
    /// the same alerts in <see cref="Fold"/>'s order it gives the same incidents.</summary>
    public IncidentFold Begin() => new(this);

    internal TimeSpan Window => _options.Window;

    internal TimeSpan QuietBeforeCritical => _options.QuietBeforeCritical;

    internal TimeSpan Recurrence => _options.Recurrence;

    /// <summary>Hops between <paramref name="from"/> and <paramref name="to"/> under the grouping's rule (walks turning
    /// at a hub are not taken), or null when they are further apart than <see cref="IncidentGroupingOptions.MaxHops"/>.</summary>
    public int? Distance(string from, string to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        return Neighbourhood(from).TryGetValue(to, out var hops) ? hops : null;
    }

    private static IncidentGroupingOptions Checked(IncidentGroupingOptions options) =>
        options.Window < TimeSpan.Zero ? throw new ArgumentOutOfRangeException(nameof(options), options.Window, "the window must not be negative")
        : options.MaxHops < 0 ? throw new ArgumentOutOfRangeException(nameof(options), options.MaxHops, "MaxHops must not be negative")
        : options.Recurrence < TimeSpan.Zero ? throw new ArgumentOutOfRangeException(nameof(options), options.Recurrence, "the recurrence must not be negative")
        : options;

    private bool IsHub(string asset) =>
        asset == TopologyGraph.FacilityWaterLoop || topology.Outgoing(asset).Count + topology.Incoming(asset).Count > _options.HubDegree;

    /// <summary>The assets within <see cref="IncidentGroupingOptions.MaxHops"/> of <paramref name="asset"/> with their
    /// hop counts, itself at 0.</summary>
    internal Dictionary<string, int> Neighbourhood(string asset)
    {
        if (_neighbourhoods.TryGetValue(asset, out var cached))
        {
            return cached;
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal) { [asset] = 0 };
        if (topology.Contains(asset))
        {
            // Breadth first over (asset, the direction it was reached in): a hub passes a walk on only in the
            // direction it came, so the walk goes through it upstream or downstream but never turns there.
            var visited = new HashSet<(string, Direction)> { (asset, Direction.Start) };
            var frontier = new List<(string At, Direction Came)> { (asset, Direction.Start) };
            for (var hop = 1; hop <= _options.MaxHops && frontier.Count > 0; hop++)
            {
                var next = new List<(string, Direction)>();
                foreach (var (at, came) in frontier)
                {
                    var hub = came != Direction.Start && IsHub(at);
                    if (!hub || came == Direction.Down)
                    {
                        foreach (var e in topology.Outgoing(at))
                        {
                            Reach(e.To, Direction.Down, hop, seen, visited, next);
                        }
                    }

                    if (!hub || came == Direction.Up)
                    {
                        foreach (var e in topology.Incoming(at))
                        {
                            Reach(e.From, Direction.Up, hop, seen, visited, next);
                        }
                    }
                }

                frontier = next;
            }
        }

        return _neighbourhoods.GetOrAdd(asset, seen);
    }

    private static void Reach(
        string asset, Direction came, int hop, Dictionary<string, int> seen, HashSet<(string, Direction)> visited, List<(string, Direction)> next)
    {
        if (visited.Add((asset, came)))
        {
            seen.TryAdd(asset, hop);
            next.Add((asset, came));
        }
    }

    /// <summary>Which way along the edges (power and heat flow) a walk reached an asset.</summary>
    private enum Direction
    {
        Start,
        Down,
        Up,
    }

    /// <summary>A total order on alerts, so equal inputs in any order fold alike.</summary>
    private sealed class AlertOrder : IComparer<Alert>
    {
        public static readonly AlertOrder Instance = new();

        public int Compare(Alert? x, Alert? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }

            var c = x.At.UtcTicks.CompareTo(y.At.UtcTicks);
            c = c != 0 ? c : string.CompareOrdinal(x.Asset, y.Asset);
            c = c != 0 ? c : string.CompareOrdinal(x.Name, y.Name);
            c = c != 0 ? c : x.Source.CompareTo(y.Source);
            c = c != 0 ? c : string.CompareOrdinal(x.Severity, y.Severity);
            c = c != 0 ? c : string.CompareOrdinal(x.Summary, y.Summary);
            return c != 0 ? c : string.CompareOrdinal(x.Series?.ToString(), y.Series?.ToString());
        }
    }
}
