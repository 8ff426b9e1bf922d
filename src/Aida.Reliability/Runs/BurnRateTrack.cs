using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Runs;

/// <summary>An SLO's burn-rate conditions judged a minute at a time, as <see cref="Alerting.SloAlertMonitor"/> decides:
/// a condition fires once its long- and short-window burn rates have both been at or above its threshold for its
/// alertAfter, and resolves when either drops below. The minutes' events are kept as running sums over the longest
/// window only, so a track costs the same on the first day of a run as on the hundredth.</summary>
/// <remarks>One rule for a finished run (<see cref="RunSloEvaluator.Firings"/>) and a running one
/// (<see cref="LiveSloAlerts"/>). Not thread-safe.</remarks>
internal sealed class BurnRateTrack
{
    private readonly IReadOnlyList<BurnRateCondition> _conditions;
    private readonly double _objective;
    private readonly int[] _long;
    private readonly int[] _short;
    private readonly int[] _hold;
    private readonly (int Run, bool Firing)[] _state;

    // Running sums of bad and total events after n minutes, for the last Keep + 1 values of n (a ring).
    private readonly double[] _bad;
    private readonly double[] _total;
    private long _n;

    public BurnRateTrack(IReadOnlyList<BurnRateCondition> conditions, double objective)
    {
        _conditions = conditions;
        _objective = objective;
        _long = [.. conditions.Select(c => Steps(c.LongWindow))];
        _short = [.. conditions.Select(c => Steps(c.ShortWindow))];
        _hold = [.. conditions.Select(c => (int)Math.Ceiling(c.AlertAfter.Ticks / (double)RunSloEvaluator.Step.Ticks))];
        _state = new (int, bool)[conditions.Count];
        var keep = _long.Concat(_short).DefaultIfEmpty(1).Max();
        _bad = new double[keep + 1];
        _total = new double[keep + 1];
    }

    /// <summary>Adds the next minute's events (NaN counts as none) and returns each condition that fired
    /// (<c>Fired</c>) or resolved at it, with its long and short burn rates then.</summary>
    public List<(BurnRateCondition Condition, bool Fired, double LongBurn, double ShortBurn)> Add(double bad, double total)
    {
        var size = _bad.Length;
        var before = (int)(_n % size);
        _n++;
        var now = (int)(_n % size);
        _bad[now] = _bad[before] + (double.IsNaN(bad) ? 0 : bad);
        _total[now] = _total[before] + (double.IsNaN(total) ? 0 : total);

        var changes = new List<(BurnRateCondition, bool, double, double)>();
        for (var i = 0; i < _conditions.Count; i++)
        {
            var c = _conditions[i];
            var longBurn = Burn(_long[i]);
            var shortBurn = Burn(_short[i]);
            var above = longBurn >= c.Threshold && shortBurn >= c.Threshold;
            var (run, firing) = _state[i];
            run = above ? run + 1 : 0;
            if (!firing && above && run > _hold[i])
            {
                firing = true;
                changes.Add((c, true, longBurn, shortBurn));
            }
            else if (firing && !above)
            {
                firing = false;
                changes.Add((c, false, longBurn, shortBurn));
            }

            _state[i] = (run, firing);
        }

        return changes;
    }

    private static int Steps(TimeSpan window) => Math.Max(1, (int)(window.Ticks / RunSloEvaluator.Step.Ticks));

    /// <summary>The burn rate over the last <paramref name="steps"/> minutes (fewer at the start).</summary>
    private double Burn(int steps)
    {
        var size = _bad.Length;
        var now = (int)(_n % size);
        var from = (int)(Math.Max(0, _n - steps) % size);
        var total = _total[now] - _total[from];
        return total > 0 ? ErrorBudget.BurnRate((_bad[now] - _bad[from]) / total, _objective) : 0;
    }
}
