using Aida.Observability.Detection;
using Aida.Telemetry.Series;

namespace Aida.Observability.Tests.Detection;

public sealed class ThresholdCrossingsTests
{
    private static List<Sample> S(params double[] values) => [.. values.Select((v, i) => new Sample(i * 10_000L, v))];

    [Fact]
    public void FiresOnceTheConditionHasHeld_AndRearmsAfterItClears()
    {
        // Over 27 from 10 s to 40 s, under at 50 s, over again from 60 s: a 20 s hold fires at 30 s and at 80 s.
        var found = ThresholdCrossings.Find(S(20, 28, 29, 30, 28, 20, 28, 28, 28), (_, v) => v > 27, 20_000);

        Assert.Equal([(10_000L, 30_000L), (60_000L, 80_000L)], found);
    }

    [Fact]
    public void NonFiniteSamples_NeitherBreakNorExtendARun()
    {
        var found = ThresholdCrossings.Find(S(28, double.NaN, 28, double.PositiveInfinity, 28), (_, v) => v > 27, 40_000);

        Assert.Equal([(0L, 40_000L)], found);
    }

    [Fact]
    public void ValueAt_IsTheNewestFiniteSampleAtOrBefore()
    {
        var s = S(1, 2, double.NaN, 4);

        Assert.Null(ThresholdCrossings.ValueAt(s, -1));
        Assert.Equal(2, ThresholdCrossings.ValueAt(s, 25_000));
        Assert.Equal(4, ThresholdCrossings.ValueAt(s, 99_000));
    }

    [Fact]
    public void ArraysListsAndOtherReadOnlyLists_AreAnsweredAlike()
    {
        // Arrays and lists are walked as spans; any other list through its indexer: the same answers either way.
        var list = S(20, 28, double.NaN, 29, 30, 20, 28, 28);
        IReadOnlyList<Sample>[] shapes = [list, list.ToArray(), list.AsReadOnly()];
        foreach (var samples in shapes)
        {
            Assert.Equal([(10_000L, 30_000L), (60_000L, 70_000L)], ThresholdCrossings.Find(samples, (_, v) => v > 27, 10_000));
            Assert.Equal(28, ThresholdCrossings.ValueAt(samples, 25_000));
            Assert.Equal(2, ThresholdCrossings.IndexAt(samples, 25_000));
            Assert.Equal(-1, ThresholdCrossings.IndexAt(samples, -1));
            Assert.Null(ThresholdCrossings.ValueAt(samples, -1));
        }
    }
}
