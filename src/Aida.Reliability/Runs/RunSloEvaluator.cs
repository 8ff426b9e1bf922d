using Aida.Reliability.Alerting;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Reliability.Runs;

/// <summary>How one SLO fared over a whole run.</summary>
/// <param name="Name">The SLO.</param>
/// <param name="Objective">Its target (0.999).</param>
/// <param name="Attained">The SLI over the run; NaN without data.</param>
/// <param name="BurnRate">The run's error ratio over the allowed one: 1 would spend the budget exactly over the SLO's window.</param>
/// <param name="BudgetConsumed">Share of the SLO window's error budget the run spent: burn rate x run length / window.</param>
/// <param name="BudgetRemaining">1 - <paramref name="BudgetConsumed"/>: what a window that held only this run would have left.</param>
/// <param name="AlertsFired">Burn-rate alerts that fired during the run (each condition's rising edges, after its alertAfter).</param>
public sealed record RunSloResult(string Name, double Objective, double Attained, double BurnRate, double BudgetConsumed, double BudgetRemaining, int AlertsFired);

/// <summary>Evaluates a set of SLOs over a finished run's telemetry: the budget the run spent, and the burn-rate alerts
/// that would have fired had the SLOs been watched minute by minute.</summary>
/// <remarks>
/// <para>The run's error ratio is <see cref="SloEvaluator.ErrorRatioAsync"/> over the run's length, ending at its end.</para>
/// <para>Alerts: rather than evaluating every window at every minute (a 3-day subquery per minute of a week costs
/// millions of evaluations), two range queries per SLO fetch the bad and total events of each minute: for time-slice
/// SLIs each slice's bad and total series; for ratio SLIs over gauges the SLI's queries over a 1-minute window, which
/// partition time exactly as Prometheus' left-open ranges do; for counters each minute's increase of their total.
/// Every window's burn rate is then a difference of running sums. A
/// condition fires when its long- and short-window burn rates have both been at or above its threshold for its
/// alertAfter, as <see cref="Alerting.SloAlertMonitor"/> decides.</para>
/// </remarks>
public sealed class RunSloEvaluator
{
    /// <summary>The resolution of alert evaluation: a minute, the slice of the pack's time-slice SLIs.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromMinutes(1);

    private readonly IQueryEngine _engine;
    private readonly SloEvaluator _evaluator;
    private readonly IReadOnlyList<ReadingExclusion> _exclusions;

    /// <param name="engine">Where the SLIs are read.</param>
    /// <param name="exclusions">Readings left out of the SLIs that read them over their spans (sensors diagnosed lying,
    /// <see cref="SloCorrections"/>); none by default: the SLIs as read.</param>
    public RunSloEvaluator(IQueryEngine engine, IReadOnlyList<ReadingExclusion>? exclusions = null)
    {
        _engine = engine;
        _evaluator = new SloEvaluator(engine);
        _exclusions = exclusions ?? [];
    }

    /// <summary>Evaluates every SLO of <paramref name="set"/> over the run from <paramref name="start"/> to <paramref name="end"/>, in file order.</summary>
    /// <exception cref="QueryException">The engine refused a query.</exception>
    public async Task<IReadOnlyList<RunSloResult>> EvaluateAsync(SloSet set, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        var results = new List<RunSloResult>(set.Slos.Count);
        var length = end - start;
        foreach (var slo in set.Slos.Select(x => SloCorrections.Apply(x, _exclusions)))
        {
            var ratio = length > TimeSpan.Zero ? await _evaluator.ErrorRatioAsync(slo, length, end, cancellationToken) : double.NaN;
            var burn = ErrorBudget.BurnRate(ratio, slo.Objective.Target);
            var consumed = ErrorBudget.ConsumedBy(burn, length, slo.Window.NominalLength);
            var fired = 0;
            if (slo.AlertConditions.Count > 0 && length >= Step)
            {
                var (bad, total) = await MinuteEventsAsync(slo, start, end, cancellationToken);
                foreach (var condition in slo.AlertConditions)
                {
                    fired += CountFirings(bad, total, slo.Objective.Target, condition);
                }
            }

            results.Add(new RunSloResult(slo.Name, slo.Objective.Target, 1 - ratio, burn, consumed, 1 - consumed, fired));
        }

        return results;
    }

