using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Storage;

/// <summary>The embedded time-series store: a head of Gorilla-compressed chunks in memory, a write-ahead log, and
/// immutable compacted blocks, with Prometheus' append semantics.</summary>
/// <remarks>
/// <para>Thread-safe: one lock guards the store; <see cref="AppendBatch"/> takes it once per batch and is the path for
/// bulk ingestion. Queries materialise their results under the lock.</para>
/// <para>Durability: samples are acknowledged in memory and reach the WAL (fsynced) when
/// <see cref="TsdbOptions.WalFlushInterval"/> has elapsed at an append, on <see cref="Flush"/> and on dispose, so a
/// crash loses at most one interval. The append that finds the interval elapsed writes and fsyncs the WAL after it has
/// released the lock (before it returns), so other appends go on meanwhile. Opening replays the WAL and cuts off a torn
/// tail (see <see cref="Recovery"/>).</para>
/// </remarks>
public sealed class Tsdb : ISampleAppender, ISeriesSource, IPooledSeriesSource, IStreamingSeriesSource, ILatestSampleSource, IChangeLog, IDisposable
{
    private readonly Lock _lock = new();
    private readonly TsdbOptions _options;
    private readonly TimeProvider _clock;
    private readonly long _blockMs;
    private readonly long _futureMs;
    private readonly long[] _mergeRanges;
    private readonly string? _blocksDirectory;
    private readonly Dictionary<Labels, int> _ids = [];
    private readonly PostingsIndex _postings = new();
    private readonly LabelOrder _order = new();
    private readonly List<Block> _blocks = [];
    private readonly WriteAheadLog? _wal;
    private readonly DecodedChunkCache? _cache;
    private readonly FileStream? _lockFile;
    private readonly bool _readOnly;
    private MemSeries[] _series = new MemSeries[64];
    private int _seriesCount;
    private long _minValidTime = long.MinValue;
    private long _headMaxTime = long.MinValue;
    private long _headSamples;
    private long _lastFlush;
    private bool _disposed;

    // While the WAL cannot be written (a full disk, an I/O error): why, since when (store time), and how many checkpoints
    // have failed since. The samples stay in the head; records built meanwhile are dropped, and a checkpoint (the whole
    // head into a fresh segment) is tried after the flush interval, doubled at each failure up to 1,024 times.
    private volatile WalFailure? _walFailure;
    private long _walFailures;
    private long _walRecoveries;

    // The change log (IChangeLog): the oldest timestamp stored in each of the last ChangeMarks marked periods, by mark
    // modulo ChangeMarks, and in the period open now (since the last Mark); long.MinValue once samples were removed.
    private const int ChangeMarks = 256;
    private readonly long[] _changedFrom = new long[ChangeMarks];
    private long _marks;
    private long _changedFromNow = long.MaxValue;

    /// <summary>An in-memory store with default options.</summary>
    public Tsdb() : this(new TsdbOptions())
    {
    }

