using Aida.Telemetry.Series;
using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Alerting;

/// <summary>A burn-rate alert of one SLO and one condition: firing from <see cref="StartsAt"/>, resolved at
/// <see cref="EndsAt"/> once either window's burn rate drops below the threshold.</summary>
/// <param name="AlertName">The alert's name, as the exported alerting rules name it (<c>SLOBurnRate</c>-style, per
/// <see cref="AlertNames.For"/>).</param>
public sealed record SloAlert(
    string AlertName,
    string Slo,
    string Service,
    BurnRateCondition Condition,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,
    double LongBurnRate,
    double ShortBurnRate,
    IReadOnlyList<string> NotificationTargets)
{
    public string Severity => Condition.Severity;

    public bool IsResolved => EndsAt is not null;

    /// <summary>The label an alert carries, <c>"false"</c>, when its SLO's policy sets <c>alertWhenResolved: false</c>
    /// (<see cref="NotifyResolved"/>).</summary>
    public const string NotifyResolvedLabel = "notify_resolved";

    /// <summary>Whether people are told when it resolves (<see cref="OpenSlo.SloDefinition.ResolutionNotified"/>).
    /// Posted as <see cref="NotifyResolvedLabel"/> <c>"false"</c> when not, so a site routes it to a receiver with
    /// <c>send_resolved: false</c>: Alertmanager decides per receiver, not per alert, whether resolutions are sent.</summary>
    public bool NotifyResolved { get; init; } = true;

    /// <summary>For a time-slice SLI, the series with the most bad slices over the condition's short window when the alert
    /// fired (a rack, a CDU): where the budget burns. Null for ratio SLIs, or when not looked up.</summary>
    public Labels? Worst { get; init; }

    /// <summary>An alert that the SLI gave no events over the condition's short window (<see cref="AlertNames.NoData"/>):
    /// the budget is blind, not burning; its burn rates are NaN.</summary>
    public bool NoData { get; init; }

    /// <summary>One line for people: what burns, how fast, since when (or, for <see cref="NoData"/>, what is blind).</summary>
    public string Summary => NoData
        ? NoDataSummary(Slo, Service, Condition.ShortWindow)
        : $"SLO {Slo} ({Service}) burns its error budget at {LongBurnRate:0.##}x over {SliQueries.FormatDuration(Condition.LongWindow)} and " +
        $"{ShortBurnRate:0.##}x over {SliQueries.FormatDuration(Condition.ShortWindow)} (threshold {Condition.Threshold:0.##}x)";

    /// <summary>The summary of a no-data alert, Aida's own and the exported rule's alike.</summary>
    public static string NoDataSummary(string slo, string service, TimeSpan window) =>
        $"SLO {slo} ({service}) has had no data for {SliQueries.FormatDuration(window)}: its SLI gave no events, so its budget and burn-rate alerts are blind";
}

/// <summary>Names shared by Aida's alerts and the exported alerting rules, so both land in Alertmanager the same way.</summary>
public static class AlertNames
{
    /// <summary>The <c>alertname</c> of a condition's alert: <c>SLOBurnRate</c> plus the severity, e.g. <c>SLOBurnRatePage</c>.</summary>
    public static string For(BurnRateCondition condition) =>
        "SLOBurnRate" + (condition.Severity.Length == 0 ? "" : char.ToUpperInvariant(condition.Severity[0]) + condition.Severity[1..]);

    /// <summary>The <c>alertname</c> of an SLO whose SLI gave no events (OpenSLO's <c>alertWhenNoData</c>).</summary>
    public const string NoData = "SLONoData";
}
