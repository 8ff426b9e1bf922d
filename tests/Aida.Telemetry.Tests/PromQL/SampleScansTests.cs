using Aida.Telemetry.PromQL;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

/// <summary>The vector scans answer exactly as the scalar loops they replace, wherever the sample that decides lies.</summary>
public sealed class SampleScansTests
{
    private static readonly double[] Odd = [double.NaN, StaleMarker.Value, double.PositiveInfinity, double.NegativeInfinity, -0.0, 1e301, -1e301, 1e300, double.Epsilon];

    private static int ScalarStale(Sample[] s) => Array.FindIndex(s, p => StaleMarker.Is(p.Value));

    private static bool ScalarDecrease(Sample[] s) => Enumerable.Range(1, Math.Max(0, s.Length - 1)).Any(i => s[i].Value < s[i - 1].Value);

    private static bool ScalarWithin(Sample[] s, double bound) => s.All(p => Math.Abs(p.Value) <= bound);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Scans_OverRandomSeries_AnswerAsTheScalarLoops(int seed)
    {
        var random = new Random(seed);
        for (var round = 0; round < 3000; round++)
        {
            var n = random.Next(0, 40);
            var samples = new Sample[n];
            var v = random.NextDouble();
            for (var i = 0; i < n; i++)
            {
                // Mostly rising, with the odd value (NaN, the marker, infinities, huge) or a drop anywhere, including in a
                // timestamp's bits (a timestamp equal to the marker's bits must not count).
                v += random.NextDouble();
                var value = random.Next(30) == 0 ? Odd[random.Next(Odd.Length)] : random.Next(40) == 0 ? v - 5 : v;
                var t = random.Next(50) == 0 ? (long)StaleMarker.Bits : 1_700_000_000_000L + (i * 1000L);
                samples[i] = new Sample(t, value);
            }

            Assert.Equal(ScalarStale(samples), SampleScans.IndexOfStaleMarker(samples));
            Assert.Equal(ScalarDecrease(samples), SampleScans.HasDecrease(samples));
            Assert.Equal(ScalarWithin(samples, 1e300), SampleScans.AllWithin(samples, 1e300));
        }
    }
}
