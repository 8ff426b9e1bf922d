using Aida.Model.Topology;

namespace Aida.Observability.Incidents;

/// <summary>How alerts are folded into incidents.</summary>
public sealed record IncidentGroupingOptions
{
    /// <summary>The quiet period: an alert joins an incident whose latest alert is at most this much older; an incident
    /// with no alert for longer is closed and never joined again. Default 30 min.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>…and whose assets lie within this many topology hops (either direction, any edge kind) of the alert's
    /// asset, never passing through a hub. Default 3.</summary>
    public int MaxHops { get; init; } = 3;

    /// <summary>An asset with more than this many edges is a hub (default 16): the facility water loop (every CDU, CRAH
    /// and chiller), a hall (its racks and CRAHs), a busway (its hall's racks). A walk may start or end on a hub but never
    /// passes through one, so two CDUs are not neighbours through the water loop they share.</summary>
    /// <remarks><see cref="TopologyGraph.FacilityWaterLoop"/> is always a hub, whatever its degree.</remarks>
    public int HubDegree { get; init; } = 16;
}

/// <summary>A group of alerts taken for one problem: the first alert opened it.</summary>
/// <param name="Number">1, 2, … in the order the incidents opened.</param>
/// <param name="Alerts">In time order.</param>
public sealed record IncidentGroup(int Number, DateTimeOffset Opened, DateTimeOffset LastAlert, IReadOnlyList<Alert> Alerts, IReadOnlySet<string> Assets)
{
    /// <summary>When the quiet period after the last alert ends: the incident takes no alert after this.</summary>
    public DateTimeOffset QuietFrom { get; init; } = LastAlert;
}

/// <summary>Folds alerts into incidents by topology and time: one physical problem becomes one incident, unrelated
/// problems stay apart.</summary>
/// <remarks>
/// <para>Alerts are taken in a total order (time, then asset, name, source, severity, summary, series), so the result
/// does not depend on the order they are given in. An alert joins the open incident nearest in topology (fewest hops
/// from the alert's asset to any of the incident's assets, at most <see cref="IncidentGroupingOptions.MaxHops"/>, walks
/// not passing through hubs); ties go to the incident that alerted most recently, then the one opened first.
/// Otherwise it opens one.</para>
/// <para>An incident closes once it has been quiet for <see cref="IncidentGroupingOptions.Window"/>: so within an
/// incident, consecutive alerts are never further apart than the window, and a quiet period longer than the window
/// with no alert anywhere separates every incident before it from every incident after it.</para>
/// <para>Alerts on an asset the topology does not know (a site-wide alert, a series without an asset) join only
/// incidents holding that same asset name.</para>
/// </remarks>
public sealed class IncidentGrouper(TopologyGraph topology, IncidentGroupingOptions? options = null)
{
    private readonly IncidentGroupingOptions _options = Checked(options ?? new IncidentGroupingOptions());
    private readonly Dictionary<string, Dictionary<string, int>> _neighbourhoods = new(StringComparer.Ordinal);

    /// <summary>The incidents the alerts fold into, in the order they opened.</summary>
    public IReadOnlyList<IncidentGroup> Fold(IEnumerable<Alert> alerts)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        var all = new List<Building>();
        var open = new List<Building>();
        foreach (var alert in alerts.Order(AlertOrder.Instance))
        {
            // Close every incident that has been quiet for longer than the window.
            open.RemoveAll(g => alert.At - g.Last > _options.Window);
            var near = Neighbourhood(alert.Asset);
            Building? best = null;
            var bestHops = int.MaxValue;
            foreach (var g in open)
            {
                var hops = Hops(g, near);
                if (hops < bestHops || (hops == bestHops && best is not null && g.Last > best.Last))
                {
                    best = g;
                    bestHops = hops;
                }
            }

            if (best is null)
            {
                best = new Building(all.Count + 1, alert.At);
                all.Add(best);
                open.Add(best);
            }

            best.Alerts.Add(alert);
            best.Assets.Add(alert.Asset);
            best.Last = alert.At;
        }

        return [.. all.Select(g => new IncidentGroup(g.Number, g.Opened, g.Last, g.Alerts, g.Assets) { QuietFrom = g.Last + _options.Window })];
    }

    /// <summary>Hops between <paramref name="from"/> and <paramref name="to"/> under the grouping's rule (walks through
    /// hubs are not taken), or null when they are further apart than <see cref="IncidentGroupingOptions.MaxHops"/>.</summary>
    public int? Distance(string from, string to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        return Neighbourhood(from).TryGetValue(to, out var hops) ? hops : null;
    }

    private static int Hops(Building incident, Dictionary<string, int> near)
    {
        var best = int.MaxValue;
        foreach (var asset in incident.Assets)
        {
            if (near.TryGetValue(asset, out var hops) && hops < best)
            {
                best = hops;
            }
        }

        return best;
    }

    private static IncidentGroupingOptions Checked(IncidentGroupingOptions options) =>
        options.Window < TimeSpan.Zero ? throw new ArgumentOutOfRangeException(nameof(options), options.Window, "the window must not be negative")
        : options.MaxHops < 0 ? throw new ArgumentOutOfRangeException(nameof(options), options.MaxHops, "MaxHops must not be negative")
        : options;

    private bool IsHub(string asset) =>
        asset == TopologyGraph.FacilityWaterLoop || topology.Outgoing(asset).Count + topology.Incoming(asset).Count > _options.HubDegree;

    /// <summary>The assets within <see cref="IncidentGroupingOptions.MaxHops"/> of <paramref name="asset"/> with their
    /// hop counts, itself at 0; breadth first, expanding a hub only when it is the start.</summary>
    private Dictionary<string, int> Neighbourhood(string asset)
    {
        if (_neighbourhoods.TryGetValue(asset, out var cached))
        {
            return cached;
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal) { [asset] = 0 };
        if (topology.Contains(asset))
        {
            var frontier = new List<string> { asset };
            for (var hop = 1; hop <= _options.MaxHops && frontier.Count > 0; hop++)
            {
                var next = new List<string>();
                foreach (var at in frontier)
                {
                    if (hop > 1 && IsHub(at))
                    {
                        continue;
                    }

                    foreach (var e in topology.Outgoing(at))
                    {
                        if (seen.TryAdd(e.To, hop))
                        {
                            next.Add(e.To);
                        }
                    }

                    foreach (var e in topology.Incoming(at))
                    {
                        if (seen.TryAdd(e.From, hop))
                        {
                            next.Add(e.From);
                        }
                    }
                }

                frontier = next;
            }
        }

        _neighbourhoods[asset] = seen;
        return seen;
    }

    /// <summary>An incident while the fold is building it.</summary>
    private sealed class Building(int number, DateTimeOffset opened)
    {
        public int Number { get; } = number;

        public DateTimeOffset Opened { get; } = opened;

        public DateTimeOffset Last { get; set; } = opened;

        public List<Alert> Alerts { get; } = [];

        public HashSet<string> Assets { get; } = new(StringComparer.Ordinal);
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
