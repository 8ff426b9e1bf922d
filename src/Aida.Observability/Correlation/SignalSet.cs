using System.Numerics;

namespace Aida.Observability.Correlation;

/// <summary>Signals on one common time grid, prepared once for lagged cross-correlation: gaps filled, means removed,
/// normalised and transformed, so any pair, a target against candidates, or all pairs can be correlated.</summary>
/// <remarks>
/// <para>Non-finite samples (NaN for a gap or a staleness marker, ±Inf) are filled by linear interpolation between the
/// nearest finite neighbours; leading and trailing ones take the nearest finite value (a series that starts
/// mid-window is held flat before its first sample). <see cref="FilledSamples"/> says how many were filled. A signal
/// with no finite sample, or whose standard deviation is below 1e-12 of its largest magnitude, is zero-variance: all its
/// coefficients are 0 and flagged, never NaN.</para>
/// <para>The FFT length is the power of two at or above <c>Length + MaxLag</c>, so the circular correlation of the
/// zero-padded signals equals the linear one at every lag asked for. All pairs run <see cref="Vector{T}.Count"/> x 2
/// pairs per inverse transform: each lane of a vector is one transform, and each transform carries two pairs, one in
/// its real part and one in its imaginary part (the inverse transform of a Hermitian spectrum is real, so
/// <c>IFFT(H1 + i H2) = h1 + i h2</c>).</para>
/// </remarks>
public sealed class SignalSet
{
    private readonly double[][] _normalised;
    private readonly bool[] _zeroVariance;
    private readonly int[] _filled;
    private readonly RadixTwoFft _fft;

    // Spectra of the normalised, zero-padded signals, bins 0..N/2, one row per bin and one column per signal (padded
    // with zero signals so a vector load past the last signal reads zeros): the all-pairs loop loads a run of signals.
    private readonly double[] _spectrumRe;
    private readonly double[] _spectrumIm;
    private readonly int _stride;

    private SignalSet(double[][] normalised, bool[] zeroVariance, int[] filled, int maxLag)
    {
        _normalised = normalised;
        _zeroVariance = zeroVariance;
        _filled = filled;
        Length = normalised.Length == 0 ? 0 : normalised[0].Length;
        MaxLag = maxLag;
        _fft = new RadixTwoFft((int)BitOperations.RoundUpToPowerOf2((uint)(Length + maxLag)));
        var bins = (_fft.Length / 2) + 1;
        _stride = normalised.Length + (2 * Vector<double>.Count);
        _spectrumRe = new double[bins * _stride];
        _spectrumIm = new double[bins * _stride];
        var re = new double[_fft.Length];
        var im = new double[_fft.Length];
        for (var s = 0; s < normalised.Length; s++)
        {
            Array.Clear(re);
            Array.Clear(im);
            normalised[s].CopyTo(re, 0);
            _fft.Transform(re, im, inverse: false);
            for (var f = 0; f < bins; f++)
            {
                _spectrumRe[(f * _stride) + s] = re[f];
                _spectrumIm[(f * _stride) + s] = im[f];
            }
        }
    }

    /// <summary>How many signals.</summary>
    public int Count => _normalised.Length;

    /// <summary>Samples per signal.</summary>
    public int Length { get; }

    /// <summary>The largest lag, in samples, either way.</summary>
    public int MaxLag { get; }

    /// <summary>The FFT length used (a power of two at or above Length + MaxLag).</summary>
    public int TransformLength => _fft.Length;

