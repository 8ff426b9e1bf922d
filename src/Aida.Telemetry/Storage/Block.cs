using System.Globalization;
using System.Text;
using System.Text.Json;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Storage;

/// <summary>Where one compacted chunk lies in its block's chunk data.</summary>
internal readonly record struct BlockChunk(long MinTime, long MaxTime, int Offset, int Length);

/// <summary>One series of a block and its chunks, oldest first.</summary>
internal sealed record BlockSeries(Labels Labels, BlockChunk[] Chunks);

/// <summary>An immutable block of compacted chunks covering one window [<see cref="MinTime"/>, <see cref="MaxTime"/>).</summary>
/// <remarks>On disk, <c>blocks/&lt;mint&gt;-&lt;maxt&gt;/</c> holds <c>chunks</c> (XOR chunks back to back), <c>index</c>
/// and <c>meta.json</c> (format version, range, counts, each file's size and CRC-32C and, for a merged block, its
/// compaction level and the blocks it replaced). Index version 1 (still read): per series its labels as strings and
/// chunk references as two int64 times and varint offset and length. Version 2 (written): a symbol table (every label
/// name and value of the block once, sorted), then per series its labels as symbol numbers and its chunk references
/// delta-encoded as varints. Blocks are written to a temporary directory, fsynced, then renamed, so a crash leaves
/// either a whole block or none. A loaded block is held in memory.</remarks>
internal sealed class Block
{
    private const uint IndexMagic = 0x58444941; // "AIDX": index version 1
    private const uint IndexMagicV2 = 0x32444941; // "AID2": index version 2, with a symbol table
    private const int FormatVersion = 2;
    private const string ChunksFile = "chunks";
    private const string IndexFile = "index";
    private const string MetaFile = "meta.json";

    private Block(long minTime, long maxTime, BlockChunks chunkData, BlockSeries[] series, long samples, int level = 1, string[]? sources = null)
    {
        MinTime = minTime;
        MaxTime = maxTime;
        ChunkData = chunkData;
        Series = series;
        SampleCount = samples;
        Level = level;
        Sources = sources ?? [];
    }

    /// <summary>The block's <see cref="ChunkKey.Owner"/>: its chunks are cached decoded under this number and their
    /// offsets.</summary>
    public long CacheOwner { get; } = ChunkKey.NewOwner();

    /// <summary>1 for a block cut from the head; one more than its highest source for a merged block.</summary>
    public int Level { get; }

    /// <summary>The directory names of every block this one replaced (its sources and theirs), sorted; empty for a block
    /// cut from the head. On load, a block whose range this block covers and whose name is listed here is a leftover of
    /// a compaction interrupted before it deleted its sources.</summary>
    public IReadOnlyList<string> Sources { get; }

    /// <summary>The index format version the block was read with or written in.</summary>
    public int Version { get; private set; } = FormatVersion;

    /// <summary>Bytes each series' entry takes in the index (parallel to <see cref="Series"/>; the symbol table and the
    /// header are not counted), filled when the index is encoded or decoded.</summary>
    public int[] IndexEntrySizes { get; private set; } = [];

    public long MinTime { get; }

    /// <summary>Exclusive end of the window.</summary>
    public long MaxTime { get; }

    /// <summary>The chunks' bytes: an array until <see cref="Persist"/> writes them, then the file mapped (as a block
    /// loaded from disk has them).</summary>
    public BlockChunks ChunkData { get; private set; }

    public BlockSeries[] Series { get; }

    public long SampleCount { get; }

    /// <summary>The temporary directory <see cref="Merge"/> wrote the chunks to, for <see cref="Persist"/> to finish.</summary>
    private string? _written;

    /// <summary>Where the block lives, or null in memory.</summary>
    public string? Directory { get; private set; }

    public long BytesOnDisk { get; private set; }

    /// <summary>The block's series by store series id, filled when the store registers them.</summary>
    public Dictionary<int, BlockSeries> ById { get; } = [];

    public string Name => DirectoryName(MinTime, MaxTime);

