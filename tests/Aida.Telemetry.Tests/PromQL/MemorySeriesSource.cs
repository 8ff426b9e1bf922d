using Aida.Telemetry.PromQL;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

/// <summary>An in-memory <see cref="ISeriesSource"/>: a list of series filtered by matchers and time.</summary>
internal sealed class MemorySeriesSource : ISeriesSource
{
    private readonly List<SeriesSamples> _series = [];

    /// <summary>Adds a series from (seconds, value) pairs.</summary>
    public MemorySeriesSource Add(Labels labels, params (double Seconds, double Value)[] samples)
    {
        _series.Add(new SeriesSamples(labels, samples.Select(s => new Sample((long)Math.Round(s.Seconds * 1000), s.Value)).ToList()));
        return this;
    }

    /// <summary>Adds a series sampled every <paramref name="stepSeconds"/> from 0 with the given values.</summary>
    public MemorySeriesSource AddEvery(Labels labels, double stepSeconds, params double[] values) =>
        Add(labels, values.Select((v, i) => (i * stepSeconds, v)).ToArray());

    public IEnumerable<SeriesSamples> Select(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers)
    {
        foreach (var s in _series)
        {
            if (!matchers.All(m => m.Matches(s.Labels)))
            {
                continue;
            }

            var inRange = s.Samples.Where(x => x.TimestampMs >= minTimeMs && x.TimestampMs <= maxTimeMs).ToList();
            if (inRange.Count > 0)
            {
                yield return new SeriesSamples(s.Labels, inRange);
            }
        }
    }

    public IEnumerable<Labels> Series(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers) =>
        Select(minTimeMs, maxTimeMs, matchers).Select(s => s.Labels);

    public PromQLEngine Engine() => new(this);

    /// <summary>An instant query at <paramref name="seconds"/>, as label text → value (a scalar under "scalar").</summary>
    public Dictionary<string, double> At(string query, double seconds)
    {
        var r = Engine().Instant(query, (long)Math.Round(seconds * 1000));
        return r.Type switch
        {
            ResultType.Scalar => new Dictionary<string, double> { ["scalar"] = r.Scalar.Value },
            ResultType.Vector => r.Series.ToDictionary(s => s.Labels.ToString(), s => s.Samples[0].Value),
            _ => throw new InvalidOperationException($"unexpected {r.Type}"),
        };
    }

    /// <summary>The single value of an instant query.</summary>
    public double One(string query, double seconds)
    {
        var r = At(query, seconds);
        Assert.Single(r);
        return r.Values.Single();
    }
}
