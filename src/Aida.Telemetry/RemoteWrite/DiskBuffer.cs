using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Aida.Telemetry.RemoteWrite;

/// <summary>The sender's write-ahead buffer: batches in segment files, consumed strictly in order.</summary>
/// <remarks>
/// A segment <c>NNNNNNNNNNNNNNNNNNNN.seg</c> is a run of frames <c>[u32 length][u32 CRC-32 of body][body]</c> (little
/// endian), the body <c>[u32 sample count][snappy WriteRequest]</c>. The file <c>ack</c> holds the segment and offset of the
/// first frame not yet acknowledged, replaced atomically after each acknowledgement, so a restart resends only what was
/// never acknowledged. A segment is deleted once every frame in it is acknowledged and it is no longer written to. A torn
/// or corrupt frame (a crash mid-write) ends its segment on recovery; writes after a restart always go to a new segment.
/// Thread-safe: one writer and one reader may call concurrently.
/// </remarks>
internal sealed class DiskBuffer : IDisposable
{
    private const int HeaderBytes = 8;
    private const string AckFile = "ack";
    private const string SegmentSuffix = ".seg";

    private readonly object _gate = new();
    private readonly string _directory;
    private readonly long _segmentBytes;
    private readonly Queue<Entry> _entries = new();
    private long _nextSegment;
    private FileStream? _active;
    private long _activeSegment = -1;
    private long _nextId = 1;
    private long _bufferedBytes;

    public DiskBuffer(string directory, long segmentBytes)
    {
        _directory = directory;
        _segmentBytes = segmentBytes;
        Directory.CreateDirectory(directory);
        Recover();
    }

    /// <summary>One buffered batch.</summary>
    public readonly record struct Entry(long Id, long Segment, long Offset, int FrameBytes, int Samples);

    /// <summary>Bytes of frames not yet acknowledged.</summary>
    public long BufferedBytes => Interlocked.Read(ref _bufferedBytes);

    /// <summary>Id of the newest frame appended (or recovered); 0 when none ever was.</summary>
    public long LastId
    {
        get
        {
            lock (_gate)
            {
                return _nextId - 1;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Appends one batch and makes it durable (fsync) before returning.</summary>
    public Entry Append(ReadOnlySpan<byte> payload, int samples)
    {
        var frame = new byte[HeaderBytes + 4 + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, 4 + payload.Length);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(HeaderBytes), samples);
        payload.CopyTo(frame.AsSpan(HeaderBytes + 4));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), Crc32.Compute(frame.AsSpan(HeaderBytes)));
        lock (_gate)
        {
            if (_active is not null && _active.Length >= _segmentBytes)
            {
                Seal();
            }

            if (_active is null)
            {
                _activeSegment = _nextSegment++;
                _active = new FileStream(SegmentPath(_activeSegment), FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete);
            }

            var entry = new Entry(_nextId, _activeSegment, _active.Position, frame.Length, samples);
            try
            {
                _active.Write(frame);
                _active.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                // A full disk: the segment may end in a torn frame, so the next batch starts a new one (a restart's
                // recovery stops at a torn frame); this batch is not buffered, and the caller counts it dropped.
                var torn = _active;
                _active = null;
                try
                {
                    torn.Dispose();
                }
                catch (IOException)
                {
                    // Its buffered bytes could not be written either.
                }

                if (!_entries.Any(e => e.Segment == _activeSegment))
                {
                    TryDelete(SegmentPath(_activeSegment));
                }

                _activeSegment = -1;
                throw;
            }

            _nextId++;
            _entries.Enqueue(entry);
            Interlocked.Add(ref _bufferedBytes, frame.Length);
            return entry;
        }
    }

    public bool TryPeek(out Entry entry)
    {
        lock (_gate)
        {
            return _entries.TryPeek(out entry);
        }
    }

