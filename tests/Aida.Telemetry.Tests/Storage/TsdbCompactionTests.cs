using System.Globalization;
using System.Text;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Aida.Telemetry.Tests.Storage;

/// <summary>Level compaction (merging persisted blocks) and the block index format.</summary>
public sealed class TsdbCompactionTests(ITestOutputHelper output) : IDisposable
{
    private const long Hour = 3_600_000;
    private static readonly long T0 = TsdbTests.T0; // a UTC midnight, so 6 h and 24 h windows align with it

    private readonly FakeTimeProvider _clock = new(TsdbTests.Start);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "aida-tsdb-merge-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, true);
        }
    }

    private string Dir(string name) => Path.Combine(_root, name);

    private Tsdb Open(string? dir, TimeSpan maxBlock) => new(new TsdbOptions
    {
        DataDirectory = dir,
        Clock = _clock,
        BlockDuration = TimeSpan.FromHours(2),
        MaxBlockDuration = maxBlock,
        Retention = TimeSpan.FromDays(15),
    });

    private static readonly LabelMatcher[] Everything = [new("__name__", MatcherType.Regex, ".+")];

    private static List<SeriesSamples> All(Tsdb db, long min = long.MinValue, long max = long.MaxValue) => db.Select(min, max, Everything).ToList();

    private static void AssertSame(List<SeriesSamples> expected, List<SeriesSamples> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Labels, actual[i].Labels);
            Assert.Equal(expected[i].Samples.Select(Bits), actual[i].Samples.Select(Bits));
        }
    }

    private static (long, ulong) Bits(Sample s) => (s.TimestampMs, BitConverter.DoubleToUInt64Bits(s.Value));

    /// <summary>A day and a bit: series at 30 s (full chunks per 2 h), at 7 s (partial chunks at every block edge), one
    /// that stops half way and one that starts late, with stale markers.</summary>
    private static void Fill(Tsdb db, long from, long to)
    {
        var a = db.GetOrCreateSeries(Labels.Metric("gpu_power_watts", ("gpu", "0")));
        var b = db.GetOrCreateSeries(Labels.Metric("gpu_power_watts", ("gpu", "1")));
        var c = db.GetOrCreateSeries(Labels.Metric("rack_inlet_celsius", ("rack", "r1")));
        var d = db.GetOrCreateSeries(Labels.Metric("late_starter"));
        for (var t = from; t < to; t += 1_000)
        {
            if ((t - from) % 30_000 == 0)
            {
                db.Append(a, t, Math.Round(300 + (50 * Math.Sin(t / 1e6)), 1));
                if (t < from + (11 * Hour))
                {
                    db.Append(b, t, t % 7 == 0 ? StaleMarker.Value : t / 1000.0);
                }
            }

            if ((t - from) % 7_000 == 0)
            {
                db.Append(c, t, 20 + ((t / 7_000) % 13 * 0.1));
            }

            if ((t - from) % 60_000 == 0 && t >= from + (13 * Hour))
            {
                db.Append(d, t, 1);
            }
        }
    }

    private static string[] BlockDirs(string dir) =>
        Directory.GetDirectories(Path.Combine(dir, "blocks")).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToArray();

    private static long BlockBytes(string dir) =>
        Directory.GetFiles(Path.Combine(dir, "blocks"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    [Fact]
    public void MergedBlocks_AnswerQueriesIdentically_AndSurviveReopen()
    {
        var from = T0 - (24 * Hour);
        var to = T0 + (30 * 60_000);
        List<SeriesSamples> expected;
        using (var plain = Open(Dir("plain"), TimeSpan.FromHours(2)))
        {
            Fill(plain, from, to);
            plain.Compact();
            Assert.Equal(12, plain.Stats.BlockCount);
            expected = All(plain);
        }

        using (var db = Open(Dir("merged"), TimeSpan.FromHours(24)))
        {
            Fill(db, from, to);
            db.Compact();

            // Twelve 2 h blocks -> four 6 h blocks -> one 24 h block.
            Assert.Equal(1, db.Stats.BlockCount);
            Assert.Equal([$"{from}-{T0}"], BlockDirs(Dir("merged")));
            AssertSame(expected, All(db));
            foreach (var (min, max) in new[] { (from + 1, from + (5 * Hour) + 17), (T0 - (3 * Hour) - 1, T0 + 60_000), (from + (11 * Hour), from + (13 * Hour)) })
            {
                using var reference = Open(Dir("plain"), TimeSpan.FromHours(2));
                AssertSame(All(reference, min, max), All(db, min, max));
            }

            Assert.True(BlockBytes(Dir("merged")) < BlockBytes(Dir("plain")), $"{BlockBytes(Dir("merged"))} vs {BlockBytes(Dir("plain"))} bytes");
        }

        using (var reopened = Open(Dir("merged"), TimeSpan.FromHours(24)))
        {
            Assert.True(reopened.Recovery.IsClean, string.Join("; ", reopened.Recovery.Problems));
            Assert.Equal(1, reopened.Stats.BlockCount);
            AssertSame(expected, All(reopened));
        }
    }

    [Fact]
    public void ABlockOnDisk_IsReadFromItsFileMapped_AndAChunkHeldOutlivesTheBlockAndItsFile()
    {
        // Regression (session 54): a block's chunk bytes were read into memory whole, so a store's resident memory grew
        // with every block it kept until retention (about 95 MB a day at 10 MW). Now they are the file mapped: the page
        // cache's, which the kernel may drop. A query holding a chunk keeps it mapped even once retention or a merge
        // dropped the block and deleted its file.
        List<SeriesSamples> expected;
        using (var db = Open(Dir("mapped"), TimeSpan.FromHours(2)))
        {
            Fill(db, T0 - (6 * Hour), T0 + 60_000);
            db.Compact();
            expected = All(db);
        }

        using (var reopened = Open(Dir("mapped"), TimeSpan.FromHours(2)))
        {
            AssertSame(expected, All(reopened));
        }

        var dir = Path.Combine(Dir("mapped"), "blocks", BlockDirs(Dir("mapped")).First());
        var (gone, memory, bytes) = HoldFirstChunk(dir);
        Directory.Delete(dir, true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(gone.IsAlive); // the block is collected; the memory alone holds its mapping
        Assert.Equal(bytes, memory.ToArray());
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (WeakReference Block, ReadOnlyMemory<byte> Memory, byte[] Bytes) HoldFirstChunk(string dir)
    {
        var block = Block.Load(dir, out var problem);
        Assert.True(block is not null, problem);
        Assert.True(block.ChunkData.IsMapped);
        Assert.Null(block.ChunkData.Array);
        var first = block.Series[0].Chunks[0];
        return (new WeakReference(block), block.ChunkMemory(first), block.Chunk(first).ToArray());
    }

    [Fact]
    public void AMergeOnDisk_WritesItsChunksAsItGoes_NotIntoMemory()
    {
        // Regression (session 59): aida run under a 1 GiB memory limit died of OutOfMemoryException in Block.Merge at
        // its first day's merge: the merged chunks were built in a buffer as large as the sources and then copied, so a
        // day's merge asked the heap for twice the day's chunk data at once.
        var from = T0 - (24 * Hour);
        using var db = Open(Dir("merged"), TimeSpan.FromHours(24));
        var ids = Enumerable.Range(0, 60).Select(i => db.GetOrCreateSeries(Labels.Metric("rack_power_watts", ("rack", $"r{i:00}")))).ToArray();
        void FillUntil(long start, long end)
        {
            for (var t = start; t < end; t += 10_000)
            {
                for (var i = 0; i < ids.Length; i++)
                {
                    db.Append(ids[i], t, Math.Round(90_000 + (7_000 * Math.Sin((t / 6e5) + i)), 1));
                }
            }
        }

        // Hour by hour, as a live run cuts: the day's 2 h blocks merge into 6 h ones as their windows complete.
        for (var h = 0; h < 24; h++)
        {
            FillUntil(from + (h * Hour), from + ((h + 1) * Hour));
            db.Compact();
        }

        FillUntil(T0, T0 + (Hour / 2));
        var before = GC.GetAllocatedBytesForCurrentThread();
        db.Compact(); // cuts 22-24 h, merges 18-24 h, then the day
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal([$"{from}-{T0}"], BlockDirs(Dir("merged")));
        var chunks = new FileInfo(Path.Combine(_root, "merged", "blocks", $"{from}-{T0}", "chunks")).Length;
        output.WriteLine($"the day's chunks {chunks:N0} bytes; the compaction that merged them allocated {allocated:N0}");
        Assert.True(allocated < chunks / 2, $"the compaction that merged the day allocated {allocated:N0} bytes for {chunks:N0} bytes of chunks");
        Assert.Equal(60 * 8640, All(db, from, T0 - 1).Sum(s => s.Samples.Count));
    }

    [Fact]
    public void MergedChunks_AreFull()
    {
        using var db = Open(Dir("merged"), TimeSpan.FromHours(24));
        Fill(db, T0 - (24 * Hour), T0 + 60_000);
        db.Compact();
        var block = Block.Load(Path.Combine(Dir("merged"), "blocks", BlockDirs(Dir("merged")).Single()), out var problem);
        Assert.NotNull(block);
        Assert.Null(problem);
        Assert.Equal(2, block.Version);
        Assert.Equal(3, block.Level);
        Assert.Equal(12 + 4, block.Sources.Count);
        foreach (var s in block.Series)
        {
            // Every chunk but a series' last holds the maximum, even for the 7 s series cut at every 2 h edge.
            foreach (var c in s.Chunks[..^1])
            {
                Assert.Equal(XorChunk.MaxSamples, XorChunk.CountOf(block.Chunk(c)));
            }
        }
    }

    [Fact]
    public void Merge_WaitsForTheWindowToBeComplete()
    {
        var from = T0 - (24 * Hour); // the clock stands at T0
        using var db = Open(null, TimeSpan.FromHours(24));
        Fill(db, from, from + (5 * Hour));
        db.Compact();

        // [from, from+4h) is cut into two blocks; their 6 h window is still open (the head holds from+4h on).
        Assert.Equal(2, db.Stats.BlockCount);
        Fill(db, from + (5 * Hour), from + (7 * Hour));
        db.Compact();
        Assert.Equal(1, db.Stats.BlockCount);
    }

    [Theory]
    [InlineData("all-sources-left")] // crashed after the rename, before deleting any source
    [InlineData("half-deleted-source")] // crashed while deleting a source's files
    [InlineData("temp-left")] // crashed before the rename: only the sources count
    public void CrashMidMerge_LeftoversAreResolvedOnReopen(string crash)
    {
        var from = T0 - (6 * Hour);
        var to = T0 + (10 * 60_000);
        List<SeriesSamples> expected;
        using (var plain = Open(Dir("plain"), TimeSpan.FromHours(2)))
        {
            Fill(plain, from, to);
            plain.Compact();
            expected = All(plain);
        }

        var sources = BlockDirs(Dir("plain"));
        Assert.Equal(3, sources.Length);
        using (var db = Open(Dir("merged"), TimeSpan.FromHours(6)))
        {
            Fill(db, from, to);
            db.Compact();
            Assert.Equal(1, db.Stats.BlockCount);
        }

        var blocks = Path.Combine(Dir("merged"), "blocks");
        var merged = BlockDirs(Dir("merged")).Single();
        foreach (var s in sources)
        {
            CopyDirectory(Path.Combine(Dir("plain"), "blocks", s), Path.Combine(blocks, s));
        }

        switch (crash)
        {
            case "half-deleted-source":
                Directory.Delete(Path.Combine(blocks, sources[0]), true);
                File.Delete(Path.Combine(blocks, sources[1], "meta.json"));
                break;
            case "temp-left":
                File.Delete(Path.Combine(blocks, merged, "meta.json")); // a temporary directory is never complete
                Directory.Move(Path.Combine(blocks, merged), Path.Combine(blocks, ".tmp-" + merged));
                break;
        }

        using (var reopened = Open(Dir("merged"), TimeSpan.FromHours(6)))
        {
            Assert.True(reopened.Recovery.IsClean, string.Join("; ", reopened.Recovery.Problems));
            AssertSame(expected, All(reopened));
            if (crash == "temp-left")
            {
                Assert.Equal(sources, BlockDirs(Dir("merged")));
                Assert.Equal(3, reopened.Stats.BlockCount);

                // The next compaction merges them again.
                reopened.Compact();
                Assert.Equal(1, reopened.Stats.BlockCount);
                AssertSame(expected, All(reopened));
            }
            else
            {
                Assert.Equal([merged], BlockDirs(Dir("merged")));
                Assert.Equal(1, reopened.Stats.BlockCount);
            }

            Assert.Equal(expected.Sum(s => s.Samples.Count), reopened.Stats.SampleCount);
        }

        Assert.False(Directory.Exists(Path.Combine(Dir("merged"), "corrupt")));
    }

    [Fact]
    public void Version1Blocks_StillLoad()
    {
        // A block as the version 1 writer laid it out: labels as strings, chunk references as int64 times.
        var chunk = new XorChunk();
        for (var i = 0; i < 10; i++)
        {
            chunk.Append(T0 + (i * 1000), i * 1.5);
        }

        var chunks = chunk.Bytes.ToArray();
        using var index = new MemoryStream();
        using (var w = new BinaryWriter(index, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(0x58444941u);
            w.Write7BitEncodedInt(1);
            w.Write7BitEncodedInt(2);
            w.Write("__name__");
            w.Write("up");
            w.Write("job");
            w.Write("node");
            w.Write7BitEncodedInt(1);
            w.Write(T0);
            w.Write(T0 + 9000);
            w.Write7BitEncodedInt(0);
            w.Write7BitEncodedInt(chunks.Length);
        }

        var indexBytes = index.ToArray();
        var dir = Path.Combine(Dir("v1"), "blocks", $"{T0}-{T0 + (2 * Hour)}");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "chunks"), chunks);
        File.WriteAllBytes(Path.Combine(dir, "index"), indexBytes);
        var meta = string.Create(CultureInfo.InvariantCulture,
            $"{{\"version\": 1, \"minTime\": {T0}, \"maxTime\": {T0 + (2 * Hour)}, \"stats\": {{\"numSeries\": 1, \"numChunks\": 1, \"numSamples\": 10}}, ")
            + string.Create(CultureInfo.InvariantCulture,
            $"\"files\": {{\"chunks\": {{\"size\": {chunks.Length}, \"crc32c\": {Crc32C.Compute(chunks)}}}, \"index\": {{\"size\": {indexBytes.Length}, \"crc32c\": {Crc32C.Compute(indexBytes)}}}}}}}");
        File.WriteAllText(Path.Combine(dir, "meta.json"), meta);

        using var db = Open(Dir("v1"), TimeSpan.FromHours(24));
        Assert.True(db.Recovery.IsClean, string.Join("; ", db.Recovery.Problems));
        var series = All(db).Single();
        Assert.Equal(Labels.Metric("up", ("job", "node")), series.Labels);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (T0 + (i * 1000), i * 1.5)), series.Samples.Select(s => (s.TimestampMs, s.Value)));
    }

    [Fact]
    public void BytesPerSample_OnTwinLikeData_Improve()
    {
        // GPU series as the twin exports them: seven labels, 30 s, a day.
        const int gpus = 96;
        var from = T0 - (24 * Hour);
        var to = T0 + 30_000;
        double Measure(string name, TimeSpan maxBlock)
        {
            var random = new Random(7);
            using var db = Open(Dir(name), maxBlock);
            var ids = Enumerable.Range(0, gpus).Select(i => db.GetOrCreateSeries(Labels.Metric("DCGM_FI_DEV_GPU_TEMP",
                ("UUID", $"GPU-{new Guid(random.NextBytes16()):D}"), ("Hostname", $"node-{i / 8:D4}.hall-a.example"), ("gpu", (i % 8).ToString(CultureInfo.InvariantCulture)),
                ("device", $"nvidia{i % 8}"), ("modelName", "NVIDIA H100 80GB HBM3"), ("rack", $"rack-{i / 32:D3}"), ("job", "dcgm-exporter")))).ToArray();
            var values = ids.Select(_ => 55.0).ToArray();
            for (var t = from; t < to; t += 30_000)
            {
                for (var i = 0; i < gpus; i++)
                {
                    values[i] = Math.Clamp(values[i] + random.Next(-1, 2), 30, 85);
                    db.Append(ids[i], t, values[i]);
                }
            }

            db.Compact();
            var stats = db.Stats;
            var perSample = BlockBytes(Dir(name)) / (double)(stats.SampleCount - stats.HeadSampleCount);
            output.WriteLine($"{name}: {stats.BlockCount} blocks, {perSample:F3} bytes/sample in blocks");
            return perSample;
        }

        var before = Measure("two-hour", TimeSpan.FromHours(2));
        var after = Measure("merged", TimeSpan.FromHours(24));
        Assert.True(after < before * 0.85, $"{after:F3} vs {before:F3} bytes/sample");
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}

internal static class RandomExtensions
{
    public static byte[] NextBytes16(this Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return bytes;
    }
}
