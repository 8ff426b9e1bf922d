using System.Buffers.Binary;

namespace Aida.Telemetry.Storage;

/// <summary>An append-only bit stream, most significant bit first, over a growable byte array.</summary>
/// <remarks>Callers reserve room with <see cref="EnsureCapacity"/> once per sample (what they will write plus 8 bytes
/// of slack for the 64-bit write window) so the writes themselves do not check.</remarks>
internal struct BitWriter
{
    private byte[] _bytes;
    private int _bitLength;

    public BitWriter(int initialBytes)
    {
        _bytes = new byte[initialBytes];
        _bitLength = 0;
    }

    public readonly int BitLength => _bitLength;

    public readonly int ByteLength => (_bitLength + 7) >> 3;

    public readonly ReadOnlySpan<byte> Written => _bytes.AsSpan(0, ByteLength);

    public readonly ReadOnlyMemory<byte> WrittenMemory => _bytes.AsMemory(0, ByteLength);

    public void EnsureCapacity(int extraBytes)
    {
        var needed = ByteLength + extraBytes;
        if (needed > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(needed, _bytes.Length * 2));
        }
    }

    /// <summary>Drops the spare capacity once nothing more will be written.</summary>
    public void Trim()
    {
        if (_bytes.Length != ByteLength)
        {
            Array.Resize(ref _bytes, ByteLength);
        }
    }

    public readonly void SetByte(int index, byte value) => _bytes[index] = value;

    public void WriteBit(bool bit)
    {
        if (bit)
        {
            _bytes[_bitLength >> 3] |= (byte)(0x80 >> (_bitLength & 7));
        }

        _bitLength++;
    }

    /// <summary>Writes the low <paramref name="count"/> bits (0..64) of <paramref name="value"/>.</summary>
    /// <remarks>ORs into a big-endian 64-bit window, so the 8 bytes from the current byte must be allocated (and, beyond
    /// what was written, zero).</remarks>
    public void WriteBits(ulong value, int count)
    {
        if (count > 56)
        {
            WriteWindow(value >> 32, count - 32);
            WriteWindow(value & 0xffff_ffff, 32);
        }
        else if (count > 0)
        {
            WriteWindow(value, count);
        }
    }

    private void WriteWindow(ulong value, int count)
    {
        var window = _bytes.AsSpan(_bitLength >> 3, 8);
        var word = BinaryPrimitives.ReadUInt64BigEndian(window) | ((value << (64 - count)) >> (_bitLength & 7));
        BinaryPrimitives.WriteUInt64BigEndian(window, word);
        _bitLength += count;
    }

    public void WriteByte(byte value) => WriteBits(value, 8);

    /// <summary>A zig-zag varint, so negative numbers stay short.</summary>
    public void WriteVarint(long value)
    {
        var u = (ulong)((value << 1) ^ (value >> 63));
        while (u >= 0x80)
        {
            WriteByte((byte)(u | 0x80));
            u >>= 7;
        }

        WriteByte((byte)u);
    }
}

/// <summary>Reads what <see cref="BitWriter"/> wrote; running off the end is <see cref="InvalidDataException"/>.</summary>
internal ref struct BitReader
{
    private readonly ReadOnlySpan<byte> _bytes;
    private int _position;

    public BitReader(ReadOnlySpan<byte> bytes, int bitOffset)
    {
        _bytes = bytes;
        _position = bitOffset;
    }

    public bool ReadBit()
    {
        var index = _position >> 3;
        if (index >= _bytes.Length)
        {
            throw new InvalidDataException("chunk ends early");
        }

        var bit = (_bytes[index] >> (7 - (_position & 7))) & 1;
        _position++;
        return bit != 0;
    }

    public ulong ReadBits(int count)
    {
        if (count == 0)
        {
            return 0;
        }

        if (count <= 56 && (_position >> 3) + 8 <= _bytes.Length)
        {
            var word = BinaryPrimitives.ReadUInt64BigEndian(_bytes[(_position >> 3)..]);
            var value = (word << (_position & 7)) >> (64 - count);
            _position += count;
            return value;
        }

        return ReadBitsSlowly(count);
    }

    private ulong ReadBitsSlowly(int count)
    {
        ulong value = 0;
        while (count > 0)
        {
            var index = _position >> 3;
            if (index >= _bytes.Length)
            {
                throw new InvalidDataException("chunk ends early");
            }

            var available = 8 - (_position & 7);
            var take = Math.Min(available, count);
            var bits = (uint)(_bytes[index] >> (available - take)) & ((1u << take) - 1);
            value = (value << take) | bits;
            count -= take;
            _position += take;
        }

        return value;
    }

    public long ReadVarint()
    {
        ulong u = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadBits(8);
            u |= (b & 0x7f) << shift;
            if (b < 0x80)
            {
                return (long)(u >> 1) ^ -(long)(u & 1);
            }
        }

        throw new InvalidDataException("varint too long");
    }
}
