using System.Text;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;
using FsCheck.Xunit;
using Snappier;

namespace Aida.Telemetry.Tests.RemoteWrite;

public class WriteRequestCodecTests
{
    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public bool EncodeThenDecode_GivesBackTheSameSeries(int seed)
    {
        var request = RandomRequest(new Random(seed));
        var decoded = WriteRequestCodec.DecodeCompressed(WriteRequestCodec.EncodeCompressed(request));
        return SameRequest(request, decoded);
    }

    [Fact]
    public void Encode_MatchesTheReferenceBytes()
    {
        // Built by hand from prompb/types.proto: TimeSeries{labels:[{__name__,up},{job,a}], samples:[{value:1, timestamp:1000}]}.
        byte[] expected =
        [
            0x0A, 0x28, // timeseries, 40 bytes
            0x0A, 0x0E, 0x0A, 0x08, .. "__name__"u8, 0x12, 0x02, .. "up"u8,
            0x0A, 0x08, 0x0A, 0x03, .. "job"u8, 0x12, 0x01, .. "a"u8,
            0x12, 0x0C, 0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0xE8, 0x07,
        ];
        var encoded = WriteRequestCodec.Encode([new SeriesSamples(Labels.Metric("up", ("job", "a")), [new Sample(1000, 1)])]);
        Assert.Equal(expected, encoded);
    }

    [Fact]
    public void Decode_SkipsMetadataExemplarsHistogramsAndUnknownFields()
    {
        var series = WriteRequestCodec.Encode([new SeriesSamples(Labels.Metric("up"), [new Sample(5, 2)])]);
        var timeSeriesBody = series.AsSpan(2).ToArray();
        byte[] exemplar = [0x1A, 0x02, 0x08, 0x01]; // TimeSeries.exemplars (3): a nested message
        byte[] histogram = [0x22, 0x00];            // TimeSeries.histograms (4): empty
        byte[] fixed32 = [0x2D, 1, 2, 3, 4];        // unknown field 5, fixed32
        var ts = timeSeriesBody.Concat(exemplar).Concat(histogram).Concat(fixed32).ToArray();
        byte[] metadata = [0x1A, 0x04, 0x08, 0x02, 0x12, 0x00]; // WriteRequest.metadata (3)
        var body = new byte[] { 0x0A, (byte)ts.Length }.Concat(ts).Concat(metadata).ToArray();

        var decoded = Assert.Single(WriteRequestCodec.Decode(body));
        Assert.Equal(Labels.Metric("up"), decoded.Labels);
        Assert.Equal([new Sample(5, 2)], decoded.Samples);
    }

    [Theory]
    // What senders write: value, then timestamp.
    [InlineData(new byte[] { 0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0xE8, 0x07 })]
    // Timestamp first.
    [InlineData(new byte[] { 0x10, 0xE8, 0x07, 0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F })]
    // An unknown varint field after the two.
    [InlineData(new byte[] { 0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0xE8, 0x07, 0x18, 0x05 })]
    // The timestamp as a padded, longer-than-needed varint.
    [InlineData(new byte[] { 0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0xE8, 0x87, 0x80, 0x00 })]
    public void Decode_SampleEncodings_AllGiveTheSameSample(byte[] sample)
    {
        byte[] ts = [0x0A, 0x0E, 0x0A, 0x08, .. "__name__"u8, 0x12, 0x02, .. "up"u8, 0x12, (byte)sample.Length, .. sample];
        var body = new byte[] { 0x0A, (byte)ts.Length }.Concat(ts).ToArray();
        var decoded = Assert.Single(WriteRequestCodec.Decode(body));
        Assert.Equal(Labels.Metric("up"), decoded.Labels);
        Assert.Equal([new Sample(1000, 1)], decoded.Samples);
    }

