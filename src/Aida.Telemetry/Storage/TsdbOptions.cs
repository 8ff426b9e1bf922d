namespace Aida.Telemetry.Storage;

/// <summary>Where and how a <see cref="Tsdb"/> keeps its data.</summary>
public sealed record TsdbOptions
{
    /// <summary>Directory for the write-ahead log (<c>wal/</c>) and compacted blocks (<c>blocks/</c>); null (the default)
    /// keeps everything in memory and loses it on dispose.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Opens <see cref="DataDirectory"/> to read what is on disk now, while another process may be writing it
    /// (<c>aida query</c> on a running simulation's store): nothing on disk is changed (no WAL truncation or checkpoint,
    /// no retention, no block moved, deleted or merged) and no lock is taken; the head is rebuilt from the WAL up to its
    /// last complete record. Appends, flushes and compaction throw <see cref="InvalidOperationException"/>. A writable
    /// store (the default) holds <c>DIR/lock</c> for as long as it is open, so a second writer fails at once with a
    /// <see cref="StoreLockedException"/> instead of truncating and deleting the first one's WAL under it.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>How long appended samples may sit in memory before the WAL is written and fsynced, checked at each
    /// append; default 1 s. This bounds what a crash can lose.</summary>
    public TimeSpan WalFlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A broken WAL (<see cref="Tsdb.WalFailing"/>) is mended (a checkpoint of the head) only while the disk has
    /// this much free, left for smaller writes beside the store (a run's incidents and audit log); 0 by default.</summary>
    public long KeepFree { get; init; }

    /// <summary>Width of a compacted block, aligned to multiples of it since the epoch; default 2 h (as Prometheus).</summary>
    public TimeSpan BlockDuration { get; init; } = TimeSpan.FromHours(2);

    /// <summary>The widest block compaction merges adjacent blocks into (levels of 3 then 4 times
    /// <see cref="BlockDuration"/>: 2 h blocks become 6 h, then 24 h); default 24 h, and never more than a tenth of
    /// <see cref="Retention"/>. At or below <see cref="BlockDuration"/>, blocks are never merged.</summary>
    public TimeSpan MaxBlockDuration { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Blocks ending longer ago than this are deleted; default 15 d (as Prometheus).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(15);

    /// <summary>How far ahead of the clock a sample may be before it is refused as out of bounds; default 10 min.</summary>
    public TimeSpan FutureTolerance { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The most the decoded-chunk cache may hold, in bytes; default 256 MiB; 0 turns the cache off.</summary>
    /// <remarks>Queries keep the decoded samples of immutable chunks (compacted blocks' chunks and full head chunks) so
    /// that the same range query run again (a dashboard's refresh) copies them instead of decoding them. A sample costs 8
    /// bytes when its chunk's timestamps rise by a constant step and 16 otherwise: the default holds a day of about
    /// 3,000 series scraped every 10 s. Entries go least recently used first.</remarks>
    public long DecodedChunkCacheBytes { get; init; } = 256L << 20;

    /// <summary>The clock for flush intervals, the future bound and retention; default the system clock.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>A snapshot of a <see cref="Tsdb"/>'s size.</summary>
/// <param name="SeriesCount">Series known to the store.</param>
/// <param name="SampleCount">Samples in the head and in blocks.</param>
/// <param name="HeadSampleCount">Samples not yet compacted.</param>
/// <param name="BlockCount">Compacted blocks served.</param>
/// <param name="BytesOnDisk">WAL segments plus block files; 0 in memory.</param>
/// <param name="WalFlushes">Times the WAL has been written and fsynced since open.</param>
public readonly record struct TsdbStats(int SeriesCount, long SampleCount, long HeadSampleCount, int BlockCount, long BytesOnDisk, long WalFlushes);

/// <summary>What opening a data directory found: how much WAL was replayed, what had to be cut off or set aside.</summary>
public sealed record RecoveryReport
{
    public int BlocksLoaded { get; init; }

    public int WalSegmentsRead { get; init; }

    public long WalRecordsReplayed { get; init; }

    public long WalSamplesReplayed { get; init; }

    /// <summary>Bytes cut from the end of WAL segments because a record there was torn or failed its CRC.</summary>
    public long WalBytesTruncated { get; init; }

    /// <summary>Block directories that failed verification and were moved to <c>corrupt/</c>.</summary>
    public IReadOnlyList<string> CorruptBlocks { get; init; } = [];

    /// <summary>One line per problem found, for the log.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    public bool IsClean => WalBytesTruncated == 0 && CorruptBlocks.Count == 0 && Problems.Count == 0;
}

/// <summary>A writable store was opened on a data directory another open store holds (its <c>lock</c> file).</summary>
public sealed class StoreLockedException(string message, Exception inner) : IOException(message, inner);

/// <summary>The store's WAL cannot be written (<see cref="Tsdb.WalFailing"/>).</summary>
/// <param name="Since">When it first failed (store time).</param>
/// <param name="Message">The last failure's message (e.g. "No space left on device : '…/wal/00000002'").</param>
/// <param name="Attempts">Failed writes and checkpoints since.</param>
public sealed record WalFailure(DateTimeOffset Since, string Message, int Attempts);
