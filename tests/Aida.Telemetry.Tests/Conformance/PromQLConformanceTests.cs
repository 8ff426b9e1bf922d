using System.Diagnostics;
using System.Globalization;
using System.Text;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Xunit.Abstractions;

namespace Aida.Telemetry.Tests.Conformance;

/// <summary>Every query of TestData/conformance-queries.promql, evaluated by Aida's embedded engine and by a real
/// Prometheus 2.42 over the same twin data, as instant queries at three times and as a range query; the results must agree.</summary>
[Collection(ConformanceGroup.Name)]
public sealed class PromQLConformanceTests(ConformanceFixture fixture, ITestOutputHelper output)
{
    private const double Tolerance = 1e-9;
    private static readonly TimeSpan RangeStep = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan OddStep = TimeSpan.FromSeconds(45);

    /// <summary>Values compared, and those equal only within the tolerance (not bit for bit), in the current test.</summary>
    private static readonly AsyncLocal<long[]> Tally = new();

    public static TheoryData<string> Queries()
    {
        var data = new TheoryData<string>();
        foreach (var q in LoadQueries())
        {
            data.Add(q);
        }

        return data;
    }

    private static List<string> LoadQueries() =>
    [
        .. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "TestData", "conformance-queries.promql"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#')),
    ];

    [SkippableFact]
    public void TheQueryList_IsLargeEnough_AndTheDataArrived()
    {
        fixture.EnsureReady();
        var queries = LoadQueries();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{queries.Count} queries, each compared as 3 instant queries (end, end-20m7s, end-40m23s) and 2 range queries (end-40m..end step 60s, end-30m13s..end-13s step 45s); data {fixture.Start:O} .. {fixture.End:O}: {fixture.SeriesCount} series, {fixture.SampleCount} samples; setup (twin, remote write, checks) took {fixture.SetupTime.TotalSeconds:F1} s"));
        output.WriteLine(fixture.Log);
        Assert.True(queries.Count >= 60, $"only {queries.Count} queries");
        Assert.Equal(queries.Count, queries.Distinct(StringComparer.Ordinal).Count());
    }

    [SkippableTheory]
    [MemberData(nameof(Queries))]
    public async Task Aida_AgreesWithPrometheus(string query)
    {
        fixture.EnsureReady();
        var watch = Stopwatch.StartNew();
        var problems = new List<string>();
        var seriesCompared = 0;
        Tally.Value = new long[2];
        // The end of the data is on the samples' 10 s grid (window edges land on samples); the other two times are off it.
        foreach (var secondsBack in new[] { 0, 20 * 60 + 7, 40 * 60 + 23 })
        {
            var at = fixture.End.AddSeconds(-secondsBack);
            seriesCompared += await CompareAsync($"instant @ end-{secondsBack}s", query,
                () => fixture.Prometheus.QueryAsync(query, at), () => fixture.Aida.QueryAsync(query, at), problems);
        }

        var rangeStart = fixture.End.AddMinutes(-40);
        seriesCompared += await CompareAsync("range end-40m..end step 60s", query,
            () => fixture.Prometheus.QueryRangeAsync(query, rangeStart, fixture.End, RangeStep),
            () => fixture.Aida.QueryRangeAsync(query, rangeStart, fixture.End, RangeStep), problems);

        // And one off every grid: odd start, a 45 s step that subquery steps do not divide.
        var oddStart = fixture.End.AddSeconds(-(30 * 60) - 13);
        var oddEnd = fixture.End.AddSeconds(-13);
        seriesCompared += await CompareAsync("range end-30m13s..end-13s step 45s", query,
            () => fixture.Prometheus.QueryRangeAsync(query, oddStart, oddEnd, OddStep),
            () => fixture.Aida.QueryRangeAsync(query, oddStart, oddEnd, OddStep), problems);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{query}: 5 queries, {seriesCompared} series, {Tally.Value[0]} values compared ({Tally.Value[1]} equal only within 1e-9) in {watch.Elapsed.TotalMilliseconds:F0} ms"));
        Assert.True(problems.Count == 0, $"{query}: Aida differs from Prometheus ({problems.Count} differences)\n" + string.Join('\n', problems.Take(15)));
    }

