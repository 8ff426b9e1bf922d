using System.Globalization;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Observability.Derived;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>What the minute's thermal headroom costs the derived series writer at 1 GW (ref-1gw: 8,000 racks, 576,000
/// GPUs): each GPU's DCGM temperature, each rack's hottest GPU and inlet, recorded every 10 s for the last 6 min (the
/// instant query's 5 min lookback and a minute). <see cref="PerGpuList"/> is what the writer read until session 35 (a
/// headroom per GPU, sorted by rack and GPU, of which it kept the least); <see cref="Derived"/> what it reads now;
/// <see cref="GpuQueryOnly"/> the DCGM instant query alone, the floor of any per-GPU reading; <see cref="PromQlMax"/>
/// the same through PromQL's <c>max</c>, which selects every series as well.</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*GpuHeadroom*' --job short</c>.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class GpuHeadroomBenchmarks : IDisposable
{
    private const long SampleMs = 10_000;
    private Tsdb _store = null!;
    private EmbeddedQueryEngine _query = null!;
    private FacilityMetrics _metrics = null!;
    private DateTimeOffset _at;

    [GlobalSetup]
    public void Setup()
    {
        var factory = FactoryLoader.Load(BundledFiles.Shipped("factories", "ref-1gw.yaml"));
        _store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var gpus = factory.RackProfile.Gpus;
        var ids = new List<int>();
        var kinds = new List<int>(); // 0: a GPU, 1: a rack's hottest GPU, 2: a rack's inlet
        foreach (var rack in factory.Racks)
        {
            for (var g = 0; g < gpus; g++)
            {
                ids.Add(_store.GetOrCreateSeries(Labels.Metric("DCGM_FI_DEV_GPU_TEMP", ("rack", rack.Id), ("gpu", g.ToString(CultureInfo.InvariantCulture)))));
                kinds.Add(0);
            }

            ids.Add(_store.GetOrCreateSeries(Labels.Metric("aida_rack_gpu_max_temperature_celsius", ("rack", rack.Id))));
            kinds.Add(1);
            ids.Add(_store.GetOrCreateSeries(Labels.Metric("aida_rack_inlet_celsius", ("rack", rack.Id))));
            kinds.Add(2);
        }

        var end = ((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / SampleMs) - 1) * SampleMs;
        var idArray = ids.ToArray();
        var timestamps = new long[idArray.Length];
        var values = new double[idArray.Length];
        var random = new Random(35);
        for (var t = end - (6 * 60_000); t <= end; t += SampleMs)
        {
            Array.Fill(timestamps, t);
            for (var i = 0; i < idArray.Length; i++)
            {
                values[i] = kinds[i] switch
                {
                    0 => 60 + (random.NextDouble() * 20),
                    1 => 80,
                    _ => 22 + random.NextDouble(),
                };
            }

            _store.AppendBatch(idArray, timestamps, values);
        }

        _at = DateTimeOffset.FromUnixTimeMilliseconds(end);
        _query = new EmbeddedQueryEngine(_store);
        _metrics = new FacilityMetrics(_query, factory);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public double PerGpuList()
    {
        var least = double.PositiveInfinity;
        foreach (var h in _metrics.ThermalHeadroomAsync(_at).GetAwaiter().GetResult())
        {
            if (h.Quantity == "gpu_temperature" && h.Margin is { } m)
            {
                least = Math.Min(least, m);
            }
        }

        return least;
    }

    [Benchmark]
    public double Derived()
    {
        var racks = _metrics.RackThermalHeadroomAsync(_at).GetAwaiter().GetResult();
        return (_metrics.LeastGpuHeadroomAsync(_at).GetAwaiter().GetResult() ?? double.NaN) + racks.Count;
    }

    [Benchmark]
    public int RackQueriesOnly() => _metrics.RackThermalHeadroomAsync(_at).GetAwaiter().GetResult().Count;

    [Benchmark]
    public int PromQlMax() => _query.QueryAsync("max(DCGM_FI_DEV_GPU_TEMP)", _at).GetAwaiter().GetResult().Series.Count;

    [Benchmark]
    public int GpuQueryOnly() => _query.QueryAsync("DCGM_FI_DEV_GPU_TEMP", _at).GetAwaiter().GetResult().Series.Count;
}
