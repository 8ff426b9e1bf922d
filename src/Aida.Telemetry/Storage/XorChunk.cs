using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Storage;

/// <summary>Up to 120 samples compressed as in Gorilla (Pelkonen et al., VLDB 2015, §4.1) with Prometheus' bit layout
/// (tsdb/chunkenc/xor.go): a 2-byte big-endian sample count, the first timestamp as a varint and value as 64 raw bits,
/// the second timestamp as a varint delta, then delta-of-delta timestamps in '0'/'10'+14/'110'+17/'1110'+20/'1111'+64
/// bit buckets and values XOR-ed with their predecessor, reusing the previous leading/trailing zero window when the new
/// one fits inside it.</summary>
/// <remarks>Deltas are zig-zag encoded and wrap modulo 2^64, so any sequence of timestamps (even unordered or far apart)
/// round-trips; the store only ever appends in order. Values are compared as bits, so NaN payloads such as the staleness
/// marker survive.</remarks>
internal sealed class XorChunk
{
    public const int MaxSamples = 120;

    // Worst case for one sample: '1111' + 64 bits of delta-of-delta, then '11' + 5 + 6 + 64 bits of value (20 bytes),
    // plus the writer's 8-byte window.
    private const int MaxBytesPerSample = 28;

    private BitWriter _writer;

    // Where the bytes went when sealed into pages; empty before.
    private ReadOnlyMemory<byte> _moved;
    private long _t;
    private long _tDelta;
    private ulong _v;
    private byte _leading = 0xff;
    private byte _trailing;

    public XorChunk()
    {
        // Sized for a typical full chunk (about 1.5 bytes a sample), so most chunks never grow before they are sealed.
        _writer = new BitWriter(192);
        _writer.WriteBits(0, 16);
    }

    public int Count { get; private set; }

    /// <summary>The first appended timestamp (the minimum, as the store appends in order).</summary>
    public long MinTime { get; private set; }

    /// <summary>The last appended timestamp.</summary>
    public long MaxTime { get; private set; }

    /// <summary>The last appended value (the sample at <see cref="MaxTime"/>), read without decoding the chunk.</summary>
    public double LastValue => BitConverter.UInt64BitsToDouble(_v);

    public bool IsFull => Count >= MaxSamples;

    /// <summary>The encoded chunk, header included; valid until the next append.</summary>
    public ReadOnlySpan<byte> Bytes => _moved.IsEmpty ? _writer.Written : _moved.Span;

    /// <summary>The encoded chunk as memory; once <see cref="IsSealed"/> it never changes again.</summary>
    public ReadOnlyMemory<byte> Memory => _moved.IsEmpty ? _writer.WrittenMemory : _moved;

    /// <summary>Whether <see cref="Seal"/> was called: no more appends, the bytes are final.</summary>
    public bool IsSealed { get; private set; }

    /// <summary>The chunk's <see cref="ChunkKey.Owner"/> once sealed (its bytes can be cached decoded); 0 before.</summary>
    public long CacheOwner { get; private set; }

    public void Append(long timestampMs, double value)
    {
        if (Count >= MaxSamples)
        {
            throw new InvalidOperationException($"a chunk holds at most {MaxSamples} samples");
        }

        _writer.EnsureCapacity(MaxBytesPerSample);
        var v = BitConverter.DoubleToUInt64Bits(value);
        switch (Count)
        {
            case 0:
                _writer.WriteVarint(timestampMs);
                _writer.WriteBits(v, 64);
                MinTime = timestampMs;
                break;
            case 1:
                _tDelta = unchecked(timestampMs - _t);
                _writer.WriteVarint(_tDelta);
                WriteValue(v);
                break;
            default:
                var delta = unchecked(timestampMs - _t);
                WriteDeltaOfDelta(unchecked(delta - _tDelta));
                _tDelta = delta;
                WriteValue(v);
                break;
        }

        _t = timestampMs;
        _v = v;
        MaxTime = timestampMs;
        Count++;
        _writer.SetByte(0, (byte)(Count >> 8));
        _writer.SetByte(1, (byte)Count);
    }