    public static string DirectoryName(long minTime, long maxTime) => string.Create(CultureInfo.InvariantCulture, $"{minTime}-{maxTime}");

    public ReadOnlySpan<byte> Chunk(BlockChunk chunk) => ChunkData.Span(chunk.Offset, chunk.Length);

    /// <summary>A chunk's bytes as memory that keeps a mapped block's file mapped while it is held.</summary>
    public ReadOnlyMemory<byte> ChunkMemory(BlockChunk chunk) => ChunkData.MemoryOf(chunk.Offset, chunk.Length);

    /// <summary>A block from head chunks; <paramref name="series"/> must be sorted by labels.</summary>
    public static Block Build(long minTime, long maxTime, IReadOnlyList<(Labels Labels, List<XorChunk> Chunks)> series)
    {
        var size = 0;
        foreach (var (_, chunks) in series)
        {
            foreach (var c in chunks)
            {
                size += c.Bytes.Length;
            }
        }

        var data = new byte[size];
        var offset = 0;
        long samples = 0;
        var built = new BlockSeries[series.Count];
        for (var i = 0; i < series.Count; i++)
        {
            var refs = new BlockChunk[series[i].Chunks.Count];
            for (var j = 0; j < refs.Length; j++)
            {
                var c = series[i].Chunks[j];
                c.Bytes.CopyTo(data.AsSpan(offset));
                refs[j] = new BlockChunk(c.MinTime, c.MaxTime, offset, c.Bytes.Length);
                offset += c.Bytes.Length;
                samples += c.Count;
            }

            built[i] = new BlockSeries(series[i].Labels, refs);
        }

        return new Block(minTime, maxTime, new BlockChunks(data), built, samples);
    }

    /// <summary>Merges blocks (sorted by time, not overlapping) into one covering their union. Each series' samples are
    /// re-chunked so that chunks fill up to <see cref="XorChunk.MaxSamples"/>: a full source chunk met while no chunk is
    /// open is copied as is, anything else is decoded and re-encoded. A timestamp at or before the last one kept is
    /// dropped, so overlapping sources cannot produce out-of-order chunks.</summary>
    /// <param name="sources">The blocks, with <see cref="ById"/> filled.</param>
    /// <param name="ids">Receives the store series id of each of the merged block's series.</param>
    /// <param name="blocksDirectory">When given, the merged chunks are written as they are made to the block's
    /// temporary directory there and mapped from it, and <see cref="Persist"/> adds the index and meta.json: a day's
    /// merge no longer holds its chunk data in memory, twice over (the buffer and its copy), which a 1 GiB memory limit
    /// could not give it. Without, they are built in memory (a store with no directory).</param>
    /// <exception cref="IOException">The chunks could not be written; the temporary directory is removed.</exception>
    public static Block Merge(IReadOnlyList<Block> sources, out int[] ids, string? blocksDirectory = null)
    {
        var labels = new Dictionary<int, Labels>();
        long sourceBytes = 0;
        foreach (var b in sources)
        {
            sourceBytes += b.ChunkData.Length;
            foreach (var (id, bs) in b.ById)
            {
                labels.TryAdd(id, bs.Labels);
            }
        }

        ids = [.. labels.Keys];
        Array.Sort(ids, (a, b) => Labels.Compare(labels[a], labels[b]));
        var minTime = sources.Min(b => b.MinTime);
        var maxTime = sources.Max(b => b.MaxTime);
        var temp = blocksDirectory is null ? null : StartTemporary(blocksDirectory, DirectoryName(minTime, maxTime));
        try
        {
            using var data = temp is null
                ? (Stream)new MemoryStream((int)Math.Min(sourceBytes, Array.MaxLength))
                : new FileStream(Path.Combine(temp, ChunksFile), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
            var (series, samples) = MergeChunks(sources, ids, labels, data);
            BlockChunks chunks;
            if (data is MemoryStream memory)
            {
                chunks = new BlockChunks(memory.ToArray());
            }
            else
            {
                ((FileStream)data).Flush(true);
                data.Dispose();
                chunks = BlockChunks.Map(Path.Combine(temp!, ChunksFile));
            }

            var sourceNames = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var b in sources)
            {
                sourceNames.Add(b.Name);
                sourceNames.UnionWith(b.Sources);
            }

            return new Block(minTime, maxTime, chunks, series, samples, sources.Max(b => b.Level) + 1, [.. sourceNames]) { _written = temp };
        }
        catch (IOException)
        {
            if (temp is not null)
            {
                DeleteQuietly(temp);
            }

            throw;
        }
    }

