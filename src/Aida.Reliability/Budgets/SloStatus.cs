using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Budgets;

/// <summary>An SLO evaluated at one instant.</summary>
/// <param name="Name">The SLO's name.</param>
/// <param name="Service">The service it belongs to.</param>
/// <param name="At">The evaluation time.</param>
/// <param name="Objective">The target (0.999).</param>
/// <param name="Window">The span the budget is counted over at <paramref name="At"/> (the rolling length, or the elapsed
/// part of the calendar period).</param>
/// <param name="Budget">The error ratio over <paramref name="Window"/> and what it spends.</param>
/// <param name="BurnRates">Burn rate per window: every window of the SLO's alert conditions, and 1h.</param>
/// <param name="TimeToExhaustion">At the 1h burn rate; null when nothing burns.</param>
/// <param name="FiringAlerts">Conditions whose long and short burn rates are both at or above their threshold now
/// (without <c>alertAfter</c>, which needs history: <see cref="Alerting.SloAlertMonitor"/> keeps it).</param>
public sealed record SloStatus(
    string Name,
    string Service,
    DateTimeOffset At,
    double Objective,
    TimeSpan Window,
    ErrorBudget Budget,
    IReadOnlyDictionary<TimeSpan, double> BurnRates,
    TimeSpan? TimeToExhaustion,
    IReadOnlyList<BurnRateCondition> FiringAlerts)
{
    /// <summary>The efficiency moves whose risk can spend this SLO's budget (<see cref="SloDefinition.RiskDomains"/>).</summary>
    public RiskDomains RiskDomains { get; init; } = RiskDomains.All;

    /// <summary>The window used for <see cref="TimeToExhaustion"/>.</summary>
    public static readonly TimeSpan ExhaustionBurnWindow = TimeSpan.FromHours(1);

    /// <summary>Whether there were any events or slices in the window.</summary>
    public bool HasData => !double.IsNaN(Budget.ErrorRatio);

    /// <summary>The attained SLI over the window (NaN with no data).</summary>
    public double Attained => Budget.Attained;

    public double BudgetConsumed => Budget.Consumed;

    public double BudgetRemaining => Budget.Remaining;
}
