using System.Runtime.InteropServices;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;

namespace Aida.Telemetry.Tests.Storage;

/// <summary>A head series' sealed chunks lie back to back in pages of their block window, and read back as written.</summary>
public sealed class SealedChunkPagesTests
{
    private const long BlockMs = 7_200_000;

    [Fact]
    public void SealedChunks_OfOneWindow_LieBackToBack_AndNoPageHoldsTwoWindows()
    {
        var series = new MemSeries(0, Labels.Metric("m"));
        var expected = new List<Sample>();
        var random = new Random(3);
        var value = 0.0;

        // Six hours at 10 s: three block windows of six full chunks each.
        for (var t = 0L; t < 3 * BlockMs; t += 10_000)
        {
            value += random.Next(100) / 7.0;
            series.Append(t, value, BitConverter.DoubleToUInt64Bits(value), BlockMs);
            expected.Add(new Sample(t, value));
        }

        var sealedChunks = series.Sealed.ToArray();
        Assert.Equal(17, sealedChunks.Length); // the last window's sixth chunk is still open
        for (var i = 1; i < sealedChunks.Length; i++)
        {
            Assert.True(MemoryMarshal.TryGetArray(sealedChunks[i - 1].Bytes, out var before));
            Assert.True(MemoryMarshal.TryGetArray(sealedChunks[i].Bytes, out var after));
            var sameWindow = BlockWindow.Start(sealedChunks[i - 1].MinTime, BlockMs) == BlockWindow.Start(sealedChunks[i].MinTime, BlockMs);
            if (!sameWindow)
            {
                Assert.NotSame(before.Array, after.Array);
            }
            else if (ReferenceEquals(before.Array, after.Array))
            {
                Assert.Equal(before.Offset + before.Count, after.Offset);
            }
        }

        // Each window's five or six chunks in two or three pages (room for two chunks of the first one's size, then
        // twice that), not one array each.
        var pagesUsed = sealedChunks.Select(c => MemoryMarshal.TryGetArray(c.Bytes, out var a) ? a.Array : null).Distinct(ReferenceEqualityComparer.Instance).Count();
        Assert.InRange(pagesUsed, 6, 9);

        var decoded = new List<Sample>();
        foreach (var chunk in series.Chunks)
        {
            var into = new Sample[XorChunk.CountOf(chunk.Bytes)];
            XorChunk.DecodeAll(chunk.Bytes, into);
            decoded.AddRange(into);
        }

        Assert.Equal(expected, decoded);
    }

    [Fact]
    public void Pages_GrowFromTwoChunksToAtMostFourKilobytes()
    {
        var pages = new SealedChunkPages();
        var chunk = new byte[180];
        var arrays = new List<byte[]>();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(MemoryMarshal.TryGetArray(pages.Place(chunk, windowEnd: 1), out var placed));
            if (!arrays.Contains(placed.Array!))
            {
                arrays.Add(placed.Array!);
            }
        }

        Assert.Equal(360, arrays[0].Length);
        Assert.All(arrays, a => Assert.InRange(a.Length, 360, SealedChunkPages.PageBytes));
        Assert.Equal(SealedChunkPages.PageBytes, arrays[^1].Length);

        // Another window starts a page of its own; a chunk larger than a page takes a page of its size.
        Assert.True(MemoryMarshal.TryGetArray(pages.Place(chunk, windowEnd: 2), out var next));
        Assert.DoesNotContain(arrays, a => ReferenceEquals(a, next.Array));
        Assert.Equal(5000, pages.Place(new byte[5000], windowEnd: 2).Length);
    }
}