    /// <summary>The burn-rate alerts of every SLO of <paramref name="set"/> that fired over the run from
    /// <paramref name="start"/> to <paramref name="end"/>, as <see cref="Alerting.SloAlertMonitor"/> would have raised
    /// them evaluating each minute: in time order (then SLO and condition in file order), each with when it fired and
    /// resolved (null if still firing at the end) and its burn rates when it fired.</summary>
    /// <exception cref="QueryException">The engine refused a query.</exception>
    public async Task<IReadOnlyList<SloAlert>> AlertsAsync(SloSet set, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        var alerts = new List<SloAlert>();
        if (end - start < Step)
        {
            return alerts;
        }

        var stepMs = (long)Step.TotalMilliseconds;
        var first = DateTimeOffset.FromUnixTimeMilliseconds(((start.ToUnixTimeMilliseconds() / stepMs) + 1) * stepMs);
        foreach (var slo in set.Slos.Where(s => s.AlertConditions.Count > 0).Select(x => SloCorrections.Apply(x, _exclusions)))
        {
            var (bad, total) = await MinuteEventsAsync(slo, start, end, cancellationToken);
            var targets = slo.AlertPolicies.SelectMany(p => p.NotificationTargets).Select(t => t.Target).Distinct().ToList();
            foreach (var condition in slo.AlertConditions)
            {
                foreach (var (from, to, longBurn, shortBurn) in Firings(bad, total, slo.Objective.Target, condition))
                {
                    var at = first + (from * Step);
                    alerts.Add(new SloAlert(AlertNames.For(condition), slo.Name, slo.Service, condition, at,
                        to is { } t ? first + (t * Step) : null, longBurn, shortBurn, targets) { Worst = await WorstAsync(slo, condition.ShortWindow, at, cancellationToken), NotifyResolved = slo.ResolutionNotified(condition) });
                }
            }
        }

        // A stable sort: SLOs and conditions keep their file order among alerts of the same minute.
        return [.. alerts.OrderBy(a => a.StartsAt)];
    }

    /// <summary>For a time-slice SLI, the series with the most bad slices over <paramref name="window"/> ending at
    /// <paramref name="at"/> (the first in label order on a tie); null for a ratio SLI or when no series had one.</summary>
    internal async Task<Labels?> WorstAsync(SloDefinition slo, TimeSpan window, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (slo.Sli.Threshold is not { } threshold)
        {
            return null;
        }

        var slice = SliQueries.FormatDuration(slo.Objective.TimeSliceWindow ?? Step);
        var bad = $"sum_over_time((1 - ({SliQueries.GoodSlices(threshold.Metric.Query, slo.Objective)}))[{SliQueries.FormatDuration(window)}:{slice}]) > 0";
        var result = await _engine.QueryAsync(bad, at, cancellationToken);
        return result.Series.OrderByDescending(x => x.Samples[^1].Value).ThenBy(x => x.Labels, Comparer<Labels>.Create(Labels.Compare)).FirstOrDefault()?.Labels;
    }

    /// <summary>Bad and total events of each minute from the first whole minute after <paramref name="start"/> to <paramref name="end"/>.</summary>
    internal async Task<(double[] Bad, double[] Total)> MinuteEventsAsync(SloDefinition slo, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken)
    {
        var stepMs = (long)Step.TotalMilliseconds;
        var first = DateTimeOffset.FromUnixTimeMilliseconds(((start.ToUnixTimeMilliseconds() / stepMs) + 1) * stepMs);
        var count = first > end ? 0 : (int)((end - first).Ticks / Step.Ticks) + 1;
        var (badQuery, totalQuery) = MinuteQueries(slo);
        var bad = await EventsAsync(badQuery, first, count, cancellationToken);
        var total = await EventsAsync(totalQuery, first, count, cancellationToken);
        return (bad, total);
    }

    /// <summary>A query for one minute's events: its value at each step, or (<paramref name="Cumulative"/>) a counter's
    /// total, whose step-to-step increase is the minute's events.</summary>
    internal sealed record MinuteQuery(string Promql, bool Cumulative);

