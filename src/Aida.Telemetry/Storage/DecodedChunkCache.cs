using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Storage;

/// <summary>Names an immutable chunk for <see cref="DecodedChunkCache"/>: its owner (a block, or a sealed head chunk)
/// and where it lies in the owner. Owner 0 names nothing: the chunk may still change and is never cached.</summary>
/// <remarks>Owner numbers come from one process-wide counter and are never reused, so a key can only ever mean the
/// bytes it was first given for: a block replaced by a merge or deleted by retention takes its number with it, and
/// nothing cached under that number can be served for the data that replaced it.</remarks>
internal readonly record struct ChunkKey(long Owner, int Offset)
{
    private static long s_lastOwner;

    public bool IsCacheable => Owner != 0;

    /// <summary>A fresh owner number, never handed out before in this process.</summary>
    public static long NewOwner() => Interlocked.Increment(ref s_lastOwner);
}

/// <summary>Where a cached chunk's samples were when it was looked up; <see cref="DecodedChunkCache.TryCopy"/> copies
/// them out and tells whether they were still there.</summary>
internal readonly record struct CachedChunk(CacheSlab? Values, int ValuesSlot, long ValuesVersion, CacheSlab? Times, int TimesSlot, long TimesVersion, int Count, long FirstTime, long Step)
{
    public bool Found => Values is not null;
}

/// <summary>A run of <see cref="DecodedChunkCache"/> slots: each slot <see cref="XorChunk.MaxSamples"/> 64-bit words of
/// <see cref="Data"/>, its version in <see cref="Versions"/> (apart, so looking entries up touches a few dense lines
/// rather than one line per slot).</summary>
internal sealed class CacheSlab(int slots)
{
    public long[] Data { get; } = new long[slots * XorChunk.MaxSamples];

    public long[] Versions { get; } = new long[slots];
}

/// <summary>The decoded samples of immutable chunks (compacted blocks' chunks and sealed head chunks), kept up to a byte
/// budget and evicted least recently used first, so a dashboard re-running the same range query copies samples instead
/// of decoding the same Gorilla chunks at every refresh.</summary>
/// <remarks>
/// <para>Samples live in fixed slots of <see cref="XorChunk.MaxSamples"/> 64-bit words inside large arrays
/// (<see cref="CacheSlab"/>) allocated as the cache grows (at most the budget, kept until the cache is dropped), so
/// filling and evicting allocate nothing the collector has to trace, promote or compact. A chunk takes one slot for its values and, unless its timestamps rise by
/// a constant step (a scrape or simulator interval, the common case: kept as first value and step), one for its
/// timestamps; each entry also counts <see cref="EntryOverheadBytes"/> for its bookkeeping.</para>
/// <para>Keys map to entries through an open-addressing table (<see cref="KeyTable"/>) rather than a dictionary, so
/// that a lookup of a series' chunks can first touch every key's table line and then every entry's record, and the
/// processor waits for those scattered reads together instead of one after another: a day of 1,000 series is 72,000
/// chunks, each two reads at random places in megabytes of bookkeeping.</para>
/// <para>Thread-safe: one lock guards the map, the recency list and the slots' owners. A reader looks up all of one
/// series' chunks under one acquisition (<see cref="Lookup"/>) and copies the samples out without the lock
/// (<see cref="TryCopy"/>), as in a sequence lock: evicting an entry bumps its slots' versions (with a full fence)
/// before anything else is written there, and a copy whose slots' versions changed meanwhile is reported as failed,
/// so the caller decodes that chunk instead.</para>
/// </remarks>
internal sealed class DecodedChunkCache
{
    /// <summary>What an entry costs beside its slots: its record and its map entry.</summary>
    public const int EntryOverheadBytes = 96;

    private const int SlotWords = XorChunk.MaxSamples;

    // A slot's words and its version.
    private const int SlotBytes = (SlotWords + 1) * sizeof(long);
    private const int SlotsPerSlab = 1024;
    private const int Sentinel = 0;

    private readonly Lock _lock = new();
    private readonly KeyTable _index = new();
    private readonly List<CacheSlab> _slabs = [];
    private readonly Stack<int> _freeSlots = new();
    private readonly Stack<int> _freeEntries = new();
    private int _slotsMade;

    // Entry 0 is the sentinel of the recency ring: most recently used after it, least recently used before it.
    private EntryRecord[] _entries = new EntryRecord[64];
    private int _entriesMade = 1;
    private long _bytes;

    // Where Lookup's touching reads go, so that the compiler keeps them.
    private long _touched;

