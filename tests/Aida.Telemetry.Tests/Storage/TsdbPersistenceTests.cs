using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Aida.Telemetry.Tests.Storage;

public sealed class TsdbPersistenceTests(ITestOutputHelper output) : IDisposable
{
    private const long Hour = 3_600_000;
    private static readonly long T0 = TsdbTests.T0;

    private readonly FakeTimeProvider _clock = new(TsdbTests.Start);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aida-tsdb-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, true);
        }
    }

    // Blocks are not merged unless a test asks (maxBlock): these tests look at blocks as cut from the head.
    private Tsdb Open(TimeSpan? block = null, TimeSpan? retention = null, TimeSpan? maxBlock = null) => new(new TsdbOptions
    {
        DataDirectory = _dir,
        Clock = _clock,
        BlockDuration = block ?? TimeSpan.FromHours(2),
        MaxBlockDuration = maxBlock ?? block ?? TimeSpan.FromHours(2),
        Retention = retention ?? TimeSpan.FromDays(15),
    });

    private static List<SeriesSamples> All(Tsdb db) => db.Select(long.MinValue, long.MaxValue, [new LabelMatcher("__name__", MatcherType.Regex, ".+")]).ToList();

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

    private static void Fill(Tsdb db, long from, long to, long step = 10_000)
    {
        var a = db.GetOrCreateSeries(Labels.Metric("gpu_power_watts", ("gpu", "0")));
        var b = db.GetOrCreateSeries(Labels.Metric("gpu_power_watts", ("gpu", "1")));
        for (var t = from; t < to; t += step)
        {
            Assert.Equal(AppendStatus.Ok, db.Append(a, t, Math.Round(300 + Math.Sin(t / 1e6), 1)));
            Assert.Equal(AppendStatus.Ok, db.Append(b, t, t % 7 == 0 ? StaleMarker.Value : t / 1000.0));
        }
    }

    [Fact]
    public void Reopen_ReplaysTheWal()
    {
        List<SeriesSamples> before;
        using (var db = Open())
        {
            Fill(db, T0 - Hour, T0);
            before = All(db);
        }

        using var reopened = Open();
        AssertSame(before, All(reopened));
        Assert.True(reopened.Recovery.IsClean, string.Join("; ", reopened.Recovery.Problems));
        Assert.Equal(before.Sum(s => s.Samples.Count), reopened.Recovery.WalSamplesReplayed);
        Assert.Equal(AppendStatus.Duplicate, reopened.Append(0, before[0].Samples[^1].TimestampMs, before[0].Samples[^1].Value));
    }

    [Fact]
    public void Reopen_ReplaysAWalOfManySeries()
    {
        // Regression: replay grew the series array (64, 128, ...) while indexing the array it had read before growing it,
        // so a WAL naming more than 64 series not yet in blocks threw IndexOutOfRangeException on open.
        List<SeriesSamples> before;
        using (var db = Open())
        {
            for (var i = 0; i < 300; i++)
            {
                var id = db.GetOrCreateSeries(Labels.Metric("m", ("i", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
                Assert.Equal(AppendStatus.Ok, db.Append(id, T0 - i, i));
            }

            before = All(db);
        }

        using var reopened = Open();
        Assert.True(reopened.Recovery.IsClean, string.Join("; ", reopened.Recovery.Problems));
        Assert.Equal(300, reopened.Stats.SeriesCount);
        AssertSame(before, All(reopened));
    }

    [Fact]
    public void Wal_IsFlushedWhenTheIntervalHasElapsedAtTheNextAppend()
    {
        using var db = Open();
        var s = db.GetOrCreateSeries(Labels.Metric("up"));
        var flushes = db.Stats.WalFlushes;
        db.Append(s, T0, 1);
        Assert.Equal(flushes, db.Stats.WalFlushes);
        _clock.Advance(TimeSpan.FromSeconds(1));
        db.Append(s, T0 + 1, 2);
        Assert.Equal(flushes + 1, db.Stats.WalFlushes);
        db.Append(s, T0 + 2, 3);

        // What a crash now would leave: the files as they are, without the buffered third sample.
        var copy = _dir + "-copy";
        CopyDirectory(_dir, copy);
        try
        {
            using var crashed = new Tsdb(new TsdbOptions { DataDirectory = copy, Clock = _clock });
            Assert.Equal([new Sample(T0, 1), new Sample(T0 + 1, 2)], All(crashed).Single().Samples);
        }
        finally
        {
            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public void Wal_BigBatchesReachTheFileBetweenFlushes_WithoutAnFsync()
    {
        // More than the WAL's 4 MiB in-memory bound (20 bytes a sample): the full records are set aside during the append
        // and written once the store's lock is released; only the flush interval brings an fsync.
        using var db = Open();
        const int Series = 1000;
        var ids = Enumerable.Range(0, Series).Select(i => db.GetOrCreateSeries(Labels.Metric("m", ("i", i.ToString(System.Globalization.CultureInfo.InvariantCulture))))).ToArray();
        var flushes = db.Stats.WalFlushes;
        var before = db.Stats.BytesOnDisk;
        var timestamps = new long[Series];
        var values = new double[Series];
        for (var round = 0; round < 300; round++)
        {
            Array.Fill(timestamps, T0 - Hour + round);
            Array.Fill(values, round);
            Assert.Equal(Series, db.AppendBatch(ids, timestamps, values));
        }

        Assert.Equal(flushes, db.Stats.WalFlushes);
        Assert.True(db.Stats.BytesOnDisk - before >= 4 << 20, $"{db.Stats.BytesOnDisk - before} bytes written");

        _clock.Advance(TimeSpan.FromSeconds(1));
        Array.Fill(timestamps, T0);
        db.AppendBatch(ids, timestamps, values);
        Assert.Equal(flushes + 1, db.Stats.WalFlushes);
        var copy = _dir + "-copy";
        CopyDirectory(_dir, copy);
        try
        {
            using var crashed = new Tsdb(new TsdbOptions { DataDirectory = copy, Clock = _clock });
            Assert.Equal(Series * 301, crashed.Stats.SampleCount);
        }
        finally
        {
            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public async Task Wal_ConcurrentAppendsAndNewSeries_ReplayInFull()
    {
        // Flushing on every append, from several threads: each thread's records must reach the file in the order they were
        // logged (a series record before its samples, a series' samples in time order) or replay would drop or refuse them.
        var options = new TsdbOptions { DataDirectory = _dir, Clock = _clock, WalFlushInterval = TimeSpan.Zero };
        const int Threads = 3, SeriesPerThread = 20, Rounds = 30;
        using (var db = new Tsdb(options))
        {
            var writers = Enumerable.Range(0, Threads).Select(w => Task.Run(() =>
            {
                var ids = new List<int>();
                for (var round = 0; round < Rounds; round++)
                {
                    if (round < SeriesPerThread)
                    {
                        ids.Add(db.GetOrCreateSeries(Labels.Metric("m", ("writer", w.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("n", round.ToString(System.Globalization.CultureInfo.InvariantCulture)))));
                    }

                    var timestamps = Enumerable.Repeat(T0 - Hour + round, ids.Count).ToArray();
                    var values = Enumerable.Repeat((double)round, ids.Count).ToArray();
                    Assert.Equal(ids.Count, db.AppendBatch([.. ids], timestamps, values));
                }
            })).ToList();
            writers.Add(Task.Run(() =>
            {
                for (var i = 0; i < 20; i++)
                {
                    db.Flush();
                    Assert.True(db.Stats.BytesOnDisk >= 0);
                }
            }));
            await Task.WhenAll(writers);

            // Every append flushed before it returned: a crash now loses nothing.
            var copy = _dir + "-copy";
            CopyDirectory(_dir, copy);
            try
            {
                using var crashed = new Tsdb(options with { DataDirectory = copy });
                Assert.True(crashed.Recovery.IsClean, string.Join("; ", crashed.Recovery.Problems));
                Assert.Equal(db.Stats.SampleCount, crashed.Stats.SampleCount);
                AssertSame(All(db), All(crashed));
            }
            finally
            {
                Directory.Delete(copy, true);
            }
        }
    }

    [Theory]
    [InlineData(false)] // garbage appended after the last record: a torn header
    [InlineData(true)] // the last record's bytes overwritten: a CRC failure
    public void Wal_TornOrCorruptTail_IsTruncatedAndReported(bool overwrite)
    {
        List<SeriesSamples> firstBatch;
        using (var db = Open())
        {
            Fill(db, T0 - Hour, T0 - (Hour / 2));
            db.Flush();
            firstBatch = All(db);
            Fill(db, T0 - (Hour / 2), T0);
        }

        var segment = Directory.GetFiles(Path.Combine(_dir, "wal")).Order(StringComparer.Ordinal).Last();
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.Seek(overwrite ? -5 : 0, SeekOrigin.End);
            file.Write([0xde, 0xad, 0xbe, 0xef, 0x42]);
        }

        using (var db = Open())
        {
            Assert.True(db.Recovery.WalBytesTruncated > 0);
            Assert.Contains(db.Recovery.Problems, p => p.Contains("truncated", StringComparison.Ordinal));
            var after = All(db);
            if (overwrite)
            {
                AssertSame(firstBatch, after);
            }
            else
            {
                Assert.Equal(5, db.Recovery.WalBytesTruncated);
                Assert.Equal(2 * 360, after.Sum(s => s.Samples.Count));
            }
        }

        using var again = Open();
        Assert.True(again.Recovery.IsClean);
    }

    [Fact]
    public void Compaction_WritesBlocks_AndQueriesSpanBlocksAndHeadAfterReopen()
    {
        var start = TsdbTests.BlockStart(T0, 2 * Hour) - (6 * Hour);
        List<SeriesSamples> before;
        using (var db = Open())
        {
            Fill(db, start, T0);
            Fill(db, T0, T0 + 60_000);
            before = All(db);
            Assert.Equal(3, db.Compact());
            AssertSame(before, All(db));
            Assert.Equal(3, db.Stats.BlockCount);
            Assert.Equal(before.Sum(s => s.Samples.Count), db.Stats.SampleCount);
            Assert.Equal(12, db.Stats.HeadSampleCount);
        }

        var blocks = Directory.GetDirectories(Path.Combine(_dir, "blocks")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, blocks.Count);
        Assert.Contains($"{start}-{start + (2 * Hour)}", blocks);
        Assert.All(blocks, b => Assert.True(File.Exists(Path.Combine(_dir, "blocks", b!, "meta.json"))));

        using var reopened = Open();
        Assert.True(reopened.Recovery.IsClean, string.Join("; ", reopened.Recovery.Problems));
        Assert.Equal(3, reopened.Recovery.BlocksLoaded);
        AssertSame(before, All(reopened));
        var span = reopened.Select(T0 - 30_000, T0 + 30_000, [new LabelMatcher("gpu", MatcherType.Equal, "0")]).Single();
        Assert.Equal(7, span.Samples.Count); // 3 from the last block, 4 from the head
        Assert.Equal(AppendStatus.OutOfBounds, reopened.Append(0, T0 - 1, 1));
        Assert.True(reopened.Stats.BytesOnDisk > 0);
    }

    [Fact]
    public void Compaction_TruncatesTheWalToTheHead()
    {
        var start = TsdbTests.BlockStart(T0, 2 * Hour) - (4 * Hour);
        using (var db = Open())
        {
            Fill(db, start, T0);
            Fill(db, T0, T0 + 30_000);
            db.Flush();
            db.Compact();
        }

        using var reopened = Open();
        // Only the head's 3 samples x 2 series come back from the WAL; the rest is in blocks.
        Assert.Equal(6, reopened.Recovery.WalSamplesReplayed);
        Assert.Equal(2, reopened.Recovery.BlocksLoaded);
    }

    [Fact]
    public void CorruptBlock_IsMovedAsideAndNotServed()
    {
        var start = TsdbTests.BlockStart(T0, 2 * Hour) - (4 * Hour);
        using (var db = Open())
        {
            Fill(db, start, T0);
            Fill(db, T0, T0 + 30_000);
            db.Compact();
        }

        var victim = Path.Combine(_dir, "blocks", $"{start}-{start + (2 * Hour)}");
        var chunks = Path.Combine(victim, "chunks");
        var bytes = File.ReadAllBytes(chunks);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(chunks, bytes);

        using var reopened = Open();
        Assert.Equal([$"{start}-{start + (2 * Hour)}"], reopened.Recovery.CorruptBlocks);
        Assert.False(Directory.Exists(victim));
        Assert.True(Directory.Exists(Path.Combine(_dir, "corrupt", Path.GetFileName(victim))));
        Assert.Equal(1, reopened.Stats.BlockCount);
        Assert.All(All(reopened), s => Assert.True(s.Samples[0].TimestampMs >= start + (2 * Hour)));
    }

    [Fact]
    public void Retention_DeletesBlocksEndingBeforeNewestDataMinusRetention()
    {
        var start = TsdbTests.BlockStart(T0, Hour) - (4 * Hour);
        using var db = Open(TimeSpan.FromHours(1), TimeSpan.FromHours(3));
        Fill(db, start, T0);
        // Blocks [T0-4h, T0-3h), [T0-3h, T0-2h), [T0-2h, T0-1h); all end within 3 h of the newest sample and stay.
        Assert.Equal(3, db.Compact());
        Assert.Equal(3, db.Stats.BlockCount);
        Assert.Equal(0, db.ApplyRetention());

        // As Prometheus, retention counts back from the newest data: 90 more minutes of it age out two blocks.
        _clock.Advance(TimeSpan.FromMinutes(90));
        Fill(db, T0, T0 + (90 * 60_000));
        Assert.Equal(2, db.ApplyRetention());
        Assert.Single(Directory.GetDirectories(Path.Combine(_dir, "blocks")));
        Assert.All(All(db), s => Assert.Equal(start + (2 * Hour), s.Samples[0].TimestampMs));
    }

    [Fact]
    public void Reopening_Later_KeepsOldData()
    {
        // Regression: retention measured from the wall clock deleted a simulated run's store when it was queried later.
        var start = TsdbTests.BlockStart(T0, Hour) - (4 * Hour);
        using (var db = Open(TimeSpan.FromHours(1), TimeSpan.FromHours(3)))
        {
            Fill(db, start, T0);
            db.Compact();
        }

        _clock.Advance(TimeSpan.FromDays(400));
        using var reopened = Open(TimeSpan.FromHours(1), TimeSpan.FromHours(3));
        Assert.Equal(3, reopened.Stats.BlockCount);
    }

    [Fact]
    public void BytesPerSample_OnRealisticData()
    {
        const int seriesCount = 200;
        var random = new Random(42);
        var values = new double[seriesCount];
        for (var i = 0; i < seriesCount; i++)
        {
            values[i] = Math.Round(30 + (random.NextDouble() * 50), 1);
        }

        var start = TsdbTests.BlockStart(T0, 2 * Hour) - (24 * Hour);
        using var db = Open();
        var ids = Enumerable.Range(0, seriesCount)
            .Select(i => db.GetOrCreateSeries(Labels.Metric("gpu_temp_celsius", ("gpu", (i % 8).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("node", $"n{i / 8:D3}"))))
            .ToArray();
        long samples = 0;
        for (var t = start; t < T0; t += 10_000)
        {
            for (var i = 0; i < seriesCount; i++)
            {
                // Slowly varying: a small random walk, rounded to 0.1 as exporters report temperatures.
                if (random.Next(4) == 0)
                {
                    values[i] = Math.Round(values[i] + ((random.Next(3) - 1) * 0.1), 1);
                }

                db.Append(ids[i], t, values[i]);
                samples++;
            }
        }

        db.Compact();
        var chunkBytes = Directory.GetDirectories(Path.Combine(_dir, "blocks")).Sum(b => new FileInfo(Path.Combine(b, "chunks")).Length);
        var stats = db.Stats;
        var compacted = stats.SampleCount - stats.HeadSampleCount;
        var perSample = chunkBytes / (double)compacted;
        output.WriteLine($"{samples} samples in {seriesCount} series over 24 h at 10 s: chunks {perSample:F2} B/sample ({compacted} compacted), everything on disk (chunks, index, meta, WAL) {stats.BytesOnDisk / (double)samples:F2} B/sample");
        Assert.Equal(samples, stats.SampleCount);
        Assert.True(perSample < 3, $"{perSample:F2} bytes per sample");
    }

    /// <summary>Every file under the directory with its length and contents' hash: what "nothing changed on disk" compares.</summary>
    private Dictionary<string, (long Length, string Hash)> DiskState() => Directory.GetFiles(_dir, "*", SearchOption.AllDirectories)
        .Where(f => Path.GetFileName(f) != "lock")
        .ToDictionary(f => Path.GetRelativePath(_dir, f), f => (new FileInfo(f).Length, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))));

    private Tsdb OpenReadOnly() => new(new TsdbOptions { DataDirectory = _dir, Clock = _clock, ReadOnly = true, Retention = TimeSpan.FromDays(3650) });

    [Fact]
    public void ReadOnly_WhileAWriterRuns_ReadsWhatItFlushed_AndTheWriterLosesNothing()
    {
        _clock.Advance(TimeSpan.FromHours(8));
        // Regression: `aida query --data DIR` on a running simulation's store opened it writable, truncated the WAL
        // segment being written, checkpointed into the next segment and deleted the writer's: the simulation then died
        // at its next segment ("Cannot access a closed file").
        var writer = Open(maxBlock: TimeSpan.FromHours(6));
        Fill(writer, T0, T0 + (5 * Hour));
        writer.Compact();
        Fill(writer, T0 + (5 * Hour), T0 + (6 * Hour));
        writer.Flush();
        var flushed = All(writer);

        // Records appended after the flush are still in memory; a torn record the writer is in the middle of appending
        // is at the end of its segment.
        var a = writer.GetOrCreateSeries(Labels.Metric("gpu_power_watts", ("gpu", "0")));
        writer.Append(a, T0 + (6 * Hour), 1);
        var segment = Directory.GetFiles(Path.Combine(_dir, "wal")).Order(StringComparer.Ordinal).Last();
        using (var torn = new FileStream(segment, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        {
            torn.Write([200, 0, 0, 0, 1, 2, 3]);
        }

        var before = DiskState();
        using (var reader = OpenReadOnly())
        {
            AssertSame(flushed, All(reader));
            Assert.Contains(reader.Recovery.Problems, p => p.Contains("read-only", StringComparison.Ordinal));
        }

        Assert.Equal(before, DiskState());

        // The writer goes on (cutting the torn bytes' segment loose is the writer's own business at its next open).
        writer.Append(a, T0 + (6 * Hour) + 10_000, 2);
        writer.Flush();
        writer.Compact();
        var final = All(writer);
        writer.Dispose();
        using var reopened = Open(maxBlock: TimeSpan.FromHours(6));
        AssertSame(final, All(reopened));
    }

    [Fact]
    public void SecondWriter_IsRefusedNamingTheDirectory_AndTheFirstKeepsItsWal()
    {
        _clock.Advance(TimeSpan.FromHours(8));
        using var first = Open();
        Fill(first, T0, T0 + Hour);
        first.Flush();
        var e = Assert.Throws<StoreLockedException>(() => Open());
        Assert.Contains(_dir, e.Message, StringComparison.Ordinal);
        Assert.Contains("read-only", e.Message, StringComparison.Ordinal);

        Fill(first, T0 + Hour, T0 + (2 * Hour));
        first.Flush();
        var expected = All(first);
        first.Dispose();

        // Released on dispose (and by the operating system when a process dies).
        using var again = Open();
        AssertSame(expected, All(again));
    }

    [Fact]
    public void ReadOnly_RefusesAppendsFlushesAndCompaction()
    {
        _clock.Advance(TimeSpan.FromHours(8));
        using (var writer = Open())
        {
            Fill(writer, T0, T0 + Hour);
        }

        using var reader = OpenReadOnly();
        var id = 0;
        Assert.Throws<InvalidOperationException>(() => reader.GetOrCreateSeries(Labels.Metric("new_series")));
        Assert.Throws<InvalidOperationException>(() => reader.Append(id, T0 + Hour, 1));
        Assert.Throws<InvalidOperationException>(() => reader.AppendBatch([id], [T0 + Hour], [1.0]));
        Assert.Throws<InvalidOperationException>(reader.Flush);
        var e = Assert.Throws<InvalidOperationException>(() => reader.Compact());
        Assert.Contains("read-only", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => reader.ApplyRetention());
        Assert.Equal(2, All(reader).Count);
    }

    [Fact]
    public void ReadOnly_LeavesACorruptBlockAndACompactionLeftoverInPlace()
    {
        _clock.Advance(TimeSpan.FromHours(8));
        using (var writer = Open())
        {
            Fill(writer, T0, T0 + (5 * Hour));
            writer.Compact();
        }

        var blocks = Directory.GetDirectories(Path.Combine(_dir, "blocks")).Order(StringComparer.Ordinal).ToList();
        File.WriteAllBytes(Path.Combine(blocks[0], "chunks"), [1, 2, 3]);
        Directory.CreateDirectory(Path.Combine(_dir, "blocks", ".tmp-in-progress"));
        var before = DiskState();
        var dirs = Directory.GetDirectories(_dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        using (var reader = OpenReadOnly())
        {
            Assert.Equal([Path.GetFileName(blocks[0])], reader.Recovery.CorruptBlocks);
            Assert.Equal(blocks.Count - 1, reader.Recovery.BlocksLoaded);
        }

        Assert.Equal(before, DiskState());
        Assert.Equal(dirs, Directory.GetDirectories(_dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>What a crash leaves on disk: the files, but no lock held (the operating system drops a dead process's
    /// lock, and the open store's lock file cannot even be read while it is held).</summary>
    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from).Where(f => Path.GetFileName(f) != "lock"))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.GetDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}
