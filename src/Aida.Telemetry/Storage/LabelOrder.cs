using Aida.Telemetry.Series;

namespace Aida.Telemetry.Storage;

/// <summary>Every series' place in label order (<see cref="Labels.Compare"/>), kept as series arrive, so a select sorts
/// its series by an integer rank instead of comparing label sets.</summary>
/// <remarks>
/// <para>A store's series are never removed and their ids only grow, so a ranking stays right for the series it has
/// ranked: series that arrived since are sorted among themselves and placed into it by binary search, one label
/// comparison per halving, and the ranks rewritten in one pass over integers. At 576,000 series of one metric the
/// comparisons of sorting a selection by label set take a few hundred milliseconds; sorting integers a few tens.</para>
/// <para>Thread-safe: <see cref="RanksFor"/> may be called outside the store's lock with a snapshot of its series array
/// (the labels of ids under the snapshot's count are immutable). A ranking once published is never changed.</para>
/// </remarks>
internal sealed class LabelOrder
{
    private readonly Lock _lock = new();
    private int[] _idsInOrder = [];
    private int[] _rankById = [];

    /// <summary>Ranks by series id, valid for ids under <paramref name="count"/> (and perhaps more): rank a &lt; rank b
    /// when series a's labels sort before series b's.</summary>
    /// <param name="series">The store's series by id (a snapshot taken under its lock is fine).</param>
    /// <param name="count">How many of <paramref name="series"/> exist.</param>
    public int[] RanksFor(MemSeries[] series, int count)
    {
        lock (_lock)
        {
            var ranked = _idsInOrder.Length;
            if (ranked >= count)
            {
                return _rankById;
            }

            var arrived = new int[count - ranked];
            for (var i = 0; i < arrived.Length; i++)
            {
                arrived[i] = ranked + i;
            }

            Array.Sort(arrived, (a, b) => Labels.Compare(series[a].Labels, series[b].Labels));
            _idsInOrder = Merge(_idsInOrder, arrived, series);
            var ranks = new int[count];
            for (var rank = 0; rank < _idsInOrder.Length; rank++)
            {
                ranks[_idsInOrder[rank]] = rank;
            }

            _rankById = ranks;
            return ranks;
        }
    }

    /// <summary>The ids of <paramref name="ordered"/> and <paramref name="arrived"/> (each already in label order) in label
    /// order: each arrival placed by a binary search over the part of <paramref name="ordered"/> after the one before it.</summary>
    private static int[] Merge(int[] ordered, int[] arrived, MemSeries[] series)
    {
        var merged = new int[ordered.Length + arrived.Length];
        var from = 0;
        var to = 0;
        foreach (var id in arrived)
        {
            var labels = series[id].Labels;
            int lo = from, hi = ordered.Length;
            while (lo < hi)
            {
                var mid = lo + ((hi - lo) / 2);
                if (Labels.Compare(series[ordered[mid]].Labels, labels) < 0)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            Array.Copy(ordered, from, merged, to, lo - from);
            to += lo - from;
            from = lo;
            merged[to++] = id;
        }

        Array.Copy(ordered, from, merged, to, ordered.Length - from);
        return merged;
    }
}
