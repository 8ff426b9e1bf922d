using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Query;

namespace Aida.Reliability.Budgets;

/// <summary>A time-slice SLO's slices, each counted once and kept: the error ratio over a window is then a difference of
/// running sums, and an evaluation queries only the slices that ended since the last one. Without it, every evaluation
/// of a budget's window re-evaluates every slice in it: over a week-long simulated run, most of the agent's time.</summary>
/// <remarks>
/// The counts are those of <see cref="SliQueries.ErrorRatio"/>'s subquery, slice by slice: at each slice end T (a
/// multiple of the slice), <c>count(good)</c> series of which <c>sum(good)</c> met the objective; a window of length W
/// ending at <c>at</c> holds the slices in [at − W, at], as the subquery's steps. Both counts are whole numbers, so the
/// sums are exact and the ratio equals the subquery's bit for bit.
/// <para>Only settled slices are kept: those that ended at least the settling time before an evaluation, which a store
/// written in time order (a simulation, the embedded twin) does not change afterwards, or before the oldest time the
/// store still accepts a sample at, which no late sample can change (a site over the network, whose samples may come
/// late). Newer slices are queried each time.</para>
/// </remarks>
internal sealed class SliceTally
{
    /// <summary>Most steps one range query is asked for: below the Prometheus HTTP API's 11,000 points a series.</summary>
    private const int MaxStepsPerQuery = 10_000;

    private static readonly TimeSpan Slack = TimeSpan.FromHours(1);

    private readonly IQueryEngine _engine;
    private readonly string _countQuery;
    private readonly string _goodQuery;
    private readonly long _sliceMs;
    private readonly long? _settledMs;
    private readonly Func<DateTimeOffset?>? _acceptsFrom;

    // Running sums over the kept slices: _bad[i] and _total[i] are the sums over the slices before slice i, slice i
    // ending at _first + i × slice. The last kept slice ends at _first + (_bad.Count − 2) × slice.
    private readonly List<double> _bad = [0];
    private readonly List<double> _total = [0];
    private long _first;
    private bool _started;

    /// <param name="settled">When set: a slice that ended this long before an evaluation no longer changes (a store
    /// written in time order).</param>
    /// <param name="acceptsFrom">When set: the oldest time the store still accepts a sample at (<c>Tsdb.AcceptsFrom</c>);
    /// a slice that ended before it no longer changes, however late samples arrive (a site over the network). A slice is
    /// kept once either says it is settled.</param>
    public SliceTally(IQueryEngine engine, SloDefinition slo, TimeSpan? settled, Func<DateTimeOffset?>? acceptsFrom = null)
    {
        var threshold = slo.Sli.Threshold ?? throw new ArgumentException($"SLO '{slo.Name}' is not time-slice based", nameof(slo));
        var good = SliQueries.GoodSlices(threshold.Metric.Query, slo.Objective);
        _engine = engine;
        _countQuery = $"count({good})";
        _goodQuery = $"sum({good})";
        _sliceMs = (long)(slo.Objective.TimeSliceWindow ?? TimeSpan.FromMinutes(1)).TotalMilliseconds;
        _settledMs = settled is { } s ? (long)s.TotalMilliseconds : null;
        _acceptsFrom = acceptsFrom;
    }

    /// <summary>The slices kept (the pruning rule lets go of old ones once they are as many as the rest).</summary>
    public int Kept => _bad.Count - 1;

    private long LastKept => _first + ((_bad.Count - 2) * _sliceMs);

    /// <summary>The fraction of bad slices over the <paramref name="window"/> ending at <paramref name="at"/> (NaN with
    /// none), or null when the window reaches back before the first kept slice: the caller asks the store.</summary>
    /// <param name="longest">The longest window this SLO will be asked for: the kept slices start there on first use,
    /// and older ones are let go.</param>
    public async Task<double?> ErrorRatioAsync(TimeSpan window, DateTimeOffset at, TimeSpan longest, CancellationToken cancellationToken)
    {
        var atMs = at.ToUnixTimeMilliseconds();
        var from = AlignUp(atMs - (long)window.TotalMilliseconds);
        var to = AlignDown(atMs);
        if (!_started)
        {
            _started = true;
            // An hour more than asked: a window cut at the data's start rounds to whole minutes, so at a later
            // evaluation it may reach a slice or so further back.
            _first = AlignUp(atMs - (long)(longest + Slack).TotalMilliseconds);
        }

        if (from < _first)
        {
            return null;
        }

        if (SettledUntil(atMs) is { } settledMs)
        {
            await KeepUntilAsync(AlignDown(settledMs), cancellationToken);
        }

        var (bad, total) = Sum(from, Math.Min(to, LastKept));
        if (Math.Max(from, LastKept + _sliceMs) is var fresh && fresh <= to)
        {
            var (b, t) = await CountAsync(fresh, to, null, null, cancellationToken);
            bad += b;
            total += t;
        }

        LetGo(atMs - (long)(longest + Slack).TotalMilliseconds);
        return (bad, total) is (_, > 0) ? bad / total : double.NaN;
    }

