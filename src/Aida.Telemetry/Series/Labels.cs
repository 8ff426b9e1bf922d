using System.Text;

namespace Aida.Telemetry.Series;

/// <summary>An immutable label set identifying one series, sorted by name; <c>__name__</c> holds the metric name.</summary>
/// <remarks>Equality and hash are by content. Labels with empty values are dropped, as Prometheus does.</remarks>
public sealed class Labels : IEquatable<Labels>
{
    public const string MetricNameLabel = "__name__";

    private readonly string[] _names;
    private readonly string[] _values;
    private readonly int _hash;

    public static Labels Empty { get; } = new([], []);

    private Labels(string[] names, string[] values)
    {
        _names = names;
        _values = values;
        var h = new HashCode();
        for (var i = 0; i < names.Length; i++)
        {
            h.Add(names[i], StringComparer.Ordinal);
            h.Add(values[i], StringComparer.Ordinal);
        }

        _hash = h.ToHashCode();
    }

    public int Count => _names.Length;

    public string Name(int i) => _names[i];

    public string Value(int i) => _values[i];

    /// <summary>The metric name, or an empty string.</summary>
    public string MetricName => Get(MetricNameLabel) ?? "";

    public string? Get(string name)
    {
        var i = Array.BinarySearch(_names, name, StringComparer.Ordinal);
        return i >= 0 ? _values[i] : null;
    }

    /// <summary>Builds a label set from pairs; later duplicates of a name win; empty values are dropped. Not validated:
    /// see <see cref="LabelRules.Validate"/>.</summary>
    public static Labels From(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        // Label sets are small (a handful to a dozen pairs): a stable insertion sort by name beats a sorted map, and
        // remote-write builds one per series per request.
        var names = new List<string>(8);
        var values = new List<string>(8);
        foreach (var (k, v) in pairs)
        {
            var i = names.Count;
            while (i > 0 && string.CompareOrdinal(names[i - 1], k) > 0)
            {
                i--;
            }

            if (i > 0 && string.Equals(names[i - 1], k, StringComparison.Ordinal))
            {
                values[i - 1] = v; // a later duplicate wins
                continue;
            }

            names.Insert(i, k);
            values.Insert(i, v);
        }

        for (var i = names.Count - 1; i >= 0; i--)
        {
            if (values[i].Length == 0)
            {
                names.RemoveAt(i);
                values.RemoveAt(i);
            }
        }

        return new Labels([.. names], [.. values]);
    }

    public static Labels From(params (string Name, string Value)[] pairs) =>
        From(pairs.Select(p => new KeyValuePair<string, string>(p.Name, p.Value)));

    /// <summary>A metric with labels: <c>Labels.Metric("up", ("job", "x"))</c>.</summary>
    public static Labels Metric(string name, params (string Name, string Value)[] pairs) =>
        From(pairs.Prepend((MetricNameLabel, name)).ToArray());

    public IEnumerable<KeyValuePair<string, string>> Pairs()
    {
        for (var i = 0; i < _names.Length; i++)
        {
            yield return new KeyValuePair<string, string>(_names[i], _values[i]);
        }
    }

    /// <summary>A copy without the given names (e.g. without <c>__name__</c> after a function).</summary>
    public Labels Without(params string[] names) => From(Pairs().Where(p => Array.IndexOf(names, p.Key) < 0));

    /// <summary>A copy keeping only the given names.</summary>
    public Labels Keep(IReadOnlyCollection<string> names) => From(Pairs().Where(p => names.Contains(p.Key)));

    /// <summary>A copy with one label set (or removed, when <paramref name="value"/> is empty).</summary>
    public Labels With(string name, string value) => From(Pairs().Where(p => p.Key != name).Append(new KeyValuePair<string, string>(name, value)));

    /// <summary>Prometheus' order for label sets (labels.Compare): pairwise by name then value, ordinal; a prefix sorts first.</summary>
    public static int Compare(Labels a, Labels b)
    {
        var n = Math.Min(a.Count, b.Count);
        for (var i = 0; i < n; i++)
        {
            var c = string.CompareOrdinal(a._names[i], b._names[i]);
            if (c != 0)
            {
                return c;
            }

            c = string.CompareOrdinal(a._values[i], b._values[i]);
            if (c != 0)
            {
                return c;
            }
        }

        return a.Count.CompareTo(b.Count);
    }

    public bool Equals(Labels? other)
    {
        if (other is null || other._hash != _hash || other._names.Length != _names.Length)
        {
            return false;
        }

        for (var i = 0; i < _names.Length; i++)
        {
            if (!string.Equals(_names[i], other._names[i], StringComparison.Ordinal) || !string.Equals(_values[i], other._values[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as Labels);

    public override int GetHashCode() => _hash;

    /// <summary>Prometheus text form: <c>metric{a="1", b="2"}</c>, values escaped.</summary>
    /// <summary>The series <see cref="ToString"/> wrote (<c>metric{a="b", c="d"}</c>): a selector of <c>=</c> matchers.</summary>
    /// <exception cref="FormatException">The text is no such series; the message says why.</exception>
    public static Labels Parse(string text)
    {
        Aida.Telemetry.PromQL.VectorSelector selector;
        try
        {
            selector = Aida.Telemetry.PromQL.Parser.ParseSelector(text);
        }
        catch (Aida.Telemetry.Query.QueryException e)
        {
            throw new FormatException($"'{text}' is not a series: {e.Message}", e);
        }

        return selector.Matchers.All(m => m.Type == MatcherType.Equal)
            ? From(selector.Matchers.Select(m => KeyValuePair.Create(m.Name, m.Value)))
            : throw new FormatException($"'{text}' is not a series: it matches otherwise than by =");
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(MetricName);
        sb.Append('{');
        var first = true;
        for (var i = 0; i < _names.Length; i++)
        {
            if (_names[i] == MetricNameLabel)
            {
                continue;
            }

            if (!first)
            {
                sb.Append(", ");
            }

            first = false;
            sb.Append(_names[i]).Append("=\"");
            foreach (var c in _values[i])
            {
                sb.Append(c switch { '\\' => "\\\\", '"' => "\\\"", '\n' => "\\n", _ => c.ToString() });
            }

            sb.Append('"');
        }

        return sb.Append('}').ToString();
    }
}
