using Aida.Observability.Detection;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>What the agent's equipment-alarm look costs beside the minute's detection pass it replaces between minutes:
/// on two hours of the reference scenario's telemetry as the twin records it (ref-10mw, every point each 10 s and the
/// GPUs' DCGM series), one look (one instant query per equipment alarm, <see cref="EquipmentAlarmWatch"/>) against one
/// pass of <see cref="TelemetryAlerting"/> over the last minute (every rule, each reading its two-hour lookback). The
/// agent looks every 10 s and detects every minute: the ratio says what the look adds to a minute.</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*AgentLook*' --job short</c>.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class AgentLookBenchmarks : IDisposable
{
    private Tsdb _store = null!;
    private EmbeddedQueryEngine _query = null!;
    private EquipmentAlarmWatch _watch = null!;
    private TelemetryAlerting _alerting = null!;
    private DateTimeOffset _end;

    [GlobalSetup]
    public void Setup()
    {
        var (store, scenario, end) = RecordedReference.Record(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(5));
        _store = store;
        _end = end;
        // The same window every invocation: kept range results would answer all of it (SlidingDetectionBenchmarks
        // measures the agent's minutes as they slide).
        _query = new EmbeddedQueryEngine(_store, new Aida.Telemetry.PromQL.EngineOptions { RangeCachePoints = 0 });
        _watch = new EquipmentAlarmWatch(_query);
        _alerting = new TelemetryAlerting(_query, scenario.Factory);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public int MinuteDetectionPass() => _alerting.DetectAsync(_end - TimeSpan.FromMinutes(1), _end).GetAwaiter().GetResult().Count;

    [Benchmark]
    public bool EquipmentAlarmLook() => _watch.RaisedSinceLastLookAsync(_end).GetAwaiter().GetResult();
}
