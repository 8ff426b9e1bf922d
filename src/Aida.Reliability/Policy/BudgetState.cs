using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Policy;

/// <summary>The error-budget state of one SLO, as the efficiency policy reads it.</summary>
/// <param name="Name">The SLO's name.</param>
/// <param name="BudgetRemaining">Share of the window's error budget left: 1 untouched, 0 spent, below 0 overspent; NaN when unknown (no data).</param>
/// <param name="FastBurnRate">Burn rate over the short window (1 h in the SRE Workbook's page); 1 spends the budget exactly over the window.</param>
/// <param name="SlowBurnRate">Burn rate over the long window (6 h in the SRE Workbook's slower page).</param>
/// <param name="PageAlertOpen">Whether a page-severity burn-rate alert of this SLO is firing.</param>
/// <param name="Domains">The efficiency moves whose risk can spend this budget; the policy weighs each move only against
/// the SLOs of its domain.</param>
public sealed record SloBudget(string Name, double BudgetRemaining, double FastBurnRate, double SlowBurnRate, bool PageAlertOpen, RiskDomains Domains = RiskDomains.All)
{
    /// <summary>The window of <see cref="FastBurnRate"/>: 1 h.</summary>
    public static readonly TimeSpan FastWindow = TimeSpan.FromHours(1);

    /// <summary>The window of <see cref="SlowBurnRate"/>: 6 h.</summary>
    public static readonly TimeSpan SlowWindow = TimeSpan.FromHours(6);

    /// <summary>The budget state of an evaluated SLO: remaining budget (NaN without data), the 1 h and 6 h burn rates
    /// (NaN when the SLO's alert conditions do not include a 6 h window, so the policy holds), and whether a
    /// page-severity condition is firing.</summary>
    public static SloBudget From(SloStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new SloBudget(
            status.Name,
            status.HasData ? status.BudgetRemaining : double.NaN,
            status.BurnRates.TryGetValue(FastWindow, out var fast) ? fast : double.NaN,
            status.BurnRates.TryGetValue(SlowWindow, out var slow) ? slow : double.NaN,
            status.FiringAlerts.Any(a => string.Equals(a.Severity, "page", StringComparison.OrdinalIgnoreCase)),
            status.RiskDomains);
    }
}

/// <summary>The error-budget state of every SLO the policy weighs.</summary>
public sealed record BudgetState(IReadOnlyList<SloBudget> Slos)
{
    /// <summary>The budget state of evaluated SLOs (<see cref="SloEvaluator.EvaluateAsync(Aida.Reliability.OpenSlo.SloSet, DateTimeOffset, CancellationToken)"/>).</summary>
    public static BudgetState From(IEnumerable<SloStatus> statuses) => new(statuses.Select(SloBudget.From).ToList());
}
