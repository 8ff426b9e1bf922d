using System.Buffers;

namespace Aida.Telemetry.RemoteWrite;

/// <summary>A <c>WriteRequest</c> decoded without building a string: for each time series, where its label fields lie in
/// the protobuf and its run of samples in flat arrays.</summary>
/// <remarks>
/// The label bytes are what <see cref="SeriesRefCache"/> is keyed on; labels become strings
/// (<see cref="WriteRequestCodec.DecodeLabels(DecodedWriteRequest, int)"/>) only for series the cache does not know. The
/// protobuf and the arrays are rented from the shared array pools and go back on <see cref="Dispose"/>, so a request
/// allocates nothing per series or sample.
/// </remarks>
internal sealed class DecodedWriteRequest : IDisposable
{
    private byte[] _protobuf;
    private int _protobufLength;
    private TimeSeriesEntry[] _series;
    private long[] _timestamps;
    private double[] _values;

    private DecodedWriteRequest(int protobufLength)
    {
        _protobuf = ArrayPool<byte>.Shared.Rent(Math.Max(protobufLength, 1));
        _protobufLength = protobufLength;

        // A sample costs at least 2 bytes on the wire and a time series at least 2, but real ones take 14 to 20 and a
        // label set tens: start from typical sizes and grow.
        _series = ArrayPool<TimeSeriesEntry>.Shared.Rent(Math.Max(protobufLength / 64, 16));
        var samples = Math.Max(protobufLength / 16, 16);
        _timestamps = ArrayPool<long>.Shared.Rent(samples);
        _values = ArrayPool<double>.Shared.Rent(samples);
    }

    public int SeriesCount { get; private set; }

    public int SampleCount { get; private set; }

    /// <summary>The decompressed <c>WriteRequest</c>.</summary>
    public ReadOnlySpan<byte> Protobuf => _protobuf.AsSpan(0, _protobufLength);

    /// <summary>Timestamps of every sample of the request, series after series.</summary>
    public ReadOnlySpan<long> Timestamps => _timestamps.AsSpan(0, SampleCount);

    /// <summary>Values of every sample of the request, in the order of <see cref="Timestamps"/>.</summary>
    public ReadOnlySpan<double> Values => _values.AsSpan(0, SampleCount);

    /// <summary>Where time series <paramref name="index"/> (in request order) lies.</summary>
    public ref readonly TimeSeriesEntry Series(int index) => ref _series[index];

    /// <summary>The label fields of time series <paramref name="index"/> as they are on the wire.</summary>
    public ReadOnlySpan<byte> LabelBytes(int index) => _protobuf.AsSpan(_series[index].LabelsOffset, _series[index].LabelsLength);

    /// <summary>A request to be filled with a protobuf of <paramref name="length"/> bytes (see <see cref="ProtobufBuffer"/>).</summary>
    internal static DecodedWriteRequest WithProtobufLength(int length) => new(length);

    /// <summary>Where the protobuf goes before it is parsed.</summary>
    internal Span<byte> ProtobufBuffer => _protobuf.AsSpan(0, _protobufLength);

    internal void AddSample(long timestampMs, double value)
    {
        if (SampleCount == _timestamps.Length)
        {
            Grow(ref _timestamps, SampleCount);
            Grow(ref _values, SampleCount);
        }

        _timestamps[SampleCount] = timestampMs;
        _values[SampleCount] = value;
        SampleCount++;
    }

    internal void AddSeries(in TimeSeriesEntry entry)
    {
        if (SeriesCount == _series.Length)
        {
            Grow(ref _series, SeriesCount);
        }

        _series[SeriesCount++] = entry;
    }

    public void Dispose()
    {
        if (_series.Length == 0)
        {
            return; // already disposed: the arrays went back to the pools
        }

        ArrayPool<byte>.Shared.Return(_protobuf);
        ArrayPool<TimeSeriesEntry>.Shared.Return(_series);
        ArrayPool<long>.Shared.Return(_timestamps);
        ArrayPool<double>.Shared.Return(_values);
        _protobuf = [];
        _series = [];
        _timestamps = [];
        _values = [];
        _protobufLength = SeriesCount = SampleCount = 0;
    }

    private static void Grow<T>(ref T[] array, int used)
    {
        var bigger = ArrayPool<T>.Shared.Rent(array.Length * 2);
        array.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(array);
        array = bigger;
    }
}

/// <summary>One time series of a <see cref="DecodedWriteRequest"/>.</summary>
/// <param name="LabelsOffset">Offset in the protobuf of the first label field (its tag).</param>
/// <param name="LabelsLength">Bytes from the first label field to the end of the last one; 0 for a series without labels.</param>
/// <param name="LabelBytesOnly">False when other fields (samples, exemplars, ...) sit between label fields, so the label
/// bytes also hold them and would not name the series alone.</param>
/// <param name="FirstSample">Index of the series' first sample in the request's flat arrays.</param>
/// <param name="SampleCount">How many samples the series carries.</param>
internal readonly record struct TimeSeriesEntry(int LabelsOffset, int LabelsLength, bool LabelBytesOnly, int FirstSample, int SampleCount);
