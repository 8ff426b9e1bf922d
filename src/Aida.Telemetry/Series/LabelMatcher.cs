using System.Text.RegularExpressions;

namespace Aida.Telemetry.Series;

public enum MatcherType
{
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// <summary>A label matcher as in PromQL selectors: <c>=</c>, <c>!=</c>, <c>=~</c>, <c>!~</c>. Regexes are fully anchored (RE2 semantics as far as .NET allows).</summary>
public sealed class LabelMatcher
{
    private readonly Regex? _regex;

    public LabelMatcher(string name, MatcherType type, string value)
    {
        Name = name;
        Type = type;
        Value = value;
        if (type is MatcherType.Regex or MatcherType.NotRegex)
        {
            _regex = new Regex($"^(?:{value})$", RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
        }
    }

    public string Name { get; }

    public MatcherType Type { get; }

    public string Value { get; }

    /// <summary>Whether a label value (empty when the label is absent) matches.</summary>
    public bool Matches(string value) => Type switch
    {
        MatcherType.Equal => string.Equals(value, Value, StringComparison.Ordinal),
        MatcherType.NotEqual => !string.Equals(value, Value, StringComparison.Ordinal),
        MatcherType.Regex => _regex!.IsMatch(value),
        _ => !_regex!.IsMatch(value),
    };

    public bool Matches(Labels labels) => Matches(labels.Get(Name) ?? "");

    public static LabelMatcher MetricName(string name) => new(Labels.MetricNameLabel, MatcherType.Equal, name);

    public override string ToString() => $"{Name}{Type switch { MatcherType.Equal => "=", MatcherType.NotEqual => "!=", MatcherType.Regex => "=~", _ => "!~" }}\"{Value}\"";
}
