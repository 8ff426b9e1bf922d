using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>Bulk ingestion through <see cref="Tsdb.AppendBatch"/>: one scrape of every series per batch, realistic
/// 10 s timestamps and values rounded to 0.1, in memory or with the WAL on disk.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class TsdbAppendBenchmarks : IDisposable
{
    private const int Samples = 1_000_000;

    private int[] _ids = [];
    private long[][] _timestamps = [];
    private double[][] _values = [];
    private Tsdb? _tsdb;
    private string? _directory;

    [Params(1000, 10_000)]
    public int Series { get; set; }

    [Params(false, true)]
    public bool Wal { get; set; }

    private int Rounds => Samples / Series;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (Rounds * 10_000L);
        _timestamps = new long[Rounds][];
        _values = new double[Rounds][];
        var level = new double[Series];
        for (var i = 0; i < Series; i++)
        {
            level[i] = Math.Round(30 + (random.NextDouble() * 50), 1);
        }

        for (var r = 0; r < Rounds; r++)
        {
            _timestamps[r] = Enumerable.Repeat(start + (r * 10_000L), Series).ToArray();
            _values[r] = new double[Series];
            for (var i = 0; i < Series; i++)
            {
                if (random.Next(4) == 0)
                {
                    level[i] = Math.Round(level[i] + ((random.Next(3) - 1) * 0.1), 1);
                }

                _values[r][i] = level[i];
            }
        }
    }

    [IterationSetup]
    public void OpenStore()
    {
        _directory = Wal ? Path.Combine(Path.GetTempPath(), "aida-bench-" + Guid.NewGuid().ToString("N")) : null;
        _tsdb = new Tsdb(new TsdbOptions { DataDirectory = _directory });
        _ids = new int[Series];
        for (var i = 0; i < Series; i++)
        {
            _ids[i] = _tsdb.GetOrCreateSeries(Labels.Metric("bench_value", ("series", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }
    }

    [IterationCleanup]
    public void CloseStore()
    {
        _tsdb?.Dispose();
        _tsdb = null;
        if (_directory is not null)
        {
            Directory.Delete(_directory, true);
            _directory = null;
        }
    }

    public void Dispose()
    {
        CloseStore();
        GC.SuppressFinalize(this);
    }

    /// <summary>Appends one million samples; the reported time is per sample.</summary>
    [Benchmark(OperationsPerInvoke = Samples)]
    public int AppendBatch()
    {
        var stored = 0;
        for (var r = 0; r < Rounds; r++)
        {
            stored += _tsdb!.AppendBatch(_ids, _timestamps[r], _values[r]);
        }

        return stored;
    }
}