    [Theory]
    // Field 1 says 16 bytes follow but only 2 do.
    [InlineData(new byte[] { 0x0A, 0x10, 0x0A, 0x00 }, "runs past the end", 1)]
    // A varint whose continuation bit never clears.
    [InlineData(new byte[] { 0x0A, 0x03, 0x12, 0x80, 0x80 }, "truncated varint", 3)]
    // An unknown field with wire type 3 (start group, deprecated) cannot be skipped.
    [InlineData(new byte[] { 0x13 }, "unsupported wire type 3", 0)]
    // A known field with the wrong wire type.
    [InlineData(new byte[] { 0x0B }, "WriteRequest.timeseries has wire type 3", 0)]
    // TimeSeries.labels sent as a varint.
    [InlineData(new byte[] { 0x0A, 0x02, 0x08, 0x01 }, "TimeSeries.labels has wire type 0", 2)]
    // Sample.value truncated to 3 bytes.
    [InlineData(new byte[] { 0x0A, 0x06, 0x12, 0x04, 0x09, 1, 2, 3 }, "truncated fixed64", 5)]
    // Field number 0 is reserved.
    [InlineData(new byte[] { 0x00, 0x00 }, "invalid field number 0", 0)]
    public void Decode_Malformed_NamesTheProblemAndOffset(byte[] body, string problem, long offset)
    {
        var e = Assert.Throws<RemoteWriteFormatException>(() => WriteRequestCodec.Decode(body));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Equal(offset, e.Offset);
        Assert.Contains($"at byte offset {offset}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_InvalidUtf8_IsAFormatError()
    {
        byte[] body = [0x0A, 0x06, 0x0A, 0x04, 0x12, 0x02, 0xC3, 0x28];
        var e = Assert.Throws<RemoteWriteFormatException>(() => WriteRequestCodec.Decode(body));
        Assert.Contains("not valid UTF-8", e.Message, StringComparison.Ordinal);
        Assert.Equal(6, e.Offset);
    }

    [Fact]
    public void Decode_DuplicateLabelName_IsAFormatError()
    {
        byte[] label = [0x0A, 0x05, 0x0A, 0x01, (byte)'a', 0x12, 0x00];
        var ts = label.Concat(label).ToArray();
        var body = new byte[] { 0x0A, (byte)ts.Length }.Concat(ts).ToArray();
        Assert.Contains("duplicate label name 'a'", Assert.Throws<RemoteWriteFormatException>(() => WriteRequestCodec.Decode(body)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decompress_Garbage_IsAFormatError()
    {
        var e = Assert.Throws<RemoteWriteFormatException>(() => WriteRequestCodec.Decompress("not snappy at all"u8));
        Assert.StartsWith("snappy:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decompress_DecodedLengthAboveLimit_IsRefusedBeforeAllocating()
    {
        byte[] preamble = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]; // claims 4 GiB
        var e = Assert.Throws<RemoteWriteFormatException>(() => WriteRequestCodec.Decompress(preamble));
        Assert.Contains("exceeds the limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Snappy_IsTheBlockFormat_NotTheFramedStream()
    {
        var compressed = WriteRequestCodec.EncodeCompressed([new SeriesSamples(Labels.Metric("up"), [new Sample(1, 1)])]);
        Assert.NotEqual(0xFF, compressed[0]); // a framed stream starts with the 0xFF stream identifier chunk
        Assert.Equal(WriteRequestCodec.Encode([new SeriesSamples(Labels.Metric("up"), [new Sample(1, 1)])]), Snappy.DecompressToArray(compressed));
    }

    internal static List<SeriesSamples> RandomRequest(Random random)
    {
        var specials = new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, StaleMarker.Value, 0.0, -0.0, double.Epsilon, double.MaxValue };
        var request = new List<SeriesSamples>();
        var seriesCount = random.Next(0, 5);
        for (var s = 0; s < seriesCount; s++)
        {
            var pairs = new List<(string, string)> { ("__name__", "m_" + random.Next(1000)) };
            var labelCount = random.Next(0, 4);
            for (var l = 0; l < labelCount; l++)
            {
                pairs.Add(("l" + l, RandomText(random)));
            }

            var samples = new List<Sample>();
            var sampleCount = random.Next(0, 6);
            for (var i = 0; i < sampleCount; i++)
            {
                var ts = random.Next(4) == 0 ? random.NextInt64(long.MinValue, long.MaxValue) : random.NextInt64(-1, 2_000_000_000_000);
                var value = random.Next(3) == 0 ? specials[random.Next(specials.Length)] : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-10, 20));
                samples.Add(new Sample(ts, value));
            }

            request.Add(new SeriesSamples(Labels.From(pairs.ToArray()), samples));
        }

        return request;
    }

    private static string RandomText(Random random)
    {
        var alphabet = "abcXYZ019 _-\"\\\né日本🙂";
        var sb = new StringBuilder();
        var length = random.Next(0, 8);
        var runes = alphabet.EnumerateRunes().ToArray();
        for (var i = 0; i < length; i++)
        {
            sb.Append(runes[random.Next(runes.Length)].ToString());
        }

        return sb.ToString();
    }

    internal static bool SameRequest(IReadOnlyList<SeriesSamples> a, IReadOnlyList<SeriesSamples> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!a[i].Labels.Equals(b[i].Labels) || a[i].Samples.Count != b[i].Samples.Count)
            {
                return false;
            }

            for (var j = 0; j < a[i].Samples.Count; j++)
            {
                var (x, y) = (a[i].Samples[j], b[i].Samples[j]);
                if (x.TimestampMs != y.TimestampMs || BitConverter.DoubleToUInt64Bits(x.Value) != BitConverter.DoubleToUInt64Bits(y.Value))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
