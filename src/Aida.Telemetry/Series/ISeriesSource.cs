namespace Aida.Telemetry.Series;

/// <summary>The read side of a store: what the PromQL engine evaluates against.</summary>
public interface ISeriesSource
{
    /// <summary>Every series matching all <paramref name="matchers"/> with its samples in [<paramref name="minTimeMs"/>,
    /// <paramref name="maxTimeMs"/>], oldest first (staleness markers included). Series with no sample in range are left out.</summary>
    IEnumerable<SeriesSamples> Select(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers);

    /// <summary>Label sets of the series matching all <paramref name="matchers"/> that have a sample in the range.</summary>
    IEnumerable<Labels> Series(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers);
}

/// <summary>The write side of a store.</summary>
public interface ISampleAppender
{
    /// <summary>The reference of a series, creating it on first use; <see cref="InvalidSeriesException"/> when the labels break
    /// Prometheus naming rules.</summary>
    int GetOrCreateSeries(Labels labels);

    /// <summary>Appends one sample to a series. Out-of-order and conflicting duplicates are refused as Prometheus does.</summary>
    AppendStatus Append(int series, long timestampMs, double value);

    /// <summary>Appends samples in order, <c>series[i]</c> taking <c>(timestampsMs[i], values[i])</c>, each with
    /// <see cref="Append"/>'s rules; <paramref name="statuses"/>, when not empty, receives each sample's outcome. A store
    /// overrides it to take the whole batch at once.</summary>
    /// <returns>How many samples were stored.</returns>
    int AppendBatch(ReadOnlySpan<int> series, ReadOnlySpan<long> timestampsMs, ReadOnlySpan<double> values, Span<AppendStatus> statuses)
    {
        var stored = 0;
        for (var i = 0; i < series.Length; i++)
        {
            var status = Append(series[i], timestampsMs[i], values[i]);
            if (!statuses.IsEmpty)
            {
                statuses[i] = status;
            }

            stored += status == AppendStatus.Ok ? 1 : 0;
        }

        return stored;
    }
}

public enum AppendStatus
{
    /// <summary>Stored.</summary>
    Ok,

    /// <summary>Same timestamp and same value as the last sample: ignored, as Prometheus does.</summary>
    Duplicate,

    /// <summary>Same timestamp, different value: refused ("duplicate sample for timestamp").</summary>
    DuplicateConflict,

    /// <summary>Older than the series' latest sample: refused ("out of order sample").</summary>
    OutOfOrder,

    /// <summary>Older than the head's lower bound or too far in the future: refused ("out of bounds").</summary>
    OutOfBounds,
}

/// <summary>A label set that cannot name a series.</summary>
public sealed class InvalidSeriesException : Exception
{
    public InvalidSeriesException(string message) : base(message)
    {
    }

    public InvalidSeriesException()
    {
    }

    public InvalidSeriesException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
