using System.Text;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Telemetry.Tests.Storage;

public class XorChunkTests
{
    private static readonly Gen<long> AnyLong =
        Gen.Zip(Gen.Choose(int.MinValue, int.MaxValue), Gen.Choose(int.MinValue, int.MaxValue), (hi, lo) => (long)(((ulong)(uint)hi << 32) | (uint)lo));

    // Timestamps: regular scrapes with jitter, arbitrary jumps (negative, huge, wrapping) and the extremes.
    private static readonly Gen<long[]> Timestamps =
        Gen.Choose(1, XorChunk.MaxSamples).SelectMany(n => Gen.Frequency(
            (3, Gen.Choose(-5, 5).ArrayOf(n).Select(jitter => Scrapes(jitter))),
            (2, Gen.Constant(new int[n]).Select(Scrapes)),
            (2, Gen.Frequency((4, Gen.Choose(-100_000, 100_000).Select(d => (long)d)), (1, AnyLong), (1, Gen.Elements(long.MinValue, long.MaxValue, 0L, -1L)))
                .ArrayOf(n).Select(Accumulate))));

    private static readonly Gen<double> Values = Gen.Frequency(
        (4, Gen.Choose(-10_000, 10_000).Select(v => v / 10.0)),
        (2, Gen.Choose(0, 1 << 30).Select(v => (double)v)),
        (2, AnyLong.Select(BitConverter.Int64BitsToDouble)),
        (1, Gen.Elements(double.NaN, double.PositiveInfinity, double.NegativeInfinity, StaleMarker.Value, 0.0, -0.0, double.Epsilon, double.MaxValue, double.MinValue)));

    private static readonly Gen<Sample[]> Chunks =
        Timestamps.SelectMany(ts => Values.ArrayOf(ts.Length).Select(vs => ts.Select((t, i) => new Sample(t, vs[i])).ToArray()));

    [Property(MaxTest = 500, Replay = "1234567890123456789,987654321987654321")]
    public Property EncodeDecode_RoundTripsBitExactly() =>
        Prop.ForAll(Chunks.ToArbitrary(), samples =>
        {
            var chunk = new XorChunk();
            foreach (var s in samples)
            {
                chunk.Append(s.TimestampMs, s.Value);
            }

            return Decode(chunk.Bytes.ToArray()).SequenceEqual(samples.Select(Bits));
        });

    [Property(MaxTest = 200, Replay = "1234567890123456789,987654321987654321")]
    public Property Seal_KeepsTheBytes() =>
        Prop.ForAll(Chunks.ToArbitrary(), samples =>
        {
            var chunk = new XorChunk();
            foreach (var s in samples)
            {
                chunk.Append(s.TimestampMs, s.Value);
            }

            var before = chunk.Bytes.ToArray();
            chunk.Seal();
            return chunk.Bytes.SequenceEqual(before) && XorChunk.CountOf(before) == samples.Length;
        });

    [Property(MaxTest = 500, Replay = "1234567890123456789,987654321987654321")]
    public Property DecodeAll_GivesWhatTheSampleBySampleDecoderGives() =>
        Prop.ForAll(Chunks.ToArbitrary(), samples =>
        {
            var bytes = Encode(samples);
            var into = new Sample[XorChunk.CountOf(bytes)];
            var n = XorChunk.DecodeAll(bytes, into);
            return n == samples.Length && into.Select(Bits).SequenceEqual(Decode(bytes));
        });

    [Property(MaxTest = 500, Replay = "1234567890123456789,987654321987654321")]
    public Property DecodeAll_TellsWhetherTheTimestampsRiseByOneStep() =>
        Prop.ForAll(Chunks.ToArbitrary(), samples =>
        {
            var into = new Sample[samples.Length];
            XorChunk.DecodeAll(Encode(samples), into, out var regular);
            var step = samples.Length > 1 ? unchecked(samples[1].TimestampMs - samples[0].TimestampMs) : 0;
            var expected = samples.Select((s, i) => s.TimestampMs == unchecked(samples[0].TimestampMs + (i * step))).All(b => b);
            return (regular == expected).Label($"regular {regular}, expected {expected}");
        });

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property DecodeAll_IntoACacheSlot_WritesEachValuesBitsBesideTheSamples() =>
        Prop.ForAll(Chunks.ToArbitrary(), samples =>
        {
            var bytes = Encode(samples);
            var into = new Sample[samples.Length];
            var slot = new long[XorChunk.MaxSamples];
            XorChunk.DecodeAll(bytes, into, slot, out var regular);
            XorChunk.DecodeAll(bytes, new Sample[samples.Length], out var regularAlone);
            return into.Select(Bits).SequenceEqual(samples.Select(Bits))
                && slot.Take(samples.Length).SequenceEqual(samples.Select(p => BitConverter.DoubleToInt64Bits(p.Value)))
                && slot.Skip(samples.Length).All(w => w == 0)
                && regular == regularAlone;
        });

