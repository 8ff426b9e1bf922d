using System.Globalization;
using Aida.Telemetry.PromQL;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Aida.Telemetry.Tests.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.PromQL;

/// <summary>An instant selector read at one instant takes each series' newest sample from the store
/// (<see cref="ILatestSampleSource"/>) instead of every sample of the lookback, and answers exactly as the general path,
/// which selects them all.</summary>
public sealed class InstantSelectionTests
{
    private const long Minute = 60_000;
    private const long Hour = 3_600_000;
    private static readonly long T0 = TsdbTests.T0;

    /// <summary>The store seen as a plain <see cref="ISeriesSource"/>: the engine selects every sample of the lookback.</summary>
    private sealed class SelectOnly(ISeriesSource store) : ISeriesSource
    {
        public IEnumerable<SeriesSamples> Select(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers) => store.Select(minTimeMs, maxTimeMs, matchers);

        public IEnumerable<Labels> Series(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers) => store.Series(minTimeMs, maxTimeMs, matchers);
    }

    /// <summary>The store, counting how often the engine asks it for the newest samples and for every sample.</summary>
    private sealed class CountingSource(Tsdb store) : ISeriesSource, ILatestSampleSource
    {
        public int Selects { get; private set; }

        public int LatestSelects { get; private set; }

        public IEnumerable<SeriesSamples> Select(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers)
        {
            Selects++;
            return store.Select(minTimeMs, maxTimeMs, matchers);
        }

        public IEnumerable<Labels> Series(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers) => store.Series(minTimeMs, maxTimeMs, matchers);

        public List<LatestSample> SelectLatest(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers)
        {
            LatestSelects++;
            return ((ILatestSampleSource)store).SelectLatest(minTimeMs, maxTimeMs, matchers);
        }
    }

    private static void AssertSame(QueryResult expected, QueryResult actual, string query, long t)
    {
        Assert.Equal(expected.Type, actual.Type);
        Assert.True(expected.Series.Count == actual.Series.Count, $"{query} at {t}: {expected.Series.Count} series expected, {actual.Series.Count} answered");
        for (var i = 0; i < expected.Series.Count; i++)
        {
            Assert.Equal(expected.Series[i].Labels, actual.Series[i].Labels);
            Assert.Equal(expected.Series[i].Samples.Select(TsdbSelectLatestTests.Bits), actual.Series[i].Samples.Select(TsdbSelectLatestTests.Bits));
        }
    }

    [Fact]
    public void InstantQueries_OverRandomSeriesInBlocksAndHead_AnswerAsTheGeneralPath()
    {
        var random = new Random(1205);
        var from = T0 - (5 * Hour);
        var to = T0 + (40 * Minute);
        using var db = new Tsdb(new TsdbOptions { Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(to)) });
        var written = TsdbSelectLatestTests.FillRandomly(db, random, 80, from, to);
        db.Compact();
        Assert.True(db.Stats.BlockCount > 0);
        var fast = new PromQLEngine(db);
        var general = new PromQLEngine(new SelectOnly(db));
        string[] queries =
        [
            "m", // labels, values and the evaluation time
            "timestamp(m)", // the samples' own timestamps
            "max(m)",
            "count by (g) (m)",
            "m{g=\"1\"} offset 3m",
            "m @ " + ((T0 - (90 * Minute)) / 1000).ToString(CultureInfo.InvariantCulture), // in a block, whatever the instant
            "max_over_time(m[10m:1m])", // a subquery reads its selector at many instants: the general path
        ];
        foreach (var t in TsdbSelectLatestTests.Instants(random, written, from, to))
        {
            foreach (var query in queries)
            {
                AssertSame(general.Instant(query, t), fast.Instant(query, t), query, t);
            }
        }
    }

    [Fact]
    public void InstantQuery_ReadsOnlyTheNewestSamples()
    {
        using var db = new Tsdb(new TsdbOptions { Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0)) });
        TsdbSelectLatestTests.FillRandomly(db, new Random(1), 10, T0 - (20 * Minute), T0);
        var source = new CountingSource(db);
        var engine = new PromQLEngine(source);

        Assert.NotEmpty(engine.Instant("max(m)", T0).Series);
        Assert.NotEmpty(engine.Instant("m + m offset 1m", T0).Series);
        Assert.Equal((0, 3), (source.Selects, source.LatestSelects));
    }

    [Theory]
    [InlineData("max_over_time(m[10m:1m])")] // the selector is read at ten instants
    [InlineData("max_over_time(m[10m])")] // a range selector
    public void InstantQuery_ReadingASelectorOverMoreThanItsLookback_SelectsEverySample(string query)
    {
        using var db = new Tsdb(new TsdbOptions { Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0)) });
        TsdbSelectLatestTests.FillRandomly(db, new Random(1), 10, T0 - (20 * Minute), T0);
        var source = new CountingSource(db);
        Assert.NotEmpty(new PromQLEngine(source).Instant(query, T0).Series);
        Assert.Equal((1, 0), (source.Selects, source.LatestSelects));
    }

    [Fact]
    public void RangeQuery_SelectsEverySample()
    {
        using var db = new Tsdb(new TsdbOptions { Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0)) });
        TsdbSelectLatestTests.FillRandomly(db, new Random(1), 10, T0 - (20 * Minute), T0);
        var source = new CountingSource(db);
        Assert.NotEmpty(new PromQLEngine(source, new EngineOptions { MaxQueryThreads = 1 }).Range("max(m)", T0 - (5 * Minute), T0, 60_000).Series);
        Assert.Equal((1, 0), (source.Selects, source.LatestSelects));
    }
}
