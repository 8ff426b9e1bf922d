using System.Globalization;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>What one tick of the network run's GPU roll-up costs (<see cref="DcgmRollup.Write"/>, every 10 s): a store
/// holding every GPU's <c>DCGM_FI_DEV_GPU_TEMP</c> and <c>DCGM_FI_DEV_CLOCKS_EVENT_REASONS</c> as a DCGM scrape every 5 s
/// leaves them (the last 2 min, synthetic values, 1 % of GPUs thermally slowed), and the factory's throttle and histogram
/// points as targets. ref-10mw: 80 racks, 5,760 GPUs; ref-1gw: 8,000 racks, 576,000 GPUs.</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*DcgmRollup*' --job short</c>.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class DcgmRollupBenchmarks : IDisposable
{
    private const long SampleMs = 5_000;
    private static readonly string[] Buckets = ["40", "50", "60", "65", "70", "75", "80", "85", "90", "+Inf"];
    private Tsdb _store = null!;
    private Tsdb _written = null!;
    private DcgmRollup _rollup = null!;
    private DateTimeOffset _at;
    private long _tick;

    [Params("ref-10mw", "ref-1gw")]
    public string Factory { get; set; } = "ref-10mw";

    [GlobalSetup]
    public void Setup()
    {
        var factory = FactoryLoader.Load(BundledFiles.Shipped("factories", Factory + ".yaml"));
        _store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var design = new List<PointInfo>();
        Dictionary<string, string> L(params (string K, string V)[] kv) => kv.Prepend((K: "site", V: "s")).ToDictionary(x => x.K, x => x.V);
        foreach (var rack in factory.Racks)
        {
            design.Add(new PointInfo(design.Count, rack.Id + "/gpus_throttled", rack.Id, DcgmRollup.ThrottledMetric, L(("hall", rack.Hall), ("row", rack.Row), ("rack", rack.Id)), "count", TimeSpan.FromSeconds(10)));
        }

        foreach (var hall in factory.Halls)
        {
            foreach (var le in Buckets)
            {
                design.Add(new PointInfo(design.Count, $"{hall.Id}/gpu_temperature_le_{le}", hall.Id, DcgmRollup.HistogramMetric, L(("hall", hall.Id), ("le", le)), "count", TimeSpan.FromSeconds(10)));
            }
        }

        var ids = new List<int>();
        foreach (var rack in factory.Racks)
        {
            for (var g = 0; g < factory.RackProfile.Gpus; g++)
            {
                // Labelled as the DCGM exporter labels a GPU, plus the site's hall and rack.
                var gpu = g.ToString(CultureInfo.InvariantCulture);
                var uuid = $"GPU-{rack.Id}-{gpu}";
                ids.Add(_store.GetOrCreateSeries(Labels.Metric(DcgmRollup.TemperatureMetric, ("site", "s"), ("hall", rack.Hall), ("rack", rack.Id), ("gpu", gpu), ("UUID", uuid))));
                ids.Add(_store.GetOrCreateSeries(Labels.Metric(GpuClockEvents.Metric, ("site", "s"), ("hall", rack.Hall), ("rack", rack.Id), ("gpu", gpu), ("UUID", uuid))));
            }
        }

        var end = ((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / SampleMs) - 1) * SampleMs;
        var idArray = ids.ToArray();
        var timestamps = new long[idArray.Length];
        var values = new double[idArray.Length];
        var random = new Random(43);
        for (var t = end - (2 * 60_000); t <= end; t += SampleMs)
        {
            Array.Fill(timestamps, t);
            for (var i = 0; i < idArray.Length; i += 2)
            {
                var slowed = random.NextDouble() < 0.01;
                values[i] = slowed ? 87 : 55 + (random.NextDouble() * 25);
                values[i + 1] = slowed ? GpuClockEvents.SwThermalSlowdown : 0;
            }

            _store.AppendBatch(idArray, timestamps, values);
        }

        _at = DateTimeOffset.FromUnixTimeMilliseconds(end);
        // The points go to a store of their own: written a millisecond apart, thousands of a benchmark's ticks would
        // otherwise sit in the minute each write looks back over for another writer (a live run's ticks are 10 s apart).
        _written = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        _rollup = new DcgmRollup(design, _store, _written, factory.Gpu.ThrottleCelsius);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        _written?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>One tick: each call a millisecond later than the last, so every write is a new sample.</summary>
    [Benchmark]
    public int Tick() => _rollup.Write(_at.AddMilliseconds(++_tick)).Written;
}
