using System.Globalization;
using System.Text;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;

namespace Aida.Bench;

/// <summary><c>storage-report DIR</c>: bytes per sample of a store directory, in total and per metric name.</summary>
/// <remarks>
/// Reads every block under <c>DIR/blocks</c> (or <c>DIR/tsdb/blocks</c>) with the store's own loader, so the CRCs are
/// checked. Per metric name it adds the XOR chunk bytes of its series and their share of the index (the exact bytes each
/// series' index entry takes, as the loader measured it: labels, or with index version 2 their symbol numbers, and
/// chunk references); what no series owns (index header, the version 2 symbol table, meta.json) and the WAL are
/// reported as overhead. Does not open the store, so it never replays or truncates the WAL.
/// </remarks>
internal static class StorageReport
{
    public static int Run(string[] args, TextWriter output)
    {
        if (args.Length != 1)
        {
            output.WriteLine("usage: storage-report DIR   (a store directory, or a run's --out directory holding tsdb/)");
            return 2;
        }

        var root = Directory.Exists(Path.Combine(args[0], "tsdb")) ? Path.Combine(args[0], "tsdb") : args[0];
        var blocksDir = Path.Combine(root, "blocks");
        if (!Directory.Exists(blocksDir))
        {
            output.WriteLine($"storage-report: no blocks directory under {root}");
            return 1;
        }

        var families = new Dictionary<string, Family>(StringComparer.Ordinal);
        long blockBytes = 0, blockSamples = 0, ownedBytes = 0;
        var blockCount = 0;
        foreach (var dir in Directory.GetDirectories(blocksDir).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal))
        {
            var block = Block.Load(dir, out var problem);
            if (block is null)
            {
                output.WriteLine($"storage-report: block {dir} does not load: {problem}");
                return 1;
            }

            blockCount++;
            blockBytes += block.BytesOnDisk;
            blockSamples += block.SampleCount;
            for (var k = 0; k < block.Series.Length; k++)
            {
                var s = block.Series[k];
                var name = s.Labels.MetricName;
                if (!families.TryGetValue(name, out var f))
                {
                    families[name] = f = new Family();
                }

                f.SeriesIds.Add(s.Labels);
                foreach (var c in s.Chunks)
                {
                    f.Chunks++;
                    f.ChunkBytes += c.Length;
                    f.Samples += XorChunk.CountOf(block.Chunk(c));
                }

                var index = block.IndexEntrySizes[k];
                f.IndexBytes += index;
                ownedBytes += s.Chunks.Sum(c => (long)c.Length) + index;
            }
        }

        var walDir = Path.Combine(root, "wal");
        var walBytes = Directory.Exists(walDir) ? new DirectoryInfo(walDir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) : 0;
        var ci = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(ci, $"store: {root}"));
        output.WriteLine(string.Create(ci, $"blocks: {blockCount}, {blockSamples:N0} samples, {blockBytes:N0} bytes ({Ratio(blockBytes, blockSamples):0.000} bytes/sample); WAL {walBytes:N0} bytes; with WAL {Ratio(blockBytes + walBytes, blockSamples):0.000} bytes/sample"));
        output.WriteLine(string.Create(ci, $"block overhead no series owns (index headers and symbol tables, meta.json): {blockBytes - ownedBytes:N0} bytes"));
        output.WriteLine();
        output.WriteLine("| metric | series | samples | samples/chunk | chunk B/sample | index B/sample | total B/sample | share of bytes |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (name, f) in families.OrderByDescending(kv => kv.Value.ChunkBytes + kv.Value.IndexBytes))
        {
            var total = f.ChunkBytes + f.IndexBytes;
            output.WriteLine(string.Create(ci,
                $"| {name} | {f.SeriesIds.Count:N0} | {f.Samples:N0} | {Ratio(f.Samples, f.Chunks):0.0} | {Ratio(f.ChunkBytes, f.Samples):0.000} | {Ratio(f.IndexBytes, f.Samples):0.000} | {Ratio(total, f.Samples):0.000} | {100 * Ratio(total, blockBytes):0.0}% |"));
        }

        return 0;
    }

    private static double Ratio(double a, double b) => b > 0 ? a / b : 0;

    private sealed class Family
    {
        public HashSet<Labels> SeriesIds { get; } = [];

        public long Samples { get; set; }

        public long Chunks { get; set; }

        public long ChunkBytes { get; set; }

        public long IndexBytes { get; set; }
    }
}
