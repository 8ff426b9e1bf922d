namespace Aida.Telemetry.Series;

/// <summary>Prometheus naming rules (prometheus.io/docs/concepts/data_model): metric names
/// <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>, label names <c>[a-zA-Z_][a-zA-Z0-9_]*</c>, names starting <c>__</c> reserved.</summary>
public static class LabelRules
{
    public static bool IsValidMetricName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] is '_' or ':'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or ':'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidLabelName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Null when the set is a valid series identity, otherwise what is wrong with it.</summary>
    public static string? Validate(Labels labels)
    {
        var name = labels.Get(Labels.MetricNameLabel);
        if (name is null)
        {
            return $"series {labels} has no metric name";
        }

        if (!IsValidMetricName(name))
        {
            return $"invalid metric name '{name}'";
        }

        for (var i = 0; i < labels.Count; i++)
        {
            var n = labels.Name(i);
            if (n == Labels.MetricNameLabel)
            {
                continue;
            }

            if (!IsValidLabelName(n))
            {
                return $"invalid label name '{n}' in {labels}";
            }

            if (n.StartsWith("__", StringComparison.Ordinal))
            {
                return $"label name '{n}' is reserved (names starting with __ are for internal use) in {labels}";
            }
        }

        return null;
    }
}
