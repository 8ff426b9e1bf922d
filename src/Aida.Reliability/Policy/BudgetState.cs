namespace Aida.Reliability.Policy;

/// <summary>The error-budget state of one SLO, as the efficiency policy reads it.</summary>
/// <param name="Name">The SLO's name.</param>
/// <param name="BudgetRemaining">Share of the window's error budget left: 1 untouched, 0 spent, below 0 overspent; NaN when unknown (no data).</param>
/// <param name="FastBurnRate">Burn rate over the short window (1 h in the SRE Workbook's page); 1 spends the budget exactly over the window.</param>
/// <param name="SlowBurnRate">Burn rate over the long window (6 h in the SRE Workbook's slower page).</param>
/// <param name="PageAlertOpen">Whether a page-severity burn-rate alert of this SLO is firing.</param>
public sealed record SloBudget(string Name, double BudgetRemaining, double FastBurnRate, double SlowBurnRate, bool PageAlertOpen);

/// <summary>The error-budget state of every SLO the policy weighs.</summary>
public sealed record BudgetState(IReadOnlyList<SloBudget> Slos);
