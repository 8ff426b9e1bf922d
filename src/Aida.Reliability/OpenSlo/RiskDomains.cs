namespace Aida.Reliability.OpenSlo;

/// <summary>The kinds of efficiency move whose risk can spend an SLO's budget; the efficiency policy weighs each kind of
/// move only against the SLOs of its domain.</summary>
/// <remarks>An SLO names its domains in the annotation <see cref="RiskDomainText.Annotation"/> (<c>cooling</c>, <c>power</c>, both
/// separated by a comma, or <c>none</c>); without it an SLO carries every domain's risk, so an SLO nobody classified
/// still gates every move. The SRE Workbook's "Example Error Budget Policy" (sre.google/workbook/error-budget-policy) lets
/// a team keep changing when its budget was spent by a cause outside what it changes; the domains are that attribution,
/// written down per SLO.</remarks>
[Flags]
public enum RiskDomains
{
    /// <summary>No efficiency move can spend it: the SLO is reported but gates nothing.</summary>
    None = 0,

    /// <summary>Warmer water and air, slower pumps and fans, fewer chillers or CRAHs running: the risk is heat.</summary>
    Cooling = 1,

    /// <summary>UPS eco mode: the risk is a utility disturbance the bypass transfer does not ride through.</summary>
    Power = 2,

    /// <summary>Every kind of move.</summary>
    All = Cooling | Power,
}

/// <summary>Reads and writes <see cref="RiskDomains"/> as the SLO annotation's text.</summary>
public static class RiskDomainText
{
    /// <summary>The OpenSLO metadata annotation that names an SLO's risk domains.</summary>
    public const string Annotation = "aida.io/risk-domains";

    /// <summary>Parses <c>cooling</c>, <c>power</c>, <c>cooling, power</c> or <c>none</c>.</summary>
    /// <exception cref="FormatException">Empty, or a word that is not a domain (the message names it and the choices).</exception>
    public static RiskDomains Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            throw new FormatException("names no domain (write cooling, power, both separated by a comma, or none)");
        }

        if (words is ["none"])
        {
            return RiskDomains.None;
        }

        var domains = RiskDomains.None;
        foreach (var word in words)
        {
            domains |= word switch
            {
                "cooling" => RiskDomains.Cooling,
                "power" => RiskDomains.Power,
                _ => throw new FormatException($"'{word}' is not a risk domain (expected cooling or power, or none alone)"),
            };
        }

        return domains;
    }

    /// <summary>The annotation's text for <paramref name="domains"/>: <c>none</c>, <c>cooling</c>, <c>power</c> or <c>cooling, power</c>.</summary>
    public static string Format(RiskDomains domains) => domains switch
    {
        RiskDomains.None => "none",
        RiskDomains.Cooling => "cooling",
        RiskDomains.Power => "power",
        _ => "cooling, power",
    };
}
