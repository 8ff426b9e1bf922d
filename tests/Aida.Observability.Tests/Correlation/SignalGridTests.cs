using Aida.Observability.Correlation;
using Aida.Telemetry.Series;

namespace Aida.Observability.Tests.Correlation;

public sealed class SignalGridTests
{
    private static readonly DateTimeOffset Start = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);

    private static Sample At(int seconds, double value) => new(Start.AddSeconds(seconds).ToUnixTimeMilliseconds(), value);

    [Fact]
    public void Align_Interpolates_AndLeavesGapsAndEdgesAsNaN()
    {
        // Samples at 5 s, 15 s, a NaN at 25 s, then a dropout from 25 s to 95 s, and the series ends at 95 s.
        Sample[] samples = [At(5, 1), At(15, 3), At(25, double.NaN), At(95, 10)];

        var grid = SignalGrid.Align(samples, Start, TimeSpan.FromSeconds(10), 11, maxGap: TimeSpan.FromSeconds(30));

        Assert.True(double.IsNaN(grid[0])); // before the first sample
        Assert.Equal(2, grid[1]); // halfway between 5 s and 15 s
        Assert.All(grid[2..10], v => Assert.True(double.IsNaN(v))); // 15 s to 95 s is longer than the 30 s limit
        Assert.True(double.IsNaN(grid[10])); // after the last sample
    }

    [Fact]
    public void AlignedSeriesWithGaps_CorrelateWithoutNaN()
    {
        var x = Enumerable.Range(0, 100).Select(i => At(i * 10, Math.Sin(i / 4.0))).Where((_, i) => i is < 40 or > 50).ToArray();
        var y = Enumerable.Range(0, 100).Select(i => At(i * 10, Math.Sin((i - 3) / 4.0))).ToArray();

        var grid = SignalGrid.Align([new SeriesSamples(Labels.Metric("x"), x), new SeriesSamples(Labels.Metric("y"), y)], Start, TimeSpan.FromSeconds(10), 100, TimeSpan.FromSeconds(30));
        var set = SignalSet.From(grid, 10);

        Assert.Equal(11, set.FilledSamples(0)); // the 11 grid points from 400 s to 500 s
        Assert.Equal(3, set.Correlate(0, 1).Peak.Lag);
    }
}
