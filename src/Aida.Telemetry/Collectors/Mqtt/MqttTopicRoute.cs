using System.Text;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors.Mqtt;

/// <summary>One <c>topics:</c> item of an MQTT entry: a topic filter with <c>+</c>/<c>#</c> wildcards, the metric its
/// messages become, label templates that may take the wildcards' matches, and where the value and timestamp sit in the
/// JSON payload.</summary>
/// <remarks>In a label template, <c>{1}</c> is what the first wildcard matched, <c>{2}</c> the second, and so on
/// (<c>#</c> counts as one wildcard and matches the rest of the topic, slashes included); other text is kept as written,
/// e.g. <c>rack-{2}</c>.</remarks>
public sealed class MqttTopicRoute
{
    private readonly string[] _levels;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _labels;

    public MqttTopicRoute(string pattern, string metric, IReadOnlyList<KeyValuePair<string, string>> labels, JsonFieldPath value, JsonFieldPath? timestamp)
    {
        if (Problem(pattern) is { } problem)
        {
            throw new ArgumentException(problem, nameof(pattern));
        }

        Pattern = pattern;
        Metric = metric;
        _labels = labels;
        Value = value;
        Timestamp = timestamp;
        _levels = pattern.Split('/');
        Wildcards = _levels.Count(l => l is "+" or "#");
    }

    public string Pattern { get; }

    public string Metric { get; }

    public JsonFieldPath Value { get; }

    public JsonFieldPath? Timestamp { get; }

    public int Wildcards { get; }

    /// <summary>Whether its readings are uptimes (seconds since the publishing device started): each series' are judged
    /// as a Modbus uptime register's are (<see cref="UptimeWatch"/>), and a device found restarted between two of its
    /// messages is reported for the entry, naming the series.</summary>
    public bool Uptime { get; init; }

    /// <summary>Why a topic filter is not valid MQTT (MQTT 5.0 section 4.7), or null.</summary>
    public static string? Problem(string pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "an empty topic filter";
        }

        var levels = pattern.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            if (level == "#" && i != levels.Length - 1)
            {
                return $"'{pattern}': '#' must be the last level";
            }

            if (level.Length > 1 && (level.Contains('+', StringComparison.Ordinal) || level.Contains('#', StringComparison.Ordinal)))
            {
                return $"'{pattern}': a wildcard must fill a whole level";
            }
        }

        return null;
    }

    /// <summary>The wildcards' matches when <paramref name="topic"/> matches the filter, else null.</summary>
    public string[]? Match(string topic)
    {
        var levels = topic.Split('/');
        var captures = new string[Wildcards];
        var w = 0;
        for (var i = 0; i < _levels.Length; i++)
        {
            var p = _levels[i];
            if (p == "#")
            {
                // Wildcards do not match topics starting with '$' (MQTT 5.0 section 4.7.2).
                if (i == 0 && topic.StartsWith('$'))
                {
                    return null;
                }

                captures[w] = i < levels.Length ? string.Join('/', levels, i, levels.Length - i) : "";
                return captures;
            }

            if (i >= levels.Length)
            {
                return null;
            }

            if (p == "+")
            {
                if (i == 0 && levels[0].StartsWith('$'))
                {
                    return null;
                }

                captures[w++] = levels[i];
            }
            else if (!string.Equals(p, levels[i], StringComparison.Ordinal))
            {
                return null;
            }
        }

        return levels.Length == _levels.Length ? captures : null;
    }

    /// <summary>The series labels for a message on a topic this route matched.</summary>
    public Labels SeriesLabels(Labels entryLabels, string[] captures)
    {
        var pairs = new List<KeyValuePair<string, string>>(entryLabels.Count + _labels.Count + 1);
        pairs.AddRange(entryLabels.Pairs());
        foreach (var (name, template) in _labels)
        {
            pairs.Add(new KeyValuePair<string, string>(name, Fill(template, captures)));
        }

        pairs.Add(new KeyValuePair<string, string>(Labels.MetricNameLabel, Metric));
        return Labels.From(pairs);
    }

    /// <summary>Checks a label template's wildcard references against the filter; null when fine.</summary>
    public static string? TemplateProblem(string template, int wildcards)
    {
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] != '{')
            {
                continue;
            }

            var close = template.IndexOf('}', i);
            if (close < 0 || !int.TryParse(template.AsSpan(i + 1, close - i - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1 || n > wildcards)
            {
                return $"'{template}': {{N}} must name one of the filter's {wildcards} wildcard(s)";
            }

            i = close;
        }

        return null;
    }

    private static string Fill(string template, string[] captures)
    {
        if (!template.Contains('{', StringComparison.Ordinal))
        {
            return template;
        }

        var sb = new StringBuilder(template.Length + 16);
        for (var i = 0; i < template.Length; i++)
        {
            var close = template[i] == '{' ? template.IndexOf('}', i) : -1;
            if (close > i && int.TryParse(template.AsSpan(i + 1, close - i - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                && n >= 1 && n <= captures.Length)
            {
                sb.Append(captures[n - 1]);
                i = close;
            }
            else
            {
                sb.Append(template[i]);
            }
        }

        return sb.ToString();
    }
}
