using System.Buffers.Binary;
using System.Security.Cryptography;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.RemoteWrite;

/// <summary>The label bytes of a remote-write time series, as they came on the wire, mapped to the reference an
/// <see cref="ISampleAppender"/> gave that series.</summary>
/// <remarks>
/// <para>A sender repeats each series' labels byte for byte in every request. A hit costs a hash and a byte comparison and
/// skips decoding the labels into strings, building and validating a <see cref="Labels"/> set and the store's lookup by
/// label set (VictoriaMetrics keeps the same kind of cache, from the raw metric name to the series id). The same labels
/// in other bytes (another order, an empty-valued label, other field encodings) get an entry of their own with the same
/// reference.</para>
/// <para>Sound because the bytes determine the label set, and a reference stays valid for the life of the appender that
/// gave it (the store never drops or renumbers a series while open). Only bytes whose labels were decoded, validated and
/// given a series are added. One cache serves one appender: a reopened store replays its WAL into new references, and a
/// new receiver starts with an empty cache.</para>
/// <para>Bounded: entries live in two generations of at most <see cref="GenerationBytes"/> each (slots and key bytes).
/// When the newer generation is full it becomes the older one and the previous older one is dropped; a hit in the older
/// generation is copied into the newer, so the series still being written stay cached. Label sets longer than
/// <see cref="MaxKeyBytes"/> are not cached.</para>
/// <para>Lookups take no lock (writers publish a slot's reference last, with a release write); additions take one.
/// Slots and keys sit in flat arrays, so a lookup touches one slot and one run of key bytes rather than a dictionary
/// node and a key object.</para>
/// </remarks>
internal sealed class SeriesRefCache
{
    /// <summary>Default bound of one generation: room for about 400,000 series with 100 bytes of labels each.</summary>
    public const long DefaultGenerationBytes = 64L << 20;

    /// <summary>Label bytes longer than this are never cached.</summary>
    public const int MaxKeyBytes = 16 << 10;

    private const int InitialSlots = 1024;

