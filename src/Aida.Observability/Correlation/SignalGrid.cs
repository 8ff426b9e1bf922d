using Aida.Telemetry.Series;

namespace Aida.Observability.Correlation;

/// <summary>Puts series sampled at their own times onto one regular grid, as <see cref="SignalSet"/> needs.</summary>
/// <remarks>The value at a grid time is interpolated linearly between the samples on either side when they are at most
/// <c>maxGap</c> apart; otherwise (a dropout, before the first or after the last sample) it is NaN, which
/// <see cref="SignalSet"/> then fills and counts. Non-finite samples are skipped.</remarks>
public static class SignalGrid
{
    /// <summary>The values of <paramref name="series"/> at <c>start + i x step</c> for i in 0..count-1.</summary>
    public static double[] Align(IReadOnlyList<Sample> series, DateTimeOffset start, TimeSpan step, int count, TimeSpan maxGap)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (step <= TimeSpan.Zero || count < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(step), "the grid needs a positive step and a non-negative count");
        }

        var grid = new double[count];
        var (t, v, _) = Anomalies.SeriesAnomalies.Finite(series);
        var origin = start.ToUnixTimeMilliseconds();
        var stepMs = (long)step.TotalMilliseconds;
        var gapMs = (long)maxGap.TotalMilliseconds;
        var j = 0;
        for (var i = 0; i < count; i++)
        {
            var at = origin + (i * stepMs);
            while (j < t.Length && t[j] < at)
            {
                j++;
            }

            if (j < t.Length && t[j] == at)
            {
                grid[i] = v[j];
            }
            else if (j > 0 && j < t.Length && t[j] - t[j - 1] <= gapMs)
            {
                grid[i] = v[j - 1] + ((v[j] - v[j - 1]) * (at - t[j - 1]) / (t[j] - t[j - 1]));
            }
            else
            {
                grid[i] = double.NaN;
            }
        }

        return grid;
    }

    /// <summary>Every series of <paramref name="series"/> on one grid, in order.</summary>
    public static double[][] Align(IReadOnlyList<SeriesSamples> series, DateTimeOffset start, TimeSpan step, int count, TimeSpan maxGap) =>
        [.. series.Select(s => Align(s.Samples, start, step, count, maxGap))];
}
