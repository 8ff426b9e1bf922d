using System.Buffers.Binary;
using System.Text;
using Aida.Telemetry.Series;
using Snappier;

namespace Aida.Telemetry.RemoteWrite;

/// <summary>The Prometheus remote-write 1.0 body: a <c>prometheus.WriteRequest</c> protobuf, snappy block-compressed
/// (prometheus.io/docs/specs/remote_write_spec/).</summary>
/// <remarks>
/// Hand-written for the few fields remote-write 1.0 needs (prompb/types.proto, prompb/remote.proto):
/// <c>WriteRequest{timeseries=1}</c>, <c>TimeSeries{labels=1, samples=2}</c>, <c>Label{name=1, value=2}</c>,
/// <c>Sample{value=1 double, timestamp=2 int64}</c>. Every other field (metadata=3, exemplars=3, histograms=4, future
/// fields) is skipped by wire type. Encoding writes labels in <see cref="Labels"/>' (byte-wise sorted) order, as the spec
/// requires, and leaves zero-valued scalars out, as proto3 encoders do.
/// </remarks>
public static class WriteRequestCodec
{
    /// <summary>Content-Type of a remote-write 1.0 body.</summary>
    public const string ContentType = "application/x-protobuf";

    /// <summary>Value of the <c>X-Prometheus-Remote-Write-Version</c> header for 1.0.</summary>
    public const string ProtocolVersion = "0.1.0";

    /// <summary>Largest decompressed body accepted: Prometheus' own senders stay far below (about 2000 samples a request).</summary>
    public const int MaxDecompressedBytes = 64 << 20;

    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The protobuf <c>WriteRequest</c> for the series (not compressed).</summary>
    public static byte[] Encode(IReadOnlyList<SeriesSamples> series)
    {
        var w = new ProtoWriter();
        foreach (var s in series)
        {
            w.Tag(1, WireLengthDelimited);
            w.Varint((ulong)TimeSeriesSize(s));
            for (var i = 0; i < s.Labels.Count; i++)
            {
                w.Tag(1, WireLengthDelimited);
                w.Varint((ulong)LabelSize(s.Labels.Name(i), s.Labels.Value(i)));
                w.String(1, s.Labels.Name(i));
                w.String(2, s.Labels.Value(i));
            }

            foreach (var sample in s.Samples)
            {
                w.Tag(2, WireLengthDelimited);
                w.Varint((ulong)SampleSize(sample));
                if (BitConverter.DoubleToUInt64Bits(sample.Value) != 0)
                {
                    w.Tag(1, WireFixed64);
                    w.Fixed64(BitConverter.DoubleToUInt64Bits(sample.Value));
                }

                if (sample.TimestampMs != 0)
                {
                    w.Tag(2, WireVarint);
                    w.Varint((ulong)sample.TimestampMs);
                }
            }
        }

        return w.ToArray();
    }

    /// <summary>The snappy-compressed protobuf, ready to POST.</summary>
    public static byte[] EncodeCompressed(IReadOnlyList<SeriesSamples> series) => Snappy.CompressToArray(Encode(series));

    /// <summary>Decodes a protobuf <c>WriteRequest</c>; <see cref="RemoteWriteFormatException"/> when malformed.</summary>
    /// <remarks>Labels keep what the wire says apart from dropping empty values (as Prometheus does); a repeated label
    /// name or an empty name is a format error because a <see cref="Labels"/> set could not represent it faithfully.</remarks>
    public static IReadOnlyList<SeriesSamples> Decode(ReadOnlySpan<byte> protobuf)
    {
        using var request = DecodedWriteRequest.WithProtobufLength(protobuf.Length);
        protobuf.CopyTo(request.ProtobufBuffer);
        return ToSeriesSamples(Parse(request));
    }

    /// <summary>Decompresses then decodes a request body.</summary>
    public static IReadOnlyList<SeriesSamples> DecodeCompressed(ReadOnlySpan<byte> body)
    {
        using var request = DecompressToRequest(body);
        return ToSeriesSamples(Parse(request));
    }

