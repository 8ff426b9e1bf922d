using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.RemoteWrite;

/// <summary>An <see cref="ISampleAppender"/> double with Prometheus' head rules for in-order appends.</summary>
internal sealed class InMemoryAppender : ISampleAppender
{
    private readonly Dictionary<Labels, int> _refs = [];
    private readonly List<Labels> _labels = [];
    private readonly List<List<Sample>> _samples = [];

    public long MinTimestampMs { get; init; } = long.MinValue;

    public int AppendCalls { get; private set; }

    public IReadOnlyList<Sample> SamplesOf(Labels labels) => _refs.TryGetValue(labels, out var r) ? _samples[r] : [];

    public int SeriesCount => _labels.Count;

    /// <summary>Every series' labels, in creation order.</summary>
    public IReadOnlyList<Labels> Series => _labels;

    public int TotalSamples => _samples.Sum(s => s.Count);

    public int GetOrCreateSeries(Labels labels)
    {
        if (LabelRules.Validate(labels) is { } problem)
        {
            throw new InvalidSeriesException(problem);
        }

        if (!_refs.TryGetValue(labels, out var r))
        {
            r = _labels.Count;
            _refs[labels] = r;
            _labels.Add(labels);
            _samples.Add([]);
        }

        return r;
    }

    public AppendStatus Append(int series, long timestampMs, double value)
    {
        AppendCalls++;
        var list = _samples[series];
        if (timestampMs < MinTimestampMs)
        {
            return AppendStatus.OutOfBounds;
        }

        if (list.Count > 0)
        {
            var last = list[^1];
            if (timestampMs < last.TimestampMs)
            {
                return AppendStatus.OutOfOrder;
            }

            if (timestampMs == last.TimestampMs)
            {
                return BitConverter.DoubleToUInt64Bits(value) == BitConverter.DoubleToUInt64Bits(last.Value) ? AppendStatus.Duplicate : AppendStatus.DuplicateConflict;
            }
        }

        list.Add(new Sample(timestampMs, value));
        return AppendStatus.Ok;
    }
}
