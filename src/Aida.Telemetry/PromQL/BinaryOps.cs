using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>Arithmetic, comparison and set operators between scalars and instant vectors, with Prometheus' vector
/// matching (on/ignoring, group_left/group_right) and metric-name rules.</summary>
internal static class BinaryOps
{
    public static object Eval(Evaluator ev, BinaryExpr b, long ts)
    {
        var lhs = ev.Eval(b.Lhs, ts);
        var rhs = ev.Eval(b.Rhs, ts);
        switch (lhs, rhs)
        {
            case (ScalarValue l, ScalarValue r):
                return new ScalarValue(ScalarOp(b.Op, l.Value, r.Value));
            case (List<VectorSample> l, ScalarValue r):
                return VectorScalar(b, l, r.Value, swap: false);
            case (ScalarValue l, List<VectorSample> r):
                return VectorScalar(b, r, l.Value, swap: true);
            case (List<VectorSample> l, List<VectorSample> r):
                return b.Op switch
                {
                    TokenKind.And => And(l, r, b.Matching),
                    TokenKind.Or => Or(l, r, b.Matching),
                    TokenKind.Unless => Unless(l, r, b.Matching),
                    _ => Evaluator.CheckUnique(VectorVector(b, l, r)),
                };
            default:
                throw new QueryException("invalid operands for binary expression", b.OpPos, "execution");
        }
    }

    private static bool DropsName(TokenKind op) => op is TokenKind.Add or TokenKind.Sub or TokenKind.Mul or TokenKind.Div or TokenKind.Pow or TokenKind.Mod;

    private static double ScalarOp(TokenKind op, double l, double r) => op switch
    {
        TokenKind.Eql => l == r ? 1 : 0,
        TokenKind.Neq => l != r ? 1 : 0,
        TokenKind.Gtr => l > r ? 1 : 0,
        TokenKind.Lss => l < r ? 1 : 0,
        TokenKind.Gte => l >= r ? 1 : 0,
        TokenKind.Lte => l <= r ? 1 : 0,
        _ => Elem(op, l, r).Value,
    };

    /// <summary>Prometheus' vectorElemBinop: the value, and for comparisons whether the pair is kept (the value is then the left side).</summary>
    private static (double Value, bool Keep) Elem(TokenKind op, double l, double r) => op switch
    {
        TokenKind.Add => (l + r, true),
        TokenKind.Sub => (l - r, true),
        TokenKind.Mul => (l * r, true),
        TokenKind.Div => (l / r, true),
        TokenKind.Pow => (Math.Pow(l, r), true),
        TokenKind.Mod => (l % r, true),
        TokenKind.Atan2 => (Math.Atan2(l, r), true),
        TokenKind.Eql => (l, l == r),
        TokenKind.Neq => (l, l != r),
        TokenKind.Gtr => (l, l > r),
        TokenKind.Lss => (l, l < r),
        TokenKind.Gte => (l, l >= r),
        TokenKind.Lte => (l, l <= r),
        _ => throw new QueryException($"operator {op} not allowed here", -1, "execution"),
    };

    private static List<VectorSample> VectorScalar(BinaryExpr b, List<VectorSample> vec, double scalar, bool swap)
    {
        var isComparison = BinaryExpr.IsComparison(b.Op);
        var result = new List<VectorSample>(vec.Count);
        foreach (var s in vec)
        {
            var (l, r) = swap ? (scalar, s.Value) : (s.Value, scalar);
            var (value, keep) = Elem(b.Op, l, r);

            // A comparison always returns the vector's value, whichever side the vector is on.
            if (isComparison && swap)
            {
                value = r;
            }

            if (b.ReturnBool)
            {
                value = keep ? 1 : 0;
                keep = true;
            }

            if (keep)
            {
                result.Add(new VectorSample(DropsName(b.Op) || b.ReturnBool ? LabelOps.DropName(s.Metric) : s.Metric, value));
            }
        }

        return Evaluator.CheckUnique(result);
    }

