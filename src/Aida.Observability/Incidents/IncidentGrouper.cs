using Aida.Model.Topology;

namespace Aida.Observability.Incidents;

/// <summary>How alerts are folded into incidents.</summary>
public sealed record IncidentGroupingOptions
{
    /// <summary>An alert joins an incident whose latest alert is at most this much older.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>…and whose assets lie within this many topology hops (either direction, any edge kind) of the alert's asset.</summary>
    public int MaxHops { get; init; } = 3;
}

/// <summary>A group of alerts taken for one problem: the first alert opened it.</summary>
public sealed record IncidentGroup(int Number, DateTimeOffset Opened, DateTimeOffset LastAlert, IReadOnlyList<Alert> Alerts, IReadOnlySet<string> Assets);

/// <summary>Folds alerts, in time order, into incidents by topology and time: an alert joins the open incident nearest in
/// topology (within <see cref="IncidentGroupingOptions.MaxHops"/>) that alerted within
/// <see cref="IncidentGroupingOptions.Window"/>; otherwise it opens one. Alerts on an asset the topology does not know
/// join only incidents on that same asset name.</summary>
public sealed class IncidentGrouper(TopologyGraph topology, IncidentGroupingOptions? options = null)
{
    private readonly IncidentGroupingOptions _options = options ?? new IncidentGroupingOptions();

    public IReadOnlyList<IncidentGroup> Fold(IEnumerable<Alert> alerts)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        var open = new List<(int Number, DateTimeOffset Opened, DateTimeOffset Last, List<Alert> Alerts, HashSet<string> Assets)>();
        foreach (var alert in alerts.OrderBy(a => a.At))
        {
            var near = Neighbourhood(alert.Asset);
            var best = -1;
            for (var i = 0; i < open.Count; i++)
            {
                if (alert.At - open[i].Last <= _options.Window && open[i].Assets.Overlaps(near))
                {
                    best = i;
                }
            }

            if (best < 0)
            {
                open.Add((open.Count + 1, alert.At, alert.At, [alert], new HashSet<string>(StringComparer.Ordinal) { alert.Asset }));
                continue;
            }

            var g = open[best];
            g.Alerts.Add(alert);
            g.Assets.Add(alert.Asset);
            open[best] = g with { Last = alert.At };
        }

        return [.. open.Select(g => new IncidentGroup(g.Number, g.Opened, g.Last, g.Alerts, g.Assets))];
    }

    /// <summary>The assets within <see cref="IncidentGroupingOptions.MaxHops"/> of <paramref name="asset"/>, itself included.</summary>
    private HashSet<string> Neighbourhood(string asset)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { asset };
        if (!topology.Contains(asset))
        {
            return seen;
        }

        var frontier = new List<string> { asset };
        for (var hop = 0; hop < _options.MaxHops && frontier.Count > 0; hop++)
        {
            var next = new List<string>();
            foreach (var at in frontier)
            {
                foreach (var e in topology.Outgoing(at).Select(e => e.To).Concat(topology.Incoming(at).Select(e => e.From)))
                {
                    if (seen.Add(e))
                    {
                        next.Add(e);
                    }
                }
            }

            frontier = next;
        }

        return seen;
    }
}
