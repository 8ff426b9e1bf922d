using System.Net;
using Aida.Telemetry.Http;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Http;

public sealed class PrometheusApiTests : IAsyncLifetime
{
    private readonly FakeQueryEngine _engine = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
    private TestServerHost _host = null!;

    public async Task InitializeAsync() => _host = await TestServerHost.StartAsync(e => e.MapPrometheusApi(_engine, _clock));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task InstantVector_IsPrometheusJson()
    {
        _engine.Answer = _ => Task.FromResult(new QueryResult(ResultType.Vector,
            [new SeriesSamples(Labels.Metric("up", ("job", "a")), [new Sample(1435781451781, 1)])]));
        var (status, json) = await GetAsync("/api/v1/query?query=up&time=1435781451.781");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1435781451.781,"1"]}]}}""", json);
        Assert.Equal("query up @1435781451781", _engine.Calls.Single());
    }

    [Fact]
    public async Task Matrix_Scalar_String_AndWarnings()
    {
        _engine.Answer = _ => Task.FromResult(new QueryResult(ResultType.Matrix,
            [new SeriesSamples(Labels.Metric("m"), [new Sample(1000, double.NaN), new Sample(2500, double.PositiveInfinity), new Sample(4000, double.NegativeInfinity)])]));
        Assert.Equal("""{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"m"},"values":[[1,"NaN"],[2.5,"+Inf"],[4,"-Inf"]]}]}}""",
            (await GetAsync("/api/v1/query_range?query=m&start=1&end=4&step=1.5")).Json);

        _engine.Answer = _ => Task.FromResult(QueryResult.OfScalar(1000, 0.1) with { Warnings = ["careful"] });
        Assert.Equal("""{"status":"success","data":{"resultType":"scalar","result":[1,"0.1"]},"warnings":["careful"]}""", (await GetAsync("/api/v1/query?query=0.1&time=1")).Json);

        _engine.Answer = _ => Task.FromResult(new QueryResult(ResultType.String, [], new Sample(1000, 0), "a \"b\""));
        Assert.Equal("""{"status":"success","data":{"resultType":"string","result":[1,"a \"b\""]}}""", (await GetAsync("/api/v1/query?query=%22x%22&time=1")).Json);
    }

    [Theory]
    // Go's FormatFloat(f, 'f', -1, 64): shortest round trip, never an exponent.
    [InlineData(1e21, "1000000000000000000000")]
    [InlineData(1.5e-7, "0.00000015")]
    [InlineData(0.1, "0.1")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(123456789.125, "123456789.125")]
    [InlineData(-0.0, "-0")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    public void Values_AreFormattedAsPrometheus(double value, string expected) => Assert.Equal(expected, PrometheusFormat.FormatValue(value));

    [Fact]
    public void TheSmallestSubnormal_IsWrittenOutInFull() =>
        Assert.Equal("0." + new string('0', 323) + "5", PrometheusFormat.FormatValue(double.Epsilon));

    [Theory]
    // Milliseconds to seconds, exactly, trailing zeros dropped.
    [InlineData(1435781451781, "1435781451.781")]
    [InlineData(1500, "1.5")]
    [InlineData(1000, "1")]
    [InlineData(1, "0.001")]
    [InlineData(-1500, "-1.5")]
    public void Timestamps_AreFormattedAsPrometheus(long ms, string expected) => Assert.Equal(expected, PrometheusFormat.FormatTimestamp(ms));

    [Theory]
    // Unix seconds with decimals.
    [InlineData("1435781451.781", 1435781451781)]
    // RFC 3339 with nanoseconds and an offset.
    [InlineData("2015-07-01T20:10:51.781123456+02:00", 1435774251781)]
    // RFC 3339 in UTC.
    [InlineData("2015-07-01T20:10:51Z", 1435781451000)]
    public async Task TimeParameters_AcceptUnixSecondsAndRfc3339(string time, long expectedMs)
    {
        await GetAsync("/api/v1/query?query=up&time=" + Uri.EscapeDataString(time));
        Assert.Equal($"query up @{expectedMs}", _engine.Calls.Single());
    }

    [Fact]
    public async Task Time_DefaultsToTheInjectedClock()
    {
        await GetAsync("/api/v1/query?query=up");
        Assert.Equal("query up @1700000000000", _engine.Calls.Single());
    }

    [Theory]
    // Float seconds.
    [InlineData("15", 15000)]
    [InlineData("0.5", 500)]
    // Prometheus durations.
    [InlineData("1m30s", 90000)]
    [InlineData("250ms", 250)]
    public async Task Step_AcceptsSecondsAndDurations(string step, double expectedMs)
    {
        await GetAsync($"/api/v1/query_range?query=up&start=0&end=100&step={step}");
        Assert.Equal($"range up 0..100000 step {expectedMs}", _engine.Calls.Single());
    }

    [Fact]
    public async Task Post_WithAForm_IsTheSameAsGet()
    {
        using var form = new FormUrlEncodedContent([new("query", "rate(x[5m])"), new("start", "10"), new("end", "20"), new("step", "5")]);
        using var response = await _host.Client.PostAsync("/api/v1/query_range", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("range rate(x[5m]) 10000..20000 step 5000", _engine.Calls.Single());
    }

    [Theory]
    [InlineData("/api/v1/query?query=up&time=yesterday", """invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp""")]
    [InlineData("/api/v1/query", """invalid parameter \"query\": 1:1: parse error: no expression found in input""")]
    [InlineData("/api/v1/query_range?query=up&start=10&end=5&step=1", "end timestamp must not be before start time")]
    [InlineData("/api/v1/query_range?query=up&start=0&end=5&step=0", "zero or negative query resolution step widths are not accepted. Try a positive integer")]
    [InlineData("/api/v1/query_range?query=up&start=0&end=5&step=x", """invalid parameter \"step\": cannot parse \"x\" to a valid duration""")]
    [InlineData("/api/v1/query_range?query=up&start=0&end=100000&step=1", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")]
    [InlineData("/api/v1/query_range?query=up&end=5&step=1", """invalid parameter \"start\": cannot parse \"\" to a valid timestamp""")]
    [InlineData("/api/v1/series", "no match[] parameter provided")]
    [InlineData("/api/v1/label/1bad/values", "invalid label name: \\\"1bad\\\"")]
    public async Task BadParameters_Are400BadData(string url, string error)
    {
        var (status, json) = await GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal($$"""{"status":"error","errorType":"bad_data","error":"{{error}}"}""", json);
        Assert.Empty(_engine.Calls);
    }

    [Fact]
    public async Task ParseErrors_CarryTheLineAndColumn()
    {
        _engine.Answer = _ => throw new QueryException("unexpected \")\"", 8);
        var (status, json) = await GetAsync("/api/v1/query?query=" + Uri.EscapeDataString("sum(\nrate(x))"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("""{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 2:4: parse error: unexpected \")\""}""", json);
    }

    [Theory]
    [InlineData("execution", HttpStatusCode.UnprocessableEntity)]
    [InlineData("timeout", HttpStatusCode.ServiceUnavailable)]
    [InlineData("canceled", HttpStatusCode.ServiceUnavailable)]
    public async Task EngineErrors_MapToPrometheusStatusCodes(string errorType, HttpStatusCode expected)
    {
        _engine.Answer = _ => throw new QueryException("it broke", -1, errorType);
        var (status, json) = await GetAsync("/api/v1/query?query=up");
        Assert.Equal(expected, status);
        Assert.Equal($$"""{"status":"error","errorType":"{{errorType}}","error":"it broke"}""", json);
    }

    [Fact]
    public async Task TimeoutParameter_CancelsTheQuery_On503()
    {
        _engine.Answer = async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return QueryResult.OfScalar(0, 0);
        };
        var request = GetAsync("/api/v1/query?query=up&timeout=2s");
        while (!request.IsCompleted)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }

        var (status, json) = await request;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("""{"status":"error","errorType":"timeout","error":"query timed out in query execution"}""", json);
    }

    [Fact]
    public async Task Series_Labels_LabelValues()
    {
        _engine.SeriesAnswer = [Labels.Metric("up", ("job", "a")), Labels.Metric("up", ("job", "b"))];
        var (_, series) = await GetAsync("/api/v1/series?match[]=up&match[]=" + Uri.EscapeDataString("{job=\"a\"}") + "&start=1");
        Assert.Equal("""{"status":"success","data":[{"__name__":"up","job":"a"},{"__name__":"up","job":"b"}]}""", series);
        Assert.Equal("series up | {job=\"a\"} 1000..max", _engine.Calls[0]);

        _engine.StringsAnswer = ["__name__", "job"];
        Assert.Equal("""{"status":"success","data":["__name__","job"]}""", (await GetAsync("/api/v1/labels")).Json);
        Assert.Equal("labels min..max", _engine.Calls[1]);
        Assert.Equal("""{"status":"success","data":["__name__","job"]}""", (await GetAsync("/api/v1/label/job/values?end=2")).Json);
        Assert.Equal("values job min..2000", _engine.Calls[2]);
    }

    private async Task<(HttpStatusCode Status, string Json)> GetAsync(string url)
    {
        using var response = await _host.Client.GetAsync(new Uri(url, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
