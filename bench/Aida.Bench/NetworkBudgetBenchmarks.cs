using Aida.Model.Config;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>What one evaluation of a network site's budgets costs once its store holds days of telemetry: a bundled SLO
/// over 28 days with burn rates over 5 min to 3 d, on 80 racks' readings every 15 s. <c>rack-inlet</c> is time-slice
/// based (a slice a minute per rack); <c>gpu-throttling</c> counts occurrences (<c>sum_over_time</c> of each rack's
/// throttled GPUs over each hall's GPUs). Baseline: every window read whole, as a network site's budgets were until
/// session 58 (its samples may come late, so no settling time holds). Against it: the slices before the oldest time the
/// store still accepts a sample at (<see cref="Tsdb.AcceptsFrom"/>, after the hourly compaction) kept from an earlier
/// evaluation, and only those since queried, as each plant minute's evaluation does; an occurrences SLO keeps nothing
/// and still reads its windows whole.</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*NetworkBudget*' --job short</c>.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class NetworkBudgetBenchmarks : IDisposable
{
    private const int Racks = 80;
    private static readonly DateTimeOffset End = new(2025, 7, 29, 0, 30, 0, TimeSpan.Zero);

    private Tsdb _store = null!;
    private IQueryEngine _engine = null!;
    private SloSet _slos = null!;
    private SloEvaluator _kept = null!;

    /// <summary>Days of telemetry the store holds (the SLO's window is 28).</summary>
    [Params(7, 28)]
    public int Days { get; set; }

    /// <summary>The bundled SLO file evaluated (<c>slos/NAME.yaml</c>).</summary>
    [Params("rack-inlet", "gpu-throttling")]
    public string Slo { get; set; } = "rack-inlet";

    [GlobalSetup]
    public void Setup()
    {
        _slos = SloLoader.Load([BundledFiles.Shipped("slos", "00-facility.yaml"), BundledFiles.Shipped("slos", Slo + ".yaml")]);
        _store = new Tsdb(new TsdbOptions { Clock = new SteppedClock(End), Retention = TimeSpan.FromDays(60) });
        var start = End - TimeSpan.FromDays(Days);
        var metric = Slo == "rack-inlet" ? "aida_rack_inlet_celsius" : "aida_rack_gpus_throttled";
        var ids = Enumerable.Range(0, Racks).Select(r => _store.GetOrCreateSeries(Labels.From(("__name__", metric), ("rack", $"r{r:D2}")))).ToArray();
        // The occurrences SLO's total: each hall's GPU count in the temperature histogram's +Inf bucket.
        var halls = Slo == "rack-inlet" ? [] : Enumerable.Range(0, 2).Select(h => _store.GetOrCreateSeries(Labels.From(("__name__", "aida_gpu_temperature_celsius_bucket"), ("hall", $"hall-{h + 1}"), ("le", "+Inf")))).ToArray();
        var step = (long)TimeSpan.FromSeconds(15).TotalMilliseconds;
        var i = 0L;
        for (var t = start.ToUnixTimeMilliseconds(); t <= End.ToUnixTimeMilliseconds(); t += step, i++)
        {
            for (var r = 0; r < Racks; r++)
            {
                // 24-26 °C, one rack in 40 above 27 °C (two of its 8 GPUs throttled) for a minute an hour.
                var hot = r % 40 == 0 && i % 240 < 4;
                _store.Append(ids[r], t, Slo == "rack-inlet" ? (hot ? 27.5 : 24 + ((r + i) % 9 * 0.25)) : (hot ? 2 : 0));
            }

            foreach (var hall in halls)
            {
                _store.Append(hall, t, Racks / halls.Length * 8);
            }
        }

        _store.Compact();
        _engine = new EmbeddedQueryEngine(_store);
        _kept = new SloEvaluator(_engine, acceptsFrom: () => _store.AcceptsFrom);
        // The first evaluation counts the window's settled slices; each one after queries only the newer ones.
        _kept.EvaluateAsync(_slos, End).GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public Task<IReadOnlyList<SloStatus>> WholeWindows() => new SloEvaluator(_engine).EvaluateAsync(_slos, End);

    [Benchmark]
    public Task<IReadOnlyList<SloStatus>> KeptSlices() => _kept.EvaluateAsync(_slos, End);

    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }
}