    /// <summary>Decompresses a request body and decodes its structure (label bytes and samples, no strings); the caller
    /// disposes the result. <see cref="RemoteWriteFormatException"/> when malformed, except for what only decoding the
    /// labels finds (<see cref="DecodeLabels(DecodedWriteRequest, int)"/>).</summary>
    internal static DecodedWriteRequest DecodeStructure(ReadOnlySpan<byte> body)
    {
        var request = DecompressToRequest(body);
        try
        {
            return Parse(request);
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    /// <summary>Snappy block decompression with a size limit; <see cref="RemoteWriteFormatException"/> when malformed.</summary>
    public static byte[] Decompress(ReadOnlySpan<byte> compressed)
    {
        using var request = DecompressToRequest(compressed);
        return request.Protobuf.ToArray();
    }

    /// <summary>The label set of time series <paramref name="index"/> of a decoded request, from its label bytes;
    /// <see cref="RemoteWriteFormatException"/> for invalid UTF-8, an empty or a repeated label name.</summary>
    internal static Labels DecodeLabels(DecodedWriteRequest request, int index) =>
        DecodeLabels(request.LabelBytes(index), request.Series(index).LabelsOffset, index);

    /// <summary>Decodes the label fields of one time series into a label set.</summary>
    /// <param name="labelBytes">The series' label fields; fields of other kinds among them are skipped.</param>
    /// <param name="baseOffset">Offset of <paramref name="labelBytes"/> in the protobuf, for error messages.</param>
    /// <param name="index">The series' position in the request, for error messages.</param>
    private static Labels DecodeLabels(ReadOnlySpan<byte> labelBytes, long baseOffset, int index)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        var r = new ProtoReader(labelBytes, baseOffset);
        while (!r.End)
        {
            var (field, wire, tagOffset) = r.Tag();
            if (field != 1)
            {
                r.Skip(wire, tagOffset);
                continue;
            }

            Expect(wire, WireLengthDelimited, "TimeSeries.labels", tagOffset);
            var label = r.LengthDelimited(out var labelOffset);
            var pair = DecodeLabel(label, labelOffset);
            if (pair.Key.Length == 0)
            {
                throw new RemoteWriteFormatException($"time series #{index}: empty label name", labelOffset);
            }

            if (pairs.Exists(p => string.Equals(p.Key, pair.Key, StringComparison.Ordinal)))
            {
                throw new RemoteWriteFormatException($"time series #{index}: duplicate label name '{pair.Key}'", labelOffset);
            }

            pairs.Add(pair);
        }

        return Labels.From(pairs);
    }

    private static DecodedWriteRequest DecompressToRequest(ReadOnlySpan<byte> compressed)
    {
        // The preamble is read here rather than by Snappier so that a hostile length is refused before any allocation.
        ulong length = 0;
        var preamble = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (preamble >= compressed.Length || shift > 28)
            {
                throw new RemoteWriteFormatException("snappy: corrupt input: bad decoded-length preamble", 0);
            }

            var b = compressed[preamble++];
            length |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                break;
            }
        }

        if (length > MaxDecompressedBytes)
        {
            throw new RemoteWriteFormatException($"snappy: decoded length {length} exceeds the limit of {MaxDecompressedBytes} bytes", 0);
        }

