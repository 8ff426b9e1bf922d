using Aida.Telemetry.PromQL;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>The live alerting's query for the GPUs' enforced power limit (<c>PowerLimitNotApplied</c>):
/// <c>max by (rack) (DCGM_FI_DEV_POWER_MGMT_LIMIT)</c> over the detection window (2 h) at its 10 s step, on ref-10mw's
/// 720 racks. Over the wire DCGM serves the limit per GPU, 5,760 series scraped every 30 s (<c>sites/twin-local.yaml</c>);
/// the embedded twin records one series per rack. Side by side: what reading every GPU costs the minute's detection.</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*PowerLimitQuery*' --job short</c>.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class PowerLimitQueryBenchmarks : IDisposable
{
    private const int Racks = 720;
    private const int GpusPerRack = 8;
    private const long ScrapeMs = 30_000;
    private const long WindowMs = 2 * 3_600_000;
    private const long StepMs = 10_000;

    private PromQLEngine _engine = null!;
    private Tsdb _store = null!;
    private long _start;
    private long _end;

    /// <summary>True: one series per GPU (DCGM over the wire); false: one per rack.</summary>
    [Params(true, false)]
    public bool PerGpu { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = new Tsdb(new TsdbOptions());
        var count = PerGpu ? Racks * GpusPerRack : Racks;
        var ids = new int[count];
        for (var i = 0; i < count; i++)
        {
            var rack = $"h{1 + (i / (count / 2))}-{i / (PerGpu ? GpusPerRack : 1):D3}";
            ids[i] = PerGpu
                ? _store.GetOrCreateSeries(Labels.Metric("DCGM_FI_DEV_POWER_MGMT_LIMIT", ("rack", rack), ("gpu", (i % GpusPerRack).ToString(System.Globalization.CultureInfo.InvariantCulture))))
                : _store.GetOrCreateSeries(Labels.Metric("DCGM_FI_DEV_POWER_MGMT_LIMIT", ("rack", rack)));
        }

        _end = ((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / StepMs) - 1) * StepMs;
        _start = _end - WindowMs;
        var timestamps = new long[count];
        var values = new double[count];
        var random = new Random(5);
        for (var t = _start - (5 * 60_000); t <= _end; t += ScrapeMs)
        {
            Array.Fill(timestamps, t);
            for (var i = 0; i < count; i++)
            {
                // 1,200 W, a few racks capped to 900 W for a while: what the agent's runbooks do.
                values[i] = random.Next(100) == 0 ? 900 : 1200;
            }

            _store.AppendBatch(ids, timestamps, values);
        }

        // Each invocation evaluates the whole window: no result kept from the last one.
        _engine = new PromQLEngine(_store, new EngineOptions { RangeCachePoints = 0 });
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public int MaxByRack() =>
        _engine.Range("max by (rack) (DCGM_FI_DEV_POWER_MGMT_LIMIT)", _start, _end, StepMs).Series.Count;
}
