using Aida.Observability.Detection;
using Aida.Telemetry.PromQL;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>Ten minutes of the agent's detection as it runs: on <see cref="RecordedReference"/>'s telemetry, a new
/// engine and <see cref="TelemetryAlerting"/>, then one pass per minute over that minute, each reading its two-hour
/// lookback. Side by side: the engine keeping its range query results (<see cref="EngineOptions.RangeCachePoints"/>: the first pass evaluates every step, the nine after it
/// the steps since), and keeping none (every pass evaluates every step).</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*SlidingDetection*' --job short</c>.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class SlidingDetectionBenchmarks : IDisposable
{
    private const int Minutes = 10;

    private Tsdb _store = null!;
    private Model.Facility.Factory _factory = null!;
    private DateTimeOffset _end;

    /// <summary>Whether the engine keeps its range query results.</summary>
    [Params(true, false)]
    public bool Kept { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_store, var scenario, _end) = RecordedReference.Record(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(5 + Minutes));
        _factory = scenario.Factory;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public int TenMinutesOfDetection()
    {
        var query = new EmbeddedQueryEngine(_store, new EngineOptions { RangeCachePoints = Kept ? new EngineOptions().RangeCachePoints : 0 });
        var alerting = new TelemetryAlerting(query, _factory);
        var alerts = 0;
        for (var m = Minutes; m > 0; m--)
        {
            var to = _end - TimeSpan.FromMinutes(m - 1);
            alerts += alerting.DetectAsync(to - TimeSpan.FromMinutes(1), to).GetAwaiter().GetResult().Count;
        }

        return alerts;
    }
}
