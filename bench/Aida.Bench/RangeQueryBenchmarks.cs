using Aida.Telemetry.PromQL;
using Aida.Telemetry.Storage;
using Aida.Telemetry.Series;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>Range queries over one day of 1,000 series sampled every 10 s (8,640 samples each, 8.64 million in all),
/// evaluated every 60 s (1,441 steps) through <see cref="PromQLEngine"/>, with the day in the head or compacted into
/// 2 h blocks (what <c>aida serve</c> holds after its minutely compaction), in memory or (since session 54) written to
/// a data directory and read from their files mapped, and the decoded-chunk cache off, cold (emptied before every
/// iteration: a first query, which also fills it) or warm (filled: a dashboard's refresh).</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*RangeQuery*' --job short</c>. One query
/// per iteration, so that every cold iteration starts from an empty cache.</remarks>
[MemoryDiagnoser]
[MedianColumn]
[InvocationCount(1)]
public class RangeQueryBenchmarks
{
    private const int SeriesCount = 1000;
    private const long ScrapeMs = 10_000;
    private const long DayMs = 86_400_000;
    private const long StepMs = 60_000;
    private const int JitWarmupQueries = 40;

    private PromQLEngine _engine = null!;
    private Tsdb _store = null!;
    private long _start;
    private long _end;

    /// <summary>The decoded-chunk cache: off, cold or warm.</summary>
    public enum CacheState
    {
        /// <summary>Turned off (<see cref="TsdbOptions.DecodedChunkCacheBytes"/> 0): every query decodes.</summary>
        Off,

        /// <summary>On (default budget) and emptied before each iteration: the query decodes and fills the cache.</summary>
        Cold,

        /// <summary>On and holding the day: the query copies decoded samples.</summary>
        Warm,
    }

    /// <summary>Where the day is: in head chunks, compacted into blocks in memory (a store with no data directory), or
    /// into blocks on disk, read from their mapped files (the page cache warm: the files were just written).</summary>
    public enum DayIn
    {
        Head,
        Blocks,
        MappedBlocks,
    }

    [Params(DayIn.Head, DayIn.Blocks, DayIn.MappedBlocks)]
    public DayIn Day { get; set; }

    private string? _directory;

    [Params(CacheState.Off, CacheState.Cold, CacheState.Warm)]
    public CacheState Cache { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Day == DayIn.MappedBlocks ? Path.Combine(Path.GetTempPath(), "aida-bench-range-" + Guid.NewGuid().ToString("N")) : null;
        var store = new Tsdb(new TsdbOptions
        {
            DecodedChunkCacheBytes = Cache == CacheState.Off ? 0 : new TsdbOptions().DecodedChunkCacheBytes,
            DataDirectory = _directory,
        });
        var ids = new int[SeriesCount];
        for (var i = 0; i < SeriesCount; i++)
        {
            ids[i] = store.GetOrCreateSeries(Labels.Metric("m", ("instance", $"node-{i / 8:D3}"), ("gpu", (i % 8).ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }

        var scrapes = (int)(DayMs / ScrapeMs);
        _end = ((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / StepMs) - 1) * StepMs;
        _start = _end - DayMs;
        var random = new Random(11);
        var counter = new double[SeriesCount];
        var timestamps = new long[SeriesCount];
        var values = new double[SeriesCount];
        for (var r = 0; r <= scrapes; r++)
        {
            Array.Fill(timestamps, _start + (r * ScrapeMs));
            for (var i = 0; i < SeriesCount; i++)
            {
                // A counter (joules, say) growing by a whole number per scrape.
                counter[i] += 1000 + random.Next(200);
                values[i] = counter[i];
            }

            store.AppendBatch(ids, timestamps, values);
        }

        if (Day != DayIn.Head)
        {
            store.Compact();
        }

        _store = store;
        // Each invocation evaluates the whole range: no result kept from the last one (the chunk cache is what is measured).
        _engine = new PromQLEngine(store, new EngineOptions { RangeCachePoints = 0 });

        // A server answers its first query over a range (cold) long after its own start: its code is compiled by then.
        // So the queries run here until the runtime's tiered compiler has finished with them (it recompiles a method
        // after 30 calls, and a query's outer methods are called once or twice a query); without this the first of the
        // 15 iterations measured 2 to 6 times the later ones. Every other query finds the cache empty, so the code of
        // both a first query and a repeated one is compiled; the cache is then left empty (cold, off) or holding the day
        // (warm).
        for (var i = 0; i < JitWarmupQueries; i++)
        {
            SumRate5m();
            AvgOverTime10m();
            if (i % 2 == 1)
            {
                _store.ChunkCache?.Clear();
            }
        }

        if (Cache == CacheState.Warm)
        {
            SumRate5m();
            AvgOverTime10m();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, true);
        }
    }

    [IterationSetup]
    public void EmptyColdCache()
    {
        if (Cache == CacheState.Cold)
        {
            _store.ChunkCache!.Clear();
        }
    }

    [Benchmark]
    public int SumRate5m() => _engine.Range("sum(rate(m[5m]))", _start, _end, StepMs).Series.Count;

    [Benchmark]
    public int AvgOverTime10m() => _engine.Range("avg_over_time(m[10m])", _start, _end, StepMs).Series.Count;

    /// <summary>Diagnostic, not a target: only the store's <see cref="Tsdb.Select"/> of the day's 8.64 million samples
    /// (what the engine does once per selector before evaluating the steps).</summary>
    [Benchmark]
    public int SelectDay() => _store.Select(_start - 600_000, _end, [new LabelMatcher(Labels.MetricNameLabel, MatcherType.Equal, "m")]).Count();
}