        var request = DecodedWriteRequest.WithProtobufLength((int)length);
        try
        {
            var written = Snappy.Decompress(compressed, request.ProtobufBuffer);
            if (written != (int)length)
            {
                throw new InvalidDataException($"{written} bytes decoded, the preamble says {length}");
            }

            return request;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            request.Dispose();

            // Snappier does not say where a block goes wrong; the preamble was fine, so the fault is in the elements.
            throw new RemoteWriteFormatException($"snappy: corrupt input ({e.Message})", preamble);
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    private static DecodedWriteRequest Parse(DecodedWriteRequest request)
    {
        var r = new ProtoReader(request.Protobuf, 0);
        while (!r.End)
        {
            var (field, wire, tagOffset) = r.Tag();
            if (field == 1)
            {
                Expect(wire, WireLengthDelimited, "WriteRequest.timeseries", tagOffset);
                var body = r.LengthDelimited(out var bodyOffset);
                ParseTimeSeries(body, bodyOffset, request);
            }
            else
            {
                r.Skip(wire, tagOffset);
            }
        }

        return request;
    }

    private static List<SeriesSamples> ToSeriesSamples(DecodedWriteRequest request)
    {
        var result = new List<SeriesSamples>(request.SeriesCount);
        for (var i = 0; i < request.SeriesCount; i++)
        {
            var entry = request.Series(i);
            var samples = new Sample[entry.SampleCount];
            for (var j = 0; j < samples.Length; j++)
            {
                samples[j] = new Sample(request.Timestamps[entry.FirstSample + j], request.Values[entry.FirstSample + j]);
            }

            result.Add(new SeriesSamples(DecodeLabels(request, i), samples));
        }

        return result;
    }

    /// <summary>Records where the series' label fields lie and appends its samples; labels stay bytes.</summary>
    private static void ParseTimeSeries(ReadOnlySpan<byte> span, long baseOffset, DecodedWriteRequest into)
    {
        long labelsStart = -1, labelsEnd = -1;
        var labelBytesOnly = true;
        var otherSinceLabel = false;
        var firstSample = into.SampleCount;
        var r = new ProtoReader(span, baseOffset);
        while (!r.End)
        {
            var (field, wire, tagOffset) = r.Tag();
            switch (field)
            {
                case 1:
                    Expect(wire, WireLengthDelimited, "TimeSeries.labels", tagOffset);
                    var label = r.LengthDelimited(out var labelOffset);
                    if (labelsStart < 0)
                    {
                        labelsStart = tagOffset;
                    }
                    else if (otherSinceLabel)
                    {
                        labelBytesOnly = false;
                    }

                    labelsEnd = labelOffset + label.Length;
                    otherSinceLabel = false;
                    break;
                case 2:
                    Expect(wire, WireLengthDelimited, "TimeSeries.samples", tagOffset);
                    var sample = r.LengthDelimited(out var sampleOffset);
                    DecodeSample(sample, sampleOffset, into);
                    otherSinceLabel = true;
                    break;
                default:
                    r.Skip(wire, tagOffset);
                    otherSinceLabel = true;
                    break;
            }
        }

        into.AddSeries(labelsStart < 0
            ? new TimeSeriesEntry(0, 0, true, firstSample, into.SampleCount - firstSample)
            : new TimeSeriesEntry((int)labelsStart, (int)(labelsEnd - labelsStart), labelBytesOnly, firstSample, into.SampleCount - firstSample));
    }

    private static KeyValuePair<string, string> DecodeLabel(ReadOnlySpan<byte> span, long baseOffset)
    {
        string name = "", value = "";
        var r = new ProtoReader(span, baseOffset);
        while (!r.End)
        {
            var (field, wire, tagOffset) = r.Tag();
            if (field is 1 or 2)
            {
                Expect(wire, WireLengthDelimited, field == 1 ? "Label.name" : "Label.value", tagOffset);
                var bytes = r.LengthDelimited(out var offset);
                string text;
                try
                {
                    text = StrictUtf8.GetString(bytes);
                }
                catch (DecoderFallbackException)
                {
                    throw new RemoteWriteFormatException($"{(field == 1 ? "Label.name" : "Label.value")} is not valid UTF-8", offset);
                }

                if (field == 1)
                {
                    name = text;
                }
                else
                {
                    value = text;
                }
            }
            else
            {
                r.Skip(wire, tagOffset);
            }
        }

        return new KeyValuePair<string, string>(name, value);
    }

    private static void DecodeSample(ReadOnlySpan<byte> span, long baseOffset, DecodedWriteRequest into)
    {
        // What senders write: the value (field 1, fixed64) then the timestamp (field 2, a varint) and nothing else. Anything
        // else (fields left out, other order, unknown fields, a malformed varint) takes the general path below.
        if (span.Length >= 11 && span[0] == ((1 << 3) | WireFixed64) && span[9] == ((2 << 3) | WireVarint)
            && TryReadVarint(span[10..], out var t, out var used) && used == span.Length - 10)
        {
            into.AddSample((long)t, BitConverter.UInt64BitsToDouble(BinaryPrimitives.ReadUInt64LittleEndian(span[1..])));
            return;
        }

        double value = 0;
        long timestamp = 0;
        var r = new ProtoReader(span, baseOffset);
        while (!r.End)
        {
            var (field, wire, tagOffset) = r.Tag();
            switch (field)
            {
                case 1:
                    Expect(wire, WireFixed64, "Sample.value", tagOffset);
                    value = BitConverter.UInt64BitsToDouble(r.Fixed64());
                    break;
                case 2:
                    Expect(wire, WireVarint, "Sample.timestamp", tagOffset);
                    timestamp = (long)r.Varint();
                    break;
                default:
                    r.Skip(wire, tagOffset);
                    break;
            }
        }

        into.AddSample(timestamp, value);
    }

    /// <summary>A varint at the start of <paramref name="span"/>; false when truncated or longer than 64 bits.</summary>
    private static bool TryReadVarint(ReadOnlySpan<byte> span, out ulong value, out int length)
    {
        value = 0;
        for (var i = 0; i < span.Length && i < 10; i++)
        {
            var b = span[i];
            if (i == 9 && b > 1)
            {
                break;
            }

            value |= (ulong)(b & 0x7f) << (7 * i);
            if (b < 0x80)
            {
                length = i + 1;
                return true;
            }
        }

        length = 0;
        return false;
    }

    private static void Expect(int wire, int expected, string field, long offset)
    {
        if (wire != expected)
        {
            throw new RemoteWriteFormatException($"{field} has wire type {wire}, expected {expected}", offset);
        }
    }

    private static int TimeSeriesSize(SeriesSamples s)
    {
        var size = 0;
        for (var i = 0; i < s.Labels.Count; i++)
        {
            var l = LabelSize(s.Labels.Name(i), s.Labels.Value(i));
            size += 1 + VarintLength((ulong)l) + l;
        }

        foreach (var sample in s.Samples)
        {
            var l = SampleSize(sample);
            size += 1 + VarintLength((ulong)l) + l;
        }

        return size;
    }

    private static int LabelSize(string name, string value)
    {
        var n = Encoding.UTF8.GetByteCount(name);
        var v = Encoding.UTF8.GetByteCount(value);
        return (n == 0 ? 0 : 1 + VarintLength((ulong)n) + n) + (v == 0 ? 0 : 1 + VarintLength((ulong)v) + v);
    }

    private static int SampleSize(Sample s) =>
        (BitConverter.DoubleToUInt64Bits(s.Value) != 0 ? 9 : 0) + (s.TimestampMs != 0 ? 1 + VarintLength((ulong)s.TimestampMs) : 0);

    internal static int VarintLength(ulong v)
    {
        var n = 1;
        while (v >= 0x80)
        {
            v >>= 7;
            n++;
        }

        return n;
    }

    private sealed class ProtoWriter
    {
        private byte[] _buffer = new byte[256];
        private int _length;

        public void Tag(int field, int wire) => Varint((ulong)((field << 3) | wire));

        public void Varint(ulong v)
        {
            Ensure(10);
            while (v >= 0x80)
            {
                _buffer[_length++] = (byte)(v | 0x80);
                v >>= 7;
            }

            _buffer[_length++] = (byte)v;
        }

        public void Fixed64(ulong v)
        {
            Ensure(8);
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_length), v);
            _length += 8;
        }