    /// <summary>Prepares <paramref name="signals"/> (all the same length, on one grid) for lags up to
    /// <paramref name="maxLag"/> samples.</summary>
    /// <exception cref="ArgumentException">No signals, signals of different lengths, fewer than 2 samples, or a lag
    /// outside 0..Length-1.</exception>
    public static SignalSet From(IReadOnlyList<double[]> signals, int maxLag)
    {
        ArgumentNullException.ThrowIfNull(signals);
        if (signals.Count == 0)
        {
            throw new ArgumentException("no signals to correlate", nameof(signals));
        }

        var length = signals[0].Length;
        if (length < 2)
        {
            throw new ArgumentException($"signals need at least 2 samples; signal 0 has {length}", nameof(signals));
        }

        if (maxLag < 0 || maxLag >= length)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLag), maxLag, $"the lag must be 0..{length - 1} for signals of {length} samples");
        }

        var normalised = new double[signals.Count][];
        var zero = new bool[signals.Count];
        var filled = new int[signals.Count];
        for (var s = 0; s < signals.Count; s++)
        {
            if (signals[s].Length != length)
            {
                throw new ArgumentException($"signal {s} has {signals[s].Length} samples; signal 0 has {length}: resample them onto one grid first", nameof(signals));
            }

            var x = (double[])signals[s].Clone();
            filled[s] = FillGaps(x);
            zero[s] = !Normalise(x);
            normalised[s] = x;
        }

        return new SignalSet(normalised, zero, filled, maxLag);
    }

    /// <summary>Whether signal <paramref name="index"/> does not vary (its coefficients are all 0).</summary>
    public bool IsZeroVariance(int index) => _zeroVariance[index];

    /// <summary>How many of signal <paramref name="index"/>'s samples were not finite and were filled.</summary>
    public int FilledSamples(int index) => _filled[index];

    /// <summary>One pair through the FFT.</summary>
    public LaggedCorrelation Correlate(int first, int second)
    {
        CheckIndex(first);
        CheckIndex(second);
        var n = _fft.Length;
        var re = new double[n];
        var im = new double[n];
        for (var f = 0; f <= n / 2; f++)
        {
            // conj(X) Y: the spectrum of sum_t x(t) y(t+k).
            var xr = _spectrumRe[(f * _stride) + first];
            var xi = _spectrumIm[(f * _stride) + first];
            var yr = _spectrumRe[(f * _stride) + second];
            var yi = _spectrumIm[(f * _stride) + second];
            re[f] = (xr * yr) + (xi * yi);
            im[f] = (xr * yi) - (xi * yr);
            if (f > 0 && f < n / 2)
            {
                re[n - f] = re[f];
                im[n - f] = -im[f];
            }
        }

        _fft.Transform(re, im, inverse: true);
        var coefficients = new double[(2 * MaxLag) + 1];
        for (var k = -MaxLag; k <= MaxLag; k++)
        {
            coefficients[k + MaxLag] = re[k >= 0 ? k : n + k] / n;
        }

        return new LaggedCorrelation(first, second, MaxLag, coefficients, _zeroVariance[first] || _zeroVariance[second]);
    }

    /// <summary>One pair by the direct sum (the oracle and the benchmark's baseline).</summary>
    public LaggedCorrelation CorrelateNaive(int first, int second)
    {
        CheckIndex(first);
        CheckIndex(second);
        var coefficients = new double[(2 * MaxLag) + 1];
        NaiveCrossCorrelation.Correlate(_normalised[first], _normalised[second], MaxLag, coefficients);
        return new LaggedCorrelation(first, second, MaxLag, coefficients, _zeroVariance[first] || _zeroVariance[second]);
    }

    /// <summary><paramref name="target"/> against every other signal (or the given candidates), in candidate order;
    /// a positive peak lag means the target leads the candidate.</summary>
    public IReadOnlyList<LaggedCorrelation> CorrelateWith(int target, IReadOnlyList<int>? candidates = null)
    {
        CheckIndex(target);
        var result = new List<LaggedCorrelation>(candidates?.Count ?? Count - 1);
        if (candidates is null)
        {
            for (var c = 0; c < Count; c++)
            {
                if (c != target)
                {
                    result.Add(Correlate(target, c));
                }
            }
        }
        else
        {
            foreach (var c in candidates)
            {
                result.Add(Correlate(target, c));
            }
        }

        return result;
    }

    /// <summary>A set holding only the signals at <paramref name="indices"/> (a topology neighbourhood), in that order,
    /// with their preparation reused.</summary>
    public SignalSet Select(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0)
        {
            throw new ArgumentException("no signals selected", nameof(indices));
        }

        foreach (var i in indices)
        {
            CheckIndex(i);
        }

        return new SignalSet(
            [.. indices.Select(i => _normalised[i])], [.. indices.Select(i => _zeroVariance[i])], [.. indices.Select(i => _filled[i])], MaxLag);
    }

    /// <summary>The peak of every pair (i &lt; j), in the order (0,1), (0,2), ..., (1,2), ...</summary>
    public PairPeak[] AllPairs()
    {
        var count = Count;
        var peaks = new PairPeak[count * (count - 1) / 2];
        var w = Vector<double>.Count;
        var n = _fft.Length;
        var bins = (n / 2) + 1;
        var zr = new Vector<double>[n];
        var zi = new Vector<double>[n];
        var scale = new Vector<double>(1.0 / n);
        var reverse = new int[n];
        for (var i = 0; i < n; i++)
        {
            reverse[i] = _fft.Reversed(i);
        }

        for (var a = 0; a < count - 1; a++)
        {
            for (var b0 = a + 1; b0 < count; b0 += 2 * w)
            {
                for (var f = 0; f < bins; f++)
                {
                    var row = f * _stride;
                    var xr = new Vector<double>(_spectrumRe[row + a]);
                    var xi = new Vector<double>(_spectrumIm[row + a]);
                    var y1r = new Vector<double>(_spectrumRe.AsSpan(row + b0, w));
                    var y1i = new Vector<double>(_spectrumIm.AsSpan(row + b0, w));
                    var y2r = new Vector<double>(_spectrumRe.AsSpan(row + b0 + w, w));
                    var y2i = new Vector<double>(_spectrumIm.AsSpan(row + b0 + w, w));
                    var h1r = (xr * y1r) + (xi * y1i);
                    var h1i = (xr * y1i) - (xi * y1r);
                    var h2r = (xr * y2r) + (xi * y2i);
                    var h2i = (xr * y2i) - (xi * y2r);
                    var at = reverse[f];
                    zr[at] = h1r - h2i;
                    zi[at] = h1i + h2r;
                    if (f > 0 && f < n / 2)
                    {
                        // H(N-f) = conj(H(f)) for both pairs.
                        var mirror = reverse[n - f];
                        zr[mirror] = h1r + h2i;
                        zi[mirror] = h2r - h1i;
                    }
                }

                _fft.InverseBatchFromReversed(zr, zi, MaxLag, MaxLag);
                PeakOfLanes(zr, scale, out var lag1, out var value1);
                PeakOfLanes(zi, scale, out var lag2, out var value2);
                var baseIndex = (a * count) - (a * (a + 1) / 2) - a - 1;
                for (var lane = 0; lane < w; lane++)
                {
                    Store(peaks, baseIndex, a, b0 + lane, lag1[lane], value1[lane]);
                    Store(peaks, baseIndex, a, b0 + w + lane, lag2[lane], value2[lane]);
                }
            }
        }

        return peaks;
    }

    /// <summary>The peaks of the first <paramref name="maxPairs"/> pairs in <see cref="AllPairs"/>'s order, by the direct
    /// sum: the benchmark's baseline and the oracle for the batched path.</summary>
    public PairPeak[] AllPairsNaive(int maxPairs = int.MaxValue)
    {
        var total = Count * (Count - 1) / 2;
        var peaks = new PairPeak[Math.Min(total, maxPairs)];
        var coefficients = new double[(2 * MaxLag) + 1];
        var p = 0;
        for (var a = 0; a < Count - 1 && p < peaks.Length; a++)
        {
            for (var b = a + 1; b < Count && p < peaks.Length; b++)
            {
                NaiveCrossCorrelation.Correlate(_normalised[a], _normalised[b], MaxLag, coefficients);
                var peak = LagPeak.Of(coefficients, MaxLag);
                peaks[p++] = new PairPeak(a, b, peak.Lag, peak.Coefficient, _zeroVariance[a] || _zeroVariance[b]);
            }
        }

        return peaks;
    }

    private void Store(PairPeak[] peaks, int baseIndex, int a, int b, double lag, double value)
    {
        if (b < Count)
        {
            peaks[baseIndex + b] = new PairPeak(a, b, (int)lag, value, _zeroVariance[a] || _zeroVariance[b]);
        }
    }

    /// <summary>Per lane, the lag of the largest |r| among the kept outputs, scanning 0, -1, +1, -2, +2, ... with a strict
    /// comparison so ties resolve as <see cref="LagPeak"/> does.</summary>
    private void PeakOfLanes(Vector<double>[] z, Vector<double> scale, out Vector<double> lag, out Vector<double> value)
    {
        var n = z.Length;
        value = z[0] * scale;
        var bestAbs = Vector.Abs(value);
        lag = Vector<double>.Zero;
        for (var d = 1; d <= MaxLag; d++)
        {
            var negative = z[n - d] * scale;
            var abs = Vector.Abs(negative);
            var better = Vector.GreaterThan(abs, bestAbs);
            bestAbs = Vector.ConditionalSelect(better, abs, bestAbs);
            value = Vector.ConditionalSelect(better, negative, value);
            lag = Vector.ConditionalSelect(better, new Vector<double>(-d), lag);

            var positive = z[d] * scale;
            abs = Vector.Abs(positive);
            better = Vector.GreaterThan(abs, bestAbs);
            bestAbs = Vector.ConditionalSelect(better, abs, bestAbs);
            value = Vector.ConditionalSelect(better, positive, value);
            lag = Vector.ConditionalSelect(better, new Vector<double>(d), lag);
        }
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the set holds {Count} signals");
        }
    }

    /// <summary>Fills non-finite samples in place (linear between finite neighbours, nearest value at the ends); returns
    /// how many were filled. With no finite sample at all, every sample becomes 0.</summary>
    internal static int FillGaps(Span<double> x)
    {
        var filled = 0;
        var previous = -1;
        for (var i = 0; i < x.Length; i++)
        {
            if (!double.IsFinite(x[i]))
            {
                filled++;
                continue;
            }

            if (previous < 0 && i > 0)
            {
                x[..i].Fill(x[i]);
            }
            else if (previous >= 0 && i - previous > 1)
            {
                var from = x[previous];
                var slope = (x[i] - from) / (i - previous);
                for (var j = previous + 1; j < i; j++)
                {
                    x[j] = from + (slope * (j - previous));
                }
            }

            previous = i;
        }

        if (previous < 0)
        {
            x.Clear();
        }
        else if (previous < x.Length - 1)
        {
            x[(previous + 1)..].Fill(x[previous]);
        }

        return filled;
    }

    /// <summary>Removes the mean and divides by the norm in place; false (and all zeros) when the signal does not vary.</summary>
    private static bool Normalise(Span<double> x)
    {
        var mean = 0.0;
        var largest = 0.0;
        foreach (var v in x)
        {
            mean += v;
            largest = Math.Max(largest, Math.Abs(v));
        }

        mean /= x.Length;
        var squares = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            x[i] -= mean;
            squares += x[i] * x[i];
        }

        if (squares == 0 || Math.Sqrt(squares / x.Length) <= 1e-12 * largest)
        {
            x.Clear();
            return false;
        }

        var norm = Math.Sqrt(squares);
        for (var i = 0; i < x.Length; i++)
        {
            x[i] /= norm;
        }

        return true;
    }
}
