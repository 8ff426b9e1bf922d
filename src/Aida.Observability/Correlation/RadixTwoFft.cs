using System.Numerics;

namespace Aida.Observability.Correlation;

/// <summary>An iterative radix-2 complex FFT of one power-of-two length, with its bit-reversal and twiddle tables
/// built once (Cooley and Tukey 1965; the in-place decimation-in-time form of Press et al., Numerical Recipes §12.2).</summary>
/// <remarks>Two forms: one transform on scalar arrays, and <see cref="Vector{T}.Count"/> independent transforms at once
/// on vectors (lane <c>i</c> of every element is transform <c>i</c>), which is how many small inverse transforms are
/// run with full SIMD width without shuffling data inside one transform.</remarks>
internal sealed class RadixTwoFft
{
    private readonly int[] _reverse;
    private readonly double[] _cos;
    private readonly double[] _sin;

    public RadixTwoFft(int length)
    {
        if (length < 2 || !BitOperations.IsPow2(length))
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "the FFT length must be a power of two of at least 2");
        }

        Length = length;
        var bits = BitOperations.Log2((uint)length);
        _reverse = new int[length];
        for (var i = 0; i < length; i++)
        {
            _reverse[i] = (int)(ReverseBits((uint)i) >> (32 - bits));
        }

        _cos = new double[length / 2];
        _sin = new double[length / 2];
        for (var j = 0; j < length / 2; j++)
        {
            var angle = 2 * Math.PI * j / length;
            _cos[j] = Math.Cos(angle);
            _sin[j] = Math.Sin(angle);
        }
    }

    public int Length { get; }

    /// <summary>Where element <paramref name="i"/> goes before the butterflies.</summary>
    public int Reversed(int i) => _reverse[i];

    /// <summary>Transforms in place: forward is <c>X[f] = sum x[t] e^(-2 pi i f t / N)</c>; inverse uses the other sign
    /// and does not divide by N.</summary>
    public void Transform(Span<double> re, Span<double> im, bool inverse)
    {
        var n = Length;
        if (re.Length != n || im.Length != n)
        {
            throw new ArgumentException($"the FFT takes exactly {n} values");
        }

        for (var i = 0; i < n; i++)
        {
            var j = _reverse[i];
            if (j > i)
            {
                (re[i], re[j]) = (re[j], re[i]);
                (im[i], im[j]) = (im[j], im[i]);
            }
        }

        var sign = inverse ? 1.0 : -1.0;
        for (var len = 2; len <= n; len <<= 1)
        {
            var half = len >> 1;
            var step = n / len;
            for (var j = 0; j < half; j++)
            {
                var wr = _cos[j * step];
                var wi = sign * _sin[j * step];
                for (var s = j; s < n; s += len)
                {
                    var t = s + half;
                    var vr = (re[t] * wr) - (im[t] * wi);
                    var vi = (re[t] * wi) + (im[t] * wr);
                    re[t] = re[s] - vr;
                    im[t] = im[s] - vi;
                    re[s] += vr;
                    im[s] += vi;
                }
            }
        }
    }

    /// <summary>Inverse-transforms <see cref="Vector{T}.Count"/> transforms at once; the input must already be in
    /// bit-reversed order (see <see cref="Reversed"/>). Only the outputs at indices <c>0..keepLow</c> and
    /// <c>N-keepHigh..N-1</c> are guaranteed: the last stage computes only those.</summary>
    public void InverseBatchFromReversed(Span<Vector<double>> re, Span<Vector<double>> im, int keepLow, int keepHigh)
    {
        var n = Length;
        if (re.Length != n || im.Length != n)
        {
            throw new ArgumentException($"the FFT takes exactly {n} values");
        }

        // Stage of length 2 (the twiddle is 1), unless it is also the last stage, done below.
        for (var s = 0; n > 2 && s < n; s += 2)
        {
            var ur = re[s];
            var ui = im[s];
            var vr = re[s + 1];
            var vi = im[s + 1];
            re[s] = ur + vr;
            im[s] = ui + vi;
            re[s + 1] = ur - vr;
            im[s + 1] = ui - vi;
        }

        for (var len = 4; len < n; len <<= 1)
        {
            var half = len >> 1;
            var step = n / len;
            for (var j = 0; j < half; j++)
            {
                var wr = new Vector<double>(_cos[j * step]);
                var wi = new Vector<double>(_sin[j * step]);
                for (var s = j; s < n; s += len)
                {
                    var t = s + half;
                    var br = re[t];
                    var bi = im[t];
                    var vr = (br * wr) - (bi * wi);
                    var vi = (br * wi) + (bi * wr);
                    var ar = re[s];
                    var ai = im[s];
                    re[t] = ar - vr;
                    im[t] = ai - vi;
                    re[s] = ar + vr;
                    im[s] = ai + vi;
                }
            }
        }

        // The last stage (one block): output j comes from u + v, output j + N/2 from u - v; only the kept ones are made.
        var h = n >> 1;
        for (var j = 0; j < h; j++)
        {
            var low = j <= keepLow;
            var high = j + h >= n - keepHigh;
            if (!low && !high)
            {
                continue;
            }

            var wr = new Vector<double>(_cos[j]);
            var wi = new Vector<double>(_sin[j]);
            var br = re[j + h];
            var bi = im[j + h];
            var vr = (br * wr) - (bi * wi);
            var vi = (br * wi) + (bi * wr);
            var ar = re[j];
            var ai = im[j];
            if (high)
            {
                re[j + h] = ar - vr;
                im[j + h] = ai - vi;
            }

            if (low)
            {
                re[j] = ar + vr;
                im[j] = ai + vi;
            }
        }
    }

    private static uint ReverseBits(uint v)
    {
        v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
        v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
        v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
        v = ((v >> 8) & 0x00FF00FFu) | ((v & 0x00FF00FFu) << 8);
        return (v >> 16) | (v << 16);
    }
}
