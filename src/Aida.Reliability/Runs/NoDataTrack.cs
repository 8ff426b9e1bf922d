using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Runs;

/// <summary>An SLO's "no data" judged a minute at a time (OpenSLO's <c>alertWhenNoData</c>): it fires once no minute of
/// the condition's short window has had an event (the burn rate has no value) and that has held for the condition's
/// alertAfter, and resolves at the first minute with an event.</summary>
/// <remarks>A minute whose total is zero or NaN (no series, or every reading left out) has no events. Not thread-safe.</remarks>
internal sealed class NoDataTrack(BurnRateCondition condition)
{
    private readonly int _window = Math.Max(1, (int)(condition.ShortWindow.Ticks / RunSloEvaluator.Step.Ticks));
    private readonly int _hold = (int)Math.Ceiling(condition.AlertAfter.Ticks / (double)RunSloEvaluator.Step.Ticks);
    private int _empty;

    public BurnRateCondition Condition { get; } = condition;

    public bool Firing { get; private set; }

    /// <summary>Adds the next minute's total events: true when the alert fires at it, false when it resolves, null when
    /// nothing changes.</summary>
    public bool? Add(double total)
    {
        if (total > 0)
        {
            _empty = 0;
            if (!Firing)
            {
                return null;
            }

            Firing = false;
            return false;
        }

        _empty++;
        if (Firing || _empty < _window + _hold)
        {
            return null;
        }

        Firing = true;
        return true;
    }
}
