using Aida.Observability.Correlation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Observability.Tests.Correlation;

public sealed class SignalSetTests
{
    // Random signals: mostly smooth-ish values, sometimes a NaN or an infinity (a gap), lengths 2..400.
    private static readonly Gen<double> Sample = Gen.Frequency(
        (30, Gen.Choose(-1_000_000, 1_000_000).Select(v => v / 1000.0)),
        (1, Gen.Elements(double.NaN, double.PositiveInfinity, double.NegativeInfinity)));

    private static readonly Gen<(double[][] Signals, int MaxLag)> Sets =
        from length in Gen.Choose(2, 400)
        from count in Gen.Choose(1, 11)
        from signals in Sample.ArrayOf(length).ArrayOf(count)
        from lag in Gen.Choose(0, length - 1)
        select (signals, lag);

    [Property(MaxTest = 200, Replay = "1234567890123456789,987654321987654321")]
    public Property Fft_EqualsTheDirectSum_Within1e9() =>
        Prop.ForAll(Sets.ToArbitrary(), set =>
        {
            var signals = SignalSet.From(set.Signals, set.MaxLag);
            for (var a = 0; a < signals.Count; a++)
            {
                for (var b = 0; b < signals.Count; b++)
                {
                    var fft = signals.Correlate(a, b).Coefficients;
                    var naive = signals.CorrelateNaive(a, b).Coefficients;
                    for (var k = 0; k < fft.Length; k++)
                    {
                        if (!(Math.Abs(fft[k] - naive[k]) <= 1e-9))
                        {
                            return false;
                        }
                    }
                }
            }

            return true;
        });

    [Property(MaxTest = 100, Replay = "1234567890123456789,987654321987654321")]
    public Property AllPairs_MatchTheDirectSumPairByPair() =>
        Prop.ForAll(Sets.ToArbitrary(), set =>
        {
            var signals = SignalSet.From(set.Signals, set.MaxLag);
            var fast = signals.AllPairs();
            var naive = signals.AllPairsNaive();

            return fast.Length == naive.Length && fast.Zip(naive).All(p =>
                p.First.First == p.Second.First && p.First.Second == p.Second.Second && p.First.ZeroVariance == p.Second.ZeroVariance
                && Math.Abs(p.First.Coefficient - p.Second.Coefficient) <= 1e-9
                && (p.First.Lag == p.Second.Lag || Math.Abs(Math.Abs(p.First.Coefficient) - Math.Abs(p.Second.Coefficient)) <= 1e-9));
        });

    [Property(MaxTest = 200, Replay = "1234567890123456789,987654321987654321")]
    public Property Coefficients_AreFiniteAndWithinOne() =>
        Prop.ForAll(Sets.ToArbitrary(), set =>
        {
            var signals = SignalSet.From(set.Signals, set.MaxLag);
            return signals.CorrelateWith(0).All(c => c.Coefficients.All(r => double.IsFinite(r) && Math.Abs(r) <= 1 + 1e-12));
        });

    [Fact]
    public void AllPairs_OfTwoPointSignals_MatchTheDirectSum()
    {
        // Regression: with a transform of length 2 the first butterfly stage is also the last and ran twice.
        var signals = SignalSet.From([[138.802, -64.331], [7.825, 47.657], [-460.521, 278.586]], 0);

        Assert.All(signals.AllPairs().Zip(signals.AllPairsNaive()), p =>
        {
            Assert.Equal(p.Second.Lag, p.First.Lag);
            Assert.Equal(p.Second.Coefficient, p.First.Coefficient, 1e-9);
        });
    }