    /// <summary>The block's temporary directory under <paramref name="blocksDirectory"/>, made empty.</summary>
    private static string StartTemporary(string blocksDirectory, string name)
    {
        var temp = Path.Combine(blocksDirectory, ".tmp-" + name);
        if (System.IO.Directory.Exists(temp))
        {
            System.IO.Directory.Delete(temp, true);
        }

        System.IO.Directory.CreateDirectory(temp);
        return temp;
    }

    /// <summary>Each series' chunks of <paramref name="sources"/>, re-chunked (<see cref="Merge"/>), written to
    /// <paramref name="data"/> back to back.</summary>
    private static (BlockSeries[] Series, long Samples) MergeChunks(IReadOnlyList<Block> sources, int[] ids, Dictionary<int, Labels> labels, Stream data)
    {
        long written = 0;
        var series = new BlockSeries[ids.Length];
        var refs = new List<BlockChunk>();
        long samples = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            refs.Clear();
            XorChunk? open = null;
            var last = long.MinValue;
            var any = false;
            foreach (var b in sources)
            {
                if (!b.ById.TryGetValue(ids[i], out var bs))
                {
                    continue;
                }

                foreach (var c in bs.Chunks)
                {
                    var bytes = b.Chunk(c);
                    var count = XorChunk.CountOf(bytes);
                    if (open is null && count >= XorChunk.MaxSamples && (!any || c.MinTime > last))
                    {
                        refs.Add(new BlockChunk(c.MinTime, c.MaxTime, checked((int)written), bytes.Length));
                        data.Write(bytes);
                        written += bytes.Length;
                        samples += count;
                        last = c.MaxTime;
                        any = true;
                        continue;
                    }

                    var it = new XorIterator(bytes);
                    while (it.Next())
                    {
                        if (any && it.Timestamp <= last)
                        {
                            continue;
                        }

                        open ??= new XorChunk();
                        open.Append(it.Timestamp, it.Value);
                        last = it.Timestamp;
                        any = true;
                        if (open.IsFull)
                        {
                            samples += WriteChunk(open, data, refs, ref written);
                            open = null;
                        }
                    }
                }
            }

            if (open is not null)
            {
                samples += WriteChunk(open, data, refs, ref written);
            }

            series[i] = new BlockSeries(labels[ids[i]], [.. refs]);
        }

