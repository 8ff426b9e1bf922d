using Aida.Model.Facility;

namespace Aida.Model.Topology;

/// <summary>How one asset depends on another.</summary>
public enum EdgeKind
{
    /// <summary>Electrical power flows from the source to the target.</summary>
    Feeds,

    /// <summary>The source removes heat from the target.</summary>
    Cools,
}

public readonly record struct Edge(string From, string To, EdgeKind Kind);

/// <summary>The factory as a graph of assets: what feeds and what cools what. RCA walks it; blast-radius checks ask it.</summary>
public sealed class TopologyGraph
{
    /// <summary>The id of the facility water loop node, which every heat-rejection asset cools and which cools every CDU and CRAH.</summary>
    public const string FacilityWaterLoop = "facility-water";

    private readonly Dictionary<string, List<Edge>> _out = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Edge>> _in = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _kinds = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> AssetKinds => _kinds;

    public IEnumerable<Edge> Edges => _out.Values.SelectMany(e => e);

    public static TopologyGraph Build(Factory f)
    {
        var g = new TopologyGraph();
        g.Node(FacilityWaterLoop, "facility-water-loop");
        foreach (var h in f.Halls)
        {
            g.Node(h.Id, "hall");
        }

        foreach (var u in f.Power.Feeds)
        {
            g.Node(u.Id, "utility-feed");
        }

        foreach (var x in f.Power.Generators)
        {
            g.Node(x.Id, "generator");
            g.Add(x.Id, x.Feed, EdgeKind.Feeds);
        }

        foreach (var t in f.Power.Transformers)
        {
            g.Node(t.Id, "transformer");
            g.Add(t.Feed, t.Id, EdgeKind.Feeds);
        }

        foreach (var u in f.Power.Ups)
        {
            g.Node(u.Id, "ups");
            g.Add(u.Transformer, u.Id, EdgeKind.Feeds);
        }

        foreach (var b in f.Power.Busways)
        {
            g.Node(b.Id, "busway");
            g.Add(b.Ups, b.Id, EdgeKind.Feeds);
        }

        foreach (var d in f.Cooling.DryCoolers)
        {
            g.Node(d.Id, "dry-cooler");
            g.Add(d.Id, FacilityWaterLoop, EdgeKind.Cools);
            g.Add(d.Feed, d.Id, EdgeKind.Feeds);
        }

        foreach (var t in f.Cooling.CoolingTowers)
        {
            g.Node(t.Id, "cooling-tower");
            g.Add(t.Id, FacilityWaterLoop, EdgeKind.Cools);
            g.Add(t.Feed, t.Id, EdgeKind.Feeds);
        }

        foreach (var c in f.Cooling.Chillers)
        {
            g.Node(c.Id, "chiller");
            g.Add(c.Id, FacilityWaterLoop, EdgeKind.Cools);
            g.Add(c.Feed, c.Id, EdgeKind.Feeds);
            if (c.Condenser == CondenserKind.Water)
            {
                // The towers take the condenser heat: a tower bank that fails takes its water-cooled chillers with it.
                foreach (var t in f.Cooling.CoolingTowers)
                {
                    g.Add(t.Id, c.Id, EdgeKind.Cools);
                }
            }
        }

        foreach (var c in f.Cooling.Cdus)
        {
            g.Node(c.Id, "cdu");
            g.Add(FacilityWaterLoop, c.Id, EdgeKind.Cools);
        }

        foreach (var c in f.Cooling.Crahs)
        {
            g.Node(c.Id, "crah");
            g.Add(FacilityWaterLoop, c.Id, EdgeKind.Cools);
            g.Add(c.Id, c.Hall, EdgeKind.Cools);
        }

        foreach (var r in f.Racks)
        {
            g.Node(r.Id, "rack");
            g.Add(r.Cdu, r.Id, EdgeKind.Cools);
            g.Add(r.Hall, r.Id, EdgeKind.Cools);
            foreach (var b in r.Busways)
            {
                g.Add(b, r.Id, EdgeKind.Feeds);
            }
        }

        return g;
    }

    public bool Contains(string id) => _kinds.ContainsKey(id);

    public IReadOnlyList<Edge> Outgoing(string id) => _out.TryGetValue(id, out var e) ? e : [];

    public IReadOnlyList<Edge> Incoming(string id) => _in.TryGetValue(id, out var e) ? e : [];

    /// <summary>Every asset reached from <paramref name="id"/> along edges of <paramref name="kind"/> (its blast radius), breadth first.</summary>
    public IReadOnlyList<string> Downstream(string id, EdgeKind kind) => Walk(id, kind, _out, e => e.To);

    /// <summary>Every asset <paramref name="id"/> depends on along edges of <paramref name="kind"/>, breadth first.</summary>
    public IReadOnlyList<string> Upstream(string id, EdgeKind kind) => Walk(id, kind, _in, e => e.From);

    private static List<string> Walk(string id, EdgeKind kind, Dictionary<string, List<Edge>> adj, Func<Edge, string> next)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { id };
        var order = new List<string>();
        var queue = new Queue<string>();
        queue.Enqueue(id);
        while (queue.Count > 0)
        {
            var at = queue.Dequeue();
            if (!adj.TryGetValue(at, out var edges))
            {
                continue;
            }

            foreach (var e in edges)
            {
                var n = next(e);
                if (e.Kind == kind && seen.Add(n))
                {
                    order.Add(n);
                    queue.Enqueue(n);
                }
            }
        }

        return order;
    }

    private void Node(string id, string kind) => _kinds[id] = kind;

    private void Add(string from, string to, EdgeKind kind)
    {
        var e = new Edge(from, to, kind);
        (_out.TryGetValue(from, out var o) ? o : _out[from] = []).Add(e);
        (_in.TryGetValue(to, out var i) ? i : _in[to] = []).Add(e);
    }
}