    private readonly Lock _writer = new();
    private readonly ulong _seed = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));
    private volatile Table _current = new(InitialSlots, InitialSlots * 64);
    private volatile Table? _previous;

    public SeriesRefCache(long generationBytes = DefaultGenerationBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(generationBytes, (long)InitialSlots * 16 * 4);
        GenerationBytes = generationBytes;
    }

    /// <summary>Bound of one generation, in bytes.</summary>
    public long GenerationBytes { get; }

    /// <summary>Entries in both generations (an entry may be in both).</summary>
    public int Count => _current.Count + (_previous?.Count ?? 0);

    /// <summary>The hash <see cref="TryGet"/> and <see cref="Add"/> want for <paramref name="labelBytes"/>, seeded at
    /// random per cache so that a sender cannot choose label sets that collide.</summary>
    public uint Hash(ReadOnlySpan<byte> labelBytes) => LabelBytesHash.Compute(labelBytes, _seed);

    public bool TryGet(ReadOnlySpan<byte> labelBytes, uint hash, out int reference)
    {
        if (_current.TryGet(labelBytes, hash, out reference))
        {
            return true;
        }

        if (_previous is not { } previous || !previous.TryGet(labelBytes, hash, out reference))
        {
            return false;
        }

        Add(labelBytes, hash, reference);
        return true;
    }

    /// <summary>Remembers that <paramref name="labelBytes"/> (with <paramref name="hash"/> from <see cref="Hash"/>) name
    /// the series <paramref name="reference"/>.</summary>
    public void Add(ReadOnlySpan<byte> labelBytes, uint hash, int reference)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(reference);
        if (labelBytes.Length > MaxKeyBytes)
        {
            return;
        }

        lock (_writer)
        {
            var current = _current;
            if (current.TryGet(labelBytes, hash, out _))
            {
                return;
            }

            if (!current.HasRoom(labelBytes.Length))
            {
                if (current.Bytes * 2 <= GenerationBytes)
                {
                    current = current.Grown(labelBytes.Length);
                }
                else
                {
                    _previous = current;
                    current = new Table(InitialSlots, Math.Max(InitialSlots * 64, labelBytes.Length));
                }

                _current = current;
            }

            current.Insert(labelBytes, hash, reference);
        }
    }

    /// <summary>An open-addressing table (linear probing, at most half full) whose keys live in one byte array.</summary>
    private sealed class Table
    {
        private readonly Slot[] _slots;
        private readonly byte[] _keys;
        private int _keysUsed;

        public Table(int slots, int keyBytes)
        {
            _slots = new Slot[slots];
            _keys = new byte[keyBytes];
        }

        public int Count { get; private set; }

        public long Bytes => ((long)_slots.Length * 16) + _keys.Length;

        public bool HasRoom(int keyLength) => (Count + 1) * 2 <= _slots.Length && _keysUsed + keyLength <= _keys.Length;

        public bool TryGet(ReadOnlySpan<byte> key, uint hash, out int reference)
        {
            var slots = _slots;
            var mask = slots.Length - 1;
            for (var i = (int)hash & mask; ; i = (i + 1) & mask)
            {
                ref var slot = ref slots[i];
                var referencePlusOne = Volatile.Read(ref slot.ReferencePlusOne);
                if (referencePlusOne == 0)
                {
                    reference = -1;
                    return false;
                }

                if (slot.Hash == hash && slot.KeyLength == key.Length && key.SequenceEqual(_keys.AsSpan(slot.KeyOffset, slot.KeyLength)))
                {
                    reference = referencePlusOne - 1;
                    return true;
                }
            }
        }

        /// <summary>Adds a key known to be absent; the caller holds the writer lock and checked <see cref="HasRoom"/>.</summary>
        public void Insert(ReadOnlySpan<byte> key, uint hash, int reference)
        {
            var mask = _slots.Length - 1;
            var i = (int)hash & mask;
            while (_slots[i].ReferencePlusOne != 0)
            {
                i = (i + 1) & mask;
            }

            key.CopyTo(_keys.AsSpan(_keysUsed));
            ref var slot = ref _slots[i];
            slot.Hash = hash;
            slot.KeyOffset = _keysUsed;
            slot.KeyLength = key.Length;
            _keysUsed += key.Length;
            Count++;

            // Published last: a reader that sees the reference also sees the tag, the key's place and its bytes.
            Volatile.Write(ref slot.ReferencePlusOne, reference + 1);
        }

        /// <summary>A copy with twice the slots and room for the keys plus <paramref name="keyLength"/> more.</summary>
        public Table Grown(int keyLength)
        {
            var grown = new Table(_slots.Length * 2, Math.Max(_keys.Length * 2, _keysUsed + keyLength));
            foreach (var slot in _slots)
            {
                if (slot.ReferencePlusOne != 0)
                {
                    grown.Insert(_keys.AsSpan(slot.KeyOffset, slot.KeyLength), slot.Hash, slot.ReferencePlusOne - 1);
                }
            }

            return grown;
        }
    }

    /// <summary>One entry: the key's whole hash (its low bits pick the home slot; all of it screens out other keys before
    /// their bytes are compared), where its bytes are, and the reference plus one (0: an empty slot).</summary>
    private struct Slot
    {
        public uint Hash;
        public int KeyOffset;
        public int KeyLength;
        public int ReferencePlusOne;
    }
}

/// <summary>A fast seeded hash of a run of bytes (wyhash's multiply-fold mixing, 16 bytes a round), for
/// <see cref="SeriesRefCache"/>: label sets are tens to hundreds of bytes and hashed once per series per request.</summary>
internal static class LabelBytesHash
{
    private const ulong Secret0 = 0xa0761d6478bd642f;
    private const ulong Secret1 = 0xe7037ed1a0b428db;
    private const ulong Secret2 = 0x8ebc6af09c88c6e3;

    public static uint Compute(ReadOnlySpan<byte> bytes, ulong seed)
    {
        var length = bytes.Length;
        var state = seed ^ Mix(seed ^ Secret0, (ulong)length ^ Secret1);
        var i = 0;
        for (; length - i > 16; i += 16)
        {
            state = Mix(BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]) ^ Secret1, BinaryPrimitives.ReadUInt64LittleEndian(bytes[(i + 8)..]) ^ state);
        }

        // The last 1 to 16 bytes, read as two words that may overlap (or from a short tail, its ends and middle).
        ulong a, b;
        var rest = length - i;
        if (rest >= 8)
        {
            a = BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]);
            b = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(length - 8)..]);
        }
        else if (rest >= 4)
        {
            a = BinaryPrimitives.ReadUInt32LittleEndian(bytes[i..]);
            b = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(length - 4)..]);
        }
        else if (rest > 0)
        {
            a = ((ulong)bytes[i] << 16) | ((ulong)bytes[i + (rest >> 1)] << 8) | bytes[length - 1];
            b = 0;
        }
        else
        {
            a = b = 0;
        }

        var hash = Mix(Secret1 ^ (ulong)length, Mix(a ^ Secret1, b ^ state) ^ Secret2);
        return (uint)(hash ^ (hash >> 32));
    }

    private static ulong Mix(ulong a, ulong b)
    {
        var high = Math.BigMul(a, b, out var low);
        return high ^ low;
    }
}
