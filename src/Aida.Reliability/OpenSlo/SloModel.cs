namespace Aida.Reliability.OpenSlo;

/// <summary>Everything a set of OpenSLO v1 files declares, with every reference resolved.</summary>
public sealed class SloSet
{
    internal SloSet(
        IReadOnlyList<SloDefinition> slos,
        IReadOnlyList<SloService> services,
        IReadOnlyList<SliDefinition> slis,
        IReadOnlyList<AlertPolicyDefinition> alertPolicies,
        IReadOnlyList<NotificationTarget> notificationTargets,
        IReadOnlyList<DataSourceDefinition> dataSources)
    {
        Slos = slos;
        Services = services;
        Slis = slis;
        AlertPolicies = alertPolicies;
        NotificationTargets = notificationTargets;
        DataSources = dataSources;
    }

    /// <summary>The SLOs, in file order.</summary>
    public IReadOnlyList<SloDefinition> Slos { get; }

    public IReadOnlyList<SloService> Services { get; }

    /// <summary>The named SLIs (kind <c>SLI</c>); inline indicators appear only on their SLO.</summary>
    public IReadOnlyList<SliDefinition> Slis { get; }

    public IReadOnlyList<AlertPolicyDefinition> AlertPolicies { get; }

    public IReadOnlyList<NotificationTarget> NotificationTargets { get; }

    public IReadOnlyList<DataSourceDefinition> DataSources { get; }

    /// <summary>The SLO named <paramref name="name"/>, or null.</summary>
    public SloDefinition? Find(string name) => Slos.FirstOrDefault(s => s.Name == name);
}

