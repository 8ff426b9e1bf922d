using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Storage;

/// <summary>What WAL replay feeds records into.</summary>
internal interface IWalReplayTarget
{
    void OnSeries(int walId, Labels labels);

    void OnSample(int walId, long timestampMs, double value);

    void OnChunk(int walId, ReadOnlySpan<byte> chunk);
}

/// <summary>The write-ahead log: numbered segment files of records, each <c>[u32 length][u32 CRC-32C][type][payload]</c>
/// (little-endian; length and CRC cover type and payload).</summary>
/// <remarks>Records: series (<c>i32 id, varint n, n × (name, value)</c>), samples (<c>n × (i32 id, i64 ts, u64 value
/// bits)</c>, fixed width so the append path is a few stores), chunk (<c>i32 id, XOR chunk bytes</c>, used by checkpoints).
/// Records are built in memory and reach the file only on <see cref="Flush"/>, which fsyncs. A checkpoint rewrites the
/// head into a fresh segment and deletes the older ones; a crash half-way leaves the old segments, whose replay plus the
/// torn checkpoint only repeats samples the head then refuses as duplicates or out of order.
/// <para>Two sides, so that the store's lock is never held across a write or an fsync: records are built (and handed
/// over with <see cref="Detach"/>) by whoever holds the store's lock; <see cref="WritePending"/> then writes the handed-over
/// buffers, in the order they were handed over, and fsyncs, under a lock of the log's own, after the store's lock is
/// released. <see cref="Flush"/>, <see cref="Checkpoint"/> and <see cref="Dispose"/> do both, under the store's lock.</para></remarks>
internal sealed class WriteAheadLog : IDisposable
{
    public const byte SeriesRecord = 1;
    public const byte SamplesRecord = 2;
    public const byte ChunkRecord = 3;

    private const int HeaderSize = 8;
    private const int SampleSize = 20;
    private const int MaxRecordPayload = 1 << 20;
    private const int MaxRecordLength = 64 << 20;
    private const long SegmentTargetSize = 128L << 20;
    private const int WriteThrough = 4 << 20;

    private readonly string _directory;

    // The writing side: the segment file, guarded by _io.
    private readonly Lock _io = new();
    private readonly ConcurrentQueue<(byte[] Buffer, int Length)> _pending = new();
    private byte[]? _spare;
    private long _flushCount;
    private FileStream? _segment;
    private int _segmentIndex;
    private long _closedSegmentsBytes;
    private byte[] _buffer = new byte[1 << 16];
    private int _length;
    private int _recordStart = -1;
    private byte _recordType;

    private WriteAheadLog(string directory, int lastSegmentIndex)
    {
        _directory = directory;
        _segmentIndex = lastSegmentIndex;
    }

    /// <summary>Times the log has been written and fsynced.</summary>
    public long FlushCount => Volatile.Read(ref _flushCount);

    public long BytesOnDisk
    {
        get
        {
            lock (_io)
            {
                return _closedSegmentsBytes + (_segment?.Length ?? 0);
            }
        }
    }

    /// <summary>Whether <see cref="Detach"/> handed over records that <see cref="WritePending"/> has not written yet.</summary>
    public bool HasPending => !_pending.IsEmpty;

    /// <summary>Replays every segment under <paramref name="directory"/> into <paramref name="target"/>, truncating each
    /// segment at its first torn or corrupt record, and returns a log ready for <see cref="Checkpoint"/>.</summary>
    public static WriteAheadLog Open(string directory, IWalReplayTarget target, out WalReplayResult result)
    {
        Directory.CreateDirectory(directory);
        result = Replay(directory, target, truncate: true, out var last);
        return new WriteAheadLog(directory, last);
    }

    /// <summary>Replays every segment under <paramref name="directory"/> into <paramref name="target"/> without changing
    /// anything: a segment is read up to its first torn or corrupt record (the writer may be in the middle of it), and
    /// the problem is reported, not truncated. A directory that does not exist holds nothing.</summary>
    public static WalReplayResult ReadOnlyReplay(string directory, IWalReplayTarget target) =>
        Directory.Exists(directory) ? Replay(directory, target, truncate: false, out _) : new WalReplayResult(0, 0, 0, []);