    [Fact]
    public void Peak_NamesTheSignalThatMovedFirst_AndByHowMuch()
    {
        var random = new Random(7);
        var cause = Enumerable.Range(0, 360).Select(_ => random.NextDouble()).ToArray();
        var effect = new double[360];
        for (var t = 0; t < 360; t++)
        {
            effect[t] = t >= 12 ? 2 * cause[t - 12] + 5 : 5;
        }

        var signals = SignalSet.From([cause, effect], maxLag: 30);

        var peak = signals.Correlate(0, 1).Peak;
        Assert.Equal(12, peak.Lag);
        // The biased estimator sums over the 348 overlapping samples only: r is about 348/360 of a perfect match.
        Assert.True(peak.Coefficient > 0.9, $"r = {peak.Coefficient}");
        Assert.Equal(TimeSpan.FromMinutes(2), peak.Lead(TimeSpan.FromSeconds(10)));

        // Seen from the effect, the cause is 12 samples behind.
        Assert.Equal(-12, signals.Correlate(1, 0).Peak.Lag);
    }

    [Fact]
    public void OppositeMovement_PeaksWithANegativeCoefficient()
    {
        var x = Enumerable.Range(0, 100).Select(t => Math.Sin(t / 5.0)).ToArray();
        var y = x.Select(v => 10 - (3 * v)).ToArray();

        var peak = SignalSet.From([x, y], 10).Correlate(0, 1).Peak;

        Assert.Equal(0, peak.Lag);
        Assert.Equal(-1, peak.Coefficient, 9);
    }

    [Fact]
    public void ZeroVarianceSignal_GivesZeroCoefficients_Flagged_NotNaN()
    {
        double[] flat = [21.5, 21.5, 21.5, 21.5, 21.5, 21.5];
        double[] moving = [1, 2, 3, 2, 1, 0];

        var signals = SignalSet.From([flat, moving], 2);
        var pair = signals.Correlate(0, 1);

        Assert.True(signals.IsZeroVariance(0));
        Assert.True(pair.ZeroVariance);
        Assert.All(pair.Coefficients, r => Assert.Equal(0, r));
        Assert.Equal(new PairPeak(0, 1, 0, 0, true), signals.AllPairs()[0]);
    }

    [Fact]
    public void Gaps_AreFilledByInterpolation_AndCounted()
    {
        // A series that starts mid-window (leading NaN), has a gap and a bad reading, and stops early.
        double[] x = [double.NaN, double.NaN, 1, double.NaN, 3, double.PositiveInfinity, 5, double.NaN];
        var copy = (double[])x.Clone();

        var filled = SignalSet.FillGaps(copy);

        Assert.Equal(5, filled);
        Assert.Equal([1, 1, 1, 2, 3, 4, 5, 5], copy);
        Assert.Equal(5, SignalSet.From([x], 1).FilledSamples(0));
    }

    [Fact]
    public void AllNaNSignal_IsZeroVariance()
    {
        var signals = SignalSet.From([[double.NaN, double.NaN, double.NaN], [1, 2, 3]], 1);

        Assert.True(signals.IsZeroVariance(0));
        Assert.Equal(3, signals.FilledSamples(0));
        Assert.All(signals.Correlate(0, 1).Coefficients, r => Assert.Equal(0, r));
    }

    [Fact]
    public void Select_CorrelatesANeighbourhoodAsTheWholeSetWould()
    {
        var random = new Random(3);
        var signals = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 50).Select(_ => random.NextDouble()).ToArray()).ToArray();
        var set = SignalSet.From(signals, 5);

        var neighbourhood = set.Select([4, 1]);

        Assert.Equal(set.Correlate(4, 1).Coefficients, neighbourhood.Correlate(0, 1).Coefficients);
        Assert.Single(neighbourhood.AllPairs());
    }

    [Theory]
    [InlineData(0, "no signals")] // nothing to correlate
    [InlineData(1, "signal 1 has 3 samples")] // signals of different lengths
    [InlineData(2, "at least 2 samples")] // a single sample
    public void BadInput_IsRefusedWithAClearMessage(int @case, string message)
    {
        double[][] signals = @case switch
        {
            0 => [],
            1 => [[1, 2, 3, 4], [1, 2, 3]],
            _ => [[1]],
        };

        var e = Assert.ThrowsAny<ArgumentException>(() => SignalSet.From(signals, 0));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LagAsLongAsTheSignal_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SignalSet.From([[1, 2, 3]], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => SignalSet.From([[1, 2, 3]], 1).Correlate(0, 1));
    }
}
