namespace Aida.Telemetry.Series;

/// <summary>A store that can answer an instant vector selector with each series' newest sample alone, without decoding
/// (or handing over) every sample of the lookback.</summary>
internal interface ILatestSampleSource
{
    /// <summary>For every series matching all <paramref name="matchers"/> with a sample in [<paramref name="minTimeMs"/>,
    /// <paramref name="maxTimeMs"/>], the newest of those samples (a staleness marker too), sorted by labels: the last
    /// sample <see cref="ISeriesSource.Select"/> returns for the same series and range.</summary>
    List<LatestSample> SelectLatest(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers);
}

/// <summary>One series' newest sample in a range.</summary>
internal readonly record struct LatestSample(Labels Labels, Sample Sample);