    /// <summary>Both replays: each segment up to its first bad record, then (<paramref name="truncate"/>) cut there;
    /// <paramref name="lastIndex"/> is the newest segment's number (0 with none).</summary>
    private static WalReplayResult Replay(string directory, IWalReplayTarget target, bool truncate, out int lastIndex)
    {
        var segments = Segments(directory);
        var problems = new List<string>();
        long records = 0, truncated = 0;
        var read = 0;
        foreach (var (_, path) in segments)
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (FileNotFoundException) when (!truncate)
            {
                // A checkpoint of the writer deleted it after the listing: its records are in the newer segments.
                continue;
            }

            read++;
            var good = ReplaySegment(bytes, target, ref records, out var problem);
            if (problem is null)
            {
                continue;
            }

            var cut = bytes.Length - good;
            if (!truncate)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"WAL segment {Path.GetFileName(path)}: {problem} at offset {good}; read up to there, the {cut} bytes after left as they are (read-only)"));
                continue;
            }

            truncated += cut;
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"WAL segment {Path.GetFileName(path)}: {problem} at offset {good}; truncated {cut} bytes"));
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
            stream.SetLength(good);
            stream.Flush(true);
        }

        lastIndex = segments.Count == 0 ? 0 : segments[^1].Index;
        return new WalReplayResult(read, records, truncated, problems);
    }

    private static List<(int Index, string Path)> Segments(string directory)
    {
        var segments = new List<(int, string)>();
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            if (int.TryParse(Path.GetFileName(path), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                segments.Add((index, path));
            }
        }

        segments.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return segments;
    }

    /// <summary>Replays records until the end or the first bad one; returns the length of the good prefix.</summary>
    private static int ReplaySegment(byte[] bytes, IWalReplayTarget target, ref long records, out string? problem)
    {
        var offset = 0;
        while (offset < bytes.Length)
        {
            var remaining = bytes.Length - offset;
            if (remaining < HeaderSize)
            {
                problem = "torn record header";
                return offset;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset));
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 4));
            if (length <= 0 || length > MaxRecordLength)
            {
                problem = string.Create(CultureInfo.InvariantCulture, $"invalid record length {length}");
                return offset;
            }

            if (length > remaining - HeaderSize)
            {
                problem = "torn record";
                return offset;
            }

            var record = bytes.AsSpan(offset + HeaderSize, length);
            if (Crc32C.Compute(record) != crc)
            {
                problem = "record CRC mismatch";
                return offset;
            }

            try
            {
                ReplayRecord(record, target);
            }
            catch (InvalidDataException e)
            {
                problem = "undecodable record: " + e.Message;
                return offset;
            }

            records++;
            offset += HeaderSize + length;
        }

        problem = null;
        return offset;
    }

    private static void ReplayRecord(ReadOnlySpan<byte> record, IWalReplayTarget target)
    {
        var payload = record[1..];
        switch (record[0])
        {
            case SeriesRecord:
                var reader = new SpanReader(payload);
                var id = reader.Int32();
                var count = reader.Varint();
                var pairs = new KeyValuePair<string, string>[count];
                for (var i = 0; i < count; i++)
                {
                    pairs[i] = new(reader.String(), reader.String());
                }

                target.OnSeries(id, Labels.From(pairs));
                break;
            case SamplesRecord:
                if (payload.Length % SampleSize != 0)
                {
                    throw new InvalidDataException("samples record of odd length");
                }

                for (var p = 0; p < payload.Length; p += SampleSize)
                {
                    target.OnSample(
                        BinaryPrimitives.ReadInt32LittleEndian(payload[p..]),
                        BinaryPrimitives.ReadInt64LittleEndian(payload[(p + 4)..]),
                        BitConverter.UInt64BitsToDouble(BinaryPrimitives.ReadUInt64LittleEndian(payload[(p + 12)..])));
                }

                break;
            case ChunkRecord:
                if (payload.Length < 6)
                {
                    throw new InvalidDataException("chunk record too short");
                }

                target.OnChunk(BinaryPrimitives.ReadInt32LittleEndian(payload), payload[4..]);
                break;
            default:
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"unknown record type {record[0]}"));
        }
    }

    public void LogSeries(int id, Labels labels)
    {
        BeginRecord(SeriesRecord);
        var size = 4 + 10;
        for (var i = 0; i < labels.Count; i++)
        {
            size += 20 + Encoding.UTF8.GetByteCount(labels.Name(i)) + Encoding.UTF8.GetByteCount(labels.Value(i));
        }

        Reserve(size);
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_length), id);
        _length += 4;
        WriteVarint(labels.Count);
        for (var i = 0; i < labels.Count; i++)
        {
            WriteString(labels.Name(i));
            WriteString(labels.Value(i));
        }

        EndRecord();
    }

    /// <summary>Adds one sample to the open samples record: the append hot path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void LogSample(int id, long timestampMs, double value)
    {
        if (_recordType != SamplesRecord || _recordStart < 0 || _length + SampleSize > _buffer.Length
            || _length - _recordStart >= MaxRecordPayload)
        {
            BeginSamples();
        }

        var span = _buffer.AsSpan(_length, SampleSize);
        BinaryPrimitives.WriteInt32LittleEndian(span, id);
        BinaryPrimitives.WriteInt64LittleEndian(span[4..], timestampMs);
        BinaryPrimitives.WriteUInt64LittleEndian(span[12..], BitConverter.DoubleToUInt64Bits(value));
        _length += SampleSize;
    }

    public void LogChunk(int id, ReadOnlySpan<byte> chunk)
    {
        BeginRecord(ChunkRecord);
        Reserve(4 + chunk.Length);
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_length), id);
        chunk.CopyTo(_buffer.AsSpan(_length + 4));
        _length += 4 + chunk.Length;
        EndRecord();
    }

    /// <summary>Writes every buffered record to the current segment and fsyncs it.</summary>
    public void Flush()
    {
        Detach();
        WritePending(sync: true);
    }

    /// <summary>Closes the open record and hands every buffered record to the writing side, without I/O: called under
    /// the store's lock, which then calls <see cref="WritePending"/> once it has released that lock.</summary>
    public void Detach()
    {
        EndRecord();
        if (_length == 0)
        {
            return;
        }

        _pending.Enqueue((_buffer, _length));
        _buffer = Interlocked.Exchange(ref _spare, null) ?? new byte[1 << 16];
        _length = 0;
    }

    /// <summary>Writes the records <see cref="Detach"/> handed over, oldest first, then fsyncs when
    /// <paramref name="sync"/>; needs no store lock. Does nothing once the log is disposed.</summary>
    public void WritePending(bool sync)
    {
        lock (_io)
        {
            if (_segment is null)
            {
                return;
            }

            // Dequeued only once written: a failed write leaves the buffer for the next call.
            while (_pending.TryPeek(out var pending))
            {
                _segment.Write(pending.Buffer, 0, pending.Length);
                _pending.TryDequeue(out _);
                Interlocked.CompareExchange(ref _spare, pending.Buffer, null);
            }

            if (sync)
            {
                _segment.Flush(true);
                Interlocked.Increment(ref _flushCount);
                if (_segment.Length >= SegmentTargetSize)
                {
                    try
                    {
                        StartSegment();
                    }
                    catch (IOException)
                    {
                        // What was written is fsynced in the current segment, which stays open: the next fsync tries to
                        // rotate again, and a disk that keeps refusing fails the next write, not this one.
                    }
                }
            }
        }
    }

    /// <summary>After a write failed (a full disk, an I/O error): drops every handed-over record and closes the segment
    /// being written, whose end may be torn, without writing it again. Nothing is written until the next
    /// <see cref="Checkpoint"/>, which starts a fresh segment with the whole head: the store's head holds every sample
    /// the dropped records did.</summary>
    public void Break()
    {
        lock (_io)
        {
            _pending.Clear();
            if (_segment is { } torn)
            {
                _segment = null;
                _closedSegmentsBytes += SafeLength(torn);
                try
                {
                    torn.Dispose();
                }
                catch (IOException)
                {
                    // Its buffered bytes could not be written either: the segment ends where the disk refused.
                }
            }
        }
    }

    /// <summary>Drops the handed-over records without writing them: the log is broken (<see cref="Break"/>) and the head
    /// holds their samples until the next checkpoint.</summary>
    public void DropPending() => _pending.Clear();

    private static long SafeLength(FileStream stream)
    {
        try
        {
            return stream.Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Replaces the log by a fresh segment holding what <paramref name="writeState"/> logs (the head), then
    /// deletes the older segments. Buffered and handed-over records are dropped: the state written supersedes them.
    /// Called under the store's lock.</summary>
    public void Checkpoint(Action<WriteAheadLog> writeState)
    {
        List<(int Index, string Path)> previous;
        lock (_io)
        {
            _pending.Clear();
            _length = 0;
            _recordStart = -1;
            previous = Segments(_directory);
            StartSegment();
        }

        try
        {
            writeState(this);
            Flush();
        }
        catch (IOException)
        {
            // A full disk: the partial checkpoint goes, to give back the space it took; the older segments still hold
            // what they held.
            var partial = Path.Combine(_directory, _segmentIndex.ToString("D8", CultureInfo.InvariantCulture));
            Break();
            try
            {
                File.Delete(partial);
            }
            catch (IOException)
            {
                // Left: the replay reads it as a torn checkpoint.
            }

            throw;
        }

        lock (_io)
        {
            foreach (var (index, path) in previous)
            {
                if (index < _segmentIndex)
                {
                    File.Delete(path);
                }
            }

            _closedSegmentsBytes = 0;
            foreach (var (index, path) in Segments(_directory))
            {
                if (index != _segmentIndex)
                {
                    _closedSegmentsBytes += new FileInfo(path).Length;
                }
            }
        }
    }

    public void Dispose()
    {
        Flush();
        lock (_io)
        {
            _segment?.Dispose();
            _segment = null;
        }
    }

    /// <summary>Closes the current segment (if any) and opens the next; the caller holds <see cref="_io"/>.</summary>
    /// <remarks>The next segment is created before the current one is closed: when that fails (the file exists, the disk
    /// refuses), the log goes on writing the current segment, which stays usable, and the next fsync tries again.</remarks>
    private void StartSegment()
    {
        var next = _segmentIndex + 1;
        var path = Path.Combine(_directory, next.ToString("D8", CultureInfo.InvariantCulture));
        var opened = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
        if (_segment is not null)
        {
            _closedSegmentsBytes += _segment.Length;
            _segment.Dispose();
        }

        _segment = opened;
        _segmentIndex = next;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BeginSamples()
    {
        if (_length >= WriteThrough)
        {
            // Bound memory between fsyncs: full records go to the writing side now (the store writes them to the OS
            // once its lock is released); fsync still waits for the interval.
            Detach();
        }

        BeginRecord(SamplesRecord);
        Reserve(MaxRecordPayload + SampleSize);
    }

    private void BeginRecord(byte type)
    {
        EndRecord();
        Reserve(HeaderSize + 1);
        _recordStart = _length;
        _buffer[_length + HeaderSize] = type;
        _length += HeaderSize + 1;
        _recordType = type;
    }

    private void EndRecord()
    {
        if (_recordStart < 0)
        {
            return;
        }

        var length = _length - _recordStart - HeaderSize;
        if (length == 1)
        {
            // An empty record (a samples record nothing was added to) is dropped.
            _length = _recordStart;
        }
        else
        {
            var header = _buffer.AsSpan(_recordStart);
            BinaryPrimitives.WriteInt32LittleEndian(header, length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32C.Compute(_buffer.AsSpan(_recordStart + HeaderSize, length)));
        }

        _recordStart = -1;
        _recordType = 0;
    }

    private void Reserve(int bytes)
    {
        if (_length + bytes > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_length + bytes, _buffer.Length * 2));
        }
    }

    private void WriteVarint(int value)
    {
        var u = (uint)value;
        while (u >= 0x80)
        {
            _buffer[_length++] = (byte)(u | 0x80);
            u >>= 7;
        }

        _buffer[_length++] = (byte)u;
    }

    private void WriteString(string s)
    {
        var count = Encoding.UTF8.GetByteCount(s);
        WriteVarint(count);
        _length += Encoding.UTF8.GetBytes(s, _buffer.AsSpan(_length));
    }

    /// <summary>Bounds-checked reads of a series record.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public int Int32()
        {
            Need(4);
            var v = BinaryPrimitives.ReadInt32LittleEndian(_bytes[_position..]);
            _position += 4;
            return v;
        }

        public int Varint()
        {
            var result = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                Need(1);
                var b = _bytes[_position++];
                result |= (b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return result >= 0 ? result : throw new InvalidDataException("negative length");
                }
            }

            throw new InvalidDataException("varint too long");
        }

        public string String()
        {
            var length = Varint();
            Need(length);
            var s = Encoding.UTF8.GetString(_bytes.Slice(_position, length));
            _position += length;
            return s;
        }

        private readonly void Need(int bytes)
        {
            if (_bytes.Length - _position < bytes)
            {
                throw new InvalidDataException("record ends early");
            }
        }
    }
}

/// <summary>Counts from one WAL replay.</summary>
internal sealed record WalReplayResult(int Segments, long Records, long BytesTruncated, IReadOnlyList<string> Problems);
