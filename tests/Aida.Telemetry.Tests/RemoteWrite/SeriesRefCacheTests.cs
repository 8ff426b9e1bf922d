using System.Text;
using Aida.Telemetry.RemoteWrite;

namespace Aida.Telemetry.Tests.RemoteWrite;

public class SeriesRefCacheTests
{
    private const long SmallestGeneration = 64 << 10;

    [Fact]
    public void TryGet_FindsWhatWasAdded_AndNothingElse()
    {
        var cache = new SeriesRefCache();
        Add(cache, "up{job=a}", 7);
        Assert.True(TryGet(cache, "up{job=a}", out var reference));
        Assert.Equal(7, reference);
        Assert.False(TryGet(cache, "up{job=b}", out _));
        Assert.False(TryGet(cache, "up{job=a}x", out _));
        Assert.False(TryGet(cache, "up{job=", out _));
        Assert.False(TryGet(cache, "", out _));
    }

    [Fact]
    public void KeysWithTheSameHash_AreToldApartByTheirBytes()
    {
        // The caller passes the hash, so a collision can be forced: both keys land on the same slot chain.
        var cache = new SeriesRefCache();
        cache.Add("first"u8, 12345, 1);
        cache.Add("second"u8, 12345, 2);
        Assert.True(cache.TryGet("first"u8, 12345, out var first));
        Assert.True(cache.TryGet("second"u8, 12345, out var second));
        Assert.Equal((1, 2), (first, second));
        Assert.False(cache.TryGet("third"u8, 12345, out _));
    }

    [Fact]
    public void Growing_KeepsEveryEntry()
    {
        var cache = new SeriesRefCache();
        for (var i = 0; i < 20_000; i++)
        {
            Add(cache, Key(i), i);
        }

        Assert.Equal(20_000, cache.Count);
        for (var i = 0; i < 20_000; i++)
        {
            Assert.True(TryGet(cache, Key(i), out var reference));
            Assert.Equal(i, reference);
        }
    }

    [Fact]
    public void AFullGeneration_IsDroppedAfterTheNext_ButWhatIsStillReadIsCarriedForward()
    {
        var cache = new SeriesRefCache(SmallestGeneration);
        Add(cache, "hot", 1);
        Add(cache, "cold", 2);
        for (var i = 0; i < 10_000; i++)
        {
            Add(cache, Key(i), 100 + i);
            Assert.True(TryGet(cache, "hot", out var hot));
            Assert.Equal(1, hot);
        }

        Assert.False(TryGet(cache, "cold", out _));
        Assert.False(TryGet(cache, Key(0), out _));
        Assert.True(TryGet(cache, Key(9_999), out var newest));
        Assert.Equal(10_099, newest);

        // Two generations of a bounded size: far fewer entries than were added.
        Assert.InRange(cache.Count, 1, 4_000);
    }

    [Fact]
    public void LabelBytesLongerThanTheLimit_AreNotCached()
    {
        var cache = new SeriesRefCache();
        var huge = new byte[SeriesRefCache.MaxKeyBytes + 1];
        cache.Add(huge, cache.Hash(huge), 1);
        Assert.False(cache.TryGet(huge, cache.Hash(huge), out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task ReadersDuringAdditions_GetTheRightReferenceOrAMiss()
    {
        // Lookups take no lock: while one thread adds (growing and rotating generations), others read. A hit must always
        // carry the reference added for those bytes.
        var cache = new SeriesRefCache(SmallestGeneration * 4);
        const int Keys = 50_000;
        var added = 0;
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < Keys; i++)
            {
                Add(cache, Key(i), i);
                Volatile.Write(ref added, i + 1);
            }
        });
        var wrong = 0;
        var hits = 0;
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            var random = new Random(r);
            while (!writer.IsCompleted)
            {
                var upTo = Volatile.Read(ref added);
                if (upTo == 0)
                {
                    continue;
                }

                var i = upTo - 1 - random.Next(Math.Min(upTo, 2_000));
                if (TryGet(cache, Key(i), out var reference))
                {
                    Interlocked.Increment(ref hits);
                    if (reference != i)
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
            }
        })).ToArray();
        await writer;
        await Task.WhenAll(readers);
        Assert.Equal(0, wrong);
        Assert.True(TryGet(cache, Key(Keys - 1), out var last));
        Assert.Equal(Keys - 1, last);
    }

    [Fact]
    public void Hash_DependsOnEveryByteAndTheSeed()
    {
        var key = Encoding.ASCII.GetBytes("__name__ up job node-001:9100 sensor 00042!");
        var seed = 0x1234_5678_9abc_def0UL;
        var hash = LabelBytesHash.Compute(key, seed);
        Assert.Equal(hash, LabelBytesHash.Compute(key.ToArray(), seed));
        Assert.NotEqual(hash, LabelBytesHash.Compute(key, seed + 1));
        for (var bit = 0; bit < key.Length * 8; bit++)
        {
            var flipped = key.ToArray();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.NotEqual(hash, LabelBytesHash.Compute(flipped, seed));
        }
    }

    [Fact]
    public void Hash_OfEveryShortLength_DiffersFromItsNeighbours()
    {
        // The tail is read in pieces (one to three bytes, four to seven, eight to sixteen): each length must be covered.
        var bytes = Enumerable.Range(1, 80).Select(i => (byte)i).ToArray();
        var hashes = Enumerable.Range(0, bytes.Length + 1).Select(n => LabelBytesHash.Compute(bytes.AsSpan(0, n), 42)).ToList();
        Assert.Equal(hashes.Count, hashes.Distinct().Count());
    }

    private static string Key(int i) => $"metric{{instance=\"node-{i / 100:D3}\",sensor=\"{i:D6}\"}}";

    private static void Add(SeriesRefCache cache, string key, int reference)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        cache.Add(bytes, cache.Hash(bytes), reference);
    }

    private static bool TryGet(SeriesRefCache cache, string key, out int reference)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        return cache.TryGet(bytes, cache.Hash(bytes), out reference);
    }
}
