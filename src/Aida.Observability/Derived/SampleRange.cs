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
    public static double CounterIncrease(IReadOnlyList<Sample> samples, long startMs, long endMs) =>
        SumOverSteps(samples, startMs, endMs, static (p, s, from, to) =>
        {
            var delta = s.Value >= p.Value ? s.Value - p.Value : s.Value;

            // Only the part of this step inside the range, assuming a steady rate between the two samples.
            return delta * (to - from) / (s.TimestampMs - p.TimestampMs);
        });

    /// <summary>The integral of a gauge over [start, end] (unit x seconds), trapezoids between consecutive finite
    /// samples; gaps are bridged linearly.</summary>
    public static double Integral(IReadOnlyList<Sample> samples, long startMs, long endMs) =>
        SumOverSteps(samples, startMs, endMs, static (p, s, from, to) =>
        {
            var span = s.TimestampMs - p.TimestampMs;
            var a = p.Value + ((s.Value - p.Value) * (from - p.TimestampMs) / span);
            var b = p.Value + ((s.Value - p.Value) * (to - p.TimestampMs) / span);
            return (a + b) / 2 * (to - from) / 1000.0;
        });

    /// <summary>Sums <paramref name="step"/>(previous, next, from, to) over each pair of consecutive finite samples that
    /// overlaps [start, end], with [from, to] the overlap.</summary>
    private static double SumOverSteps(IReadOnlyList<Sample> samples, long startMs, long endMs, Func<Sample, Sample, long, long, double> step)
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
                total += step(p, s, Math.Max(p.TimestampMs, startMs), Math.Min(s.TimestampMs, endMs));
            }

            previous = s;
        }

        return total;
    }
}