    /// <summary>The snappy payload of a frame; null when the frame no longer checks out (disk corruption).</summary>
    public byte[]? Read(Entry entry)
    {
        var frame = new byte[entry.FrameBytes];
        using (var handle = File.OpenHandle(SegmentPath(entry.Segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            if (RandomAccess.Read(handle, frame, entry.Offset) != frame.Length)
            {
                return null;
            }
        }

        return Crc32.Compute(frame.AsSpan(HeaderBytes)) == BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(4)) ? frame[(HeaderBytes + 4)..] : null;
    }

    /// <summary>Marks the oldest frame, which must be <paramref name="entry"/>, as done: acknowledged or dropped.</summary>
    public void Complete(Entry entry)
    {
        lock (_gate)
        {
            if (!_entries.TryPeek(out var head) || head.Id != entry.Id)
            {
                throw new InvalidOperationException("frames complete in order");
            }

            _entries.Dequeue();
            Interlocked.Add(ref _bufferedBytes, -entry.FrameBytes);
            var next = _entries.TryPeek(out var n) ? (n.Segment, n.Offset) : (entry.Segment, entry.Offset + entry.FrameBytes);
            WriteAck(next.Item1, next.Item2);
            if (next.Item1 != entry.Segment && entry.Segment != _activeSegment)
            {
                File.Delete(SegmentPath(entry.Segment));
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _active?.Dispose();
            _active = null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left; acknowledged or recovered later.
        }
    }

    private void Seal()
    {
        _active!.Dispose();
        _active = null;
        var sealedSegment = _activeSegment;
        _activeSegment = -1;
        if (!_entries.Any(e => e.Segment == sealedSegment))
        {
            File.Delete(SegmentPath(sealedSegment));
        }
    }

    private void Recover()
    {
        var (ackSegment, ackOffset) = ReadAck();
        var header = new byte[HeaderBytes];
        var segments = Directory.EnumerateFiles(_directory, "*" + SegmentSuffix)
            .Select(p => long.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1)
            .Where(s => s >= 0)
            .Order()
            .ToList();
        foreach (var segment in segments)
        {
            _nextSegment = segment + 1;
            if (segment < ackSegment)
            {
                File.Delete(SegmentPath(segment));
                continue;
            }

            var before = _entries.Count;
            var offset = segment == ackSegment ? ackOffset : 0;
            using (var handle = File.OpenHandle(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                var length = RandomAccess.GetLength(handle);
                while (offset + HeaderBytes <= length && RandomAccess.Read(handle, header, offset) == HeaderBytes)
                {
                    var bodyBytes = BinaryPrimitives.ReadInt32LittleEndian(header);
                    if (bodyBytes < 4 || offset + HeaderBytes + bodyBytes > length)
                    {
                        break;
                    }

                    var body = new byte[bodyBytes];
                    if (RandomAccess.Read(handle, body, offset + HeaderBytes) != bodyBytes || Crc32.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)))
                    {
                        break;
                    }

                    var entry = new Entry(_nextId++, segment, offset, HeaderBytes + bodyBytes, BinaryPrimitives.ReadInt32LittleEndian(body));
                    _entries.Enqueue(entry);
                    _bufferedBytes += entry.FrameBytes;
                    offset += entry.FrameBytes;
                }
            }

            if (_entries.Count == before)
            {
                File.Delete(SegmentPath(segment));
            }
        }
    }

    private (long Segment, long Offset) ReadAck()
    {
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(_directory, AckFile));
            if (bytes.Length == 20 && Crc32.Compute(bytes.AsSpan(0, 16)) == BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)))
            {
                return (BinaryPrimitives.ReadInt64LittleEndian(bytes), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)));
            }
        }
        catch (FileNotFoundException)
        {
        }

        // No (valid) checkpoint: everything on disk is unacknowledged; resending may duplicate, never lose.
        return (-1, 0);
    }

    private void WriteAck(long segment, long offset)
    {
        var bytes = new byte[20];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, segment);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), offset);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), Crc32.Compute(bytes.AsSpan(0, 16)));
        var temp = Path.Combine(_directory, AckFile + ".tmp");
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, Path.Combine(_directory, AckFile), overwrite: true);
    }

    private string SegmentPath(long segment) => Path.Combine(_directory, segment.ToString("D20", CultureInfo.InvariantCulture) + SegmentSuffix);
}