    /// <summary>Releases spare buffer space once the chunk is closed: the bytes move to <paramref name="pages"/> when
    /// given (beside the series' earlier chunks of the block window ending at <paramref name="windowEnd"/>), else to an
    /// array of their own.</summary>
    public void Seal(SealedChunkPages? pages = null, long windowEnd = 0)
    {
        // Already in pages: nothing left to release (compaction seals every chunk it takes, sealed or not).
        if (!_moved.IsEmpty)
        {
            return;
        }

        if (pages is not null && Count > 0)
        {
            _moved = pages.Place(_writer.Written, windowEnd);
            _writer = default;
        }
        else
        {
            _writer.Trim();
        }

        IsSealed = true;
        if (CacheOwner == 0)
        {
            CacheOwner = ChunkKey.NewOwner();
        }
    }

    public XorIterator Iterator() => new(Bytes);

    /// <summary>The sample count stored in an encoded chunk's header.</summary>
    public static int CountOf(ReadOnlySpan<byte> chunk) => chunk.Length < 2 ? 0 : BinaryPrimitives.ReadUInt16BigEndian(chunk);

    /// <summary>Decodes every sample of an encoded chunk into <paramref name="into"/>, which must hold
    /// <see cref="CountOf"/> samples; returns how many were written. The same result as <see cref="XorIterator"/>, about
    /// three times faster: the bits are read from a zero-padded copy through one 64-bit window per field, without per-bit
    /// bounds checks.</summary>
    /// <exception cref="InvalidDataException">The chunk ends before its last sample.</exception>
    public static int DecodeAll(ReadOnlySpan<byte> chunk, Span<Sample> into) => DecodeAll(chunk, into, out _);

    /// <summary>As <see cref="DecodeAll(ReadOnlySpan{byte}, Span{Sample})"/>, and tells whether the timestamps rise by
    /// one constant step (every delta-of-delta after the second sample is 0; a chunk of one sample is regular), found
    /// on the way rather than by a second pass over the samples.</summary>
    /// <exception cref="InvalidDataException">The chunk ends before its last sample.</exception>
    public static unsafe int DecodeAll(ReadOnlySpan<byte> chunk, Span<Sample> into, out bool regularStep) =>
        Decode<SamplesOnly>(chunk, into, null, out regularStep);

    /// <summary>As <see cref="DecodeAll(ReadOnlySpan{byte}, Span{Sample}, out bool)"/>, and also writes each value's
    /// bits to <paramref name="values"/> (room for <see cref="CountOf"/>) with non-temporal stores where the processor
    /// has them: the decoded-chunk cache's slot, filled while the decoder waits on its own chain of reads rather than
    /// copied after it. The caller fences the stores before another thread may read them.</summary>
    /// <exception cref="InvalidDataException">The chunk ends before its last sample.</exception>
    public static unsafe int DecodeAll(ReadOnlySpan<byte> chunk, Span<Sample> into, Span<long> values, out bool regularStep)
    {
        if (values.Length < CountOf(chunk))
        {
            throw new ArgumentException($"room for {values.Length} values, the chunk holds {CountOf(chunk)}", nameof(values));
        }

        fixed (long* slot = values)
        {
            return Decode<SamplesAndValues>(chunk, into, slot, out regularStep);
        }
    }

    /// <summary>Whether <see cref="Decode"/> also writes the values on their own: a type argument, so the compiler
    /// builds each decoder without the other's test.</summary>
    private interface IValueOutput
    {
        static abstract bool Writes { get; }
    }

    private readonly struct SamplesOnly : IValueOutput
    {
        public static bool Writes => false;
    }

