using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>The last result of each range query, so that the same query over a window slid forward (the detection's
/// two hours every minute, a dashboard's refresh) computes only the steps whose data may have changed.</summary>
/// <remarks>
/// <para>A step of a range query reads only samples at or before its own time, unless the query uses <c>@</c> or a
/// negative offset (<see cref="Reusable"/>). So after samples were stored from time <c>t</c> on (the store's
/// <see cref="IChangeLog"/>), the steps before <c>t</c> still hold: they are kept, and the steps from <c>t</c> on (at
/// least those after the last result's end) are evaluated again. Samples removed (retention) drop every result. Steps
/// are independent, each computed exactly as alone, so a result is the one a full evaluation gives, to the bit.</para>
/// <para>Bounded by <see cref="EngineOptions.RangeCachePoints"/> points in all; the results used least recently are
/// dropped first, and a result larger than the bound is not kept.</para>
/// </remarks>
internal sealed class RangeResultCache(IChangeLog changes, long capacityPoints, int maxEntries = 256)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Query, long StepMs), Entry> _entries = [];
    private long _points;
    private long _uses;

    /// <summary>Steps taken from kept results, and steps evaluated, since the cache was made (for tests and benchmarks).</summary>
    public (long Kept, long Evaluated) Steps { get; private set; }

    private sealed class Entry(long mark, long startMs, long endMs, List<SeriesSamples> series, long points)
    {
        public long Mark { get; } = mark;

        public long StartMs { get; } = startMs;

        public long EndMs { get; } = endMs;

        public List<SeriesSamples> Series { get; } = series;

        public long Points { get; } = points;

        public long Used { get; set; }
    }

    /// <summary>Whether a step of <paramref name="expr"/> reads only samples at or before its own time: no <c>@</c>
    /// modifier and no negative offset anywhere in it.</summary>
    public static bool Reusable(Expr expr) => expr switch
    {
        VectorSelector v => !v.At.IsSet && v.OffsetMs >= 0,
        SubqueryExpr q => !q.At.IsSet && q.OffsetMs >= 0 && Reusable(q.Inner),
        _ => Expr.Children(expr).All(Reusable),
    };

    /// <summary>The range query <paramref name="query"/> over [<paramref name="startMs"/>, <paramref name="endMs"/>] by
    /// <paramref name="stepMs"/>: the steps a kept result still holds, and <paramref name="evaluateFrom"/>(first step
    /// not held) for the rest, joined; the joined result is kept in place of the last.</summary>
    /// <param name="evaluateFrom">Evaluates the query's steps from the given step to <paramref name="endMs"/> as a
    /// range query of its own.</param>
    /// <param name="maxPoints">The most points the joined result may hold (the engine's sample limit).</param>
    /// <param name="tooMany">The error to throw above it.</param>
    public QueryResult Answer(string query, long startMs, long endMs, long stepMs, Func<long, QueryResult> evaluateFrom, long maxPoints, Func<Exception> tooMany)
    {
        // Marked before anything is read: whatever is stored from here on counts as changed for the next answer.
        var mark = changes.Mark();
        var key = (query, stepMs);
        Entry? kept;
        lock (_lock)
        {
            _entries.TryGetValue(key, out kept);
        }

        var from = startMs;
        if (kept is not null && startMs >= kept.StartMs && (startMs - kept.StartMs) % stepMs == 0)
        {
            var changed = changes.OldestChangedSince(kept.Mark);
            var holdsTo = Math.Min(kept.EndMs, changed == long.MinValue ? long.MinValue : changed - 1);
            if (holdsTo >= startMs)
            {
                from = startMs + ((((holdsTo - startMs) / stepMs) + 1) * stepMs);
            }
        }

        if (from == startMs)
        {
            kept = null;
        }

        var fresh = from <= endMs ? evaluateFrom(from) : null;
        // (A window ending before the kept one's end takes the kept steps up to its own end.)
        var series = kept is null ? [.. fresh!.Series] : Join(kept.Series, startMs, Math.Min(from, endMs + 1), fresh?.Series ?? []);
        long points = 0;
        foreach (var s in series)
        {
            points += s.Samples.Count;
        }

        if (points > maxPoints)
        {
            throw tooMany();
        }

        var steps = ((endMs - startMs) / stepMs) + 1;
        var evaluated = from <= endMs ? ((endMs - from) / stepMs) + 1 : 0;
        lock (_lock)
        {
            Steps = (Steps.Kept + steps - evaluated, Steps.Evaluated + evaluated);
            Keep(key, new Entry(mark, startMs, endMs, series, points));
        }

        return new QueryResult(ResultType.Matrix, series);
    }

    /// <summary>The kept series' points in [<paramref name="startMs"/>, <paramref name="fromMs"/>) followed by the fresh
    /// series' points, sorted by labels as a range query's result is; a series with no point left is dropped.</summary>
    private static List<SeriesSamples> Join(List<SeriesSamples> kept, long startMs, long fromMs, IReadOnlyList<SeriesSamples> fresh)
    {
        var byLabels = new Dictionary<Labels, IReadOnlyList<Sample>>(fresh.Count);
        foreach (var s in fresh)
        {
            byLabels[s.Labels] = s.Samples;
        }

        var joined = new List<SeriesSamples>(Math.Max(kept.Count, fresh.Count));
        foreach (var s in kept)
        {
            var (first, end) = Between(s.Samples, startMs, fromMs);
            byLabels.Remove(s.Labels, out var after);
            var count = end - first + (after?.Count ?? 0);
            if (count == 0)
            {
                continue;
            }

            var samples = new Sample[count];
            for (var i = first; i < end; i++)
            {
                samples[i - first] = s.Samples[i];
            }

            for (var i = 0; after is not null && i < after.Count; i++)
            {
                samples[end - first + i] = after[i];
            }

            joined.Add(new SeriesSamples(s.Labels, samples));
        }

        foreach (var s in fresh)
        {
            if (byLabels.ContainsKey(s.Labels))
            {
                joined.Add(s);
            }
        }

        joined.Sort((a, b) => LabelOps.Compare(a.Labels, b.Labels));
        return joined;
    }

    /// <summary>The index of the first point at or after <paramref name="fromMs"/> and of the first at or after
    /// <paramref name="toMs"/> (points in time order).</summary>
    private static (int First, int End) Between(IReadOnlyList<Sample> samples, long fromMs, long toMs)
    {
        var first = 0;
        while (first < samples.Count && samples[first].TimestampMs < fromMs)
        {
            first++;
        }

        var end = samples.Count;
        while (end > first && samples[end - 1].TimestampMs >= toMs)
        {
            end--;
        }

        return (first, end);
    }

    private void Keep((string, long) key, Entry entry)
    {
        if (_entries.Remove(key, out var old))
        {
            _points -= old.Points;
        }

        if (entry.Points > capacityPoints)
        {
            return;
        }

        entry.Used = ++_uses;
        _entries[key] = entry;
        _points += entry.Points;
        while (_points > capacityPoints || _entries.Count > maxEntries)
        {
            var least = _entries.MinBy(e => e.Value.Used);
            _entries.Remove(least.Key);
            _points -= least.Value.Points;
        }
    }
}