    [Fact]
    public void DecodeAll_IntoTooSmallASlot_IsRefused()
    {
        var bytes = Encode([new Sample(1, 1), new Sample(2, 2)]);
        Assert.Throws<ArgumentException>(() => XorChunk.DecodeAll(bytes, new Sample[2], new long[1], out _));
    }

    [Property(MaxTest = 200, Replay = "1234567890123456789,987654321987654321")]
    public Property DecodeAll_ChunkCutShort_IsInvalidDataLikeTheSampleBySampleDecoder() =>
        Prop.ForAll(Chunks.ToArbitrary(), Gen.Choose(0, 1000).ToArbitrary(), (samples, cut) =>
        {
            var bytes = Encode(samples);

            // Keep the 2-byte header (so the count still promises every sample) and drop at least one byte.
            var shortened = bytes[..(2 + (cut % (bytes.Length - 2)))];
            var into = new Sample[XorChunk.CountOf(shortened)];
            return Throws(() => XorChunk.DecodeAll(shortened, into)) && Throws(() => Decode(shortened));
        });

    [Fact]
    public void DecodeAll_IntoTooSmallASpan_IsRefused()
    {
        var bytes = Encode([new Sample(1, 1), new Sample(2, 2)]);
        Assert.Throws<ArgumentException>(() => XorChunk.DecodeAll(bytes, new Sample[1]));
    }

    private static byte[] Encode(Sample[] samples)
    {
        var chunk = new XorChunk();
        foreach (var s in samples)
        {
            chunk.Append(s.TimestampMs, s.Value);
        }

        return chunk.Bytes.ToArray();
    }

    private static bool Throws(Action decode)
    {
        try
        {
            decode();
            return false;
        }
        catch (InvalidDataException)
        {
            return true;
        }
    }

    [Fact]
    public void Chunk_HoldsAtMost120Samples()
    {
        var chunk = new XorChunk();
        for (var i = 0; i < XorChunk.MaxSamples; i++)
        {
            chunk.Append(i * 10_000L, i);
        }

        Assert.True(chunk.IsFull);
        Assert.Throws<InvalidOperationException>(() => chunk.Append(2_000_000, 1));
    }

    [Fact]
    public void RegularScrapes_ConstantValue_CostAboutTwoBitsASample()
    {
        var chunk = new XorChunk();
        for (var i = 0; i < XorChunk.MaxSamples; i++)
        {
            chunk.Append(1_700_000_000_000 + (i * 15_000L), 1);
        }

        // Header, first timestamp and value, second delta; then one '0' bit for the timestamp and one for the value.
        Assert.True(chunk.Bytes.Length <= 2 + 7 + 8 + 3 + (2 * 118 / 8) + 1, $"{chunk.Bytes.Length} bytes");
    }

    [Fact]
    public void TruncatedChunk_IsInvalidData()
    {
        var chunk = new XorChunk();
        chunk.Append(1, 1.5);
        chunk.Append(2, 2.5);
        var bytes = chunk.Bytes[..^3].ToArray();
        Assert.Throws<InvalidDataException>(() => Decode(bytes));
    }

    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("123456789", 0xE3069283u)] // the CRC-32C check value (RFC 3720 appendix B.4)
    [InlineData("The quick brown fox jumps over the lazy dog", 0x22620404u)]
    public void Crc32C_MatchesKnownValues(string text, uint expected)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        Assert.Equal(expected, Crc32C.Compute(bytes));
        Assert.Equal(expected, Crc32C.ComputeWithTable(bytes));
    }

    private static long[] Scrapes(int[] jitter)
    {
        var ts = new long[jitter.Length];
        for (var i = 0; i < ts.Length; i++)
        {
            ts[i] = 1_700_000_000_000 + (i * 10_000L) + jitter[i];
        }

        return ts;
    }

    private static long[] Accumulate(long[] deltas)
    {
        var ts = new long[deltas.Length];
        long t = 0;
        for (var i = 0; i < ts.Length; i++)
        {
            t = unchecked(t + deltas[i]);
            ts[i] = t;
        }

        return ts;
    }

    private static (long, ulong) Bits(Sample s) => (s.TimestampMs, BitConverter.DoubleToUInt64Bits(s.Value));

    private static List<(long, ulong)> Decode(byte[] bytes)
    {
        var result = new List<(long, ulong)>();
        var it = new XorIterator(bytes);
        while (it.Next())
        {
            result.Add((it.Timestamp, BitConverter.DoubleToUInt64Bits(it.Value)));
        }

        return result;
    }
}
