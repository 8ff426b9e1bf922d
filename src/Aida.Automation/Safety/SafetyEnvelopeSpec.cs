using Aida.Model.Config;

namespace Aida.Automation.Safety;

/// <summary>Hard limits for the actuators whose name matches <see cref="Pattern"/> (<c>*</c> matches any run of
/// characters, e.g. <c>cdu-*/supply_setpoint</c>). The first matching rule applies.</summary>
/// <param name="MaxStep">The largest change one write may make.</param>
/// <param name="MaxChangePerMinute">The largest total change over any minute (rate limit).</param>
/// <param name="MaxBlastRadiusRacks">A write is refused when the actuator's asset cools or feeds more racks than this.</param>
public sealed record ActuatorRule(string Pattern, double? Min, double? Max, double? MaxStep, double? MaxChangePerMinute, int? MaxBlastRadiusRacks, int Line)
{
    public bool Matches(string actuator) => Glob(Pattern, actuator);

    private static bool Glob(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        while (pattern.Length > 0)
        {
            if (pattern[0] == '*')
            {
                var rest = pattern[1..];
                for (var i = 0; i <= text.Length; i++)
                {
                    if (Glob(rest, text[i..]))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (text.Length == 0 || text[0] != pattern[0])
            {
                return false;
            }

            pattern = pattern[1..];
            text = text[1..];
        }

        return text.Length == 0;
    }
}

/// <summary>Rules that look at the plant as a whole after a write.</summary>
/// <param name="MinChillersWithoutEconomiser">Chillers that must stay enabled while the economiser is not.</param>
/// <param name="MinCrahsPerHall">CRAHs that must stay enabled in every hall.</param>
/// <param name="MaxRacksIsolated">Racks that may be isolated at once across the site.</param>
public sealed record Interlocks(int MinChillersWithoutEconomiser, int MinCrahsPerHall, int MaxRacksIsolated);

/// <summary>The safety envelope: hard limits per actuator, interlocks and a cap on writes, from YAML.</summary>
public sealed record SafetyEnvelopeSpec(IReadOnlyList<ActuatorRule> Rules, Interlocks Interlocks, int MaxWritesPerMinute, string Source)
{
    /// <summary>The first rule for <paramref name="actuator"/>, or null (then only the plant's own range applies).</summary>
    public ActuatorRule? RuleFor(string actuator)
    {
        foreach (var r in Rules)
        {
            if (r.Matches(actuator))
            {
                return r;
            }
        }

        return null;
    }

    /// <summary>Checks the rules against a plant's actuators (by design: every one its factory has): a rule that governs
    /// none of them, naming no actuator there or only ones an earlier rule takes (the first match applies), is a mistake.
    /// A typo in a pattern would otherwise leave the actuators it meant with their own ranges only.</summary>
    /// <exception cref="ConfigException">Names the rule's file, line and pattern.</exception>
    public void CheckAgainst(IEnumerable<string> actuators)
    {
        var names = actuators.ToList();
        for (var i = 0; i < Rules.Count; i++)
        {
            var rule = Rules[i];
            var matched = names.Where(rule.Matches).ToList();
            if (matched.Count == 0)
            {
                throw new ConfigException(Source, rule.Line, $"limits[{i}].actuator", $"'{rule.Pattern}' matches no actuator of the plant");
            }

            if (matched.TrueForAll(a => !ReferenceEquals(RuleFor(a), rule)))
            {
                throw new ConfigException(Source, rule.Line, $"limits[{i}].actuator",
                    $"'{rule.Pattern}' governs nothing: an earlier rule takes each actuator it matches ({string.Join(", ", matched.Take(3))}{(matched.Count > 3 ? ", ..." : "")})");
            }
        }
    }

    /// <summary>Reads an envelope file. Every mistake names file, line and field: an unknown key, a limit that is not
    /// a number, a minimum above its maximum, a step or rate that is not positive.</summary>
    public static SafetyEnvelopeSpec Load(string path) => Read(ConfigNode.Load(path), path);

    public static SafetyEnvelopeSpec Parse(string yaml, string file = "envelope.yaml") => Read(ConfigNode.Parse(yaml, file), file);

    private static SafetyEnvelopeSpec Read(ConfigNode root, string source)
    {
        var rules = new List<ActuatorRule>();
        foreach (var node in root.List("limits", required: true))
        {
            var min = node.Optional("min")?.AsNumber();
            var max = node.Optional("max")?.AsNumber();
            if (min is { } lo && max is { } hi && lo > hi)
            {
                throw node.Error("min", $"min {lo} is above max {hi}");
            }

            var step = node.Optional("max_step")?.AsNumber(min: 1e-9);
            var rate = node.Optional("max_change_per_minute")?.AsNumber(min: 1e-9);
            int? blast = node.Optional("max_blast_radius_racks") is null ? null : node.Integer("max_blast_radius_racks", 0, 0);
            var pattern = node.String("actuator");
            if (pattern.Length == 0)
            {
                throw node.Error("actuator", "is empty");
            }

            node.RejectUnknown();
            rules.Add(new ActuatorRule(pattern, min, max, step, rate, blast, node.Line));
        }

        var inter = root.Optional("interlocks");
        var interlocks = inter is null
            ? new Interlocks(1, 1, 1)
            : new Interlocks(
                inter.Integer("min_chillers_without_economiser", 1, 0),
                inter.Integer("min_crahs_per_hall", 1, 0),
                inter.Integer("max_racks_isolated", 1, 0));
        inter?.RejectUnknown();
        var writes = root.Integer("max_writes_per_minute", 60, 1);
        root.RejectUnknown();
        return new SafetyEnvelopeSpec(rules, interlocks, writes, source);
    }
}