    /// <summary>Opens (or creates) the store; with a data directory, loads and verifies blocks, applies retention and
    /// replays the WAL.</summary>
    public Tsdb(TsdbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BlockDuration.TotalMilliseconds < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "BlockDuration must be at least 1 ms");
        }

        if (options.DecodedChunkCacheBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "DecodedChunkCacheBytes must not be negative");
        }

        _options = options;
        _clock = options.Clock;
        _blockMs = (long)options.BlockDuration.TotalMilliseconds;
        _futureMs = (long)Math.Min(options.FutureTolerance.TotalMilliseconds, long.MaxValue / 2);
        _mergeRanges = MergeRanges(_blockMs, options.MaxBlockDuration, options.Retention);
        _cache = options.DecodedChunkCacheBytes > 0 ? new DecodedChunkCache(options.DecodedChunkCacheBytes) : null;
        _lastFlush = _clock.GetTimestamp();
        if (options.DataDirectory is null)
        {
            Recovery = new RecoveryReport();
            return;
        }

        _blocksDirectory = Path.Combine(options.DataDirectory, "blocks");
        _readOnly = options.ReadOnly;
        _lockFile = _readOnly ? null : LockDirectory(options.DataDirectory);
        try
        {
            var corrupt = LoadBlocks(options.DataDirectory, _readOnly, out var problems);
            var replay = new WalReplay(this);
            var walDirectory = Path.Combine(options.DataDirectory, "wal");
            WalReplayResult walResult;
            if (_readOnly)
            {
                walResult = WriteAheadLog.ReadOnlyReplay(walDirectory, replay);
            }
            else
            {
                ApplyRetentionCore();
                _wal = WriteAheadLog.Open(walDirectory, replay, out walResult);
            }

            problems.AddRange(walResult.Problems);
            if (replay.UnknownSeriesSamples > 0)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"WAL: {replay.UnknownSeriesSamples} samples for series with no series record dropped"));
            }

            CheckpointWal();
            Recovery = new RecoveryReport
            {
                BlocksLoaded = _blocks.Count,
                WalSegmentsRead = walResult.Segments,
                WalRecordsReplayed = walResult.Records,
                WalSamplesReplayed = replay.Samples,
                WalBytesTruncated = walResult.BytesTruncated,
                CorruptBlocks = corrupt,
                Problems = problems,
            };
        }
        catch
        {
            _wal?.Dispose();
            _lockFile?.Dispose();
            throw;
        }
    }

    /// <summary>Deletes a store's data directory (to start a run afresh), refusing while an open store holds it: deleting
    /// files under a writer does not stop it, it only loses what it writes.</summary>
    /// <exception cref="StoreLockedException">An open store (in this or another process) holds the directory.</exception>
    public static void DeleteStore(string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        if (!Directory.Exists(dataDirectory))
        {
            return;
        }

        using (LockDirectory(dataDirectory))
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    /// <summary>Takes <c>DIR/lock</c> for a writable store: held (an exclusive advisory lock) until dispose, released by
    /// the operating system when the process dies, so a crash never leaves the directory locked.</summary>
    /// <exception cref="StoreLockedException">Another open store (in this or another process) holds it.</exception>
    private static FileStream LockDirectory(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new StoreLockedException(
                $"the telemetry store in '{directory}' is in use by another writer (its lock file '{path}' is held); open it read-only to read it meanwhile (aida query does)",
                e);
        }
    }

    /// <summary>The newest sample's timestamp (Unix ms), or null for an empty store.</summary>
    public long? MaxTimeMs
    {
        get
        {
            lock (_lock)
            {
                var newest = _headMaxTime;
                foreach (var b in _blocks)
                {
                    newest = Math.Max(newest, b.MaxTime);
                }

                return newest == long.MinValue ? null : newest;
            }
        }
    }

    /// <summary>What opening the data directory found; clean for a memory-only store.</summary>
    public RecoveryReport Recovery { get; }

    /// <summary>The decoded-chunk cache, or null when <see cref="TsdbOptions.DecodedChunkCacheBytes"/> is 0.</summary>
    internal DecodedChunkCache? ChunkCache => _cache;

    public TsdbStats Stats
    {
        get
        {
            lock (_lock)
            {
                long blockSamples = 0, blockBytes = 0;
                foreach (var b in _blocks)
                {
                    blockSamples += b.SampleCount;
                    blockBytes += b.BytesOnDisk;
                }

                return new TsdbStats(_seriesCount, _headSamples + blockSamples, _headSamples, _blocks.Count,
                    blockBytes + (_disposed ? 0 : _wal?.BytesOnDisk ?? 0), _wal?.FlushCount ?? 0);
            }
        }
    }

    public int GetOrCreateSeries(Labels labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        lock (_lock)
        {
            ThrowIfDisposedOrReadOnly();
            if (_ids.TryGetValue(labels, out var id))
            {
                return id;
            }

            if (LabelRules.Validate(labels) is { } problem)
            {
                throw new InvalidSeriesException(problem);
            }

            id = AddSeries(labels);
            _wal?.LogSeries(id, labels);
            return id;
        }
    }

    public AppendStatus Append(int series, long timestampMs, double value)
    {
        var maxTime = FutureBound();
        AppendStatus status;
        bool sync;
        lock (_lock)
        {
            ThrowIfDisposedOrReadOnly();
            var s = SeriesById(series);
            status = AppendCore(s, timestampMs, value, maxTime);
            if (status == AppendStatus.Ok)
            {
                _wal?.LogSample(series, timestampMs, value);
            }

            sync = DetachWalIfDue();
        }

        WriteWalOutsideLock(sync);
        return status;
    }

    /// <summary>Appends many samples under one lock, without allocating per sample: the bulk ingestion path.</summary>
    /// <param name="statuses">Receives each sample's status when not empty (then the same length as the samples).</param>
    /// <returns>How many samples were stored.</returns>
    public int AppendBatch(ReadOnlySpan<int> series, ReadOnlySpan<long> timestampsMs, ReadOnlySpan<double> values, Span<AppendStatus> statuses = default)
    {
        if (timestampsMs.Length != series.Length || values.Length != series.Length || (!statuses.IsEmpty && statuses.Length != series.Length))
        {
            throw new ArgumentException("series, timestamps, values (and statuses, when given) must have the same length");
        }

        var maxTime = FutureBound();
        var stored = 0;
        bool sync;
        lock (_lock)
        {
            ThrowIfDisposedOrReadOnly();
            var count = (uint)_seriesCount;
            foreach (var id in series)
            {
                if ((uint)id >= count)
                {
                    throw new ArgumentOutOfRangeException(nameof(series), id, "unknown series reference");
                }
            }

            var all = _series;
            var wal = _wal;
            for (var i = 0; i < series.Length; i++)
            {
                var status = AppendCore(all[series[i]], timestampsMs[i], values[i], maxTime);
                if (status == AppendStatus.Ok)
                {
                    stored++;
                    wal?.LogSample(series[i], timestampsMs[i], values[i]);
                }

                if (!statuses.IsEmpty)
                {
                    statuses[i] = status;
                }
            }

            sync = DetachWalIfDue();
        }

        WriteWalOutsideLock(sync);
        return stored;
    }

    /// <remarks>Only the chunk references are taken under the store's lock (the open chunk of each series copied, as
    /// appends change it); decoding runs outside it, in parallel over series when there is enough of it, so readers do not
    /// hold up writers or each other.</remarks>
    public IEnumerable<SeriesSamples> Select(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers)
    {
        var selected = SelectCore(minTimeMs, maxTimeMs, matchers, static n => GC.AllocateUninitializedArray<Sample>(n));
        var list = new List<SeriesSamples>(selected.Count);
        foreach (var s in selected)
        {
            var samples = s.Buffer;
            if (s.Count < samples.Length)
            {
                Array.Resize(ref samples, s.Count);
            }

            list.Add(new SeriesSamples(s.Labels, samples));
        }

        return list;
    }

    List<PooledSeries> IPooledSeriesSource.SelectPooled(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers, SampleBufferPool pool) =>
        SelectCore(minTimeMs, maxTimeMs, matchers, pool.Rent);

    int IStreamingSeriesSource.MatchingSeries(IReadOnlyList<LabelMatcher> matchers)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        lock (_lock)
        {
            ThrowIfDisposed();
            return Matching(matchers).Count();
        }
    }

    void IStreamingSeriesSource.SelectEach(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers, SeriesVisitor visit)
    {
        var (selected, chunks) = SelectChunks(minTimeMs, maxTimeMs, matchers);
        var largest = 0;
        foreach (var sel in selected)
        {
            largest = Math.Max(largest, sel.Capacity);
        }

        var buffer = System.Buffers.ArrayPool<Sample>.Shared.Rent(Math.Max(1, largest));
        try
        {
            foreach (var sel in selected)
            {
                var (at, n) = DecodeSamples(chunks, sel, buffer, minTimeMs, maxTimeMs);
                if (n > 0)
                {
                    visit(sel.Labels, buffer.AsSpan(at, n));
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<Sample>.Shared.Return(buffer);
        }
    }

    /// <remarks>Under the store's lock, as the answer is mostly read without decoding: the head's open chunk knows its
    /// last sample, and a chunk that cannot hold a newer sample than one already found is not read. Only a chunk that
    /// may hold the answer, other than an open chunk ending at or before <paramref name="maxTimeMs"/>, is decoded (an
    /// instant in the past, or overlapping blocks).</remarks>
    List<LatestSample> ILatestSampleSource.SelectLatest(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        var result = new List<LatestSample>();
        var ids = new List<int>();
        var chunks = new List<WalkedChunk>();
        var decoded = new Sample[XorChunk.MaxSamples];
        MemSeries[] series;
        int count;
        lock (_lock)
        {
            ThrowIfDisposed();
            // Blocks hold samples before their end: a head sample at or after every block's end is newer than any of them
            // (the head takes none before the newest block's end, so this holds but is kept as the fast path's premise).
            var blocksEnd = long.MinValue;
            foreach (var block in _blocks)
            {
                blocksEnd = Math.Max(blocksEnd, block.MaxTime);
            }

            foreach (var s in Matching(matchers))
            {
                // The common case, an instant at or after a series' last append: the head's last sample, as kept.
                var newest = s.Open is { } open && s.LastTime >= minTimeMs && s.LastTime <= maxTimeMs && s.LastTime >= blocksEnd
                    ? new Sample(s.LastTime, open.LastValue)
                    : NewestInRange(s, minTimeMs, maxTimeMs, chunks, ref decoded);
                if (newest is { } found)
                {
                    result.Add(new LatestSample(s.Labels, found));
                    ids.Add(s.Id);
                }
            }

            (series, count) = (_series, _seriesCount);
        }

        SortByLabels(CollectionsMarshal.AsSpan(ids), CollectionsMarshal.AsSpan(result), series, count);
        return result;
    }

    /// <summary>Sorts <paramref name="items"/> by their series' labels, given their series ids side by side in
    /// <paramref name="ids"/> (overwritten), through the store's label order; outside the lock, with the series array
    /// and count taken under it.</summary>
    private void SortByLabels<T>(Span<int> ids, Span<T> items, MemSeries[] series, int count)
    {
        if (ids.Length < 2)
        {
            return;
        }

        var ranks = _order.RanksFor(series, count);
        foreach (ref var id in ids)
        {
            id = ranks[id];
        }

        ids.Sort(items);
    }

    /// <summary>One chunk of a walk over a series' chunks, kept to be read back to front.</summary>
    private readonly record struct WalkedChunk(ReadOnlyMemory<byte> Bytes, long MaxTime, bool IsOpen);

    /// <summary>The sample of <paramref name="series"/> in [minTime, maxTime] that <see cref="DecodeSamples"/> would keep
    /// last, or null when it keeps none; <paramref name="chunks"/> and <paramref name="decoded"/> are scratch space.</summary>
    /// <remarks>The merge keeps a sample only when it is newer than every one kept before it, in the walk's order (blocks
    /// oldest first, then the head). So the last one kept has the largest timestamp in range, and of samples with that
    /// timestamp it is the one met first. Reading the chunks back to front, an earlier chunk takes over a tie, and a
    /// chunk ending before the best sample found so far cannot change it.</remarks>
    private Sample? NewestInRange(MemSeries series, long minTime, long maxTime, List<WalkedChunk> chunks, ref Sample[] decoded)
    {
        chunks.Clear();
        var walk = new ChunksInRange(_blocks, series, minTime, maxTime);
        while (walk.MoveNext())
        {
            chunks.Add(new WalkedChunk(walk.Current, walk.CurrentMaxTime, walk.CurrentIsOpen));
        }

        Sample? newest = null;
        for (var i = chunks.Count - 1; i >= 0; i--)
        {
            var chunk = chunks[i];
            if (newest is { } best && Math.Min(chunk.MaxTime, maxTime) < best.TimestampMs)
            {
                continue;
            }

            var candidate = chunk.IsOpen && chunk.MaxTime <= maxTime
                ? new Sample(chunk.MaxTime, series.Open!.LastValue)
                : NewestInChunk(chunk.Bytes.Span, minTime, maxTime, ref decoded);
            if (candidate is { } c && c.TimestampMs >= minTime && (newest is not { } kept || c.TimestampMs >= kept.TimestampMs))
            {
                newest = c;
            }
        }

        return newest;
    }

    /// <summary>The sample of one chunk in [minTime, maxTime] that <see cref="DecodeSamples"/> would keep last, or null:
    /// the first with the largest timestamp, among the samples before the first one after <paramref name="maxTime"/>.</summary>
    private static Sample? NewestInChunk(ReadOnlySpan<byte> chunk, long minTime, long maxTime, ref Sample[] decoded)
    {
        var count = XorChunk.CountOf(chunk);
        if (decoded.Length < count)
        {
            // Longer than this store writes a chunk (a block from elsewhere).
            decoded = new Sample[count];
        }

        Sample? newest = null;
        foreach (var s in decoded.AsSpan(0, XorChunk.DecodeAll(chunk, decoded)))
        {
            if (s.TimestampMs > maxTime)
            {
                break;
            }

            if (s.TimestampMs >= minTime && (newest is not { } kept || s.TimestampMs > kept.TimestampMs))
            {
                newest = s;
            }
        }

        return newest;
    }

    /// <summary>The series matching <paramref name="matchers"/> with samples in range, sorted by labels, each decoded into
    /// an array from <paramref name="allocate"/> (given the upper bound of its sample count; its contents are undefined).</summary>
    private List<PooledSeries> SelectCore(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers, Func<int, Sample[]> allocate)
    {
        var (selected, chunks) = SelectChunks(minTimeMs, maxTimeMs, matchers);
        var list = new List<PooledSeries>(selected.Count);
        foreach (var sel in selected)
        {
            var buffer = allocate(sel.Capacity);
            var (at, n) = DecodeSamples(chunks, sel, buffer, minTimeMs, maxTimeMs);
            if (at > 0)
            {
                buffer.AsSpan(at, n).CopyTo(buffer);
            }

            if (n > 0)
            {
                list.Add(new PooledSeries(sel.Labels, buffer, n));
            }
        }

        return list;
    }

    /// <summary>The chunks in range of every series matching <paramref name="matchers"/>, series sorted by labels.</summary>
    /// <remarks>Only this is done under the store's lock (the open chunk of each series is copied, as appends change it):
    /// decoding runs outside it, so readers do not hold up writers or each other.</remarks>
    private (List<SelectedChunks> Selected, SelectedChunkList Chunks) SelectChunks(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        var selected = new List<SelectedChunks>();
        var chunks = new SelectedChunkList(withKeys: _cache is not null);
        MemSeries[] series;
        int seriesCount;
        lock (_lock)
        {
            ThrowIfDisposed();
            foreach (var s in Matching(matchers))
            {
                var first = chunks.Count;
                var walk = new ChunksInRange(_blocks, s, minTimeMs, maxTimeMs);
                while (walk.MoveNext())
                {
                    chunks.Add(walk.CurrentIsOpen ? walk.Current.ToArray() : walk.Current, walk.CurrentKey, walk.CurrentCount);
                }

                if (chunks.Count > first)
                {
                    selected.Add(new SelectedChunks(s.Labels, s.Id, first, chunks.Count, 0));
                }
            }

            (series, seriesCount) = (_series, _seriesCount);
        }

        // Outside the lock (chunks are immutable once selected, the open one copied): how many samples each series'
        // chunks hold, and the order of the series.
        var counted = new List<SelectedChunks>(selected.Count);
        var ids = new List<int>(selected.Count);
        var counts = CollectionsMarshal.AsSpan(chunks.Counts);
        foreach (var sel in selected)
        {
            var capacity = 0;
            foreach (var count in counts[sel.FirstChunk..sel.EndChunk])
            {
                capacity += count;
            }

            if (capacity > 0)
            {
                counted.Add(sel with { Capacity = capacity });
                ids.Add(sel.Id);
            }
        }

        SortByLabels(CollectionsMarshal.AsSpan(ids), CollectionsMarshal.AsSpan(counted), series, seriesCount);
        return (counted, chunks);
    }

    /// <summary>One selected series: its labels, id and its chunks' index range in the select's chunk list.</summary>
    private readonly record struct SelectedChunks(Labels Labels, int Id, int FirstChunk, int EndChunk, int Capacity);

    /// <summary>A select's chunks, every series' in turn: their bytes, sample counts and, with the decoded-chunk cache
    /// on, their cache keys side by side.</summary>
    private sealed class SelectedChunkList(bool withKeys)
    {
        public List<ReadOnlyMemory<byte>> Bytes { get; } = [];

        public List<int> Counts { get; } = [];

        public List<ChunkKey> Keys { get; } = [];

        public int Count => Bytes.Count;

        public void Add(ReadOnlyMemory<byte> bytes, ChunkKey key, int count)
        {
            Bytes.Add(bytes);
            Counts.Add(count);
            if (withKeys)
            {
                Keys.Add(key);
            }
        }
    }

    public IEnumerable<Labels> Series(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        var result = new List<Labels>();
        lock (_lock)
        {
            ThrowIfDisposed();
            var samples = new List<Sample>(1);
            foreach (var s in Matching(matchers))
            {
                CollectSamples(s, minTimeMs, maxTimeMs, samples, stopAtFirst: true);
                if (samples.Count > 0)
                {
                    result.Add(s.Labels);
                    samples.Clear();
                }
            }
        }

        result.Sort(Labels.Compare);
        return result;
    }

    /// <summary>Every label name in use, sorted.</summary>
    public IEnumerable<string> LabelNames()
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            var names = _postings.Names().ToList();
            names.Sort(StringComparer.Ordinal);
            return names;
        }
    }

    /// <summary>Every value of one label, sorted.</summary>
    public IEnumerable<string> LabelValues(string name)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            var values = _postings.Values(name).ToList();
            values.Sort(StringComparer.Ordinal);
            return values;
        }
    }

    /// <summary>Writes and fsyncs the WAL now.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            ThrowIfDisposedOrReadOnly();
            FlushWal();
        }
    }

    /// <summary>The oldest time a sample may still be appended at (the head's lower bound, raised by <see cref="Compact"/>
    /// and by the blocks read at open): one before it is refused as out of bounds, so what the store holds before it no
    /// longer changes, and what is computed from it can be kept (an SLO's time slices); null while nothing bounds it.</summary>
    public DateTimeOffset? AcceptsFrom => Interlocked.Read(ref _minValidTime) is var t && t != long.MinValue ? DateTimeOffset.FromUnixTimeMilliseconds(t) : null;

    /// <summary>Moves head chunks older than the newest block boundary (by the newest sample's time) into one block per
    /// window, persists them, truncates the WAL to the head, raises the head's lower bound (older samples become out of
    /// bounds), merges blocks whose wider window is complete (see <see cref="TsdbOptions.MaxBlockDuration"/>) and
    /// applies retention.</summary>
    /// <returns>The number of blocks cut from the head (merged blocks are not counted).</returns>
    public int Compact()
    {
        lock (_lock)
        {
            ThrowIfDisposedOrReadOnly();
            if (_walFailure is not null && _options.KeepFree > 0 && FreeBytes() < _options.KeepFree)
            {
                // The disk is full: a cut would take what the options keep free for others; the head keeps the data.
                return 0;
            }

            var written = CompactCore();
            MergeBlocksCore();
            ApplyRetentionCore();
            return written;
        }
    }

    /// <summary>Deletes blocks whose end is older than now minus <see cref="TsdbOptions.Retention"/>.</summary>
    /// <returns>The number of blocks deleted.</returns>
    public int ApplyRetention()
    {
        lock (_lock)
        {
            ThrowIfDisposedOrReadOnly();
            return ApplyRetentionCore();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_walFailure is not null)
            {
                // Closing: a last try to write the head, whatever the options keep free for a run that goes on.
                CheckpointWal();
            }

            try
            {
                _wal?.Dispose();
            }
            catch (IOException e)
            {
                // The last records could not be written (a full disk): what the WAL and blocks hold is what a restart
                // replays; the caller reads why from WalFailing.
                _wal?.Break();
                WalFailed(e);
            }
            finally
            {
                _lockFile?.Dispose();
                _cache?.Clear();
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private AppendStatus AppendCore(MemSeries s, long timestampMs, double value, long maxTime)
    {
        if (timestampMs < _minValidTime || timestampMs > maxTime)
        {
            return AppendStatus.OutOfBounds;
        }

        var bits = BitConverter.DoubleToUInt64Bits(value);
        if (s.HasSamples && timestampMs <= s.LastTime)
        {
            if (timestampMs < s.LastTime)
            {
                return AppendStatus.OutOfOrder;
            }

            return bits == s.LastBits ? AppendStatus.Duplicate : AppendStatus.DuplicateConflict;
        }

        s.Append(timestampMs, value, bits, _blockMs);
        _headSamples++;
        if (timestampMs < _changedFromNow)
        {
            _changedFromNow = timestampMs;
        }
        if (timestampMs > _headMaxTime)
        {
            _headMaxTime = timestampMs;
        }

        return AppendStatus.Ok;
    }

    private long FutureBound()
    {
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        return now > long.MaxValue - _futureMs ? long.MaxValue : now + _futureMs;
    }

    /// <summary>Under the lock: when the flush interval has elapsed, hands the WAL's buffered records to its writing side
    /// and returns true; the caller then calls <see cref="WriteWalOutsideLock"/>.</summary>
    private bool DetachWalIfDue()
    {
        if (_wal is null || _clock.GetElapsedTime(_lastFlush) < _options.WalFlushInterval)
        {
            return false;
        }

        if (_walFailure is { } failure)
        {
            if (_clock.GetElapsedTime(_lastFlush) < _options.WalFlushInterval * (1L << Math.Min(failure.Attempts, 10)))
            {
                return false;
            }

            // Broken: not a write of what came since, which would leave a gap where records were dropped, but the head;
            // and not while the disk has less free than the options keep for others.
            if (_options.KeepFree <= 0 || FreeBytes() >= _options.KeepFree)
            {
                CheckpointWal();
            }

            _lastFlush = _clock.GetTimestamp();
            return false;
        }

        _wal.Detach();
        _lastFlush = _clock.GetTimestamp();
        return true;
    }

    /// <summary>After the lock: writes what the WAL handed over (a due flush, or records set aside to bound its memory) and
    /// fsyncs when <paramref name="sync"/>; when that fails, the WAL is broken (<see cref="WalFailure"/>) and the run goes
    /// on: the samples are in the head.</summary>
    private void WriteWalOutsideLock(bool sync)
    {
        if (_wal is not { } wal || !(sync || wal.HasPending))
        {
            return;
        }

        if (_walFailure is not null)
        {
            wal.DropPending();
            return;
        }

        try
        {
            wal.WritePending(sync);
        }
        catch (IOException e)
        {
            wal.Break();
            WalFailed(e);
        }
    }

    /// <summary>Under the lock: replaces the WAL by the head in a fresh segment (after a compaction, at open, and to mend a
    /// broken WAL); a failure breaks it (<see cref="WalFailure"/>) instead of failing the caller.</summary>
    private void CheckpointWal()
    {
        if (_wal is null)
        {
            return;
        }

        try
        {
            _wal.Checkpoint(WriteCheckpoint);
            if (_walFailure is not null)
            {
                _walFailure = null;
                Interlocked.Increment(ref _walRecoveries);
            }
        }
        catch (IOException e)
        {
            _wal.Break();
            WalFailed(e);
        }

        _lastFlush = _clock.GetTimestamp();
    }

    private long FreeBytes()
    {
        try
        {
            return new DriveInfo(_options.DataDirectory!).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return long.MaxValue;
        }
    }

    private void WalFailed(IOException e)
    {
        Interlocked.Increment(ref _walFailures);
        var before = _walFailure;
        _walFailure = new WalFailure(before?.Since ?? _clock.GetUtcNow(), e.Message, (before?.Attempts ?? 0) + 1);
    }

    /// <summary>Why the WAL cannot be written now, since when and after how many tries; null while it can. The run goes on
    /// without it: samples stay in the head, and are lost only if the process ends before the WAL is mended (a
    /// checkpoint of the head) or a block is cut.</summary>
    public WalFailure? WalFailing => _walFailure;

    /// <summary>WAL writes and checkpoints that failed, and the times it was mended, since the store opened.</summary>
    public (long Failures, long Recoveries) WalTrouble => (Interlocked.Read(ref _walFailures), Interlocked.Read(ref _walRecoveries));

    private void FlushWal()
    {
        if (_wal is not null)
        {
            _wal.Flush();
            _lastFlush = _clock.GetTimestamp();
        }
    }

    private MemSeries SeriesById(int id) =>
        (uint)id < (uint)_seriesCount ? _series[id] : throw new ArgumentOutOfRangeException(nameof(id), id, "unknown series reference");

    private int AddSeries(Labels labels)
    {
        var id = _seriesCount;
        if (id == _series.Length)
        {
            Array.Resize(ref _series, id * 2);
        }

        _series[id] = new MemSeries(id, labels);
        _seriesCount++;
        _ids.Add(labels, id);
        _postings.Add(id, labels);
        return id;
    }

    private int GetOrAddSeries(Labels labels) => _ids.TryGetValue(labels, out var id) ? id : AddSeries(labels);

    private IEnumerable<MemSeries> Matching(IReadOnlyList<LabelMatcher> matchers)
    {
        var candidates = _postings.Candidates(matchers);
        if (candidates is null)
        {
            for (var id = 0; id < _seriesCount; id++)
            {
                if (MatchesAll(_series[id].Labels, matchers))
                {
                    yield return _series[id];
                }
            }

            yield break;
        }

        foreach (var id in candidates)
        {
            if (MatchesAll(_series[id].Labels, matchers))
            {
                yield return _series[id];
            }
        }
    }

    private static bool MatchesAll(Labels labels, IReadOnlyList<LabelMatcher> matchers)
    {
        foreach (var m in matchers)
        {
            if (!m.Matches(labels))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Samples in range from blocks (oldest first) then the head; a timestamp already emitted is skipped, so
    /// overlapping data can never produce out-of-order output.</summary>
    private void CollectSamples(MemSeries s, long minTime, long maxTime, List<Sample> into, bool stopAtFirst)
    {
        var last = long.MinValue;
        var any = false;
        var chunks = new ChunksInRange(_blocks, s, minTime, maxTime);
        while (chunks.MoveNext())
        {
            if (CollectChunk(chunks.Current.Span, minTime, maxTime, into, ref last, ref any, stopAtFirst))
            {
                return;
            }
        }
    }

    /// <summary>Decodes every sample in [minTime, maxTime] of one series' chunks (blocks oldest first, then the head) into
    /// <paramref name="into"/> (room for the chunks' sample counts) and returns where they start and how many there are; a
    /// timestamp already emitted is skipped, so overlapping data never produces out-of-order output.</summary>
    /// <remarks>First every chunk is laid out back to back, copied from the decoded-chunk cache when it holds the chunk
    /// and decoded (then offered to the cache, all of a series' chunks under one lock) when it does not; then the samples
    /// outside the range or not after the last one kept are dropped in place. Samples dropped before the first one kept
    /// move the start instead of moving every later sample down.</remarks>
    private (int Start, int Count) DecodeSamples(SelectedChunkList chunks, SelectedChunks series, Sample[] into, long minTime, long maxTime)
    {
        var first = series.FirstChunk;
        var count = series.EndChunk - first;
        var cache = _cache;
        var starts = System.Buffers.ArrayPool<int>.Shared.Rent(count + 1);
        CachedChunk[]? cached = null;
        int[]? missed = null;
        bool[]? regular = null;
        DecodedChunkCache.Reservation[]? plans = null;
        var reserved = 0;
        var misses = 0;
        var keys = cache is null ? default : CollectionsMarshal.AsSpan(chunks.Keys).Slice(first, count);
        if (cache is not null)
        {
            cached = System.Buffers.ArrayPool<CachedChunk>.Shared.Rent(count);
            missed = System.Buffers.ArrayPool<int>.Shared.Rent(count);
            regular = System.Buffers.ArrayPool<bool>.Shared.Rent(count);
            plans = System.Buffers.ArrayPool<DecodedChunkCache.Reservation>.Shared.Rent(count);

            // Slots for the chunks the cache lacks are reserved with the lookup, so that they are decoded straight into
            // them.
            reserved = cache.LookupAndReserve(keys, cached, plans);
        }

        var at = 0;
        var plan = 0;
        try
        {
            for (var i = 0; i < count; i++)
            {
                starts[i] = at;
                if (cached is not null && cache!.TryCopy(cached[i], into.AsSpan(at)))
                {
                    at += cached[i].Count;
                    continue;
                }

                bool regularStep;
                var bytes = chunks.Bytes[first + i].Span;
                if (plan < reserved && plans![plan].Chunk == i)
                {
                    // A chunk too long for a slot (never written by this store) is decoded as usual; Publish gives its
                    // slot back.
                    at += XorChunk.CountOf(bytes) <= XorChunk.MaxSamples
                        ? XorChunk.DecodeAll(bytes, into.AsSpan(at), cache!.ValuesOf(plans[plan]), out regularStep)
                        : XorChunk.DecodeAll(bytes, into.AsSpan(at), out regularStep);
                    plan++;
                }
                else
                {
                    at += XorChunk.DecodeAll(bytes, into.AsSpan(at), out regularStep);

                    // No slot reserved for it (found at the lookup but evicted before the copy, or the budget all
                    // reserved): offered to the cache again below.
                    if (missed is not null && keys[i].IsCacheable)
                    {
                        missed[misses++] = i;
                    }
                }

                if (regular is not null)
                {
                    regular[i] = regularStep;
                }
            }
        }
        catch
        {
            // A chunk that cannot be decoded: the reservations go back unpublished.
            cache?.Release(plans.AsSpan(0, reserved));
            throw;
        }

        starts[count] = at;
        if (cache is not null)
        {
            cache.Publish(keys, plans.AsSpan(0, reserved), starts, into, regular.AsSpan(0, count));
            if (misses > 0)
            {
                cache.AddRange(keys, starts, missed.AsSpan(0, misses), into, regular.AsSpan(0, count));
            }
        }

        var begin = 0;
        var n = 0;
        var last = long.MinValue;
        var any = false;
        for (var i = 0; i < count; i++)
        {
            var from = starts[i];
            var to = starts[i + 1];
            if (from == to)
            {
                continue;
            }

            // A chunk's timestamps rise strictly (appends are checked, merges re-encode in order), so a chunk whose first
            // sample is in range and after the last one kept, and whose last sample is in range, is kept whole.
            var firstTime = into[from].TimestampMs;
            if (firstTime >= minTime && (!any || firstTime > last) && into[to - 1].TimestampMs <= maxTime)
            {
                if (!any)
                {
                    begin = n = from;
                    any = true;
                }
                else if (n != from)
                {
                    into.AsSpan(from, to - from).CopyTo(into.AsSpan(n));
                }

                n += to - from;
                last = into[n - 1].TimestampMs;
                continue;
            }

            // Otherwise keep the samples inside the range and after the last one kept, in place.
            for (var r = from; r < to; r++)
            {
                var t = into[r].TimestampMs;
                if (t > maxTime)
                {
                    break;
                }

                if (t < minTime || (any && t <= last))
                {
                    continue;
                }

                if (!any)
                {
                    begin = n = r;
                    any = true;
                }

                into[n++] = into[r];
                last = t;
            }
        }

        System.Buffers.ArrayPool<int>.Shared.Return(starts);
        if (cached is not null)
        {
            // Cleared: the snapshots hold the cache's slabs.
            System.Buffers.ArrayPool<CachedChunk>.Shared.Return(cached, clearArray: true);
            System.Buffers.ArrayPool<int>.Shared.Return(missed!);
            System.Buffers.ArrayPool<bool>.Shared.Return(regular!);
            if (plans is not null)
            {
                // Cleared: the reservations hold the cache's slabs.
                System.Buffers.ArrayPool<DecodedChunkCache.Reservation>.Shared.Return(plans, clearArray: true);
            }
        }

        return (begin, n - begin);
    }

    /// <summary>The chunks of one series that may hold samples in [minTime, maxTime]: persisted blocks oldest first,
    /// then the head. One walk for every reader, so the overlap rules live in one place.</summary>
    private struct ChunksInRange(List<Block> blocks, MemSeries series, long minTime, long maxTime)
    {
        private int _block = -1;
        private int _chunk;
        private BlockSeries? _blockSeries;
        private bool _head;
        private bool _headEntered;

        public ReadOnlyMemory<byte> Current { get; private set; }

        /// <summary>Whether <see cref="Current"/> is the head's open chunk, which later appends change.</summary>
        public bool CurrentIsOpen { get; private set; }

        /// <summary>Names <see cref="Current"/> in the decoded-chunk cache; not cacheable for the open chunk.</summary>
        public ChunkKey CurrentKey { get; private set; }

        /// <summary>The sample count of <see cref="Current"/>.</summary>
        public int CurrentCount { get; private set; }

        /// <summary>The last timestamp of <see cref="Current"/>, as its index or head entry records it.</summary>
        public long CurrentMaxTime { get; private set; }

        /// <summary>Asks the processor to load a block series' chunk bytes (laid out back to back) all at once, so the
        /// walk that reads each chunk's sample count waits for one memory round trip per series instead of one per
        /// chunk; a hint that never faults.</summary>
        private static void PrefetchChunks(Block block, BlockSeries series)
        {
            if (series.Chunks.Length == 0)
            {
                return;
            }

            var from = series.Chunks[0].Offset;
            // At most 4 KiB: a series' chunks of a 2 h block take about 1 KiB at 10 s; a longer block's rest is read as walked.
            block.ChunkData.Prefetch(from, Math.Min(Math.Min(series.Chunks[^1].Offset + series.Chunks[^1].Length, block.ChunkData.Length), from + 4096));
        }

        public bool MoveNext()
        {
            while (!_head)
            {
                if (_blockSeries is { } bs && _chunk < bs.Chunks.Length)
                {
                    var c = bs.Chunks[_chunk++];
                    if (c.MaxTime < minTime)
                    {
                        continue;
                    }

                    if (c.MinTime <= maxTime)
                    {
                        Current = blocks[_block].ChunkMemory(c);
                        CurrentCount = XorChunk.CountOf(Current.Span);
                        CurrentMaxTime = c.MaxTime;
                        CurrentIsOpen = false;
                        CurrentKey = new ChunkKey(blocks[_block].CacheOwner, c.Offset);
                        return true;
                    }
                }

                _blockSeries = null;
                _chunk = 0;
                if (++_block >= blocks.Count)
                {
                    _head = true;
                    break;
                }

                var block = blocks[_block];
                if (block.MaxTime > minTime && block.MinTime <= maxTime && block.ById.TryGetValue(series.Id, out var found))
                {
                    _blockSeries = found;
                    PrefetchChunks(block, found);
                }
            }

            if (!_headEntered)
            {
                // The head's chunks are in time order: skip those ending before the range without visiting each.
                _headEntered = true;
                _chunk = FirstSealedEndingAtOrAfter(series.Sealed, minTime);
            }

            var sealedChunks = series.Sealed;
            if (_chunk < sealedChunks.Length)
            {
                ref readonly var c = ref sealedChunks[_chunk++];
                if (c.MinTime <= maxTime)
                {
                    Current = c.Bytes;
                    CurrentCount = c.Count;
                    CurrentMaxTime = c.MaxTime;
                    CurrentIsOpen = false;
                    CurrentKey = new ChunkKey(c.CacheOwner, 0);
                    return true;
                }

                _chunk = sealedChunks.Length;
            }

            // Last, the open chunk, read from the chunk itself and never cached: appends change it (even one a failed
            // compaction sealed stays the series' open chunk).
            if (_chunk == sealedChunks.Length)
            {
                _chunk++;
                if (series.Open is { } open && open.Count > 0 && open.MaxTime >= minTime && open.MinTime <= maxTime)
                {
                    Current = open.Memory;
                    CurrentCount = open.Count;
                    CurrentMaxTime = open.MaxTime;
                    CurrentIsOpen = true;
                    CurrentKey = default;
                    return true;
                }
            }

            return false;
        }

        /// <summary>The index of the first of <paramref name="chunks"/> (in time order) whose last sample is at or after
        /// <paramref name="t"/>; the count when none is.</summary>
        private static int FirstSealedEndingAtOrAfter(ReadOnlySpan<SealedHeadChunk> chunks, long t)
        {
            int lo = 0, hi = chunks.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (chunks[mid].MaxTime < t)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            return lo;
        }
    }

    private static bool CollectChunk(ReadOnlySpan<byte> chunk, long minTime, long maxTime, List<Sample> into, ref long last, ref bool any, bool stopAtFirst)
    {
        var it = new XorIterator(chunk);
        while (it.Next())
        {
            var t = it.Timestamp;
            if (t > maxTime)
            {
                return false;
            }

            if (t < minTime || (any && t <= last))
            {
                continue;
            }

            into.Add(new Sample(t, it.Value));
            last = t;
            any = true;
            if (stopAtFirst)
            {
                return true;
            }
        }

        return false;
    }

    private int CompactCore()
    {
        if (_headSamples == 0)
        {
            return 0;
        }

        var boundary = BlockWindow.Start(_headMaxTime, _blockMs);
        if (boundary <= _minValidTime)
        {
            return 0;
        }

        // window start -> series id -> chunks; chunks never straddle windows (MemSeries cuts them at boundaries).
        var windows = new SortedDictionary<long, SortedDictionary<int, List<XorChunk>>>();
        var moved = new int[_seriesCount];
        for (var id = 0; id < _seriesCount; id++)
        {
            foreach (var c in _series[id].Chunks)
            {
                if (c.MaxTime >= boundary)
                {
                    break;
                }

                var window = BlockWindow.Start(c.MinTime, _blockMs);
                if (!windows.TryGetValue(window, out var bySeries))
                {
                    bySeries = [];
                    windows.Add(window, bySeries);
                }

                if (!bySeries.TryGetValue(id, out var chunks))
                {
                    chunks = [];
                    bySeries.Add(id, chunks);
                }

                c.Seal();
                chunks.Add(c);
                moved[id]++;
            }
        }

        var blocks = new List<(Block Block, int[] Ids)>();
        try
        {
            foreach (var (window, bySeries) in windows)
            {
                var ids = bySeries.Keys.ToArray();
                Array.Sort(ids, (a, b) => Labels.Compare(_series[a].Labels, _series[b].Labels));
                var series = ids.Select(id => (_series[id].Labels, bySeries[id])).ToList();
                var block = Block.Build(window, BlockWindow.End(window, _blockMs), series);
                if (_blocksDirectory is not null)
                {
                    Directory.CreateDirectory(_blocksDirectory);
                    block.Persist(_blocksDirectory);
                }

                blocks.Add((block, ids));
            }
        }
        catch (IOException)
        {
            // A window's block could not be written (a full disk): the head keeps every window's data, and the blocks
            // already written for this cut are removed, so the next cut writes them again rather than finding them there.
            foreach (var (block, _) in blocks)
            {
                block.Discard();
            }

            throw;
        }

        // Only now, with every block durable, does the head let go of the data.
        foreach (var (block, ids) in blocks)
        {
            for (var i = 0; i < ids.Length; i++)
            {
                block.ById.Add(ids[i], block.Series[i]);
            }

            _blocks.Add(block);
        }

        _blocks.Sort((a, b) => a.MinTime.CompareTo(b.MinTime));
        var movedOwners = new HashSet<long>();
        for (var id = 0; id < _seriesCount; id++)
        {
            if (moved[id] > 0)
            {
                for (var i = 0; i < moved[id]; i++)
                {
                    movedOwners.Add(_series[id].Chunks[i].CacheOwner);
                }

                _headSamples -= _series[id].RemoveOldest(moved[id]);
            }
        }

        // The moved chunks are now read from the blocks, under the blocks' keys.
        _cache?.RemoveOwners(movedOwners);

        _minValidTime = boundary;
        CheckpointWal();
        return blocks.Count;
    }

    /// <summary>The merged block widths: 3, then 4 times the previous, up to the cap (at most a tenth of retention).</summary>
    private static long[] MergeRanges(long blockMs, TimeSpan maxBlock, TimeSpan retention)
    {
        var cap = (long)Math.Min(Math.Min(maxBlock.TotalMilliseconds, retention.TotalMilliseconds / 10), long.MaxValue / 8);
        var ranges = new List<long>();
        for (var r = blockMs * 3; r <= cap && r > 0; r *= 4)
        {
            ranges.Add(r);
            if (r > long.MaxValue / 8)
            {
                break;
            }
        }

        return [.. ranges];
    }

    /// <summary>Level compaction, as Prometheus: for each merge width, narrowest first, merges the blocks lying inside one
    /// aligned window of that width once the window is complete (it ends at or before the head's lower bound, so no
    /// more blocks can come for it). The merged block is written (temporary directory, fsync, rename) and only then are
    /// its sources deleted; a crash in between leaves sources that the merged block lists, dropped on open.</summary>
    /// <returns>The number of merged blocks written.</returns>
    private int MergeBlocksCore()
    {
        var merged = 0;
        foreach (var range in _mergeRanges)
        {
            while (true)
            {
                var group = NextMergeGroup(range);
                if (group is null)
                {
                    break;
                }

                MergeGroup(group);
                merged++;
            }
        }

        return merged;
    }

    private List<Block>? NextMergeGroup(long range)
    {
        // _blocks is sorted by MinTime; a group is a run of blocks inside one aligned window.
        for (var i = 0; i < _blocks.Count;)
        {
            var window = BlockWindow.Start(_blocks[i].MinTime, range);
            var end = window + range;
            var j = i;
            var total = 0L;
            while (j < _blocks.Count && _blocks[j].MinTime < end && _blocks[j].MaxTime <= end)
            {
                total += _blocks[j].ChunkData.Length;
                j++;
            }

            // Merge only complete windows, several blocks, nothing straddling the window's end, and chunk data well
            // within an array's reach.
            var straddles = j < _blocks.Count && _blocks[j].MinTime < end;
            if (j - i >= 2 && end <= _minValidTime && !straddles && total < int.MaxValue / 2)
            {
                return _blocks.GetRange(i, j - i);
            }

            i = Math.Max(j, i + 1);
        }

        return null;
    }

    private void MergeGroup(List<Block> sources)
    {
        var block = Block.Merge(sources, out var ids, _blocksDirectory);
        if (_blocksDirectory is not null)
        {
            block.Persist(_blocksDirectory);
        }

        for (var i = 0; i < ids.Length; i++)
        {
            block.ById.Add(ids[i], block.Series[i]);
        }

        var at = _blocks.IndexOf(sources[0]);
        _blocks.RemoveRange(at, sources.Count);
        _blocks.Insert(at, block);
        _cache?.RemoveOwners(sources.Select(b => b.CacheOwner).ToHashSet());

        // Only now, with the merged block durable, do the sources go.
        foreach (var source in sources)
        {
            if (source.Directory is not null)
            {
                Directory.Delete(source.Directory, true);
            }
        }
    }

    private int ApplyRetentionCore()
    {
        // As Prometheus: retention counts back from the newest data, not the wall clock, so a store of simulated (or
        // old) data opened later keeps what it holds.
        var newest = _headMaxTime;
        foreach (var b in _blocks)
        {
            newest = Math.Max(newest, b.MaxTime);
        }

        if (newest == long.MinValue)
        {
            return 0;
        }

        var cutoff = newest - (long)Math.Min(_options.Retention.TotalMilliseconds, long.MaxValue / 4);
        var gone = new HashSet<long>();
        var deleted = _blocks.RemoveAll(b =>
        {
            if (b.MaxTime >= cutoff)
            {
                return false;
            }

            if (b.Directory is not null)
            {
                Directory.Delete(b.Directory, true);
            }

            gone.Add(b.CacheOwner);
            return true;
        });
        _cache?.RemoveOwners(gone);
        if (deleted > 0)
        {
            _changedFromNow = long.MinValue;
        }

        return deleted;
    }

    public long Mark()
    {
        lock (_lock)
        {
            var mark = _marks++;
            _changedFrom[mark % ChangeMarks] = _changedFromNow;
            _changedFromNow = long.MaxValue;
            return mark;
        }
    }

    public long OldestChangedSince(long mark)
    {
        lock (_lock)
        {
            if (mark < 0 || mark >= _marks)
            {
                throw new ArgumentOutOfRangeException(nameof(mark), mark, "not a mark of this store");
            }

            if (_marks - mark > ChangeMarks)
            {
                return long.MinValue;
            }

            // Period m + 1 was closed by mark m + 1, and so on; the one open now has no slot yet.
            var oldest = _changedFromNow;
            for (var m = mark + 1; m < _marks; m++)
            {
                oldest = Math.Min(oldest, _changedFrom[m % ChangeMarks]);
            }

            return oldest;
        }
    }

    /// <summary>Loads every block under <c>blocks/</c>. Writable: a compaction's leftover temporary directory is deleted,
    /// a block a merge replaced is deleted, one that fails verification is moved to <c>corrupt/</c>. Read-only: nothing is
    /// touched; such blocks are only left out (a failing one reported in the returned list and the problems).</summary>
    private List<string> LoadBlocks(string dataDirectory, bool readOnly, out List<string> problems)
    {
        problems = [];
        var corrupt = new List<string>();
        if (!Directory.Exists(_blocksDirectory))
        {
            return corrupt;
        }

        var loaded = new List<Block>();
        var failed = new List<(string Dir, string Name, string? Problem)>();
        foreach (var dir in Directory.GetDirectories(_blocksDirectory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith(".tmp-", StringComparison.Ordinal))
            {
                // A compaction that crashed before its rename, or (read-only) one the writer is making now: the data is
                // still in the WAL or in the source blocks.
                if (!readOnly)
                {
                    Directory.Delete(dir, true);
                }

                continue;
            }

            Block? block;
            string? problem;
            try
            {
                block = Block.Load(dir, out problem);
            }
            catch (Exception e) when (readOnly && e is IOException or UnauthorizedAccessException)
            {
                // The writer merged it away or deleted it by retention while this reader listed the directory.
                continue;
            }

            if (block is not null)
            {
                loaded.Add(block);
            }
            else
            {
                failed.Add((dir, name, problem));
            }
        }

        // A merge that crashed after its rename but before deleting every source leaves sources whose range the merged
        // block covers and which it lists: they are dropped (a half-deleted one may not even load).
        bool Replaced(string name, long minTime, long maxTime, Block? self) => loaded.Any(m =>
            !ReferenceEquals(m, self) && m.MinTime <= minTime && maxTime <= m.MaxTime && m.Sources.Contains(name, StringComparer.Ordinal));

        foreach (var (dir, name, problem) in failed)
        {
            if (TryParseRange(name, out var minTime, out var maxTime) && Replaced(name, minTime, maxTime, null))
            {
                if (!readOnly)
                {
                    Directory.Delete(dir, true);
                }

                continue;
            }

            if (readOnly)
            {
                if (!Directory.Exists(dir))
                {
                    // Merged away or deleted by retention while this reader listed the directory.
                    continue;
                }

                corrupt.Add(name);
                problems.Add($"block {name}: {problem}; not served (left in place: the store is open read-only)");
                continue;
            }

            var aside = Path.Combine(dataDirectory, "corrupt", name);
            Directory.CreateDirectory(Path.Combine(dataDirectory, "corrupt"));
            if (Directory.Exists(aside))
            {
                aside += "." + _clock.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
            }

            Directory.Move(dir, aside);
            corrupt.Add(name);
            problems.Add($"block {name}: {problem}; moved to corrupt/");
        }

        var replaced = loaded.Where(b => Replaced(b.Name, b.MinTime, b.MaxTime, b)).ToList();
        foreach (var block in replaced)
        {
            loaded.Remove(block);
            if (!readOnly)
            {
                Directory.Delete(block.Directory!, true);
            }
        }

        foreach (var block in loaded)
        {
            for (var i = 0; i < block.Series.Length; i++)
            {
                block.ById[GetOrAddSeries(block.Series[i].Labels)] = block.Series[i];
            }

            _blocks.Add(block);
            _minValidTime = Math.Max(_minValidTime, block.MaxTime);
        }

        _blocks.Sort((a, b) => a.MinTime.CompareTo(b.MinTime));
        return corrupt;
    }

    private static bool TryParseRange(string name, out long minTime, out long maxTime)
    {
        minTime = maxTime = 0;
        var dash = name.Length > 1 ? name.IndexOf('-', 1) : -1;
        return dash > 0
            && long.TryParse(name.AsSpan(0, dash), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out minTime)
            && long.TryParse(name.AsSpan(dash + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out maxTime);
    }

    private void WriteCheckpoint(WriteAheadLog wal)
    {
        for (var id = 0; id < _seriesCount; id++)
        {
            wal.LogSeries(id, _series[id].Labels);
        }

        for (var id = 0; id < _seriesCount; id++)
        {
            foreach (var c in _series[id].Chunks)
            {
                wal.LogChunk(id, c.Bytes);
            }
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfDisposedOrReadOnly()
    {
        ThrowIfDisposed();
        if (_readOnly)
        {
            throw new InvalidOperationException($"the telemetry store in '{_options.DataDirectory}' is open read-only: it takes no appends, flushes or compaction");
        }
    }

    /// <summary>Feeds WAL records into the head, mapping the log's series ids (from an earlier process) to this one's.</summary>
    private sealed class WalReplay(Tsdb tsdb) : IWalReplayTarget
    {
        private readonly Dictionary<int, MemSeries> _byWalId = [];

        public long Samples { get; private set; }

        public long UnknownSeriesSamples { get; private set; }

        public void OnSeries(int walId, Labels labels)
        {
            // Not tsdb._series[tsdb.GetOrAddSeries(labels)]: the array would be read before the call that may grow it.
            var id = tsdb.GetOrAddSeries(labels);
            _byWalId[walId] = tsdb._series[id];
        }

        public void OnSample(int walId, long timestampMs, double value)
        {
            if (!_byWalId.TryGetValue(walId, out var s))
            {
                UnknownSeriesSamples++;
                return;
            }

            // Samples already in blocks fall below the head's lower bound and are skipped; the future bound does not
            // apply to data that was accepted before.
            if (tsdb.AppendCore(s, timestampMs, value, long.MaxValue) == AppendStatus.Ok)
            {
                Samples++;
            }
        }

        public void OnChunk(int walId, ReadOnlySpan<byte> chunk)
        {
            var it = new XorIterator(chunk);
            while (it.Next())
            {
                OnSample(walId, it.Timestamp, it.Value);
            }
        }
    }
}