        public void String(int field, string s)
        {
            if (s.Length == 0)
            {
                return;
            }

            var n = Encoding.UTF8.GetByteCount(s);
            Tag(field, WireLengthDelimited);
            Varint((ulong)n);
            Ensure(n);
            _length += Encoding.UTF8.GetBytes(s, _buffer.AsSpan(_length));
        }

        public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

        private void Ensure(int extra)
        {
            if (_length + extra > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + extra));
            }
        }
    }

    private ref struct ProtoReader
    {
        private readonly ReadOnlySpan<byte> _span;
        private readonly long _base;
        private int _pos;

        public ProtoReader(ReadOnlySpan<byte> span, long baseOffset)
        {
            _span = span;
            _base = baseOffset;
            _pos = 0;
        }

        public readonly bool End => _pos >= _span.Length;

        private readonly long Offset => _base + _pos;

        public (int Field, int Wire, long Offset) Tag()
        {
            var at = Offset;
            var key = Varint();
            var field = key >> 3;
            if (field == 0 || field > int.MaxValue)
            {
                throw new RemoteWriteFormatException($"invalid field number {field}", at);
            }

            return ((int)field, (int)(key & 7), at);
        }

        public ulong Varint()
        {
            var at = Offset;
            ulong result = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                if (_pos >= _span.Length)
                {
                    throw new RemoteWriteFormatException("truncated varint", at);
                }

                var b = _span[_pos++];
                if (shift == 63 && b > 1)
                {
                    throw new RemoteWriteFormatException("varint overflows 64 bits", at);
                }

                result |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return result;
                }
            }

            throw new RemoteWriteFormatException("varint longer than 10 bytes", at);
        }

        public ulong Fixed64()
        {
            if (_span.Length - _pos < 8)
            {
                throw new RemoteWriteFormatException("truncated fixed64", Offset);
            }

            var v = BinaryPrimitives.ReadUInt64LittleEndian(_span[_pos..]);
            _pos += 8;
            return v;
        }

        public ReadOnlySpan<byte> LengthDelimited(out long offset)
        {
            var at = Offset;
            var length = Varint();
            if (length > (ulong)(_span.Length - _pos))
            {
                throw new RemoteWriteFormatException($"length {length} runs past the end of the enclosing message ({_span.Length - _pos} bytes left)", at);
            }

            var start = _pos;
            _pos += (int)length;
            offset = _base + start;
            return _span.Slice(start, (int)length);
        }

        public void Skip(int wire, long tagOffset)
        {
            switch (wire)
            {
                case WireVarint:
                    Varint();
                    break;
                case WireFixed64:
                    Fixed64();
                    break;
                case WireLengthDelimited:
                    LengthDelimited(out _);
                    break;
                case WireFixed32:
                    if (_span.Length - _pos < 4)
                    {
                        throw new RemoteWriteFormatException("truncated fixed32", Offset);
                    }

                    _pos += 4;
                    break;
                default:
                    throw new RemoteWriteFormatException($"unsupported wire type {wire}", tagOffset);
            }
        }
    }
}
