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
/// (per series: labels and chunk references) and <c>meta.json</c> (range, counts, and each file's size and CRC-32C).
/// Blocks are written to a temporary directory, fsynced, then renamed, so a crash leaves either a whole block or none.
/// A loaded block is held in memory.</remarks>
internal sealed class Block
{
    private const uint IndexMagic = 0x58444941; // "AIDX"
    private const string ChunksFile = "chunks";
    private const string IndexFile = "index";
    private const string MetaFile = "meta.json";

    private Block(long minTime, long maxTime, byte[] chunkData, BlockSeries[] series, long samples)
    {
        MinTime = minTime;
        MaxTime = maxTime;
        ChunkData = chunkData;
        Series = series;
        SampleCount = samples;
    }

    public long MinTime { get; }

    /// <summary>Exclusive end of the window.</summary>
    public long MaxTime { get; }

    public byte[] ChunkData { get; }

    public BlockSeries[] Series { get; }

    public long SampleCount { get; }

    /// <summary>Where the block lives, or null in memory.</summary>
    public string? Directory { get; private set; }

    public long BytesOnDisk { get; private set; }

    /// <summary>The block's series by store series id, filled when the store registers them.</summary>
    public Dictionary<int, BlockSeries> ById { get; } = [];

    public string Name => DirectoryName(MinTime, MaxTime);

    public static string DirectoryName(long minTime, long maxTime) => string.Create(CultureInfo.InvariantCulture, $"{minTime}-{maxTime}");

    public ReadOnlySpan<byte> Chunk(BlockChunk chunk) => ChunkData.AsSpan(chunk.Offset, chunk.Length);

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

        return new Block(minTime, maxTime, data, built, samples);
    }

    /// <summary>Writes the block under <paramref name="blocksDirectory"/>: temporary directory, fsync, rename.</summary>
    public void Persist(string blocksDirectory)
    {
        var final = Path.Combine(blocksDirectory, Name);
        var temp = Path.Combine(blocksDirectory, ".tmp-" + Name);
        if (System.IO.Directory.Exists(temp))
        {
            System.IO.Directory.Delete(temp, true);
        }

        System.IO.Directory.CreateDirectory(temp);
        var index = EncodeIndex();
        WriteSynced(Path.Combine(temp, ChunksFile), ChunkData);
        WriteSynced(Path.Combine(temp, IndexFile), index);
        var meta = EncodeMeta(index);
        WriteSynced(Path.Combine(temp, MetaFile), meta);
        System.IO.Directory.Move(temp, final);
        Directory = final;
        BytesOnDisk = ChunkData.Length + index.Length + meta.Length;
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
            var minTime = root.GetProperty("minTime").GetInt64();
            var maxTime = root.GetProperty("maxTime").GetInt64();
            var chunks = ReadVerified(directory, ChunksFile, root);
            var index = ReadVerified(directory, IndexFile, root);
            var series = DecodeIndex(index, chunks, out var samples);
            if (samples != root.GetProperty("stats").GetProperty("numSamples").GetInt64())
            {
                throw new InvalidDataException("sample count differs from meta.json");
            }

            problem = null;
            return new Block(minTime, maxTime, chunks, series, samples)
            {
                Directory = directory,
                BytesOnDisk = chunks.Length + index.Length + metaBytes.Length,
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
        var file = meta.GetProperty("files").GetProperty(name);
        var bytes = File.ReadAllBytes(Path.Combine(directory, name));
        if (bytes.Length != file.GetProperty("size").GetInt64())
        {
            throw new InvalidDataException($"{name}: size differs from meta.json");
        }

        if (Crc32C.Compute(bytes) != file.GetProperty("crc32c").GetUInt32())
        {
            throw new InvalidDataException($"{name}: CRC mismatch");
        }

        return bytes;
    }

    private byte[] EncodeIndex()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(IndexMagic);
            writer.Write7BitEncodedInt(Series.Length);
            foreach (var s in Series)
            {
                writer.Write7BitEncodedInt(s.Labels.Count);
                for (var i = 0; i < s.Labels.Count; i++)
                {
                    writer.Write(s.Labels.Name(i));
                    writer.Write(s.Labels.Value(i));
                }

                writer.Write7BitEncodedInt(s.Chunks.Length);
                foreach (var c in s.Chunks)
                {
                    writer.Write(c.MinTime);
                    writer.Write(c.MaxTime);
                    writer.Write7BitEncodedInt(c.Offset);
                    writer.Write7BitEncodedInt(c.Length);
                }
            }
        }

        return stream.ToArray();
    }

    private static BlockSeries[] DecodeIndex(byte[] index, byte[] chunkData, out long samples)
    {
        using var reader = new BinaryReader(new MemoryStream(index), Encoding.UTF8);
        try
        {
            if (reader.ReadUInt32() != IndexMagic)
            {
                throw new InvalidDataException("index: bad magic");
            }

            var series = new BlockSeries[reader.Read7BitEncodedInt()];
            samples = 0;
            for (var i = 0; i < series.Length; i++)
            {
                var pairs = new KeyValuePair<string, string>[reader.Read7BitEncodedInt()];
                for (var j = 0; j < pairs.Length; j++)
                {
                    pairs[j] = new(reader.ReadString(), reader.ReadString());
                }

                var chunks = new BlockChunk[reader.Read7BitEncodedInt()];
                for (var j = 0; j < chunks.Length; j++)
                {
                    chunks[j] = new BlockChunk(reader.ReadInt64(), reader.ReadInt64(), reader.Read7BitEncodedInt(), reader.Read7BitEncodedInt());
                    if (chunks[j].Offset < 0 || chunks[j].Length < 2 || chunks[j].Offset > chunkData.Length - chunks[j].Length)
                    {
                        throw new InvalidDataException("index: chunk reference outside the chunks file");
                    }

                    samples += XorChunk.CountOf(chunkData.AsSpan(chunks[j].Offset, chunks[j].Length));
                }

                series[i] = new BlockSeries(Labels.From(pairs), chunks);
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
            json.WriteNumber("version", 1);
            json.WriteNumber("minTime", MinTime);
            json.WriteNumber("maxTime", MaxTime);
            json.WriteStartObject("stats");
            json.WriteNumber("numSeries", Series.Length);
            json.WriteNumber("numChunks", Series.Sum(s => s.Chunks.Length));
            json.WriteNumber("numSamples", CountSamples());
            json.WriteEndObject();
            json.WriteStartObject("files");
            WriteFile(json, ChunksFile, ChunkData);
            WriteFile(json, IndexFile, index);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteFile(Utf8JsonWriter json, string name, byte[] bytes)
    {
        json.WriteStartObject(name);
        json.WriteNumber("size", bytes.Length);
        json.WriteNumber("crc32c", Crc32C.Compute(bytes));
        json.WriteEndObject();
    }

    private static void WriteSynced(string path, byte[] bytes)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        file.Write(bytes);
        file.Flush(true);
    }
}