    /// <summary>PromQL for one step's bad and total events, in the terms of <see cref="SliQueries.ErrorRatio"/>.</summary>
    internal static (MinuteQuery Bad, MinuteQuery Total) MinuteQueries(SloDefinition slo)
    {
        var w = SliQueries.FormatDuration(Step);
        if (slo.Sli.Ratio is { } ratio)
        {
            var total = Events(ratio.Total, ratio.Counter, w);
            if (ratio.Bad is { } b)
            {
                return (Events(b, ratio.Counter, w), total);
            }

            var good = Events(ratio.Good!, ratio.Counter, w);
            return (new MinuteQuery($"({total.Promql} - {good.Promql})", total.Cumulative), total);
        }

        // One slice per series per step: the step is the slice (the pack's slices are a minute).
        var slices = SliQueries.GoodSlices(slo.Sli.Threshold!.Metric.Query, slo.Objective);
        return (new MinuteQuery($"sum(1 - ({slices}))", false), new MinuteQuery($"count({slices})", false));
    }

    private static MinuteQuery Events(MetricQuery q, bool counter, string w)
    {
        if (q.IsWindowTemplate)
        {
            return new MinuteQuery($"sum({q.Query.Replace(SliQueries.WindowPlaceholder, w, StringComparison.Ordinal)})", false);
        }

        // A counter sampled once a minute has a single sample in a 1-minute range, where increase() is empty: the
        // counter's total is read at each step instead and differenced.
        return counter ? new MinuteQuery($"sum({q.Query})", true) : new MinuteQuery($"sum(sum_over_time({q.Query}[{w}]))", false);
    }

    private async Task<double[]> EventsAsync(MinuteQuery query, DateTimeOffset first, int count, CancellationToken cancellationToken)
    {
        if (!query.Cumulative)
        {
            return await ValuesAsync(query.Promql, first, count, cancellationToken);
        }

        // The total one step before the first, then each step's increase; a counter reset counts from zero.
        var totals = await ValuesAsync(query.Promql, first - Step, count + 1, cancellationToken);
        var events = new double[count];
        for (var i = 0; i < count; i++)
        {
            var (before, now) = (totals[i], totals[i + 1]);
            events[i] = double.IsNaN(now) ? 0 : double.IsNaN(before) ? 0 : now >= before ? now - before : now;
        }

        return events;
    }

    /// <summary>The query's value at each step (summed over the series it returns; NaN where it returned nothing).</summary>
    private async Task<double[]> ValuesAsync(string query, DateTimeOffset first, int count, CancellationToken cancellationToken)
    {
        var values = new double[count];
        Array.Fill(values, double.NaN);
        if (count == 0)
        {
            return values;
        }

        var result = await _engine.QueryRangeAsync(query, first, first + ((count - 1) * Step), Step, cancellationToken);
        var firstMs = first.ToUnixTimeMilliseconds();
        var stepMs = (long)Step.TotalMilliseconds;
        foreach (var series in result.Series)
        {
            foreach (var sample in series.Samples)
            {
                var i = (int)((sample.TimestampMs - firstMs) / stepMs);
                if (i >= 0 && i < count && double.IsFinite(sample.Value))
                {
                    values[i] = double.IsNaN(values[i]) ? sample.Value : values[i] + sample.Value;
                }
            }
        }

        return values;
    }

    /// <summary>How many times <paramref name="condition"/> fired over minutes of <paramref name="bad"/> and <paramref name="total"/> events.</summary>
    internal static int CountFirings(double[] bad, double[] total, double objective, BurnRateCondition condition) =>
        Firings(bad, total, objective, condition).Count;

    /// <summary>Each firing of <paramref name="condition"/> over minutes of <paramref name="bad"/> and <paramref name="total"/>
    /// events: the minute (index into them) it fired at, the minute it resolved at (null while still firing at the end),
    /// and the long and short burn rates when it fired.</summary>
    internal static List<(int Start, int? End, double LongBurn, double ShortBurn)> Firings(double[] bad, double[] total, double objective, BurnRateCondition condition)
    {
        var track = new BurnRateTrack([condition], objective);
        var firings = new List<(int Start, int? End, double LongBurn, double ShortBurn)>();
        for (var minute = 0; minute < bad.Length; minute++)
        {
            foreach (var (_, fired, longBurn, shortBurn) in track.Add(bad[minute], total[minute]))
            {
                if (fired)
                {
                    firings.Add((minute, null, longBurn, shortBurn));
                }
                else
                {
                    firings[^1] = firings[^1] with { End = minute };
                }
            }
        }

        return firings;
    }
}
