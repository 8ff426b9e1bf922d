using System.Runtime.InteropServices;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Storage;

/// <summary>A sealed head chunk as a reader needs it: its time range, sample count, cache key owner and bytes (final
/// once sealed).</summary>
internal readonly record struct SealedHeadChunk(long MinTime, long MaxTime, int Count, long CacheOwner, ReadOnlyMemory<byte> Bytes);

/// <summary>One series in the head: its chunks, oldest first, the last one open for appends.</summary>
/// <remarks>The last timestamp and value outlive compaction so out-of-order and duplicate checks stay exact.</remarks>
internal sealed class MemSeries(int id, Labels labels)
{
    // What readers need of the sealed chunks (every chunk but the open one, Chunks[0 .. _sealed.Count)), side by side in
    // one array: a range query walks a day's 72 chunks per series here instead of visiting 72 chunk objects and their
    // buffers scattered over the heap.
    private readonly List<SealedHeadChunk> _sealed = [];
    private readonly SealedChunkPages _pages = new();
    private XorChunk? _open;
    private long _openWindowEnd;

    public int Id { get; } = id;

    public Labels Labels { get; } = labels;

    public List<XorChunk> Chunks { get; } = [];

    /// <summary>The sealed chunks, oldest first: <see cref="Chunks"/> but the open one, as readers need them.</summary>
    public ReadOnlySpan<SealedHeadChunk> Sealed => CollectionsMarshal.AsSpan(_sealed);

    /// <summary>The chunk appends go to (the last of <see cref="Chunks"/>), if any.</summary>
    public XorChunk? Open => _open;

    public bool HasSamples { get; private set; }

    public long LastTime { get; private set; }

    public ulong LastBits { get; private set; }

    /// <summary>Appends an already validated sample, cutting a new chunk when the open one is full or the sample falls
    /// in the next block window, so no chunk ever straddles a compaction boundary.</summary>
    public void Append(long timestampMs, double value, ulong bits, long blockMs)
    {
        if (_open is null || _open.IsFull || timestampMs >= _openWindowEnd)
        {
            if (_open is not null)
            {
                _open.Seal(_pages, _openWindowEnd);
                _sealed.Add(new SealedHeadChunk(_open.MinTime, _open.MaxTime, _open.Count, _open.CacheOwner, _open.Memory));
            }

            _open = new XorChunk();
            Chunks.Add(_open);
            _openWindowEnd = BlockWindow.End(timestampMs, blockMs);
        }

        _open.Append(timestampMs, value);
        HasSamples = true;
        LastTime = timestampMs;
        LastBits = bits;
    }

    /// <summary>Drops the first <paramref name="count"/> chunks (they went into a block); returns their sample count.</summary>
    public int RemoveOldest(int count)
    {
        var samples = 0;
        for (var i = 0; i < count; i++)
        {
            samples += Chunks[i].Count;
            if (ReferenceEquals(Chunks[i], _open))
            {
                _open = null;
            }
        }

        Chunks.RemoveRange(0, count);

        // The open chunk, when it went too (sealed by the compaction), has no entry here.
        _sealed.RemoveRange(0, Math.Min(count, _sealed.Count));
        return samples;
    }
}

/// <summary>Block windows: multiples of the block duration since the epoch.</summary>
internal static class BlockWindow
{
    public static long Start(long timestampMs, long blockMs)
    {
        var q = timestampMs / blockMs;
        if (timestampMs % blockMs < 0)
        {
            q--;
        }

        return q * blockMs;
    }

    public static long End(long timestampMs, long blockMs)
    {
        var start = Start(timestampMs, blockMs);
        return start > long.MaxValue - blockMs ? long.MaxValue : start + blockMs;
    }
}