        return (series, samples);
    }

    private static int WriteChunk(XorChunk chunk, Stream data, List<BlockChunk> refs, ref long written)
    {
        refs.Add(new BlockChunk(chunk.MinTime, chunk.MaxTime, checked((int)written), chunk.Bytes.Length));
        data.Write(chunk.Bytes);
        written += chunk.Bytes.Length;
        return chunk.Count;
    }

    /// <summary>Writes the block under <paramref name="blocksDirectory"/>: temporary directory, fsync, rename.</summary>
    public void Persist(string blocksDirectory)
    {
        var final = Path.Combine(blocksDirectory, Name);
        var temp = Path.Combine(blocksDirectory, ".tmp-" + Name);
        var written = _written == temp;
        if (System.IO.Directory.Exists(final))
        {
            if (written)
            {
                DeleteQuietly(temp);
            }

            throw new IOException($"block {Name} already exists");
        }

        if (!written)
        {
            StartTemporary(blocksDirectory, Name);
        }

        var index = EncodeIndex();
        byte[] meta;
        try
        {
            if (!written)
            {
                WriteSynced(Path.Combine(temp, ChunksFile), ChunkData.All);
            }

            WriteSynced(Path.Combine(temp, IndexFile), index);
            meta = EncodeMeta(index);
            WriteSynced(Path.Combine(temp, MetaFile), meta);
            System.IO.Directory.Move(temp, final);
        }
        catch (IOException)
        {
            // A full disk: what was written of it goes, to free the space it took.
            DeleteQuietly(temp);
            throw;
        }

        Directory = final;
        BytesOnDisk = ChunkData.Length + index.Length + meta.Length;

        // Durable: read from the file from now on, mapped, and let the array go (the block is not yet published). A
        // merge's chunks are mapped already, from the same file under its temporary name.
        _written = null;
        if (!ChunkData.IsMapped)
        {
            ChunkData = BlockChunks.Map(Path.Combine(final, ChunksFile));
        }
    }

    /// <summary>Removes the directory of a block persisted but never published (its cut failed for another block); its
    /// mapping goes with this object, as a block dropped by retention.</summary>
    internal void Discard()
    {
        if (Directory is { } directory)
        {
            DeleteQuietly(directory);
        }
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the store's next open, which ignores a temporary directory and reports a broken block.
        }
    }

    /// <summary>Reads and verifies a block directory; null with a reason when any file is missing, mis-sized, fails its
    /// CRC or does not decode.</summary>
    public static Block? Load(string directory, out string? problem)
    {
        try
        {
            var metaBytes = File.ReadAllBytes(Path.Combine(directory, MetaFile));
            using var meta = JsonDocument.Parse(metaBytes);
            var root = meta.RootElement;
            var version = root.TryGetProperty("version", out var v) ? v.GetInt32() : 1;
            if (version is < 1 or > FormatVersion)
            {
                throw new InvalidDataException($"unsupported block version {version}");
            }

            var minTime = root.GetProperty("minTime").GetInt64();
            var maxTime = root.GetProperty("maxTime").GetInt64();
            var level = 1;
            string[] sources = [];
            if (root.TryGetProperty("compaction", out var compaction))
            {
                level = compaction.GetProperty("level").GetInt32();
                sources = [.. compaction.GetProperty("sources").EnumerateArray().Select(e => e.GetString() ?? throw new InvalidDataException("meta.json: null source"))];
            }

            var chunks = MapVerified(directory, ChunksFile, root);
            var index = ReadVerified(directory, IndexFile, root);
            var series = version == 1
                ? DecodeIndexV1(index, chunks, out var samples, out var sizes)
                : DecodeIndexV2(index, minTime, chunks, out samples, out sizes);
            if (samples != root.GetProperty("stats").GetProperty("numSamples").GetInt64())
            {
                throw new InvalidDataException("sample count differs from meta.json");
            }

            problem = null;
            return new Block(minTime, maxTime, chunks, series, samples, level, sources)
            {
                Directory = directory,
                BytesOnDisk = chunks.Length + index.Length + metaBytes.Length,
                Version = version,
                IndexEntrySizes = sizes,
            };
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidDataException or KeyNotFoundException or InvalidOperationException or FormatException or UnauthorizedAccessException)
        {
            problem = e.Message;
            return null;
        }
    }

    private static byte[] ReadVerified(string directory, string name, JsonElement meta)
    {
        var bytes = File.ReadAllBytes(Path.Combine(directory, name));
        Verify(name, bytes, meta);
        return bytes;
    }

    /// <summary>The file mapped, its size and CRC checked as <see cref="ReadVerified"/> checks them (reading it once:
    /// clean pages, which the kernel may drop again).</summary>
    private static BlockChunks MapVerified(string directory, string name, JsonElement meta)
    {
        var chunks = BlockChunks.Map(Path.Combine(directory, name));
        Verify(name, chunks.All, meta);
        return chunks;
    }

    private static void Verify(string name, ReadOnlySpan<byte> bytes, JsonElement meta)
    {
        var file = meta.GetProperty("files").GetProperty(name);
        if (bytes.Length != file.GetProperty("size").GetInt64())
        {
            throw new InvalidDataException($"{name}: size differs from meta.json");
        }

        if (Crc32C.Compute(bytes) != file.GetProperty("crc32c").GetUInt32())
        {
            throw new InvalidDataException($"{name}: CRC mismatch");
        }
    }

    private byte[] EncodeIndex()
    {
        var symbols = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var s in Series)
        {
            for (var i = 0; i < s.Labels.Count; i++)
            {
                symbols.Add(s.Labels.Name(i));
                symbols.Add(s.Labels.Value(i));
            }
        }

        var numbers = new Dictionary<string, int>(symbols.Count, StringComparer.Ordinal);
        using var stream = new MemoryStream();
        var sizes = new int[Series.Length];
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(IndexMagicV2);
            writer.Write7BitEncodedInt(symbols.Count);
            foreach (var symbol in symbols)
            {
                numbers.Add(symbol, numbers.Count);
                writer.Write(symbol);
            }

            writer.Write7BitEncodedInt(Series.Length);
            var expectedOffset = 0L;
            for (var k = 0; k < Series.Length; k++)
            {
                writer.Flush();
                var at = stream.Position;
                var s = Series[k];
                writer.Write7BitEncodedInt(s.Labels.Count);
                for (var i = 0; i < s.Labels.Count; i++)
                {
                    writer.Write7BitEncodedInt(numbers[s.Labels.Name(i)]);
                    writer.Write7BitEncodedInt(numbers[s.Labels.Value(i)]);
                }

                writer.Write7BitEncodedInt(s.Chunks.Length);
                var previous = MinTime;
                foreach (var c in s.Chunks)
                {
                    writer.Write7BitEncodedInt64(ZigZag(unchecked(c.MinTime - previous)));
                    writer.Write7BitEncodedInt64(ZigZag(unchecked(c.MaxTime - c.MinTime)));
                    writer.Write7BitEncodedInt64(ZigZag(c.Offset - expectedOffset));
                    writer.Write7BitEncodedInt(c.Length);
                    previous = c.MaxTime;
                    expectedOffset = (long)c.Offset + c.Length;
                }

                writer.Flush();
                sizes[k] = (int)(stream.Position - at);
            }
        }

        IndexEntrySizes = sizes;
        return stream.ToArray();
    }

    private static long ZigZag(long v) => (v << 1) ^ (v >> 63);

    private static long UnZigZag(long z) => (long)((ulong)z >> 1) ^ -(z & 1);

    private static BlockSeries[] DecodeIndexV2(byte[] index, long blockMinTime, BlockChunks chunkData, out long samples, out int[] sizes)
    {
        var stream = new MemoryStream(index);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            if (reader.ReadUInt32() != IndexMagicV2)
            {
                throw new InvalidDataException("index: bad magic");
            }

            var symbols = new string[ReadCount(reader, index.Length)];
            for (var i = 0; i < symbols.Length; i++)
            {
                symbols[i] = reader.ReadString();
            }

            var series = new BlockSeries[ReadCount(reader, index.Length)];
            sizes = new int[series.Length];
            samples = 0;
            var expectedOffset = 0L;
            for (var i = 0; i < series.Length; i++)
            {
                var at = stream.Position;
                var pairs = new KeyValuePair<string, string>[ReadCount(reader, index.Length)];
                for (var j = 0; j < pairs.Length; j++)
                {
                    pairs[j] = new(Symbol(symbols, reader.Read7BitEncodedInt()), Symbol(symbols, reader.Read7BitEncodedInt()));
                }

                var chunks = new BlockChunk[ReadCount(reader, index.Length)];
                var previous = blockMinTime;
                for (var j = 0; j < chunks.Length; j++)
                {
                    var minTime = unchecked(previous + UnZigZag(reader.Read7BitEncodedInt64()));
                    var maxTime = unchecked(minTime + UnZigZag(reader.Read7BitEncodedInt64()));
                    var offset = expectedOffset + UnZigZag(reader.Read7BitEncodedInt64());
                    var length = reader.Read7BitEncodedInt();
                    if (offset < 0 || length < 2 || offset > chunkData.Length - length)
                    {
                        throw new InvalidDataException("index: chunk reference outside the chunks file");
                    }

                    chunks[j] = new BlockChunk(minTime, maxTime, (int)offset, length);
                    samples += XorChunk.CountOf(chunkData.Span(chunks[j].Offset, chunks[j].Length));
                    previous = maxTime;
                    expectedOffset = offset + length;
                }

                series[i] = new BlockSeries(Labels.From(pairs), chunks);
                sizes[i] = (int)(stream.Position - at);
            }

            return series;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("index ends early", e);
        }
    }

    private static int ReadCount(BinaryReader reader, int limit)
    {
        var n = reader.Read7BitEncodedInt();
        return n < 0 || n > limit ? throw new InvalidDataException("index: count out of range") : n;
    }

    private static string Symbol(string[] symbols, int number) =>
        (uint)number < (uint)symbols.Length ? symbols[number] : throw new InvalidDataException("index: symbol number out of range");

    private static BlockSeries[] DecodeIndexV1(byte[] index, BlockChunks chunkData, out long samples, out int[] sizes)
    {
        var stream = new MemoryStream(index);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            if (reader.ReadUInt32() != IndexMagic)
            {
                throw new InvalidDataException("index: bad magic");
            }

            var series = new BlockSeries[ReadCount(reader, index.Length)];
            sizes = new int[series.Length];
            samples = 0;
            for (var i = 0; i < series.Length; i++)
            {
                var at = stream.Position;
                var pairs = new KeyValuePair<string, string>[ReadCount(reader, index.Length)];
                for (var j = 0; j < pairs.Length; j++)
                {
                    pairs[j] = new(reader.ReadString(), reader.ReadString());
                }

                var chunks = new BlockChunk[ReadCount(reader, index.Length)];
                for (var j = 0; j < chunks.Length; j++)
                {
                    chunks[j] = new BlockChunk(reader.ReadInt64(), reader.ReadInt64(), reader.Read7BitEncodedInt(), reader.Read7BitEncodedInt());
                    if (chunks[j].Offset < 0 || chunks[j].Length < 2 || chunks[j].Offset > chunkData.Length - chunks[j].Length)
                    {
                        throw new InvalidDataException("index: chunk reference outside the chunks file");
                    }

                    samples += XorChunk.CountOf(chunkData.Span(chunks[j].Offset, chunks[j].Length));
                }

                series[i] = new BlockSeries(Labels.From(pairs), chunks);
                sizes[i] = (int)(stream.Position - at);
            }

            return series;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("index ends early", e);
        }
    }

    /// <summary>Counts samples by chunk headers; Load cross-checks it against meta.json.</summary>
    private long CountSamples()
    {
        long samples = 0;
        foreach (var s in Series)
        {
            foreach (var c in s.Chunks)
            {
                samples += XorChunk.CountOf(Chunk(c));
            }
        }

        return samples;
    }

    private byte[] EncodeMeta(byte[] index)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", FormatVersion);
            json.WriteNumber("minTime", MinTime);
            json.WriteNumber("maxTime", MaxTime);
            if (Level > 1 || Sources.Count > 0)
            {
                json.WriteStartObject("compaction");
                json.WriteNumber("level", Level);
                json.WriteStartArray("sources");
                foreach (var source in Sources)
                {
                    json.WriteStringValue(source);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteStartObject("stats");
            json.WriteNumber("numSeries", Series.Length);
            json.WriteNumber("numChunks", Series.Sum(s => s.Chunks.Length));
            json.WriteNumber("numSamples", CountSamples());
            json.WriteEndObject();
            json.WriteStartObject("files");
            WriteFile(json, ChunksFile, ChunkData.All);
            WriteFile(json, IndexFile, index);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteFile(Utf8JsonWriter json, string name, ReadOnlySpan<byte> bytes)
    {
        json.WriteStartObject(name);
        json.WriteNumber("size", bytes.Length);
        json.WriteNumber("crc32c", Crc32C.Compute(bytes));
        json.WriteEndObject();
    }

    private static void WriteSynced(string path, ReadOnlySpan<byte> bytes)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        file.Write(bytes);
        file.Flush(true);
    }
}
