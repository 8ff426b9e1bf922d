namespace Aida.Reliability.Budgets;

/// <summary>An SLO's error budget at one moment: the objective and the fraction of events (or slices) that were bad
/// over the window (SRE Workbook, "Implementing SLOs" and "Alerting on SLOs").</summary>
/// <param name="Objective">The target, strictly between 0 and 1 (0.999).</param>
/// <param name="ErrorRatio">Bad over all events in the window; NaN when there were none (no data spends no budget).</param>
public readonly record struct ErrorBudget(double Objective, double ErrorRatio)
{
    /// <summary>The fraction of events that may be bad: <c>1 - Objective</c>.</summary>
    public double Allowed => 1 - Objective;

    /// <summary>The fraction of the budget spent: <c>ErrorRatio / Allowed</c> (above 1 when overspent; 0 with no data).</summary>
    public double Consumed => double.IsNaN(ErrorRatio) ? 0 : Math.Clamp(ErrorRatio, 0, 1) / Allowed;

    /// <summary>The fraction left: <c>1 - Consumed</c>, never above 1 (100 %), negative when overspent.</summary>
    public double Remaining => 1 - Consumed;

    /// <summary>The attained SLI, <c>1 - ErrorRatio</c> (NaN with no data).</summary>
    public double Attained => 1 - ErrorRatio;

    /// <summary>The budget of <paramref name="bad"/> bad events out of <paramref name="total"/>.</summary>
    public static ErrorBudget FromEvents(double bad, double total, double objective) =>
        new(objective, total > 0 ? Math.Clamp(bad / total, 0, 1) : double.NaN);

    /// <summary>How fast the budget burns: the error ratio over a window divided by the allowed ratio. A burn rate of 1
    /// spends exactly the budget over the SLO window; 0 when the ratio is NaN (no events).</summary>
    public static double BurnRate(double errorRatio, double objective) =>
        double.IsNaN(errorRatio) ? 0 : Math.Max(0, errorRatio) / (1 - objective);

    /// <summary>The fraction of the budget that burning at <paramref name="burnRate"/> for <paramref name="duration"/>
    /// spends, for an SLO window of <paramref name="window"/>: <c>burnRate x duration / window</c>.</summary>
    public static double ConsumedBy(double burnRate, TimeSpan duration, TimeSpan window) => burnRate * duration.TotalSeconds / window.TotalSeconds;

    /// <summary>How long until the budget is gone at a constant <paramref name="burnRate"/>:
    /// <c>remaining x window / burnRate</c>; zero when already spent, null when nothing burns.</summary>
    public static TimeSpan? TimeToExhaustion(double remaining, TimeSpan window, double burnRate)
    {
        if (remaining <= 0)
        {
            return TimeSpan.Zero;
        }

        if (!(burnRate > 0) || double.IsInfinity(burnRate))
        {
            return burnRate > 0 ? TimeSpan.Zero : null;
        }

        var seconds = remaining * window.TotalSeconds / burnRate;
        return seconds >= TimeSpan.MaxValue.TotalSeconds ? null : TimeSpan.FromSeconds(seconds);
    }
}
