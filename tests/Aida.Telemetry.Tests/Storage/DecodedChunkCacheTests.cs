using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Storage;

/// <summary>The decoded-chunk cache: the same samples as decoding, within its budget, never stale, safe under
/// concurrent queries, off at 0.</summary>
public sealed class DecodedChunkCacheTests
{
    private const long Hour = 3_600_000;
    private static readonly long T0 = TsdbTests.T0;
    private static readonly LabelMatcher[] Everything = [new("__name__", MatcherType.Regex, ".+")];

    // Far enough ahead that a few days of samples from T0 are never in the future.
    private readonly FakeTimeProvider _clock = new(TsdbTests.Start.AddDays(30));

    private Tsdb Open(long cacheBytes, TimeSpan? retention = null) => new(new TsdbOptions
    {
        Clock = _clock,
        DecodedChunkCacheBytes = cacheBytes,
        Retention = retention ?? TimeSpan.FromDays(15),
    });

    /// <summary>Random series: regular and jittered intervals, gaps, counters and gauges, NaN, infinities and staleness
    /// markers, one sample or thousands.</summary>
    private static void Fill(Random random, long from, long to, params Tsdb[] stores)
    {
        var series = random.Next(1, 12);
        for (var s = 0; s < series; s++)
        {
            var labels = Labels.Metric("m" + (s % 3), ("s", s.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var ids = stores.Select(db => db.GetOrCreateSeries(labels)).ToArray();
            var interval = random.Next(1, 4) switch { 1 => 5_000L, 2 => 10_000L, _ => 37_000L };
            var jitter = random.Next(2) == 0 ? 0 : random.Next(1, 500);
            var t = from + random.Next(0, 600_000);
            var value = random.NextDouble() * 1000;
            while (t < to)
            {
                value = random.Next(50) switch
                {
                    0 => double.NaN,
                    1 => StaleMarker.Value,
                    2 => double.PositiveInfinity,
                    3 => 0,
                    _ => value + (random.NextDouble() * 10),
                };
                for (var i = 0; i < stores.Length; i++)
                {
                    Assert.Equal(AppendStatus.Ok, stores[i].Append(ids[i], t, value));
                }

                t += interval + (jitter == 0 ? 0 : random.Next(-jitter, jitter + 1));
                if (random.Next(400) == 0)
                {
                    t += random.Next(1, 4) * Hour;
                }
            }
        }
    }

    private static List<(Labels Labels, (long, ulong)[] Samples)> Bits(IEnumerable<SeriesSamples> selected) =>
        [.. selected.Select(s => (s.Labels, s.Samples.Select(p => (p.TimestampMs, BitConverter.DoubleToUInt64Bits(p.Value))).ToArray()))];

    /// <summary>What a select hands over series by series (the path range functions take), as bits.</summary>
    private static List<(Labels Labels, (long, ulong)[] Samples)> Streamed(Tsdb db, long min, long max)
    {
        var result = new List<(Labels, (long, ulong)[])>();
        ((IStreamingSeriesSource)db).SelectEach(min, max, Everything, (labels, samples) =>
        {
            var copy = new (long, ulong)[samples.Length];
            for (var i = 0; i < samples.Length; i++)
            {
                copy[i] = (samples[i].TimestampMs, BitConverter.DoubleToUInt64Bits(samples[i].Value));
            }

            result.Add((labels, copy));
        });
        return result;
    }

    private static void AssertSame(List<(Labels Labels, (long, ulong)[] Samples)> expected, List<(Labels Labels, (long, ulong)[] Samples)> actual)
    {
        Assert.Equal(expected.Select(s => s.Labels), actual.Select(s => s.Labels));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].Samples.AsSpan().SequenceEqual(actual[i].Samples), $"samples of {expected[i].Labels} differ");
        }
    }

    private static void AssertSameSelects(Tsdb expected, Tsdb actual, Random random, int selects)
    {
        for (var q = 0; q < selects; q++)
        {
            var a = T0 - Hour + (long)(random.NextDouble() * 30 * Hour);
            var b = a + (long)(random.NextDouble() * 30 * Hour);
            var reference = Bits(expected.Select(a, b, Everything));
            AssertSame(reference, Bits(actual.Select(a, b, Everything)));
            AssertSame(reference, Streamed(actual, a, b));
        }
    }

    [Theory]
    [InlineData(1, 256L << 20)] // everything fits
    [InlineData(2, 256L << 20)]
    [InlineData(3, 256L << 20)]
    [InlineData(4, 20_000)] // room for 18 chunks (9 with irregular timestamps): evicting all the time
    [InlineData(5, 20_000)]
    [InlineData(6, 3_000)] // room for two chunks, or one with irregular timestamps
    public void Select_WithCache_ReturnsTheSamplesDecodingReturns(int seed, long budget)
    {
        var random = new Random(seed);
        using var plain = Open(0);
        using var cached = Open(budget);
        Fill(random, T0, T0 + (26 * Hour), plain, cached);

        // Head chunks (full ones cached), then the same data in blocks, twice each: filling the cache, then reading it.
        AssertSameSelects(plain, cached, new Random(seed), 20);
        AssertSameSelects(plain, cached, new Random(seed), 20);
        Assert.True(cached.ChunkCache!.Count > 0);
        plain.Compact();
        cached.Compact();
        AssertSameSelects(plain, cached, new Random(seed + 100), 20);
        AssertSameSelects(plain, cached, new Random(seed + 100), 20);
        Assert.InRange(cached.ChunkCache.Bytes, 1, budget);
    }

    [Fact]
    public void Select_OpenHeadChunk_IsNeverCachedSoLaterAppendsAreSeen()
    {
        using var db = Open(256L << 20);
        var s = db.GetOrCreateSeries(Labels.Metric("up"));
        for (var i = 0; i < 130; i++)
        {
            db.Append(s, T0 + (i * 1000L), i);
        }

        Assert.Equal(130, db.Select(T0, T0 + Hour, Everything).Single().Samples.Count);
        Assert.Equal(1, db.ChunkCache!.Count); // the full first chunk; the open one holds 10 samples
        db.Append(s, T0 + (130 * 1000L), 130);
        var samples = db.Select(T0, T0 + Hour, Everything).Single().Samples;
        Assert.Equal(131, samples.Count);
        Assert.Equal(new Sample(T0 + (130 * 1000L), 130), samples[^1]);
    }

    [Fact]
    public void Add_BeyondBudget_EvictsLeastRecentlyUsedFirst()
    {
        // Three regular chunks' worth: a slot (121 words) and the bookkeeping each.
        var perChunk = ((XorChunk.MaxSamples + 1) * sizeof(long)) + DecodedChunkCache.EntryOverheadBytes;
        var cache = new DecodedChunkCache(3 * perChunk);
        Sample[] Chunk(int k) => [.. Enumerable.Range(0, 100).Select(i => new Sample((k * 1_000_000L) + (i * 1000L), k + i))];
        ChunkKey Key(int k) => new(1000 + k, 0);
        bool Holds(int k)
        {
            var found = new CachedChunk[1];
            cache.Lookup([Key(k)], found);
            return found[0].Found;
        }

        cache.Add(Key(1), Chunk(1));
        cache.Add(Key(2), Chunk(2));
        cache.Add(Key(3), Chunk(3));
        Assert.Equal(3 * perChunk, cache.Bytes);
        Assert.True(Holds(1)); // 1 is now the most recently used, 2 the least
        cache.Add(Key(4), Chunk(4));
        Assert.Equal(3, cache.Count);
        Assert.False(Holds(2));
        Assert.True(Holds(3) && Holds(1) && Holds(4));

        // Irregular timestamps take a second slot: two entries go to make room.
        Sample[] jittered = [.. Chunk(5).Select((p, i) => p with { TimestampMs = p.TimestampMs + (i % 2) })];
        cache.Add(Key(5), jittered);
        Assert.InRange(cache.Bytes, 1, cache.BudgetBytes);
        Assert.Equal(2, cache.Count);
        Assert.True(Holds(4) && Holds(5));

        var found = new CachedChunk[1];
        cache.Lookup([Key(5)], found);
        var copy = new Sample[found[0].Count];
        Assert.True(cache.TryCopy(found[0], copy));
        Assert.Equal(jittered, copy);

        // A copy of an entry evicted after its lookup is refused: its slot may hold another chunk by now.
        cache.Add(Key(6), Chunk(6));
        cache.Add(Key(7), Chunk(7));
        cache.Add(Key(8), Chunk(8));
        Assert.False(Holds(5));
        Assert.False(cache.TryCopy(found[0], copy));
    }

    [Fact]
    public void Reserve_HoldsTheBudgetUntilPublishedOrReleased()
    {
        var perChunk = ((XorChunk.MaxSamples + 1) * sizeof(long)) + DecodedChunkCache.EntryOverheadBytes;
        var cache = new DecodedChunkCache(3 * perChunk);
        ChunkKey[] keys = [new(2000, 0), new(2000, 1), new(2000, 2), new(2000, 3)];
        var plans = new DecodedChunkCache.Reservation[4];

        // Three fit; reservations cannot be evicted, so neither a fourth nor an Add finds room.
        Assert.Equal(3, cache.Reserve(keys, [0, 1, 2, 3], plans));
        Assert.Equal(3 * perChunk, cache.Bytes);
        Assert.Equal(0, cache.Count);
        cache.Add(keys[3], [new Sample(1, 1)]);
        Assert.Equal(0, cache.Count);

        // Decoding failed: the slots go back and the budget with them.
        cache.Release(plans.AsSpan(0, 3));
        Assert.Equal(0, cache.Bytes);
        cache.Add(keys[3], [new Sample(1, 1)]);
        Assert.Equal(1, cache.Count);

        // Published: what was written to the slot is what a copy gives back.
        Assert.Equal(1, cache.Reserve(keys, [0], plans));
        Sample[] samples = [new(10, 1.5), new(20, -2), new(30, double.NaN)];
        for (var i = 0; i < samples.Length; i++)
        {
            cache.ValuesOf(plans[0])[i] = BitConverter.DoubleToInt64Bits(samples[i].Value);
        }

        cache.Publish(keys, plans.AsSpan(0, 1), [0, 3], samples, [true]);
        var found = new CachedChunk[1];
        cache.Lookup([keys[0]], found);
        var copy = new Sample[3];
        Assert.True(cache.TryCopy(found[0], copy));
        Assert.Equal(samples.Select(p => (p.TimestampMs, BitConverter.DoubleToInt64Bits(p.Value))), copy.Select(p => (p.TimestampMs, BitConverter.DoubleToInt64Bits(p.Value))));
        Assert.Equal(2 * perChunk, cache.Bytes);
    }

    [Fact]
    public void AddAndLookup_ThousandsOfKeysThroughEvictions_MatchALeastRecentlyUsedList()
    {
        // Enough keys that the key table grows several times and evictions empty slots in the middle of probe runs.
        const int capacity = 1500;
        var perChunk = ((XorChunk.MaxSamples + 1) * sizeof(long)) + DecodedChunkCache.EntryOverheadBytes;
        var cache = new DecodedChunkCache(capacity * perChunk);
        var model = new LinkedList<ChunkKey>();
        var random = new Random(3);
        Sample[] chunk = [.. Enumerable.Range(0, 10).Select(i => new Sample(i * 1000L, i))];
        var found = new CachedChunk[1];
        for (var op = 0; op < 40_000; op++)
        {
            var key = new ChunkKey(1 + random.Next(40), random.Next(120) * 150);
            if (random.Next(3) == 0)
            {
                cache.Lookup([key], found);
                var node = model.Find(key);
                Assert.Equal(node is not null, found[0].Found);
                if (node is not null)
                {
                    model.Remove(node);
                    model.AddFirst(node);
                }

                continue;
            }

            cache.Add(key, chunk);
            if (model.Find(key) is null)
            {
                model.AddFirst(key);
                if (model.Count > capacity)
                {
                    model.RemoveLast();
                }
            }
        }

        Assert.Equal(model.Count, cache.Count);
        Assert.Equal(model.Count * perChunk, cache.Bytes);
    }

    [Fact]
    public void Select_ThroughManyQueries_StaysWithinTheBudget()
    {
        const long budget = 100_000;
        var random = new Random(7);
        using var plain = Open(0);
        using var cached = Open(budget);
        Fill(random, T0, T0 + (26 * Hour), plain, cached);
        plain.Compact();
        cached.Compact();
        for (var q = 0; q < 30; q++)
        {
            AssertSameSelects(plain, cached, random, 1);
            Assert.InRange(cached.ChunkCache!.Bytes, 0, budget);
        }
    }

    [Fact]
    public void Compaction_MovingHeadChunksAndMergingBlocks_ServesNoStaleSamples()
    {
        using var plain = new Tsdb(new TsdbOptions { Clock = _clock, DecodedChunkCacheBytes = 0 });
        using var cached = new Tsdb(new TsdbOptions { Clock = _clock });
        var random = new Random(11);
        Fill(random, T0, T0 + (5 * Hour), plain, cached);
        AssertSameSelects(plain, cached, new Random(1), 10);
        var headEntries = cached.ChunkCache!.Count;
        Assert.True(headEntries > 0);

        // Cutting 2 h blocks drops the moved head chunks' entries; the blocks' chunks are cached under the blocks' keys.
        plain.Compact();
        cached.Compact();
        Assert.True(cached.ChunkCache.Count < headEntries);
        AssertSameSelects(plain, cached, new Random(2), 10);

        // A day later the 2 h blocks of the first 6 h window are merged into one: their entries go with them.
        Fill(random, T0 + (5 * Hour), T0 + (30 * Hour), plain, cached);
        var before = cached.Stats.BlockCount;
        plain.Compact();
        cached.Compact();
        AssertSameSelects(plain, cached, new Random(3), 20);
        Assert.Equal(plain.Stats.BlockCount, cached.Stats.BlockCount);
        Assert.True(before > 0);
    }

    [Fact]
    public void Retention_DeletingCachedBlocks_DropsTheirEntries()
    {
        using var db = Open(256L << 20, retention: TimeSpan.FromHours(10));
        var s = db.GetOrCreateSeries(Labels.Metric("m"));
        for (var t = T0; t < T0 + (4 * Hour); t += 10_000)
        {
            db.Append(s, t, t);
        }

        db.Compact(); // [T0, T0 + 2 h) into a block
        Assert.Equal(1, db.Stats.BlockCount);
        var all = db.Select(T0, T0 + (4 * Hour) - 1, Everything).Single().Samples;
        var cachedBeforeRetention = db.ChunkCache!.Bytes;
        Assert.True(cachedBeforeRetention > 0);

        // Newer data pushes the block out of the 10 h retention: its chunks leave the cache, the head's stay.
        for (var t = T0 + (4 * Hour); t < T0 + (13 * Hour); t += 10_000)
        {
            db.Append(s, t, t);
        }

        var entriesBefore = db.ChunkCache.Count;
        Assert.Equal(1, db.ApplyRetention());
        Assert.Equal(entriesBefore - 6, db.ChunkCache.Count); // the block: 2 h at 10 s, 720 samples in 6 chunks
        var after = db.Select(T0, T0 + (4 * Hour) - 1, Everything).Single().Samples;
        Assert.Equal(all.Where(p => p.TimestampMs >= T0 + (2 * Hour)), after);
    }

    [Fact]
    public async Task Select_ConcurrentQueriesUnderEviction_ReturnTheSamplesDecodingReturns()
    {
        var random = new Random(13);
        using var plain = Open(0);
        using var cached = Open(30_000); // 14 to 28 chunks: every query evicts what another is reading
        Fill(random, T0, T0 + (26 * Hour), plain, cached);
        plain.Compact();
        cached.Compact();
        var ranges = Enumerable.Range(0, 24).Select(i => (T0 + (i * Hour), T0 + (i * Hour) + (3 * Hour))).ToArray();
        var expected = ranges.Select(r => Bits(plain.Select(r.Item1, r.Item2, Everything))).ToArray();
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var round = 0; round < 10; round++)
            {
                for (var i = 0; i < ranges.Length; i++)
                {
                    var k = (i + (w * 5)) % ranges.Length;
                    AssertSame(expected[k], Streamed(cached, ranges[k].Item1, ranges[k].Item2));
                }
            }
        }));
        await Task.WhenAll(workers);
        Assert.InRange(cached.ChunkCache!.Bytes, 0, 30_000);
    }


    [Fact]
    public async Task AddRange_TwoThreadsFillingTheSameKeys_HoldEachOnceWithItsOwnSamples()
    {
        // The samples are copied outside the lock: two threads offering the same chunks must not both publish a key,
        // leak a reservation's bytes, or leave a key holding the other chunk's samples.
        var perChunk = ((XorChunk.MaxSamples + 1) * sizeof(long)) + DecodedChunkCache.EntryOverheadBytes;
        var cache = new DecodedChunkCache(40 * perChunk);
        const int chunks = 64;
        Sample[] series = [.. Enumerable.Range(0, chunks * 100).Select(i => new Sample(i * 1000L, i * 0.5))];
        ChunkKey[] keys = [.. Enumerable.Range(0, chunks).Select(k => new ChunkKey(5000 + k, 0))];
        int[] starts = [.. Enumerable.Range(0, chunks + 1).Select(k => k * 100)];
        using var together = new Barrier(2);
        var workers = Enumerable.Range(0, 2).Select(w => Task.Factory.StartNew(() =>
        {
            var random = new Random(w);
            for (var round = 0; round < 300; round++)
            {
                together.SignalAndWait();
                int[] which = [.. Enumerable.Range(0, chunks).Where(_ => random.Next(2) == 0)];
                cache.AddRange(keys, starts, which, series);
            }
        }, TaskCreationOptions.LongRunning));
        await Task.WhenAll(workers);

        Assert.InRange(cache.Count, 1, 40);
        Assert.Equal(cache.Count * perChunk, cache.Bytes);
        var found = new CachedChunk[chunks];
        cache.Lookup(keys, found);
        Assert.Equal(cache.Count, found.Count(f => f.Found));
        for (var k = 0; k < chunks; k++)
        {
            if (found[k].Found)
            {
                var copy = new Sample[found[k].Count];
                Assert.True(cache.TryCopy(found[k], copy));
                Assert.Equal(series[starts[k]..starts[k + 1]], copy);
            }
        }
    }
    [Fact]
    public void Options_ZeroBudget_TurnsTheCacheOff()
    {
        using var db = Open(0);
        Assert.Null(db.ChunkCache);
        var s = db.GetOrCreateSeries(Labels.Metric("m"));
        for (var i = 0; i < 500; i++)
        {
            db.Append(s, T0 + (i * 1000L), i);
        }

        Assert.Equal(500, db.Select(T0, T0 + Hour, Everything).Single().Samples.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Tsdb(new TsdbOptions { DecodedChunkCacheBytes = -1 }));
        Assert.Equal(256L << 20, new TsdbOptions().DecodedChunkCacheBytes);
    }
}