    private static List<VectorSample> VectorVector(BinaryExpr b, List<VectorSample> lhs, List<VectorSample> rhs)
    {
        var m = b.Matching;
        var result = new List<VectorSample>();
        if (lhs.Count == 0 || rhs.Count == 0)
        {
            return result;
        }

        // One-to-many is many-to-one with the sides swapped; values are swapped back for the operation.
        var oneToMany = m.Card == Cardinality.OneToMany;
        if (oneToMany)
        {
            (lhs, rhs) = (rhs, lhs);
        }

        var rightSigs = new Dictionary<string, VectorSample>(rhs.Count);
        foreach (var rs in rhs)
        {
            var sig = LabelOps.Signature(rs.Metric, m.On, m.MatchingLabels);
            if (rightSigs.TryGetValue(sig, out var dup))
            {
                var matched = m.On ? LabelOps.Keep(rs.Metric, m.MatchingLabels) : LabelOps.Remove(rs.Metric, m.MatchingLabels, alsoName: true);
                throw new QueryException(
                    $"found duplicate series for the match group {matched} on the {(oneToMany ? "left" : "right")} hand-side of the operation: [{rs.Metric}, {dup.Metric}];many-to-many matching not allowed: matching labels must be unique on one side",
                    -1,
                    "execution");
            }

            rightSigs[sig] = rs;
        }

        var matchedSigs = new Dictionary<string, HashSet<Labels>?>();
        foreach (var ls in lhs)
        {
            var sig = LabelOps.Signature(ls.Metric, m.On, m.MatchingLabels);
            if (!rightSigs.TryGetValue(sig, out var rs))
            {
                continue;
            }

            var (vl, vr) = oneToMany ? (rs.Value, ls.Value) : (ls.Value, rs.Value);
            var (value, keep) = Elem(b.Op, vl, vr);
            if (b.ReturnBool)
            {
                value = keep ? 1 : 0;
            }
            else if (!keep)
            {
                continue;
            }

            var metric = ResultMetric(ls.Metric, rs.Metric, b.Op, m);
            if (b.ReturnBool)
            {
                metric = LabelOps.DropName(metric);
            }

            var exists = matchedSigs.TryGetValue(sig, out var inserted);
            if (m.Card == Cardinality.OneToOne)
            {
                if (exists)
                {
                    throw new QueryException("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)", -1, "execution");
                }

                matchedSigs[sig] = null;
            }
            else
            {
                if (!exists)
                {
                    inserted = [];
                    matchedSigs[sig] = inserted;
                }

                if (!inserted!.Add(metric))
                {
                    throw new QueryException("multiple matches for labels: grouping labels must ensure unique matches", -1, "execution");
                }
            }

            result.Add(new VectorSample(metric, value));
        }

        return result;
    }

    private static Labels ResultMetric(Labels lhs, Labels rhs, TokenKind op, VectorMatching m)
    {
        var map = new Dictionary<string, string>(lhs.Count);
        foreach (var (k, v) in lhs.Pairs())
        {
            map[k] = v;
        }

        if (DropsName(op))
        {
            map.Remove(Labels.MetricNameLabel);
        }

        if (m.Card == Cardinality.OneToOne)
        {
            if (m.On)
            {
                foreach (var k in map.Keys.ToList())
                {
                    if (!m.MatchingLabels.Contains(k))
                    {
                        map.Remove(k);
                    }
                }
            }
            else
            {
                foreach (var k in m.MatchingLabels)
                {
                    map.Remove(k);
                }
            }
        }

        foreach (var name in m.Include)
        {
            var v = rhs.Get(name);
            if (!string.IsNullOrEmpty(v))
            {
                map[name] = v;
            }
            else
            {
                map.Remove(name);
            }
        }

        return Labels.From(map);
    }

    private static HashSet<string> Sigs(List<VectorSample> v, VectorMatching m)
    {
        var set = new HashSet<string>();
        foreach (var s in v)
        {
            set.Add(LabelOps.Signature(s.Metric, m.On, m.MatchingLabels));
        }

        return set;
    }

    private static List<VectorSample> And(List<VectorSample> lhs, List<VectorSample> rhs, VectorMatching m)
    {
        if (lhs.Count == 0 || rhs.Count == 0)
        {
            return [];
        }

        var right = Sigs(rhs, m);
        return lhs.FindAll(s => right.Contains(LabelOps.Signature(s.Metric, m.On, m.MatchingLabels)));
    }

    private static List<VectorSample> Or(List<VectorSample> lhs, List<VectorSample> rhs, VectorMatching m)
    {
        if (lhs.Count == 0)
        {
            return [.. rhs];
        }

        if (rhs.Count == 0)
        {
            return [.. lhs];
        }

        var left = Sigs(lhs, m);
        var result = new List<VectorSample>(lhs);
        result.AddRange(rhs.FindAll(s => !left.Contains(LabelOps.Signature(s.Metric, m.On, m.MatchingLabels))));
        return result;
    }

    private static List<VectorSample> Unless(List<VectorSample> lhs, List<VectorSample> rhs, VectorMatching m)
    {
        if (rhs.Count == 0)
        {
            return [.. lhs];
        }

        var right = Sigs(rhs, m);
        return lhs.FindAll(s => !right.Contains(LabelOps.Signature(s.Metric, m.On, m.MatchingLabels)));
    }
}
