namespace Aida.Observability.Correlation;

/// <summary>The normalised cross-correlation of two signals for lags <c>-MaxLag..+MaxLag</c>, and its peak.</summary>
/// <remarks>The coefficient at lag <c>k</c> is <c>r(k) = sum_t x'(t) y'(t+k)</c> over the overlapping samples, where
/// <c>x'</c> and <c>y'</c> are the signals with their means removed and divided by their norms (the biased estimator,
/// MATLAB's <c>xcorr(..., 'coeff')</c>), so <c>|r| &lt;= 1</c> and <c>r(0)</c> is Pearson's correlation. A peak at a
/// positive lag means the second signal repeats the first <c>k</c> samples later: the first signal leads.</remarks>
/// <param name="First">Index of the first signal in its <see cref="SignalSet"/>.</param>
/// <param name="Second">Index of the second signal.</param>
/// <param name="Coefficients">r(k) at index <c>k + MaxLag</c>.</param>
/// <param name="ZeroVariance">Either signal does not vary: every coefficient is 0, not NaN.</param>
public sealed record LaggedCorrelation(int First, int Second, int MaxLag, double[] Coefficients, bool ZeroVariance)
{
    /// <summary>r(<paramref name="lag"/>).</summary>
    public double At(int lag)
    {
        if (lag < -MaxLag || lag > MaxLag)
        {
            throw new ArgumentOutOfRangeException(nameof(lag), lag, $"lags run from -{MaxLag} to {MaxLag}");
        }

        return Coefficients[lag + MaxLag];
    }

    /// <summary>The lag of the largest |r| (ties go to the smallest |lag|, then the negative one) and r there.</summary>
    public LagPeak Peak => LagPeak.Of(Coefficients, MaxLag);
}

/// <summary>Where a cross-correlation peaks: <see cref="Lag"/> in samples (positive: the first signal leads the second
/// by that many samples) and the coefficient there (negative: they move in opposite directions).</summary>
public readonly record struct LagPeak(int Lag, double Coefficient)
{
    /// <summary>The lead of the first signal over the second as a duration, given the grid's step.</summary>
    public TimeSpan Lead(TimeSpan step) => step * Lag;

    internal static LagPeak Of(ReadOnlySpan<double> coefficients, int maxLag)
    {
        var best = 0;
        var bestAbs = Math.Abs(coefficients[maxLag]);
        for (var d = 1; d <= maxLag; d++)
        {
            // Negative before positive at equal |lag|, so a tie has one answer.
            var negative = Math.Abs(coefficients[maxLag - d]);
            if (negative > bestAbs)
            {
                bestAbs = negative;
                best = -d;
            }

            var positive = Math.Abs(coefficients[maxLag + d]);
            if (positive > bestAbs)
            {
                bestAbs = positive;
                best = d;
            }
        }

        return new LagPeak(best, coefficients[best + maxLag]);
    }
}

/// <summary>The peak of one pair in an all-pairs run: signals <see cref="First"/> and <see cref="Second"/>
/// (First &lt; Second), the lag of the largest |r| and r there.</summary>
public readonly record struct PairPeak(int First, int Second, int Lag, double Coefficient, bool ZeroVariance);