    private readonly struct SamplesAndValues : IValueOutput
    {
        public static bool Writes => true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Put<TValues>(long* values, int i, ulong v)
        where TValues : struct, IValueOutput
    {
        if (TValues.Writes)
        {
            if (Sse2.X64.IsSupported)
            {
                Sse2.X64.StoreNonTemporal(values + i, (long)v);
            }
            else
            {
                values[i] = (long)v;
            }
        }
    }

    private static unsafe int Decode<TValues>(ReadOnlySpan<byte> chunk, Span<Sample> into, long* values, out bool regularStep)
        where TValues : struct, IValueOutput
    {
        regularStep = true;
        var count = CountOf(chunk);
        if (count == 0)
        {
            return 0;
        }

        if (into.Length < count)
        {
            throw new ArgumentException($"room for {into.Length} samples, the chunk holds {count}", nameof(into));
        }

        // One sample spans at most 145 bits (19 bytes) and every read takes 8 bytes from its starting byte: 32 zero bytes
        // of padding keep a sample that starts inside the chunk from reading past the buffer; running past the chunk's
        // own end is reported after the loop.
        const int Padding = 32;
        Span<byte> buffer = chunk.Length <= 4096 ? stackalloc byte[chunk.Length + Padding] : new byte[chunk.Length + Padding];
        chunk.CopyTo(buffer);
        buffer[chunk.Length..].Clear();
        ref var bytes = ref MemoryMarshal.GetReference(buffer);
        ref var output = ref MemoryMarshal.GetReference(into);
        var limit = (long)chunk.Length * 8;
        var pos = 16;

        var (t, afterTime) = VarintAt(ref bytes, pos);
        pos = afterTime;
        var v = (Peek(ref bytes, pos) & 0xffff_ffff_0000_0000) | (Peek(ref bytes, pos + 32) >> 32);
        pos += 64;
        output = new Sample(t, BitConverter.UInt64BitsToDouble(v));
        Put<TValues>(values, 0, v);
        long tDelta = 0;
        var trailing = 0;

        // The value bits a window holds: 64 - leading - trailing zeros (64 until the first window is read).
        var width = 64;
        var regular = true;
        ulong w;

        // The hot loop keeps every bit of state in locals (no ref parameters, which would pin them to the stack).
        for (var i = 1; i < count && pos <= limit; i++)
        {
            // One 64-bit window serves the delta-of-delta's '0' (a regular interval, the common case) and the value's
            // control bits after it. The second sample's timestamp is a varint delta instead.
            w = Peek(ref bytes, pos);
            if ((w >> 61) == 0b010 && width <= 54)
            {
                // The usual sample, all in the window: '0' (the same interval), '1' '0' (a value that changed inside the
                // last window), then the value's bits. Never the second sample (a varint delta): no window has been read
                // before it, so the width is still 64.
                pos += 3 + width;
                v ^= ((w << 3) >> (64 - width)) << trailing;
                t = unchecked(t + tDelta);
                Unsafe.Add(ref output, i) = new Sample(t, BitConverter.UInt64BitsToDouble(v));
                Put<TValues>(values, i, v);
                continue;
            }

            if (i == 1)
            {
                (tDelta, pos) = VarintAt(ref bytes, pos);
                w = Peek(ref bytes, pos);
            }
            else if ((long)w >= 0)
            {
                pos += 1;
                w <<= 1;
            }
            else
            {
                long dod;
                if ((w & (1UL << 62)) == 0)
                {
                    dod = Bucket((w << 2) >> 50, 14);
                    pos += 16;
                }
                else if ((w & (1UL << 61)) == 0)
                {
                    dod = Bucket((w << 3) >> 47, 17);
                    pos += 20;
                }
                else if ((w & (1UL << 60)) == 0)
                {
                    dod = Bucket((w << 4) >> 44, 20);
                    pos += 24;
                }
                else
                {
                    dod = (long)((Peek(ref bytes, pos + 4) & 0xffff_ffff_0000_0000) | (Peek(ref bytes, pos + 36) >> 32));
                    pos += 68;
                }

                regular &= dod == 0;
                tDelta = unchecked(tDelta + dod);
                w = Peek(ref bytes, pos);
            }

            t = unchecked(t + tDelta);
            if ((long)w >= 0)
            {
                pos += 1;
            }
            else
            {
                // The last leading/trailing-zero window again, or a new one. A branch, not a select: taken the same way
                // most of the time (a window, once wide enough, is reused), so the processor runs ahead on the
                // prediction and the next sample's position does not wait for this sample's bits to arrive.
                int control;
                if ((w & (1UL << 62)) == 0)
                {
                    control = 2;
                    pos += 2;
                }
                else
                {
                    var leading = (int)((w << 2) >> 59);
                    var significant = (int)((w << 7) >> 58);
                    width = significant == 0 ? 64 : significant;
                    trailing = 64 - leading - width;
                    control = 13;
                    pos += 13;
                }

                ulong bits;
                if (control + width <= 56)
                {
                    // The window already holds the value's bits (at least 56 of its 64 are the stream's).
                    bits = (w << control) >> (64 - width);
                }
                else if (width <= 57)
                {
                    bits = Peek(ref bytes, pos) >> (64 - width);
                }
                else
                {
                    bits = ((Peek(ref bytes, pos) >> (96 - width)) << 32) | (Peek(ref bytes, pos + width - 32) >> 32);
                }

                pos += width;
                v ^= bits << trailing;
            }

            Unsafe.Add(ref output, i) = new Sample(t, BitConverter.UInt64BitsToDouble(v));
            Put<TValues>(values, i, v);
        }

        if (pos > limit)
        {
            throw new InvalidDataException("chunk ends early");
        }

        regularStep = regular;
        return count;
    }

    /// <summary>The 64 bits from bit <paramref name="pos"/> on, most significant first (at least 57 of them are the
    /// stream's; the rest are zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Peek(ref byte bytes, int pos) =>
        BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref bytes, pos >> 3))) << (pos & 7);

    /// <summary>A zig-zag varint from bit <paramref name="pos"/> on (bytes not aligned), and the position after it.</summary>
    private static (long Value, int Next) VarintAt(ref byte bytes, int pos)
    {
        ulong u = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = Peek(ref bytes, pos) >> 56;
            pos += 8;
            u |= (b & 0x7f) << shift;
            if (b < 0x80)
            {
                return ((long)(u >> 1) ^ -(long)(u & 1), pos);
            }
        }

        throw new InvalidDataException("varint too long");
    }

    // Prometheus' bucket range: -(2^(n-1)-1) .. 2^(n-1), stored as n bits.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Bucket(ulong bits, int size)
    {
        var value = (long)bits;
        return value > 1L << (size - 1) ? value - (1L << size) : value;
    }

    private void WriteDeltaOfDelta(long dod)
    {
        if (dod == 0)
        {
            _writer.WriteBit(false);
        }
        else if (FitsBucket(dod, 14))
        {
            _writer.WriteBits(0b10, 2);
            _writer.WriteBits((ulong)dod, 14);
        }
        else if (FitsBucket(dod, 17))
        {
            _writer.WriteBits(0b110, 3);
            _writer.WriteBits((ulong)dod, 17);
        }
        else if (FitsBucket(dod, 20))
        {
            _writer.WriteBits(0b1110, 4);
            _writer.WriteBits((ulong)dod, 20);
        }
        else
        {
            _writer.WriteBits(0b1111, 4);
            _writer.WriteBits((ulong)dod, 64);
        }
    }

    // Prometheus' bitRange: the bucket holds -(2^(n-1)-1) .. 2^(n-1).
    private static bool FitsBucket(long x, int bits) => -((1L << (bits - 1)) - 1) <= x && x <= 1L << (bits - 1);

    private void WriteValue(ulong v)
    {
        var xor = v ^ _v;
        if (xor == 0)
        {
            _writer.WriteBit(false);
            return;
        }

        _writer.WriteBit(true);
        var leading = (byte)Math.Min(ulong.LeadingZeroCount(xor), 31);
        var trailing = (byte)ulong.TrailingZeroCount(xor);
        if (_leading != 0xff && leading >= _leading && trailing >= _trailing)
        {
            _writer.WriteBit(false);
            _writer.WriteBits(xor >> _trailing, 64 - _leading - _trailing);
            return;
        }

        _leading = leading;
        _trailing = trailing;
        var significant = 64 - leading - trailing;
        _writer.WriteBit(true);
        _writer.WriteBits(leading, 5);
        // 64 significant bits are written as 0: six bits cannot hold 64, and 0 is never otherwise needed.
        _writer.WriteBits((ulong)significant, 6);
        _writer.WriteBits(xor >> trailing, significant);
    }
}

