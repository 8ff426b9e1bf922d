using Aida.Telemetry.Series;

namespace Aida.Observability.Detection;

/// <summary>Keeps the samples of a thermal ratio taken at steady load: a cold plate's resistance is judged, as a heat
/// exchanger's performance is, only once the load has held for a while.</summary>
/// <remarks>After a load step (a checkpoint's dip, a job's restart) the GPUs, the coolant and the 5 min means of both
/// settle at different rates, and the CDUs of a hall, each with its own racks, diverge by up to 1-1.5 % for about ten
/// minutes (three 12 h fault-free runs of the reference scenario); a fouling cold plate stays hotter per kW at any load.
/// A sample at time t is kept when the load is known at t and at every step back to t - span, and none of those values
/// is further than <c>share</c> of the load at t from it. Nothing else is changed or reordered.</remarks>
internal static class SteadyLoad
{
    public static List<Sample> Keep(IReadOnlyList<Sample> samples, IReadOnlyDictionary<long, double> load, long spanMs, long stepMs, double share)
    {
        var kept = new List<Sample>(samples.Count);
        foreach (var s in samples)
        {
            if (IsSteady(s.TimestampMs, load, spanMs, stepMs, share))
            {
                kept.Add(s);
            }
        }

        return kept;
    }

    /// <summary>Whether the load at <paramref name="t"/> has held within <paramref name="share"/> of it for <paramref name="spanMs"/>.</summary>
    public static bool IsSteady(long t, IReadOnlyDictionary<long, double> load, long spanMs, long stepMs, double share) =>
        load.TryGetValue(t, out var now) && Held(t, load, spanMs, stepMs, share * Math.Abs(now));

    /// <summary>Whether <paramref name="series"/> is known at <paramref name="t"/> and at every step back to
    /// <paramref name="t"/> - <paramref name="spanMs"/>, every value within <paramref name="tolerance"/> of the one at
    /// <paramref name="t"/> (an absolute tolerance: a supply temperature within 1 K, say).</summary>
    public static bool Held(long t, IReadOnlyDictionary<long, double> series, long spanMs, long stepMs, double tolerance)
    {
        if (!series.TryGetValue(t, out var now) || !double.IsFinite(now) || stepMs <= 0)
        {
            return false;
        }

        for (var back = t - stepMs; back >= t - spanMs; back -= stepMs)
        {
            if (!series.TryGetValue(back, out var then) || !(Math.Abs(now - then) <= tolerance))
            {
                return false;
            }
        }

        return true;
    }
}