/// <summary>Where a definition was written, for messages that point back at the file.</summary>
public readonly record struct SourceLocation(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>An OpenSLO <c>Service</c>: what the SLOs are about (a hall's cooling, the power chain).</summary>
public sealed record SloService(string Name, string? DisplayName, string? Description, SourceLocation Source);

/// <summary>An OpenSLO <c>DataSource</c>. Aida evaluates every SLI through its own query interface; the data source is
/// kept for the export and for documentation.</summary>
public sealed record DataSourceDefinition(string Name, string Type, IReadOnlyDictionary<string, string> ConnectionDetails, SourceLocation Source);

/// <summary>An OpenSLO <c>AlertNotificationTarget</c>: where an alert policy's notifications go (the text is free form,
/// e.g. an Alertmanager receiver name).</summary>
public sealed record NotificationTarget(string Name, string Target, string? Description, SourceLocation Source);

/// <summary>How an SLO counts its budget (OpenSLO <c>budgetingMethod</c>).</summary>
public enum BudgetingMethod
{
    /// <summary>Good events over all events in the window (ratio SLIs).</summary>
    Occurrences,

    /// <summary>Good time slices over all slices in the window (threshold SLIs).</summary>
    Timeslices,
}

/// <summary>The comparison a time slice's value must pass to be good (OpenSLO <c>op</c>).</summary>
public enum ThresholdOperator
{
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
}

/// <summary>A PromQL query of an SLI, as written.</summary>
/// <param name="Query">The PromQL text; may hold Sloth's <c>{{.window}}</c> placeholder for the range.</param>
/// <param name="DataSource">The <c>metricSourceRef</c>, when one is given.</param>
public sealed record MetricQuery(string Query, string? DataSource)
{
    /// <summary>Whether the query holds the <c>{{.window}}</c> placeholder that the evaluator replaces by the window.</summary>
    public bool IsWindowTemplate => Query.Contains(SliQueries.WindowPlaceholder, StringComparison.Ordinal);
}

/// <summary>A ratio SLI (OpenSLO <c>ratioMetric</c>): good over total events, or bad over total.</summary>
/// <param name="Counter">True when the queries are counters (the default): events in a window are their <c>increase</c>;
/// false when they are per-sample event counts, summed with <c>sum_over_time</c>.</param>
public sealed record RatioMetric(bool Counter, MetricQuery? Good, MetricQuery? Bad, MetricQuery Total);

/// <summary>A threshold SLI (OpenSLO <c>thresholdMetric</c>): one value per time slice and per series (a rack, a GPU),
/// compared with the objective's <c>op</c> and <c>value</c>.</summary>
public sealed record ThresholdMetric(MetricQuery Metric);

/// <summary>An OpenSLO <c>SLI</c>: exactly one of <see cref="Ratio"/> and <see cref="Threshold"/> is set.</summary>
public sealed record SliDefinition(string Name, string? Description, RatioMetric? Ratio, ThresholdMetric? Threshold, SourceLocation Source);

/// <summary>The SLO's target and, for time-slice SLOs, what makes a slice good.</summary>
/// <param name="Target">Fraction of good events or slices required, strictly between 0 and 1 (0.999 is 99.9 %).</param>
/// <param name="Operator">Time slices: how the slice value is compared with <paramref name="Value"/>.</param>
/// <param name="Value">Time slices: the threshold (e.g. 27 for 27 °C).</param>
/// <param name="TimeSliceWindow">Time slices: the slice length (e.g. 1m).</param>
public sealed record SloObjective(double Target, ThresholdOperator? Operator, double? Value, TimeSpan? TimeSliceWindow)
{
    /// <summary>The error budget: the fraction of events or slices that may be bad, <c>1 - Target</c>.</summary>
    public double ErrorBudget => 1 - Target;
}

/// <summary>An OpenSLO <c>SLO</c>, resolved: its SLI, window and alert policies.</summary>
public sealed record SloDefinition(
    string Name,
    string? DisplayName,
    string Service,
    string? Description,
    SloObjective Objective,
    SloWindow Window,
    BudgetingMethod BudgetingMethod,
    SliDefinition Sli,
    IReadOnlyList<AlertPolicyDefinition> AlertPolicies,
    SourceLocation Source)
{
    /// <summary>The efficiency moves whose risk can spend this SLO's budget (annotation <c>aida.io/risk-domains</c>);
    /// every kind when the SLO does not say.</summary>
    public RiskDomains RiskDomains { get; init; } = RiskDomains.All;

    /// <summary>The burn-rate conditions that apply: those of the SLO's alert policies (a condition two policies share
    /// counts once), or the SRE Workbook's three
    /// (<see cref="BurnRateCondition.Workbook"/>) when it names none.</summary>
    public IReadOnlyList<BurnRateCondition> AlertConditions =>
        AlertPolicies.Count == 0 ? BurnRateCondition.Workbook : AlertPolicies.SelectMany(p => p.Conditions).Distinct().ToList();

    /// <summary>The burn-rate conditions people are told of when they fire (alerts posted, alerting rules exported):
    /// those of the policies with <c>alertWhenBreaching</c> (the default), all of <see cref="AlertConditions"/> when the
    /// SLO names no policy. Every condition of <see cref="AlertConditions"/> is still judged: it joins incidents and
    /// holds back the efficiency policy.</summary>
    public IReadOnlyList<BurnRateCondition> BreachConditions =>
        AlertPolicies.Count == 0 ? BurnRateCondition.Workbook : AlertPolicies.Where(p => p.AlertWhenBreaching).SelectMany(p => p.Conditions).Distinct().ToList();

    /// <summary>The condition whose short window judges "no data" when a policy of the SLO sets <c>alertWhenNoData</c>
    /// (of those policies' conditions, the one with the shortest short window; the first of equals), or null. OpenSLO
    /// alerts when the burn rate has no value: with no events in the short window it has none.</summary>
    public BurnRateCondition? NoDataCondition =>
        AlertPolicies.Where(p => p.AlertWhenNoData).SelectMany(p => p.Conditions).OrderBy(c => c.ShortWindow).FirstOrDefault();

    /// <summary>Whether people are told when <paramref name="condition"/> stops firing (<c>alertWhenResolved</c>, default
    /// true): when the SLO names no policy, or a policy with the condition sets it. Resolutions still go to Alertmanager
    /// (else the alert would stay active there until it expired); an alert whose resolution people are not told carries
    /// <see cref="Alerting.SloAlert.NotifyResolvedLabel"/> <c>"false"</c>, for a route to a receiver with
    /// <c>send_resolved: false</c>.</summary>
    public bool ResolutionNotified(BurnRateCondition condition) =>
        AlertPolicies.Count == 0 || AlertPolicies.Any(p => p.AlertWhenResolved && p.Conditions.Contains(condition));
}

/// <summary>An OpenSLO <c>AlertPolicy</c>: burn-rate conditions and where to notify.</summary>
public sealed record AlertPolicyDefinition(
    string Name,
    string? Description,
    bool AlertWhenResolved,
    IReadOnlyList<BurnRateCondition> Conditions,
    IReadOnlyList<NotificationTarget> NotificationTargets,
    SourceLocation Source)
{
    /// <summary>Whether people are told when a condition of this policy fires (<c>alertWhenBreaching</c>, default true):
    /// see <see cref="SloDefinition.BreachConditions"/>.</summary>
    public bool AlertWhenBreaching { get; init; } = true;

    /// <summary>Whether an SLO of this policy alerts when its SLI gives no events (<c>alertWhenNoData</c>): see
    /// <see cref="SloDefinition.NoDataCondition"/>.</summary>
    public bool AlertWhenNoData { get; init; }
}

/// <summary>A multi-window burn-rate condition (OpenSLO <c>AlertCondition</c> of kind <c>burnrate</c>): fires when the
/// burn rate over both <see cref="LongWindow"/> and <see cref="ShortWindow"/> is at least <see cref="Threshold"/>.</summary>
/// <remarks>OpenSLO names one <c>lookbackWindow</c>: it is the long window, and the short window is a twelfth of it, the
/// SRE Workbook's ratio (1h and 5m, 6h and 30m, 3d and 6h), so a burn that has stopped resets the alert quickly.
/// <c>alertAfter</c> is how long both must hold before the alert fires (Prometheus' <c>for</c>).</remarks>
public sealed record BurnRateCondition(string Name, string Severity, double Threshold, TimeSpan LongWindow, TimeSpan ShortWindow, TimeSpan AlertAfter)
{
    /// <summary>The SRE Workbook's "Alerting on SLOs" table: page at 14.4x over 1h and 5m, page at 6x over 6h and 30m,
    /// ticket at 1x over 3d and 6h.</summary>
    public static IReadOnlyList<BurnRateCondition> Workbook { get; } =
    [
        new("page-fast-burn", "page", 14.4, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), TimeSpan.Zero),
        new("page-slow-burn", "page", 6, TimeSpan.FromHours(6), TimeSpan.FromMinutes(30), TimeSpan.Zero),
        new("ticket", "ticket", 1, TimeSpan.FromDays(3), TimeSpan.FromHours(6), TimeSpan.Zero),
    ];
}
