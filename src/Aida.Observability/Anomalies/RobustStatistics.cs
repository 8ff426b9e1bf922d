namespace Aida.Observability.Anomalies;

/// <summary>Median, MAD and the quantisation step of a run of finite values.</summary>
internal static class RobustStatistics
{
    /// <summary>MAD x 1.4826 estimates the standard deviation of normal data (Rousseeuw and Croux, JASA 1993).</summary>
    public const double MadToSigma = 1.4826;

    /// <summary>The median of <paramref name="values"/>; <paramref name="scratch"/> (at least as long) is overwritten.</summary>
    public static double Median(ReadOnlySpan<double> values, Span<double> scratch)
    {
        var s = scratch[..values.Length];
        values.CopyTo(s);
        return MiddleInPlace(s);
    }

    /// <summary>The median of <paramref name="values"/> (NaN for none), for a few values off the hot path.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var s = values.ToArray();
        return s.Length == 0 ? double.NaN : MiddleInPlace(s);
    }

    /// <summary>The median of <paramref name="s"/> by selection, reordering it: the same value a sort gives, in linear
    /// expected time (the anomaly scan takes a 60-sample median and MAD at every sample of every series each minute, and
    /// sorting them was 40 % of an agent run).</summary>
    private static double MiddleInPlace(Span<double> s)
    {
        var mid = s.Length / 2;
        var upper = Select(s, mid);
        if (s.Length % 2 == 1)
        {
            return upper;
        }

        // Everything left of mid is at most s[mid]: its largest is the sorted (mid - 1)th.
        var lower = s[0];
        for (var i = 1; i < mid; i++)
        {
            lower = Math.Max(lower, s[i]);
        }

        return (lower + upper) / 2;
    }

    /// <summary>Hoare's selection with a median-of-three pivot: afterwards s[k] holds the value a sort would put there,
    /// with nothing larger before it and nothing smaller after it. Deterministic.</summary>
    private static double Select(Span<double> s, int k)
    {
        int lo = 0, hi = s.Length - 1;
        while (hi > lo)
        {
            var m = lo + ((hi - lo) / 2);
            if (s[m] < s[lo])
            {
                (s[m], s[lo]) = (s[lo], s[m]);
            }

            if (s[hi] < s[lo])
            {
                (s[hi], s[lo]) = (s[lo], s[hi]);
            }

            if (s[hi] < s[m])
            {
                (s[hi], s[m]) = (s[m], s[hi]);
            }

            var pivot = s[m];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (s[i] < pivot)
                {
                    i++;
                }

                while (pivot < s[j])
                {
                    j--;
                }

                if (i <= j)
                {
                    (s[i], s[j]) = (s[j], s[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                break;
            }
        }

        return s[k];
    }

    /// <summary>Mean absolute deviation x sqrt(pi/2) estimates the standard deviation of normal data (Geary 1935).</summary>
    public const double MeanDeviationToSigma = 1.2533;

    /// <summary>Median and a robust standard deviation: the larger of 1.4826 MAD and 1.2533 x the mean absolute
    /// deviation from the median, and at least <paramref name="floor"/>.</summary>
    /// <remarks>The MAD of a quantised reading comes in whole steps (0.1 K for a sensor with 0.2 K noise gives 0.148 K
    /// instead of 0.2 K); the mean absolute deviation averages over the steps and does not collapse that way.</remarks>
    public static (double Median, double Sigma) Baseline(ReadOnlySpan<double> values, Span<double> scratch, double floor)
    {
        var median = Median(values, scratch);
        var deviations = scratch[..values.Length];
        var meanDeviation = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            deviations[i] = Math.Abs(values[i] - median);
            meanDeviation += deviations[i];
        }

        meanDeviation /= values.Length;

        var mad = MiddleInPlace(deviations);
        return (median, Math.Max(Math.Max(MadToSigma * mad, MeanDeviationToSigma * meanDeviation), floor));
    }

    /// <summary>The smallest non-zero step between consecutive values (a quantised sensor's resolution), or 0 when the
    /// values never change.</summary>
    public static double Quantum(ReadOnlySpan<double> values)
    {
        var quantum = double.PositiveInfinity;
        for (var i = 1; i < values.Length; i++)
        {
            var d = Math.Abs(values[i] - values[i - 1]);

            // Below 1e-9 of the value is floating-point noise of a quantised reading, not a step.
            if (d > 1e-9 * Math.Max(1, Math.Abs(values[i])) && d < quantum)
            {
                quantum = d;
            }
        }

        return double.IsPositiveInfinity(quantum) ? 0 : quantum;
    }
}
