using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>The aggregation operators, computed as Prometheus 2.42's engine does (incremental mean and variance, heap-based topk).</summary>
internal static class Aggregations
{
    private sealed class Group(Labels metric, double first)
    {
        public Labels Metric { get; } = metric;

        public double Value { get; set; } = first;

        public double Mean { get; set; } = first;

        public long Count { get; set; } = 1;

        public List<VectorSample> Heap { get; } = [];

        public List<double> Values { get; } = [];
    }

    public static List<VectorSample> Aggregate(Evaluator ev, AggregateExpr a, long ts)
    {
        var op = a.Op;

        // Over a range function computed in step blocks, read the step's column in place: no vector per step, and each
        // row's group key computed once per block. The same samples in the same order as the vector path.
        var block = a.Inner is CallExpr call && op != TokenKind.CountValues ? Functions.StepBlockAt(ev, call, ts) : null;
        var keepName = block is not null && Functions.KeepsName((CallExpr)a.Inner);
        if (block is not null && !(keepName ? block.Unique : block.UniqueWithoutName))
        {
            // Duplicate label sets: the vector path raises the error.
            block = null;
        }

        var vec = block is null ? ev.EvalVector(a.Inner, ts) : null;
        var column = 0;
        Labels[] rowLabels = [];
        Labels[]? rowKeys = null;
        if (block is not null)
        {
            column = block.StepOf(ts, ev.GridStep);
            ev.CountSamples(block.StepSamples[column]);
            rowLabels = keepName ? block.Labels : block.NoName;
            if (a.Without || a.Grouping.Count > 0)
            {
                rowKeys = GroupKeys(block, a, rowLabels);
            }
        }

        double param = 0;
        string? valueLabel = null;
        long k = 0;
        var grouping = a.Grouping;
        if (op is TokenKind.Topk or TokenKind.Bottomk or TokenKind.Quantile)
        {
            param = ev.EvalScalar(a.Param!, ts);
        }

        if (op is TokenKind.Topk or TokenKind.Bottomk)
        {
            if (double.IsNaN(param) || param >= 9.2233720368547758e18 || param < -9.2233720368547758e18)
            {
                throw new QueryException($"Scalar value {GoFloat.FormatF(param)} overflows int64", -1, "execution");
            }

            k = (long)param;
            if (k < 1)
            {
                return [];
            }
        }

        if (op == TokenKind.CountValues)
        {
            valueLabel = ev.EvalString(a.Param!, ts);
            if (!LabelRules.IsValidLabelName(valueLabel))
            {
                throw new QueryException($"invalid label name \"{valueLabel}\"", -1, "execution");
            }

            if (!a.Without)
            {
                grouping = [.. grouping, valueLabel];
            }
        }

        if (block is not null && op == TokenKind.Sum && !a.Without && grouping.Count == 0)
        {
            return SumColumn(block, a, column);
        }

        var groups = new Dictionary<Labels, Group>();
        var order = new List<Group>();

        // Without by/without labels every sample falls in one group: no key to compute or look up.
        var oneGroup = !a.Without && grouping.Count == 0;

        // Over a vector, each input's key once per query (count_values makes new labels per sample: not kept).
        var keyCache = vec is not null && !oneGroup && valueLabel is null ? ev.GroupKeyCache(a) : null;
        Group? single = null;
        var inputs = vec?.Count ?? block!.Series;
        for (var index = 0; index < inputs; index++)
        {
            VectorSample s;
            if (vec is not null)
            {
                s = vec[index];
            }
            else
            {
                var cell = block!.Cell(index, column);
                if (!block.Present[cell])
                {
                    continue;
                }

                s = new VectorSample(rowLabels[index], block.Values[cell]);
            }

            if (valueLabel is not null)
            {
                s = new VectorSample(s.Metric.With(valueLabel, GoFloat.FormatF(s.Value)), s.Value);
            }

            Group? g;
            Labels key;
            if (oneGroup)
            {
                key = Labels.Empty;
                g = single;
            }
            else
            {
                if (rowKeys is not null)
                {
                    key = rowKeys[index];
                }
                else if (keyCache is null)
                {
                    key = GroupKey(a, grouping, s.Metric);
                }
                else if (!keyCache.TryGetValue(s.Metric, out key!))
                {
                    key = GroupKey(a, grouping, s.Metric);
                    keyCache[s.Metric] = key;
                }

                groups.TryGetValue(key, out g);
            }

            if (g is null)
            {
                g = new Group(key, s.Value);
                groups[key] = g;
                order.Add(g);
                single = g;
                switch (op)
                {
                    case TokenKind.Stddev or TokenKind.Stdvar:
                        g.Value = 0;
                        break;
                    case TokenKind.Group:
                        g.Value = 1;
                        break;
                    case TokenKind.Topk or TokenKind.Bottomk:
                        g.Heap.Add(s);
                        break;
                    case TokenKind.Quantile:
                        g.Values.Add(s.Value);
                        break;
                    default:
                        break;
                }

                continue;
            }

            switch (op)
            {
                case TokenKind.Sum:
                    g.Value += s.Value;
                    break;
                case TokenKind.Avg:
                    g.Count++;
                    if (double.IsInfinity(g.Mean))
                    {
                        if (double.IsInfinity(s.Value) && (g.Mean > 0) == (s.Value > 0))
                        {
                            break;
                        }

                        if (!double.IsInfinity(s.Value) && !double.IsNaN(s.Value))
                        {
                            break;
                        }
                    }

                    // Dividing each side before subtracting avoids float64 overflow, as Prometheus does.
                    g.Mean += (s.Value / g.Count) - (g.Mean / g.Count);
                    break;
                case TokenKind.Group:
                    break;
                case TokenKind.Count or TokenKind.CountValues:
                    g.Count++;
                    break;
                case TokenKind.Max:
                    if (g.Value < s.Value || double.IsNaN(g.Value))
                    {
                        g.Value = s.Value;
                    }

                    break;
                case TokenKind.Min:
                    if (g.Value > s.Value || double.IsNaN(g.Value))
                    {
                        g.Value = s.Value;
                    }

                    break;
                case TokenKind.Stddev or TokenKind.Stdvar:
                {
                    g.Count++;
                    var delta = s.Value - g.Mean;
                    g.Mean += delta / g.Count;
                    g.Value += delta * (s.Value - g.Mean);
                    break;
                }

                case TokenKind.Topk or TokenKind.Bottomk:
                {
                    var less = op == TokenKind.Topk ? (Func<double, double, bool>)TopLess : BottomLess;
                    var top = g.Heap[0].Value;
                    var replace = op == TokenKind.Topk ? top < s.Value : top > s.Value;
                    if (g.Heap.Count < k || replace || double.IsNaN(top))
                    {
                        if (g.Heap.Count == k)
                        {
                            if (k == 1)
                            {
                                g.Heap[0] = s;
                                break;
                            }

                            HeapPop(g.Heap, less);
                        }

                        HeapPush(g.Heap, s, less);
                    }

                    break;
                }

                case TokenKind.Quantile:
                    g.Values.Add(s.Value);
                    break;
                default:
                    throw new QueryException($"unknown aggregation {op}", a.Pos, "execution");
            }
        }

        var result = new List<VectorSample>(order.Count);
        foreach (var g in order)
        {
            switch (op)
            {
                case TokenKind.Avg:
                    result.Add(new VectorSample(g.Metric, g.Mean));
                    break;
                case TokenKind.Count or TokenKind.CountValues:
                    result.Add(new VectorSample(g.Metric, g.Count));
                    break;
                case TokenKind.Stdvar:
                    result.Add(new VectorSample(g.Metric, g.Value / g.Count));
                    break;
                case TokenKind.Stddev:
                    result.Add(new VectorSample(g.Metric, Math.Sqrt(g.Value / g.Count)));
                    break;
                case TokenKind.Quantile:
                    result.Add(new VectorSample(g.Metric, Quantile(param, g.Values)));
                    break;
                case TokenKind.Topk:
                    // sort.Sort(sort.Reverse(heap)): Go's unstable sort of the heap as it stands, so ties come out in
                    // Prometheus' order.
                    GoSort.Sort(g.Heap, Functions.Descending);
                    result.AddRange(g.Heap);
                    break;
                case TokenKind.Bottomk:
                    GoSort.Sort(g.Heap, Functions.Ascending);
                    result.AddRange(g.Heap);
                    break;
                default:
                    result.Add(new VectorSample(g.Metric, g.Value));
                    break;
            }
        }

        return result;
    }

