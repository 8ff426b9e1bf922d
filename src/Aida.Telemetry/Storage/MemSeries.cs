using Aida.Telemetry.Series;

namespace Aida.Telemetry.Storage;

/// <summary>One series in the head: its chunks, oldest first, the last one open for appends.</summary>
/// <remarks>The last timestamp and value outlive compaction so out-of-order and duplicate checks stay exact.</remarks>
internal sealed class MemSeries(int id, Labels labels)
{
    private XorChunk? _open;
    private long _openWindowEnd;

    public int Id { get; } = id;

    public Labels Labels { get; } = labels;

    public List<XorChunk> Chunks { get; } = [];

    public bool HasSamples { get; private set; }

    public long LastTime { get; private set; }

    public ulong LastBits { get; private set; }

    /// <summary>Appends an already validated sample, cutting a new chunk when the open one is full or the sample falls
    /// in the next block window, so no chunk ever straddles a compaction boundary.</summary>
    public void Append(long timestampMs, double value, ulong bits, long blockMs)
    {
        if (_open is null || _open.IsFull || timestampMs >= _openWindowEnd)
        {
            _open?.Seal();
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
