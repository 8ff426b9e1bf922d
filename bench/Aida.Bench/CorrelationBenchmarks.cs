using Aida.Observability.Correlation;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;

namespace Aida.Bench;

/// <summary>Lagged cross-correlation of 1,000 signals x 360 points x ±30 lags (issue 6): all 499,500 pairs through the
/// batched FFT, the target-vs-1,000 case both ways, and the direct sum on a subset of pairs for the per-pair ratio.</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*Correlation*' --job short</c>.
/// Preparing the set (gap filling, normalising, 1,000 forward FFTs) is measured on its own in <see cref="Prepare"/>.
/// Results go in docs/observability.md.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class CorrelationBenchmarks
{
    /// <summary>The direct sum's subset: the first pairs in all-pairs order (signal 0 against 999 others, then 1, ...).</summary>
    public const int NaivePairs = 10_000;

    private double[][] _signals = null!;
    private SignalSet _set = null!;

    [GlobalSetup]
    public void Setup()
    {
        // Seeded: AR(1) noise around a shared diurnal-ish wave, so peaks are neither trivial nor all ties.
        var random = new Random(6);
        _signals = new double[1000][];
        for (var s = 0; s < _signals.Length; s++)
        {
            var x = new double[360];
            var noise = 0.0;
            for (var t = 0; t < x.Length; t++)
            {
                noise = (0.9 * noise) + random.NextDouble() - 0.5;
                x[t] = Math.Sin((t + s) / 40.0) + noise;
            }

            _signals[s] = x;
        }

        _set = SignalSet.From(_signals, maxLag: 30);
    }

    [Benchmark]
    public SignalSet Prepare() => SignalSet.From(_signals, maxLag: 30);

    [Benchmark]
    public PairPeak[] AllPairsFft() => _set.AllPairs();

    [Benchmark]
    public PairPeak[] NaiveSubset() => _set.AllPairsNaive(NaivePairs);

    [Benchmark]
    public IReadOnlyList<LaggedCorrelation> TargetVsAllFft() => _set.CorrelateWith(0);

    [Benchmark]
    public double TargetVsAllNaive()
    {
        var sum = 0.0;
        for (var c = 1; c < _set.Count; c++)
        {
            sum += _set.CorrelateNaive(0, c).Peak.Coefficient;
        }

        return sum;
    }
}
