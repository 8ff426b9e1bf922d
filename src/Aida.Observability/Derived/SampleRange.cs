using Aida.Telemetry.Series;

namespace Aida.Observability.Derived;

/// <summary>Energy and values from one series' raw samples over a range: counter increases that survive resets,
/// trapezoidal integrals of power gauges, and the value at an instant.</summary>
/// <remarks>Non-finite samples (gaps, staleness markers) are skipped. A range that starts before the series' first
/// sample counts from that sample (a series that starts mid-window contributes what it measured, nothing made up); a
/// boundary between two samples is interpolated linearly.</remarks>
internal static class SampleRange
{
    /// <summary>The increase of a counter over [start, end] in its unit; a decrease is a reset, after which the counter
    /// counts from zero (Prometheus' <c>increase</c> without extrapolation).</summary>
    public static double CounterIncrease(IReadOnlyList<Sample> samples, long startMs, long endMs)
    {
        var total = 0.0;
        Sample? previous = null;
        foreach (var s in samples)
        {
            if (!double.IsFinite(s.Value))
            {
                continue;
            }

            if (previous is { } p && s.TimestampMs > startMs && p.TimestampMs < endMs)
            {
                var delta = s.Value >= p.Value ? s.Value - p.Value : s.Value;

                // Only the part of this step inside the range, assuming a steady rate between the two samples.
                var from = Math.Max(p.TimestampMs, startMs);
                var to = Math.Min(s.TimestampMs, endMs);
                total += delta * (to - from) / (s.TimestampMs - p.TimestampMs);
            }

            previous = s;
        }

        return total;
    }

    /// <summary>The integral of a gauge over [start, end] (unit x seconds), trapezoids between consecutive finite
    /// samples; gaps are bridged linearly.</summary>
    public static double Integral(IReadOnlyList<Sample> samples, long startMs, long endMs)
    {
        var total = 0.0;
        Sample? previous = null;
        foreach (var s in samples)
        {
            if (!double.IsFinite(s.Value))
            {
                continue;
            }

            if (previous is { } p && s.TimestampMs > startMs && p.TimestampMs < endMs)
            {
                var from = Math.Max(p.TimestampMs, startMs);
                var to = Math.Min(s.TimestampMs, endMs);
                var span = s.TimestampMs - p.TimestampMs;
                var a = p.Value + ((s.Value - p.Value) * (from - p.TimestampMs) / span);
                var b = p.Value + ((s.Value - p.Value) * (to - p.TimestampMs) / span);
                total += (a + b) / 2 * (to - from) / 1000.0;
            }

            previous = s;
        }

        return total;
    }
}
