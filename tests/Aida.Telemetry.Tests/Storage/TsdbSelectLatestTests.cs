using System.Globalization;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Storage;

/// <summary>A series' newest sample in a range (what an instant selector reads) is the last sample a select of the same
/// range returns: in the head and in blocks, with staleness markers, gaps longer than the lookback and overlapping
/// blocks.</summary>
public sealed class TsdbSelectLatestTests : IDisposable
{
    private const long Minute = 60_000;
    private const long Hour = 3_600_000;
    private const long Lookback = 5 * Minute;
    private static readonly long T0 = TsdbTests.T0; // a UTC midnight: block windows align with it
    private static readonly LabelMatcher[] AnyM = [LabelMatcher.MetricName("m")];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "aida-tsdb-latest-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, true);
        }
    }

    /// <summary>Appends <paramref name="seriesCount"/> series <c>m{i, g}</c> over [<paramref name="from"/>,
    /// <paramref name="to"/>): each starts at a random time, mostly every 5 to 30 s, sometimes after a gap of 30 s to
    /// 4 min or of 5 to 12 min (longer than the lookback); one value in ten is a staleness marker, one in fifty a plain
    /// NaN. Timestamps are multiples of 5 s, so two fills of the same series often share some. Returns every timestamp
    /// written.</summary>
    internal static List<long> FillRandomly(Tsdb db, Random random, int seriesCount, long from, long to)
    {
        var written = new List<long>();
        for (var i = 0; i < seriesCount; i++)
        {
            var id = db.GetOrCreateSeries(Labels.Metric("m", ("i", i.ToString(CultureInfo.InvariantCulture)), ("g", (i % 4).ToString(CultureInfo.InvariantCulture))));
            for (var t = from + (5_000 * random.Next(0, 120)); t < to; t += 5_000 * (random.NextDouble() switch
            {
                < 0.7 => random.Next(1, 7),
                < 0.9 => random.Next(6, 49),
                _ => random.Next(60, 145),
            }))
            {
                var value = random.NextDouble() switch
                {
                    < 0.1 => StaleMarker.Value,
                    < 0.12 => double.NaN,
                    var x => Math.Round(x * 100, 1),
                };
                Assert.Equal(AppendStatus.Ok, db.Append(id, t, value));
                written.Add(t);
            }
        }

        return written;
    }

    /// <summary>Instants to read at: random ones over the data and around it, block edges and either side of them,
    /// sample times, and a lookback after sample times (the oldest instant that still sees them) and a millisecond
    /// more.</summary>
    internal static List<long> Instants(Random random, List<long> written, long from, long to)
    {
        var instants = new List<long>();
        for (var k = 0; k < 40; k++)
        {
            instants.Add(from - (10 * Minute) + (long)(random.NextDouble() * (to - from + (20 * Minute))));
        }

        for (var edge = from; edge <= to; edge += 2 * Hour)
        {
            instants.AddRange([edge - 1, edge, edge + 1]);
        }

        for (var k = 0; k < 20; k++)
        {
            var t = written[random.Next(written.Count)];
            instants.AddRange([t, t - 1, t + Lookback, t + Lookback + 1]);
        }

        return instants;
    }

    /// <summary>What the general select says: each series' last sample in [t - lookback, t].</summary>
    private static List<LatestSample> LastOfSelect(Tsdb db, long t) =>
        db.Select(t - Lookback, t, AnyM).Select(s => new LatestSample(s.Labels, s.Samples[^1])).ToList();

    private static List<LatestSample> SelectLatest(Tsdb db, long t) => ((ILatestSampleSource)db).SelectLatest(t - Lookback, t, AnyM);

    private static void AssertSame(List<LatestSample> expected, List<LatestSample> actual, long t)
    {
        Assert.True(expected.Count == actual.Count, $"at {t}: {expected.Count} series expected, {actual.Count} selected");
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Labels, actual[i].Labels);
            Assert.True(Bits(expected[i].Sample) == Bits(actual[i].Sample), $"at {t}, {expected[i].Labels}: {expected[i].Sample} expected, {actual[i].Sample} selected");
        }
    }

    /// <summary>A sample as its timestamp and its value's bits, compared bit for bit (NaN and staleness markers too).</summary>
    internal static (long, ulong) Bits(Sample s) => (s.TimestampMs, BitConverter.DoubleToUInt64Bits(s.Value));

    [Fact]
    public void SelectLatest_OverRandomSeriesInBlocksAndHead_IsTheLastSampleOfSelect()
    {
        var random = new Random(20261205);
        var from = T0 - (7 * Hour);
        var to = T0 + (50 * Minute);
        var options = new TsdbOptions { Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(to)), MaxBlockDuration = TimeSpan.FromHours(6) };
        using var db = new Tsdb(options);
        var written = FillRandomly(db, random, 150, from, to);

        // The windows before T0 go to blocks (a 2 h one, and three merged into [T0 - 6 h, T0)); the head keeps sealed
        // chunks (120 samples each) and an open one after T0.
        db.Compact();
        Assert.Equal(2, db.Stats.BlockCount);
        foreach (var t in Instants(random, written, from, to))
        {
            AssertSame(LastOfSelect(db, t), SelectLatest(db, t), t);
        }
    }

    [Fact]
    public void SelectLatest_HeadOnly_IsTheLastSampleOfSelect()
    {
        var random = new Random(35);
        var from = T0 - (50 * Minute);
        var to = T0;
        using var db = new Tsdb(new TsdbOptions { Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(to)) });
        var written = FillRandomly(db, random, 150, from, to);
        Assert.Equal(0, db.Stats.BlockCount);
        foreach (var t in Instants(random, written, from, to))
        {
            AssertSame(LastOfSelect(db, t), SelectLatest(db, t), t);
        }
    }

    /// <summary>Copies the blocks of the store in <paramref name="from"/> beside those of the store in <paramref name="to"/>.</summary>
    private static void CopyBlocks(string from, string to)
    {
        foreach (var block in Directory.GetDirectories(Path.Combine(from, "blocks")))
        {
            var copy = Path.Combine(to, "blocks", Path.GetFileName(block));
            Directory.CreateDirectory(copy);
            foreach (var file in Directory.GetFiles(block))
            {
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            }
        }
    }

    [Fact]
    public void SelectLatest_OverOverlappingBlocks_KeepsTheSampleTheMergeKeeps()
    {
        // Two stores fill the same series differently; one's 1 h blocks are copied beside the other's 2 h blocks, so the
        // reopened store walks overlapping blocks, often with the same timestamp in both (the merge keeps the first met).
        var from = T0 - (6 * Hour);
        var to = T0 + (30 * Minute);
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(to));
        var twoHourly = Path.Combine(_root, "two-hourly");
        var hourly = Path.Combine(_root, "hourly");
        List<long> written;
        using (var db = new Tsdb(new TsdbOptions { DataDirectory = twoHourly, Clock = clock, MaxBlockDuration = TimeSpan.FromHours(2) }))
        {
            written = FillRandomly(db, new Random(7), 60, from, to);
            db.Compact();
        }

        using (var db = new Tsdb(new TsdbOptions { DataDirectory = hourly, Clock = clock, BlockDuration = TimeSpan.FromHours(1), MaxBlockDuration = TimeSpan.FromHours(1) }))
        {
            written.AddRange(FillRandomly(db, new Random(8), 60, from + (90 * Minute), T0));
            db.Append(db.GetOrCreateSeries(Labels.Metric("cut")), T0, 1); // so every window before T0 is compacted
            db.Compact();
        }

        CopyBlocks(hourly, twoHourly);

        using var merged = new Tsdb(new TsdbOptions { DataDirectory = twoHourly, Clock = clock, ReadOnly = true, MaxBlockDuration = TimeSpan.FromHours(2) });
        Assert.Equal(3 + 5, merged.Stats.BlockCount);
        var random = new Random(9);
        foreach (var t in Instants(random, written, from, to))
        {
            AssertSame(LastOfSelect(merged, t), SelectLatest(merged, t), t);
        }
    }

    [Fact]
    public void SelectLatest_WithABlockCopiedInReachingPastTheHeadsSamples_IsTheLastSampleOfSelect()
    {
        // A block copied in from another store holds the same series past the head's last samples (a backfill, or
        // blocks from elsewhere): the reopened store reads the block, whose samples are newer, not the head's last.
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + (2 * Hour)));
        var headOnly = Path.Combine(_root, "head");
        var later = Path.Combine(_root, "later");
        List<long> written;
        using (var db = new Tsdb(new TsdbOptions { DataDirectory = headOnly, Clock = clock }))
        {
            written = FillRandomly(db, new Random(11), 60, T0 - (30 * Minute), T0 + (10 * Minute));
        }

        using (var db = new Tsdb(new TsdbOptions { DataDirectory = later, Clock = clock, BlockDuration = TimeSpan.FromHours(1), MaxBlockDuration = TimeSpan.FromHours(1) }))
        {
            written.AddRange(FillRandomly(db, new Random(12), 60, T0 + (5 * Minute), T0 + Hour));
            db.Append(db.GetOrCreateSeries(Labels.Metric("cut")), T0 + Hour, 1); // so [T0, T0 + 1 h) is compacted
            db.Compact();
            Assert.Equal(1, db.Stats.BlockCount);
        }

        CopyBlocks(later, headOnly);

        using var merged = new Tsdb(new TsdbOptions { DataDirectory = headOnly, Clock = clock, ReadOnly = true });
        Assert.Equal(1, merged.Stats.BlockCount);
        var random = new Random(13);
        foreach (var t in Instants(random, written, T0 - (30 * Minute), T0 + Hour))
        {
            AssertSame(LastOfSelect(merged, t), SelectLatest(merged, t), t);
        }
    }
}
