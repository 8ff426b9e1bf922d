using Aida.Reliability.Alerting;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Query;

namespace Aida.Reliability.Runs;

/// <summary>SLO burn-rate alerts as a run goes: each step fetches only the minutes' events since the last one (two short
/// range queries per SLO), keeps each SLO's minutes over its longest window, and steps each condition's state a minute
/// at a time by the rule <see cref="RunSloEvaluator.AlertsAsync"/> applies to a finished run, which gives the same
/// alerts over the same minutes. For a live run whose incidents should hold its SLOs' burn (<c>aida run --data DIR</c>),
/// where evaluating every window of every SLO each minute (a 3-day window of rack-minutes for the ticket) would cost more
/// than the plant's own detection.</summary>
/// <remarks>Not thread-safe; time is the caller's.</remarks>
public sealed class LiveSloAlerts
{
    private readonly RunSloEvaluator _run;
    private readonly IReadOnlyList<SloDefinition> _slos;
    private readonly DateTimeOffset _first;
    private readonly Dictionary<string, Track> _tracks = new(StringComparer.Ordinal);
    private int _minutes;

    /// <param name="start">The run's start: the first minute judged is the first whole minute after it.</param>
    public LiveSloAlerts(IQueryEngine engine, SloSet set, DateTimeOffset start)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(set);
        _run = new RunSloEvaluator(engine);
        _slos = [.. set.Slos.Where(s => s.AlertConditions.Count > 0)];
        var stepMs = (long)RunSloEvaluator.Step.TotalMilliseconds;
        _first = DateTimeOffset.FromUnixTimeMilliseconds(((start.ToUnixTimeMilliseconds() / stepMs) + 1) * stepMs);
        foreach (var slo in _slos)
        {
            _tracks[slo.Name] = new Track(slo.AlertConditions);
        }
    }

    /// <summary>The alerts that fired in the minutes up to <paramref name="now"/> not yet returned, in time order (then
    /// SLO and condition in file order), each with the series burning most for a time-slice SLI.</summary>
    /// <exception cref="QueryException">The engine refused a query.</exception>
    public async Task<IReadOnlyList<SloAlert>> StepAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var step = RunSloEvaluator.Step;
        var due = now < _first ? 0 : (int)((now - _first).Ticks / step.Ticks) + 1;
        if (due <= _minutes)
        {
            return [];
        }

        var alerts = new List<SloAlert>();
        foreach (var slo in _slos)
        {
            // The first whole minute after this start is the first minute not fetched yet.
            var (bad, total) = await _run.MinuteEventsAsync(slo, _first + ((_minutes - 1) * step), _first + ((due - 1) * step), cancellationToken);
            var track = _tracks[slo.Name];
            var targets = slo.AlertPolicies.SelectMany(p => p.NotificationTargets).Select(t => t.Target).Distinct().ToList();
            for (var k = 0; k < bad.Length; k++)
            {
                var minute = _minutes + k;
                foreach (var (condition, longBurn, shortBurn) in track.Add(bad[k], total[k], slo.Objective.Target))
                {
                    var at = _first + (minute * step);
                    alerts.Add(new SloAlert(AlertNames.For(condition), slo.Name, slo.Service, condition, at, null, longBurn, shortBurn, targets)
                    {
                        Worst = await _run.WorstAsync(slo, condition.ShortWindow, at, cancellationToken),
                    });
                }
            }
        }

        _minutes = due;
        return [.. alerts.OrderBy(a => a.StartsAt)];
    }

    /// <summary>One SLO's minutes over its longest window, and each condition's state: the same rule as
    /// <see cref="RunSloEvaluator.Firings"/>, one minute at a time, in memory bounded by the longest window.</summary>
    private sealed class Track(IReadOnlyList<BurnRateCondition> conditions)
    {
        private readonly int _keep = conditions.Max(c => Steps(c.LongWindow));
        private readonly Queue<(double Bad, double Total)> _minutes = new();
        private readonly (int Run, bool Firing)[] _state = new (int, bool)[conditions.Count];

        /// <summary>Adds a minute's events; the conditions that fire at it, with their long and short burn rates.</summary>
        public List<(BurnRateCondition Condition, double LongBurn, double ShortBurn)> Add(double bad, double total, double objective)
        {
            _minutes.Enqueue((double.IsNaN(bad) ? 0 : bad, double.IsNaN(total) ? 0 : total));
            if (_minutes.Count > _keep)
            {
                _minutes.Dequeue();
            }

            var fired = new List<(BurnRateCondition, double, double)>();
            for (var i = 0; i < conditions.Count; i++)
            {
                var c = conditions[i];
                var longBurn = Burn(Steps(c.LongWindow), objective);
                var shortBurn = Burn(Steps(c.ShortWindow), objective);
                var above = longBurn >= c.Threshold && shortBurn >= c.Threshold;
                var (run, firing) = _state[i];
                run = above ? run + 1 : 0;
                if (!firing && above && run > (int)Math.Ceiling(c.AlertAfter.Ticks / (double)RunSloEvaluator.Step.Ticks))
                {
                    firing = true;
                    fired.Add((c, longBurn, shortBurn));
                }
                else if (firing && !above)
                {
                    firing = false;
                }

                _state[i] = (run, firing);
            }

            return fired;
        }

        private static int Steps(TimeSpan window) => Math.Max(1, (int)(window.Ticks / RunSloEvaluator.Step.Ticks));

        /// <summary>The burn rate over the last <paramref name="steps"/> minutes kept (fewer at the start).</summary>
        private double Burn(int steps, double objective)
        {
            double bad = 0, total = 0;
            foreach (var (b, t) in _minutes.Skip(Math.Max(0, _minutes.Count - steps)))
            {
                bad += b;
                total += t;
            }

            return total > 0 ? ErrorBudget.BurnRate(bad / total, objective) : 0;
        }
    }
}