/// <summary>Decodes an <see cref="XorChunk"/>'s bytes sample by sample.</summary>
internal ref struct XorIterator
{
    private BitReader _reader;
    private readonly int _total;
    private int _read;
    private long _t;
    private long _tDelta;
    private ulong _v;
    private byte _leading;
    private byte _trailing;

    public XorIterator(ReadOnlySpan<byte> chunk)
    {
        _total = XorChunk.CountOf(chunk);
        _reader = new BitReader(chunk, 16);
    }

    public readonly long Timestamp => _t;

    public readonly double Value => BitConverter.UInt64BitsToDouble(_v);

    public bool Next()
    {
        if (_read >= _total)
        {
            return false;
        }

        switch (_read)
        {
            case 0:
                _t = _reader.ReadVarint();
                _v = _reader.ReadBits(64);
                break;
            case 1:
                _tDelta = _reader.ReadVarint();
                _t = unchecked(_t + _tDelta);
                ReadValue();
                break;
            default:
                _tDelta = unchecked(_tDelta + ReadDeltaOfDelta());
                _t = unchecked(_t + _tDelta);
                ReadValue();
                break;
        }

        _read++;
        return true;
    }

    private long ReadDeltaOfDelta()
    {
        var prefix = 0;
        for (var i = 0; i < 4; i++)
        {
            if (!_reader.ReadBit())
            {
                break;
            }

            prefix++;
        }

        var size = prefix switch
        {
            0 => 0,
            1 => 14,
            2 => 17,
            3 => 20,
            _ => 64,
        };
        if (size == 0)
        {
            return 0;
        }

        var bits = _reader.ReadBits(size);
        if (size == 64)
        {
            return (long)bits;
        }

        var value = (long)bits;
        if (value > 1L << (size - 1))
        {
            value -= 1L << size;
        }

        return value;
    }

    private void ReadValue()
    {
        if (!_reader.ReadBit())
        {
            return;
        }

        if (_reader.ReadBit())
        {
            _leading = (byte)_reader.ReadBits(5);
            var significant = (int)_reader.ReadBits(6);
            if (significant == 0)
            {
                significant = 64;
            }

            _trailing = (byte)(64 - _leading - significant);
        }

        var bits = _reader.ReadBits(64 - _leading - _trailing);
        _v ^= bits << _trailing;
    }
}