    public DecodedChunkCache(long budgetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budgetBytes);
        BudgetBytes = budgetBytes;
        _entries[Sentinel].Previous = _entries[Sentinel].Next = Sentinel;
    }

    /// <summary>The most the entries may take, in bytes.</summary>
    public long BudgetBytes { get; }

    /// <summary>Bytes the entries take now; never above <see cref="BudgetBytes"/>.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Chunks held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _index.Count;
            }
        }
    }

    /// <summary>Finds each key's samples (not <see cref="CachedChunk.Found"/> when absent or not cacheable), marking
    /// those found most recently used.</summary>
    public void Lookup(ReadOnlySpan<ChunkKey> keys, Span<CachedChunk> found)
    {
        lock (_lock)
        {
            LookupLocked(keys, found);
        }
    }

    /// <summary><see cref="Lookup"/>, then <see cref="Reserve"/> for the cacheable keys not found, under one
    /// acquisition of the lock: what a select does for each series. <paramref name="plans"/> needs room for
    /// <paramref name="keys"/>; returns how many reservations it holds.</summary>
    public int LookupAndReserve(ReadOnlySpan<ChunkKey> keys, Span<CachedChunk> found, Span<Reservation> plans)
    {
        lock (_lock)
        {
            LookupLocked(keys, found);
            var planned = 0;
            for (var i = 0; i < keys.Length; i++)
            {
                if (!found[i].Found && keys[i].IsCacheable && !TryReserveLocked(i, plans, ref planned))
                {
                    break;
                }
            }

            return planned;
        }
    }

    private void LookupLocked(ReadOnlySpan<ChunkKey> keys, Span<CachedChunk> found)
    {
        var entries = System.Buffers.ArrayPool<int>.Shared.Rent(keys.Length);

        // Touch every key's table line, then every entry found, before using any: independent reads the processor
        // overlaps.
        long touched = _index.Touch(keys);
        for (var i = 0; i < keys.Length; i++)
        {
            var e = keys[i].IsCacheable ? _index.Find(keys[i]) : 0;
            entries[i] = e;
            touched += _entries[e].Count;
        }

        _touched = touched;
        for (var i = 0; i < keys.Length; i++)
        {
            var e = entries[i];
            if (e == 0)
            {
                found[i] = default;
                continue;
            }

            Unlink(e);
            LinkFirst(e);
            ref var entry = ref _entries[e];
            var (values, valuesAt) = Slot(entry.ValuesSlot);
            var (times, timesAt) = entry.TimesSlot < 0 ? (null, 0) : Slot(entry.TimesSlot);
            found[i] = new CachedChunk(values, valuesAt, values.Versions[valuesAt], times, timesAt, times?.Versions[timesAt] ?? 0, entry.Count, entry.FirstTime, entry.Step);
        }

        System.Buffers.ArrayPool<int>.Shared.Return(entries);
    }

    /// <summary>Writes a looked-up chunk's samples to the start of <paramref name="into"/> (room for
    /// <see cref="CachedChunk.Count"/>); false when the entry was evicted meanwhile (<paramref name="into"/> then holds
    /// garbage and the chunk must be decoded).</summary>
    public bool TryCopy(in CachedChunk chunk, Span<Sample> into)
    {
        var count = chunk.Count;
        if (!chunk.Found || (uint)count > (uint)into.Length)
        {
            return false;
        }

        ref var output = ref MemoryMarshal.GetReference(into);
        ref var values = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(chunk.Values!.Data), chunk.ValuesSlot * SlotWords);
        if (chunk.Times is { } timeSlab)
        {
            ref var times = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(timeSlab.Data), chunk.TimesSlot * SlotWords);
            var i = 0;
            if (Avx2.IsSupported)
            {
                for (; i + 4 <= count; i += 4)
                {
                    StoreInterleaved(Vector256.LoadUnsafe(ref times, (nuint)i), Vector256.LoadUnsafe(ref values, (nuint)i), ref output, i);
                }
            }

            for (; i < count; i++)
            {
                Unsafe.Add(ref output, i) = new Sample(Unsafe.Add(ref times, i), BitConverter.Int64BitsToDouble(Unsafe.Add(ref values, i)));
            }
        }
        else
        {
            var t = chunk.FirstTime;
            var step = chunk.Step;
            var i = 0;
            if (Avx2.IsSupported && count >= 4)
            {
                // Four timestamps at a time, each the one four steps before plus four steps (wrapping, as the scalar sum).
                var fourTimes = Vector256.Create(t, unchecked(t + step), unchecked(t + (2 * step)), unchecked(t + (3 * step)));
                var fourSteps = Vector256.Create(unchecked(4 * step));
                for (; i + 4 <= count; i += 4)
                {
                    StoreInterleaved(fourTimes, Vector256.LoadUnsafe(ref values, (nuint)i), ref output, i);
                    fourTimes += fourSteps;
                }

                t = fourTimes.GetElement(0);
            }

            for (; i < count; i++)
            {
                Unsafe.Add(ref output, i) = new Sample(t, BitConverter.Int64BitsToDouble(Unsafe.Add(ref values, i)));
                t = unchecked(t + step);
            }
        }

        // The sequence lock's read side: the copy's loads complete before the versions are read again.
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref chunk.Values!.Versions[chunk.ValuesSlot]) == chunk.ValuesVersion
            && (chunk.Times is null || Volatile.Read(ref chunk.Times.Versions[chunk.TimesSlot]) == chunk.TimesVersion);
    }

    /// <summary>Writes four samples, <paramref name="times"/>[j] and <paramref name="values"/>[j] (a value's bits), to
    /// <paramref name="output"/> from index <paramref name="at"/>: the two vectors interleaved in two stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInterleaved(Vector256<long> times, Vector256<long> values, ref Sample output, int at)
    {
        // Within each 128-bit lane: (t0, v0, t2, v2) and (t1, v1, t3, v3); then the lanes recombined in order.
        var low = Avx2.UnpackLow(times, values);
        var high = Avx2.UnpackHigh(times, values);
        ref var words = ref Unsafe.As<Sample, long>(ref Unsafe.Add(ref output, at));
        Avx2.Permute2x128(low, high, 0x20).StoreUnsafe(ref words);
        Avx2.Permute2x128(low, high, 0x31).StoreUnsafe(ref words, 4);
    }

    /// <summary>Keeps a copy of <paramref name="samples"/> (the whole decoded chunk) under <paramref name="key"/> as the
    /// most recently used entry, evicting the least recently used ones beyond the budget. A key already held is left as
    /// it is (it names the same bytes); a chunk that does not fit the budget or a slot is not kept.</summary>
    public void Add(ChunkKey key, ReadOnlySpan<Sample> samples) =>
        AddRange([key], [0, samples.Length], [0], samples);

    /// <summary>As <see cref="Add"/> for chunks <paramref name="which"/> of a series laid out back to back: chunk i's
    /// samples are <c>samples[starts[i]..starts[i + 1]]</c>, its key <c>keys[i]</c>; <paramref name="regularSteps"/>,
    /// when given, tells for each chunk i whether its timestamps rise by one constant step (as the decoder found it),
    /// else that is checked here.</summary>
    /// <remarks>The lock is held twice, briefly: to reserve the chunks' slots (<see cref="Reserve"/>) and to publish the
    /// entries (<see cref="Publish"/>). The values are copied into the reserved slots between the two, without the
    /// lock, so two query threads filling the cache copy at the same time instead of one waiting for the other.</remarks>
    public void AddRange(ReadOnlySpan<ChunkKey> keys, ReadOnlySpan<int> starts, ReadOnlySpan<int> which, ReadOnlySpan<Sample> samples, ReadOnlySpan<bool> regularSteps = default)
    {
        var plans = System.Buffers.ArrayPool<Reservation>.Shared.Rent(which.Length);
        try
        {
            var reserved = plans.AsSpan(0, Reserve(keys, which, plans));
            foreach (ref readonly var plan in reserved)
            {
                var chunk = samples[starts[plan.Chunk]..starts[plan.Chunk + 1]];
                if (chunk.Length <= XorChunk.MaxSamples)
                {
                    Fill(ValuesOf(plan), chunk);
                }
            }

            Publish(keys, reserved, starts, samples, regularSteps);
        }
        finally
        {
            System.Buffers.ArrayPool<Reservation>.Shared.Return(plans, clearArray: true);
        }
    }

    /// <summary>Reserves a value slot for each chunk <c>which[k]</c> whose key is cacheable and not held, evicting the
    /// least recently used entries as the budget needs; writes the reservations to the start of
    /// <paramref name="plans"/> (room for <paramref name="which"/>) and returns how many. The caller writes each chunk's
    /// values into <see cref="ValuesOf"/> (non-temporal stores welcome) and then calls <see cref="Publish"/> with every
    /// reservation, filled or not.</summary>
    /// <remarks>A reserved slot is in neither the map nor the free list, so nothing else reads or writes it until it is
    /// published; its bytes count against the budget from the reservation on. Only published entries can be evicted:
    /// the rest of the budget may be other threads' reservations.</remarks>
    public int Reserve(ReadOnlySpan<ChunkKey> keys, ReadOnlySpan<int> which, Span<Reservation> plans)
    {
        var planned = 0;
        lock (_lock)
        {
            foreach (var i in which)
            {
                if (keys[i].IsCacheable && _index.Find(keys[i]) == 0 && !TryReserveLocked(i, plans, ref planned))
                {
                    break;
                }
            }
        }

        return planned;
    }

    /// <summary>Reserves a value slot for chunk <paramref name="chunk"/> as <c>plans[planned++]</c>, evicting what the
    /// budget needs; false when the budget is all reserved. Under the lock.</summary>
    private bool TryReserveLocked(int chunk, Span<Reservation> plans, ref int planned)
    {
        const long Cost = EntryOverheadBytes + SlotBytes;
        if (!Evict(Cost))
        {
            return false;
        }

        var slot = TakeSlot();
        plans[planned++] = new Reservation { Chunk = chunk, Cost = Cost, ValuesSlot = slot, Values = Slot(slot).Slab };
        _bytes += Cost;
        return true;
    }

    /// <summary>Where a reservation's values go: <see cref="XorChunk.MaxSamples"/> words, a value's bits each.</summary>
    public Span<long> ValuesOf(in Reservation plan) =>
        plan.Values!.Data.AsSpan((plan.ValuesSlot % SlotsPerSlab) * SlotWords, SlotWords);

    /// <summary>Makes reservations entries, most recently used: chunk c's samples are
    /// <c>samples[starts[c]..starts[c + 1]]</c> and its values already in its slot; <paramref name="regularSteps"/>
    /// (indexed by chunk, or empty: checked here) tells whether its timestamps rise by one step, else they take a second
    /// slot, copied here. A chunk that is empty or too long for a slot, whose key another thread published meanwhile, or
    /// whose timestamp slot does not fit the budget, gives its slot back.</summary>
    public void Publish(ReadOnlySpan<ChunkKey> keys, ReadOnlySpan<Reservation> plans, ReadOnlySpan<int> starts, ReadOnlySpan<Sample> samples, ReadOnlySpan<bool> regularSteps)
    {
        if (plans.IsEmpty)
        {
            return;
        }

        // The slots' non-temporal stores complete before any other thread can find the entries.
        if (Sse2.X64.IsSupported)
        {
            Sse.StoreFence();
        }

        lock (_lock)
        {
            foreach (ref readonly var plan in plans)
            {
                var chunk = samples[starts[plan.Chunk]..starts[plan.Chunk + 1]];
                var key = keys[plan.Chunk];
                var cost = plan.Cost;
                var (regular, step) = chunk.IsEmpty ? (true, 0) : regularSteps.IsEmpty ? Shape(chunk) : (regularSteps[plan.Chunk], StepOf(chunk));
                var timesSlot = -1;
                var keep = !chunk.IsEmpty && chunk.Length <= XorChunk.MaxSamples && _index.Find(key) == 0;
                if (keep && !regular)
                {
                    // Only published entries are evicted, so this plan's own slot stays.
                    keep = Evict(SlotBytes);
                    if (keep)
                    {
                        timesSlot = TakeSlot();
                        var (times, at) = Slot(timesSlot);
                        for (var k = 0; k < chunk.Length; k++)
                        {
                            times.Data[(at * SlotWords) + k] = chunk[k].TimestampMs;
                        }

                        cost += SlotBytes;
                        _bytes += SlotBytes;
                    }
                }

                if (!keep)
                {
                    FreeSlot(plan.ValuesSlot);
                    _bytes -= plan.Cost;
                    continue;
                }

                var e = TakeEntry();
                _entries[e] = new EntryRecord
                {
                    Key = key,
                    Count = chunk.Length,
                    FirstTime = chunk[0].TimestampMs,
                    Step = step,
                    ValuesSlot = plan.ValuesSlot,
                    TimesSlot = timesSlot,
                    Bytes = cost,
                };
                LinkFirst(e);
                _index.Add(key, e);
            }
        }
    }

    /// <summary>Gives back reservations that will not be published (their chunks could not be decoded).</summary>
    public void Release(ReadOnlySpan<Reservation> plans)
    {
        lock (_lock)
        {
            foreach (ref readonly var plan in plans)
            {
                FreeSlot(plan.ValuesSlot);
                _bytes -= plan.Cost;
            }
        }
    }

    /// <summary>Evicts least recently used published entries until <paramref name="bytes"/> more fit the budget; false
    /// when they cannot (the rest is reserved). Under the lock.</summary>
    private bool Evict(long bytes)
    {
        while (_bytes + bytes > BudgetBytes && _entries[Sentinel].Previous != Sentinel)
        {
            Remove(_entries[Sentinel].Previous);
        }

        return _bytes + bytes <= BudgetBytes;
    }

    /// <summary>Whether a chunk's timestamps rise by one constant step (kept as first and step, no timestamp slot).</summary>
    private static (bool Regular, long Step) Shape(ReadOnlySpan<Sample> samples)
    {
        var step = StepOf(samples);
        var t = samples[0].TimestampMs;
        var regular = true;
        foreach (var s in samples)
        {
            regular &= s.TimestampMs == t;
            t = unchecked(t + step);
        }

        return (regular, step);
    }

    /// <summary>The step between a chunk's first two timestamps (0 for one sample).</summary>
    private static long StepOf(ReadOnlySpan<Sample> samples) =>
        samples.Length > 1 ? unchecked(samples[1].TimestampMs - samples[0].TimestampMs) : 0;

    /// <summary>Copies a chunk's values into its reserved slot.</summary>
    /// <remarks>With non-temporal stores where the processor has them: the slots are read back at the next query of the
    /// range, not now, so the stores go to memory without first reading each line into the cache (a first query over a
    /// day writes about 70 MB of slots). <see cref="Publish"/> fences them.</remarks>
    private static unsafe void Fill(Span<long> slot, ReadOnlySpan<Sample> samples)
    {
        fixed (Sample* sample = samples)
        fixed (long* values = slot)
        {
            var words = (long*)sample + 1;
            if (Sse2.X64.IsSupported)
            {
                for (var i = 0; i < samples.Length; i++)
                {
                    Sse2.X64.StoreNonTemporal(values + i, words[2 * i]);
                }
            }
            else
            {
                for (var i = 0; i < samples.Length; i++)
                {
                    values[i] = words[2 * i];
                }
            }
        }
    }

    /// <summary>Drops every entry of the given owners (blocks deleted or replaced, head chunks moved into a block).</summary>
    public void RemoveOwners(IReadOnlySet<long> owners)
    {
        if (owners.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            for (var e = _entries[Sentinel].Next; e != Sentinel;)
            {
                var next = _entries[e].Next;
                if (owners.Contains(_entries[e].Key.Owner))
                {
                    Remove(e);
                }

                e = next;
            }
        }
    }

    /// <summary>Drops every entry (the slots stay allocated for reuse).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            while (_entries[Sentinel].Previous != Sentinel)
            {
                Remove(_entries[Sentinel].Previous);
            }
        }
    }

    private void Remove(int e)
    {
        ref var entry = ref _entries[e];
        _index.Remove(entry.Key);
        Unlink(e);
        _bytes -= entry.Bytes;

        // The sequence lock's write side: a reader holding the old versions sees the change before any new samples.
        FreeSlot(entry.ValuesSlot);
        if (entry.TimesSlot >= 0)
        {
            FreeSlot(entry.TimesSlot);
        }

        entry = default;
        _freeEntries.Push(e);
    }

    /// <summary>The slab holding a slot and the slot's number in it.</summary>
    private (CacheSlab Slab, int At) Slot(int slot) => (_slabs[slot / SlotsPerSlab], slot % SlotsPerSlab);

    private void FreeSlot(int slot)
    {
        var (slab, at) = Slot(slot);
        Interlocked.Increment(ref slab.Versions[at]);
        _freeSlots.Push(slot);
    }

    private int TakeSlot()
    {
        if (_freeSlots.TryPop(out var slot))
        {
            return slot;
        }

        if (_slotsMade == _slabs.Count * SlotsPerSlab)
        {
            // Slots in use never exceed the budget over a slot's size, so only the last slab can be short: a small budget
            // never allocates a whole slab.
            var slots = (int)Math.Clamp((BudgetBytes / SlotBytes) - _slotsMade, 1, SlotsPerSlab);
            _slabs.Add(new CacheSlab(slots));
        }

        return _slotsMade++;
    }

    private int TakeEntry()
    {
        if (_freeEntries.TryPop(out var e))
        {
            return e;
        }

        if (_entriesMade == _entries.Length)
        {
            Array.Resize(ref _entries, _entries.Length * 2);
        }

        return _entriesMade++;
    }

    private void LinkFirst(int e)
    {
        var first = _entries[Sentinel].Next;
        _entries[e].Previous = Sentinel;
        _entries[e].Next = first;
        _entries[first].Previous = e;
        _entries[Sentinel].Next = e;
    }

    private void Unlink(int e)
    {
        var previous = _entries[e].Previous;
        var next = _entries[e].Next;
        _entries[previous].Next = next;
        _entries[next].Previous = previous;
    }

    /// <summary>Chunk keys to entry numbers (never 0, the sentinel): linear probing in a power-of-two table at most half
    /// full, deletion by shifting the following run back (no tombstones).</summary>
    private sealed class KeyTable
    {
        private Slot[] _slots = new Slot[1024];

        public int Count { get; private set; }

        /// <summary>Reads the home line of each cacheable key; returns something of what it read.</summary>
        public long Touch(ReadOnlySpan<ChunkKey> keys)
        {
            var slots = _slots;
            var mask = slots.Length - 1;
            long sum = 0;
            foreach (var key in keys)
            {
                sum += slots[Home(key) & mask].Entry;
            }

            return sum;
        }

        /// <summary>The entry number of <paramref name="key"/>, or 0.</summary>
        public int Find(ChunkKey key)
        {
            var slots = _slots;
            var mask = slots.Length - 1;
            for (var i = Home(key) & mask; ; i = (i + 1) & mask)
            {
                ref var slot = ref slots[i];
                if (slot.Entry == 0)
                {
                    return 0;
                }

                if (slot.Owner == key.Owner && slot.Offset == key.Offset)
                {
                    return slot.Entry;
                }
            }
        }

        /// <summary>Maps <paramref name="key"/> (not held) to <paramref name="entry"/>.</summary>
        public void Add(ChunkKey key, int entry)
        {
            if ((Count + 1) * 2 > _slots.Length)
            {
                var old = _slots;
                _slots = new Slot[old.Length * 2];
                foreach (var slot in old)
                {
                    if (slot.Entry != 0)
                    {
                        Place(new ChunkKey(slot.Owner, slot.Offset), slot.Entry);
                    }
                }
            }

            Place(key, entry);
            Count++;
        }

        public void Remove(ChunkKey key)
        {
            var slots = _slots;
            var mask = slots.Length - 1;
            var i = Home(key) & mask;
            while (slots[i].Owner != key.Owner || slots[i].Offset != key.Offset)
            {
                if (slots[i].Entry == 0)
                {
                    return;
                }

                i = (i + 1) & mask;
            }

            // Move back every later key of the run whose home is not after the hole, so no probe meets an early empty slot.
            for (var j = (i + 1) & mask; slots[j].Entry != 0; j = (j + 1) & mask)
            {
                var home = Home(new ChunkKey(slots[j].Owner, slots[j].Offset)) & mask;
                var stays = i <= j ? i < home && home <= j : i < home || home <= j;
                if (!stays)
                {
                    slots[i] = slots[j];
                    i = j;
                }
            }

            slots[i] = default;
            Count--;
        }

        private void Place(ChunkKey key, int entry)
        {
            var slots = _slots;
            var mask = slots.Length - 1;
            var i = Home(key) & mask;
            while (slots[i].Entry != 0)
            {
                i = (i + 1) & mask;
            }

            slots[i] = new Slot { Owner = key.Owner, Offset = key.Offset, Entry = entry };
        }

        // Fibonacci hashing of the owner and offset mixed: the upper bits of the product, spread over the whole table.
        private static int Home(ChunkKey key) =>
            (int)((((ulong)key.Owner * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)key.Offset * 0xC2B2AE3D27D4EB4FUL)) * 0x9E3779B97F4A7C15UL >> 33);

        private struct Slot
        {
            public long Owner;
            public int Offset;
            public int Entry;
        }
    }

    /// <summary>A chunk on its way into the cache (<see cref="Reserve"/>): which chunk, its value slot and what it
    /// costs so far.</summary>
    internal struct Reservation
    {
        public int Chunk;
        public long Cost;
        public int ValuesSlot;
        public CacheSlab? Values;
    }

    private struct EntryRecord
    {
        public ChunkKey Key;
        public int Count;
        public long FirstTime;
        public long Step;
        public int ValuesSlot;
        public int TimesSlot;
        public long Bytes;
        public int Previous;
        public int Next;
    }
}
