namespace Aida.Observability.Correlation;

/// <summary>The direct O(N x lags) cross-correlation: the test oracle for the FFT path and the benchmark's baseline.</summary>
internal static class NaiveCrossCorrelation
{
    /// <summary>r(k) = sum_t x(t) y(t+k) for k = -maxLag..maxLag into <paramref name="destination"/> (index k + maxLag);
    /// the inputs are already mean-removed and normalised.</summary>
    public static void Correlate(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int maxLag, Span<double> destination)
    {
        var n = x.Length;
        for (var k = -maxLag; k <= maxLag; k++)
        {
            var sum = 0.0;
            var from = Math.Max(0, -k);
            var to = Math.Min(n, n - k);
            for (var t = from; t < to; t++)
            {
                sum += x[t] * y[t + k];
            }

            destination[k + maxLag] = sum;
        }
    }
}