/// <summary>Pages that hold one series' sealed head chunks back to back, so that a range query reading the series
/// finds them side by side (as in a block) instead of each in an array of its own, allocated among every other series'
/// chunks sealed at the same moment.</summary>
/// <remarks>A page holds chunks of one block window only, so compaction, which takes a window's chunks at once, frees
/// whole pages. Within a window pages start at room for two chunks and double up to <see cref="PageBytes"/>: at most
/// about half a page is left unused per series.</remarks>
internal sealed class SealedChunkPages
{
    /// <summary>The largest page: about 22 full chunks of a regular 10 s series (180 bytes each).</summary>
    public const int PageBytes = 4096;

    private byte[]? _page;
    private int _used;
    private long _window = long.MinValue;

    /// <summary>Copies <paramref name="bytes"/>, a chunk of the block window ending at <paramref name="windowEnd"/>, to
    /// the current page (a new one when it lacks room or holds another window) and returns where.</summary>
    public ReadOnlyMemory<byte> Place(ReadOnlySpan<byte> bytes, long windowEnd)
    {
        if (_page is null || windowEnd != _window || _used + bytes.Length > _page.Length)
        {
            var size = _page is null || windowEnd != _window ? 2 * bytes.Length : Math.Min(2 * _page.Length, PageBytes);
            _page = new byte[Math.Max(size, bytes.Length)];
            _used = 0;
            _window = windowEnd;
        }

        bytes.CopyTo(_page.AsSpan(_used));
        var placed = _page.AsMemory(_used, bytes.Length);
        _used += bytes.Length;
        return placed;
    }
}