    /// <summary>Runs the query on both engines: both must fail with the same error type, or both succeed and agree.</summary>
    private static async Task<int> CompareAsync(string what, string query, Func<Task<QueryResult>> prometheus, Func<Task<QueryResult>> aida, List<string> problems)
    {
        QueryResult? expected = null, actual = null;
        QueryException? expectedError = null, actualError = null;
        try
        {
            expected = await prometheus();
        }
        catch (QueryException ex) when (ex.ErrorType is "bad_data" or "execution")
        {
            expectedError = ex;
        }

        try
        {
            actual = await aida();
        }
        catch (QueryException ex)
        {
            actualError = ex;
        }

        if (expectedError is not null || actualError is not null)
        {
            if (expectedError?.ErrorType != actualError?.ErrorType)
            {
                problems.Add($"{what}: Aida {(actualError is null ? "succeeded" : $"failed ({actualError.ErrorType}: {actualError.Message})")}, Prometheus {(expectedError is null ? "succeeded" : $"failed ({expectedError.ErrorType}: {expectedError.Message})")}");
            }

            return 0;
        }

        // sort(), sort_desc(), topk and bottomk define the order of an instant vector; elsewhere only the set of series counts.
        if (expected!.Type == ResultType.Vector && OrderMatters(query))
        {
            var at = Enumerable.Range(0, Math.Min(expected.Series.Count, actual!.Series.Count)).FirstOrDefault(i => !expected.Series[i].Labels.Equals(actual.Series[i].Labels), -1);
            if (at >= 0)
            {
                static string Show(SeriesSamples x) => string.Create(CultureInfo.InvariantCulture, $"{x.Labels}={x.Samples[0].Value:R}");
                problems.Add($"{what}: order differs at {at}: Aida {string.Join(", ", actual.Series.Skip(at).Take(3).Select(Show))}; Prometheus {string.Join(", ", expected.Series.Skip(at).Take(3).Select(Show))}");
            }
        }

        return Compare(what, expected, actual!, problems);
    }

    private static bool OrderMatters(string query) =>
        new[] { "sort(", "sort_desc(", "topk", "bottomk" }.Any(f => query.StartsWith(f, StringComparison.Ordinal));

    /// <summary>Adds every difference to <paramref name="problems"/>; returns how many series were compared.</summary>
    private static int Compare(string what, QueryResult expected, QueryResult actual, List<string> problems)
    {
        if (expected.Type != actual.Type)
        {
            problems.Add($"{what}: type {actual.Type}, Prometheus {expected.Type}");
            return 0;
        }

        if (expected.Type is ResultType.Scalar)
        {
            CompareSamples(what + " scalar", [expected.Scalar], [actual.Scalar], problems);
            return 1;
        }

        if (expected.Type is ResultType.String)
        {
            if (expected.Text != actual.Text)
            {
                problems.Add($"{what}: string \"{actual.Text}\", Prometheus \"{expected.Text}\"");
            }

            return 1;
        }

        var want = ToMap(what + " (Prometheus)", expected, problems);
        var got = ToMap(what + " (Aida)", actual, problems);
        foreach (var (labels, samples) in want)
        {
            if (!got.TryGetValue(labels, out var mine))
            {
                problems.Add($"{what}: series {labels} missing in Aida (Prometheus {Format(samples)})");
                continue;
            }

            CompareSamples($"{what} {labels}", samples, mine, problems);
        }

        foreach (var (labels, samples) in got)
        {
            if (!want.ContainsKey(labels))
            {
                problems.Add($"{what}: series {labels} only in Aida ({Format(samples)})");
            }
        }

        return want.Count;
    }

    private static Dictionary<Labels, IReadOnlyList<Sample>> ToMap(string what, QueryResult r, List<string> problems)
    {
        var map = new Dictionary<Labels, IReadOnlyList<Sample>>();
        foreach (var s in r.Series)
        {
            if (!map.TryAdd(s.Labels, s.Samples))
            {
                problems.Add($"{what}: series {s.Labels} appears twice");
            }
        }

        return map;
    }

    private static void CompareSamples(string what, IReadOnlyList<Sample> expected, IReadOnlyList<Sample> actual, List<string> problems)
    {
        if (!expected.Select(s => s.TimestampMs).SequenceEqual(actual.Select(s => s.TimestampMs)))
        {
            problems.Add($"{what}: timestamps differ: Aida {Format(actual)}; Prometheus {Format(expected)}");
            return;
        }

        for (var i = 0; i < expected.Count; i++)
        {
            if (Tally.Value is { } tally)
            {
                tally[0]++;
                tally[1] += BitConverter.DoubleToInt64Bits(expected[i].Value) == BitConverter.DoubleToInt64Bits(actual[i].Value) ||
                    (double.IsNaN(expected[i].Value) && double.IsNaN(actual[i].Value)) ? 0 : 1;
            }

            if (!Close(expected[i].Value, actual[i].Value))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{what} @ {expected[i].TimestampMs}: Aida {actual[i].Value:R}, Prometheus {expected[i].Value:R}"));
            }
        }
    }

    internal static bool Close(double expected, double actual)
    {
        if (double.IsNaN(expected) || double.IsNaN(actual))
        {
            return double.IsNaN(expected) && double.IsNaN(actual);
        }

        if (double.IsInfinity(expected) || double.IsInfinity(actual))
        {
            return expected.Equals(actual);
        }

        var diff = Math.Abs(expected - actual);
        return diff <= Tolerance || diff <= Tolerance * Math.Max(Math.Abs(expected), Math.Abs(actual));
    }

    private static string Format(IReadOnlyList<Sample> samples)
    {
        var sb = new StringBuilder();
        foreach (var s in samples.Take(6))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{s.TimestampMs}={s.Value:R} ");
        }

        if (samples.Count > 6)
        {
            sb.Append(CultureInfo.InvariantCulture, $"... ({samples.Count} points)");
        }

        return sb.ToString().TrimEnd();
    }
}
