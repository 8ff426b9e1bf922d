using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>Decoding Gorilla chunks: 1,000 full chunks (120 samples at a regular 10 s) of a counter growing by a whole
/// number each scrape (the range benchmark's data) or of a gauge with full-precision fractions (a temperature), by the
/// bulk decoder every select uses (<see cref="XorChunk.DecodeAll(ReadOnlySpan{byte}, Span{Sample})"/>) and, as the
/// side-by-side reference, by the sample-by-sample iterator.</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*ChunkDecode*' --job short</c>.
/// Per-sample time is the reported time divided by 120,000.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class ChunkDecodeBenchmarks
{
    private const int Chunks = 1000;

    private readonly Sample[] _into = new Sample[XorChunk.MaxSamples];
    private byte[][] _chunks = [];

    /// <summary>The chunks' values: a counter or a gauge.</summary>
    [Params("counter", "gauge")]
    public string Values { get; set; } = "counter";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(11);
        _chunks = new byte[Chunks][];
        for (var c = 0; c < Chunks; c++)
        {
            var chunk = new XorChunk();
            double counter = random.Next(1_000_000);
            var t = 1_700_000_000_000L;
            for (var i = 0; i < XorChunk.MaxSamples; i++)
            {
                counter += 1000 + random.Next(200);
                chunk.Append(t, Values == "counter" ? counter : 25 + Math.Sin(i / 20.0) + (random.NextDouble() * 0.1));
                t += 10_000;
            }

            _chunks[c] = chunk.Bytes.ToArray();
        }
    }

    [Benchmark(Baseline = true)]
    public double SampleBySample()
    {
        var sum = 0.0;
        foreach (var bytes in _chunks)
        {
            var iterator = new XorIterator(bytes);
            while (iterator.Next())
            {
                sum += iterator.Value;
            }
        }

        return sum;
    }

    [Benchmark]
    public double DecodeAll()
    {
        var sum = 0.0;
        foreach (var bytes in _chunks)
        {
            var n = XorChunk.DecodeAll(bytes, _into);
            sum += _into[n - 1].Value;
        }

        return sum;
    }
}
