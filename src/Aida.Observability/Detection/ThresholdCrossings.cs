using System.Runtime.InteropServices;
using Aida.Telemetry.Series;

namespace Aida.Observability.Detection;

/// <summary>Where a condition over one series' samples became true and held: the edge logic of every threshold rule.</summary>
internal static class ThresholdCrossings
{
    /// <summary>Each run of samples where <paramref name="condition"/> holds, once it has held for <paramref name="holdMs"/>:
    /// (the run's first sample, the sample at which it fires). A run re-arms once the condition is false again; a
    /// non-finite sample or a null condition leaves the run as it was.</summary>
    public static List<(long StartMs, long FireMs)> Find(IReadOnlyList<Sample> samples, Func<long, double, bool?> condition, long holdMs)
    {
        var found = new List<(long, long)>();
        long? runStart = null;
        var fired = false;
        if (!TrySpanOf(samples, out var span))
        {
            span = samples.ToArray();
        }

        foreach (var s in span)
        {
            if (!double.IsFinite(s.Value) || condition(s.TimestampMs, s.Value) is not { } holds)
            {
                continue;
            }

            if (!holds)
            {
                runStart = null;
                fired = false;
                continue;
            }

            runStart ??= s.TimestampMs;
            if (!fired && s.TimestampMs - runStart.Value >= holdMs)
            {
                found.Add((runStart.Value, s.TimestampMs));
                fired = true;
            }
        }

        return found;
    }

    /// <summary>The value of a step series (a setpoint, a status point) at <paramref name="ms"/>: the newest finite sample
    /// at or before it, or null before the first.</summary>
    public static double? ValueAt(IReadOnlyList<Sample> samples, long ms)
    {
        for (var i = IndexAt(samples, ms); i >= 0; i--)
        {
            if (double.IsFinite(samples[i].Value))
            {
                return samples[i].Value;
            }
        }

        return null;
    }

    /// <summary>The index of the newest sample at or before <paramref name="ms"/> (samples in time order), or -1.</summary>
    public static int IndexAt(IReadOnlyList<Sample> samples, long ms)
    {
        int lo = 0, hi = samples.Count - 1, best = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (samples[mid].TimestampMs <= ms)
            {
                best = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return best;
    }

    /// <summary>The samples as a span, without a copy, for the arrays and lists queries answer with: every detection round
    /// walks hours of samples per series through <see cref="Find"/>, and an interface's enumerator per sample was most of
    /// its time.</summary>
    private static bool TrySpanOf(IReadOnlyList<Sample> samples, out ReadOnlySpan<Sample> span)
    {
        span = samples switch
        {
            Sample[] array => array,
            List<Sample> list => CollectionsMarshal.AsSpan(list),
            _ => default,
        };
        return samples is Sample[] or List<Sample>;
    }
}