    /// <summary><c>sum</c> without grouping over a step block's column: the vector path's additions in its order. The
    /// sums of every step of the block are computed on the first step, tile by tile (each step's rows still added in row
    /// order), so the block is read sequentially rather than one cache line per tile per step.</summary>
    private static List<VectorSample> SumColumn(Evaluator.StepBlock block, AggregateExpr a, int column)
    {
        if (!block.Sums.TryGetValue(a, out var sums))
        {
            sums = (new double[block.Steps], new bool[block.Steps]);
            var (values, any) = sums;
            const int Tile = Evaluator.StepBlock.TileRows;
            for (var tile = 0; tile * Tile < block.Series; tile++)
            {
                var rows = Math.Min(Tile, block.Series - (tile * Tile));
                for (var k = 0; k < block.Steps; k++)
                {
                    var cell = block.Cell(tile * Tile, k);
                    for (var j = 0; j < rows; j++)
                    {
                        if (block.Present[cell + j])
                        {
                            values[k] = any[k] ? values[k] + block.Values[cell + j] : block.Values[cell + j];
                            any[k] = true;
                        }
                    }
                }
            }

            block.Sums[a] = sums;
        }

        return sums.Any[column] ? [new VectorSample(Labels.Empty, sums.Values[column])] : [];
    }