    /// <summary>The end of the newest slice that no longer changes at <paramref name="atMs"/>; null: none is known to.</summary>
    private long? SettledUntil(long atMs)
    {
        long? until = _settledMs is { } s ? atMs - s : null;
        if (_acceptsFrom?.Invoke() is { } floor)
        {
            // A sample at the floor itself is still accepted: a slice ending just before it is the newest one settled.
            var beforeFloor = floor.ToUnixTimeMilliseconds() - 1;
            until = until is { } u ? Math.Max(u, beforeFloor) : beforeFloor;
        }

        return until;
    }

    private async Task KeepUntilAsync(long settledMs, CancellationToken cancellationToken)
    {
        var next = LastKept + _sliceMs;
        if (next <= settledMs)
        {
            await CountAsync(next, settledMs, _bad, _total, cancellationToken);
        }
    }

    /// <summary>Bad and all slices in [<paramref name="from"/>, <paramref name="to"/>] from the store; with lists, each
    /// slice's running sums appended to them as well.</summary>
    private async Task<(double Bad, double Total)> CountAsync(long from, long to, List<double>? bad, List<double>? total, CancellationToken cancellationToken)
    {
        var sumBad = 0.0;
        var sumTotal = 0.0;
        for (var start = from; start <= to; start += MaxStepsPerQuery * _sliceMs)
        {
            var end = Math.Min(to, start + ((MaxStepsPerQuery - 1) * _sliceMs));
            var steps = (int)((end - start) / _sliceMs) + 1;
            var counts = await StepsAsync(_countQuery, start, end, steps, cancellationToken);
            var good = await StepsAsync(_goodQuery, start, end, steps, cancellationToken);
            for (var k = 0; k < steps; k++)
            {
                sumBad += counts[k] - good[k];
                sumTotal += counts[k];
                if (bad is not null && total is not null)
                {
                    bad.Add(bad[^1] + counts[k] - good[k]);
                    total.Add(total[^1] + counts[k]);
                }
            }
        }

        return (sumBad, sumTotal);
    }

    /// <summary>A single-series range query's value at each step (0 where it has none).</summary>
    private async Task<double[]> StepsAsync(string query, long start, long end, int steps, CancellationToken cancellationToken)
    {
        var values = new double[steps];
        var result = await _engine.QueryRangeAsync(query, DateTimeOffset.FromUnixTimeMilliseconds(start), DateTimeOffset.FromUnixTimeMilliseconds(end), TimeSpan.FromMilliseconds(_sliceMs), cancellationToken);
        foreach (var series in result.Series)
        {
            foreach (var s in series.Samples)
            {
                values[(s.TimestampMs - start) / _sliceMs] += s.Value;
            }
        }

        return values;
    }

    private (double Bad, double Total) Sum(long from, long to)
    {
        if (to < from)
        {
            return (0, 0);
        }

        var i = (int)((from - _first) / _sliceMs);
        var j = (int)((to - _first) / _sliceMs) + 1;
        return (_bad[j] - _bad[i], _total[j] - _total[i]);
    }

    /// <summary>Lets go of slices older than <paramref name="oldestMs"/> once they are as many as the kept window.</summary>
    private void LetGo(long oldestMs)
    {
        var drop = (int)((AlignUp(oldestMs) - _first) / _sliceMs);
        if (drop <= 0 || drop < Kept - drop)
        {
            return;
        }

        drop = Math.Min(drop, Kept);
        _bad.RemoveRange(0, drop);
        _total.RemoveRange(0, drop);
        _first += drop * _sliceMs;
    }

    private long AlignDown(long ms) => ms - Mod(ms);

    private long AlignUp(long ms) => Mod(ms) == 0 ? ms : ms - Mod(ms) + _sliceMs;

    private long Mod(long ms) => ((ms % _sliceMs) + _sliceMs) % _sliceMs;
}
