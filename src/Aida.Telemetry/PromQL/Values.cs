using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>One element of an instant vector during evaluation.</summary>
internal readonly record struct VectorSample(Labels Metric, double Value);

/// <summary>One series of a range vector during evaluation: its points inside the window (<paramref name="Count"/> samples of
/// <paramref name="Buffer"/> from <paramref name="Start"/>), oldest first, no staleness markers. The buffer is shared, not owned.</summary>
internal sealed record RangeSeries(Labels Metric, Sample[] Buffer, int Start, int Count)
{
    public ReadOnlySpan<Sample> Points => new(Buffer, Start, Count);

    public Sample[] ToArray() => Points.ToArray();
}

internal sealed class ScalarValue(double value)
{
    public double Value { get; } = value;
}

internal sealed class StringValue(string value)
{
    public string Value { get; } = value;
}

/// <summary>Label-set operations the evaluator needs, cheaper than rebuilding through <see cref="Labels.From(IEnumerable{KeyValuePair{string, string}})"/>
/// when nothing changes.</summary>
internal static class LabelOps
{
    public static Labels DropName(Labels l) => l.Get(Labels.MetricNameLabel) is null ? l : l.Without(Labels.MetricNameLabel);

    /// <summary>Prometheus' order for label sets (labels.Compare).</summary>
    public static int Compare(Labels a, Labels b) => Labels.Compare(a, b);

    /// <summary>The key two samples must share to match: only the <paramref name="names"/> (on), or all labels except those
    /// and the metric name (ignoring).</summary>
    public static string Signature(Labels l, bool on, IReadOnlyList<string> names)
    {
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < l.Count; i++)
        {
            var name = l.Name(i);
            var include = on ? Contains(names, name) : name != Labels.MetricNameLabel && !Contains(names, name);
            if (include)
            {
                sb.Append(name).Append('\xff').Append(l.Value(i)).Append('\xff');
            }
        }

        return sb.ToString();
    }

    public static bool Contains(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return true;
            }
        }

        return false;
    }

    public static Labels Keep(Labels l, IReadOnlyList<string> names)
    {
        var kept = 0;
        for (var i = 0; i < l.Count; i++)
        {
            if (Contains(names, l.Name(i)))
            {
                kept++;
            }
        }

        if (kept == l.Count)
        {
            return l;
        }

        if (kept == 0)
        {
            return Labels.Empty;
        }

        var pairs = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < l.Count; i++)
        {
            if (Contains(names, l.Name(i)))
            {
                pairs.Add(new KeyValuePair<string, string>(l.Name(i), l.Value(i)));
            }
        }

        return pairs.Count == l.Count ? l : Labels.From(pairs);
    }

    public static Labels Remove(Labels l, IReadOnlyList<string> names, bool alsoName)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < l.Count; i++)
        {
            var n = l.Name(i);
            if (!Contains(names, n) && !(alsoName && n == Labels.MetricNameLabel))
            {
                pairs.Add(new KeyValuePair<string, string>(n, l.Value(i)));
            }
        }

        return pairs.Count == l.Count ? l : Labels.From(pairs);
    }
}