    private static Labels GroupKey(AggregateExpr a, IReadOnlyList<string> grouping, Labels metric) =>
        a.Without ? LabelOps.Remove(metric, grouping, alsoName: true) : LabelOps.Keep(metric, grouping);

    /// <summary>Each row's group key for <paramref name="a"/> over <paramref name="block"/>, computed on first use.</summary>
    private static Labels[] GroupKeys(Evaluator.StepBlock block, AggregateExpr a, Labels[] rowLabels)
    {
        if (!block.GroupKeys.TryGetValue(a, out var keys))
        {
            keys = new Labels[block.Series];
            for (var row = 0; row < keys.Length; row++)
            {
                keys[row] = GroupKey(a, a.Grouping, rowLabels[row]);
            }

            block.GroupKeys[a] = keys;
        }

        return keys;
    }

    private static bool TopLess(double a, double b) => double.IsNaN(a) || a < b;

    private static bool BottomLess(double a, double b) => double.IsNaN(a) || a > b;

    // Go's container/heap, so that ties between equal values keep the same elements as Prometheus.
    private static void HeapPush(List<VectorSample> h, VectorSample s, Func<double, double, bool> less)
    {
        h.Add(s);
        Up(h, h.Count - 1, less);
    }

    private static void HeapPop(List<VectorSample> h, Func<double, double, bool> less)
    {
        var n = h.Count - 1;
        (h[0], h[n]) = (h[n], h[0]);
        Down(h, 0, n, less);
        h.RemoveAt(n);
    }

    private static void Up(List<VectorSample> h, int j, Func<double, double, bool> less)
    {
        while (true)
        {
            var i = (j - 1) / 2;
            if (i == j || !less(h[j].Value, h[i].Value))
            {
                break;
            }

            (h[i], h[j]) = (h[j], h[i]);
            j = i;
        }
    }

    private static void Down(List<VectorSample> h, int i0, int n, Func<double, double, bool> less)
    {
        var i = i0;
        while (true)
        {
            var j1 = (2 * i) + 1;
            if (j1 >= n || j1 < 0)
            {
                break;
            }

            var j = j1;
            var j2 = j1 + 1;
            if (j2 < n && less(h[j2].Value, h[j1].Value))
            {
                j = j2;
            }

            if (!less(h[j].Value, h[i].Value))
            {
                break;
            }

            (h[i], h[j]) = (h[j], h[i]);
            i = j;
        }
    }

    /// <summary>Prometheus' quantile (promql/quantile.go): linear interpolation between the closest ranks; NaN first when sorting.</summary>
    public static double Quantile(double q, List<double> values)
    {
        if (values.Count == 0 || double.IsNaN(q))
        {
            return double.NaN;
        }

        if (q < 0)
        {
            return double.NegativeInfinity;
        }

        if (q > 1)
        {
            return double.PositiveInfinity;
        }

        var sorted = values.ToArray();
        Array.Sort(sorted, (x, y) => double.IsNaN(x) ? (double.IsNaN(y) ? 0 : -1) : double.IsNaN(y) ? 1 : x.CompareTo(y));
        var n = (double)sorted.Length;
        var rank = q * (n - 1);
        var lower = Math.Max(0, Math.Floor(rank));
        var upper = Math.Min(n - 1, lower + 1);
        var weight = rank - Math.Floor(rank);
        return (sorted[(int)lower] * (1 - weight)) + (sorted[(int)upper] * weight);
    }
}
