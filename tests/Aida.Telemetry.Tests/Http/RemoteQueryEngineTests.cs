using Aida.Telemetry.Http;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.Http;

/// <summary>The remote engine against Aida's own Prometheus API on a test server: what one writes, the other reads back.</summary>
public sealed class RemoteQueryEngineTests : IAsyncLifetime
{
    private readonly FakeQueryEngine _engine = new();
    private TestServerHost _host = null!;
    private RemoteQueryEngine _remote = null!;

    public async Task InitializeAsync()
    {
        _host = await TestServerHost.StartAsync(e => e.MapPrometheusApi(_engine));
        _remote = new RemoteQueryEngine(_host.Client, new Uri("http://localhost/"));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Vector_RoundTrips_WithSpecialValues()
    {
        var series = new[]
        {
            new SeriesSamples(Labels.Metric("m", ("k", "a")), [new Sample(1_700_000_000_123, double.NaN)]),
            new SeriesSamples(Labels.Metric("m", ("k", "b")), [new Sample(1_700_000_000_123, double.NegativeInfinity)]),
            new SeriesSamples(Labels.Metric("m", ("k", "c")), [new Sample(1_700_000_000_123, 1e-300)]),
        };
        _engine.Answer = _ => Task.FromResult(new QueryResult(ResultType.Vector, series));
        var result = await _remote.QueryAsync("m", DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123));
        Assert.Equal(ResultType.Vector, result.Type);
        Assert.Equal(series.Select(s => s.Labels), result.Series.Select(s => s.Labels));
        Assert.True(double.IsNaN(result.Series[0].Samples[0].Value));
        Assert.Equal(double.NegativeInfinity, result.Series[1].Samples[0].Value);
        Assert.Equal(1e-300, result.Series[2].Samples[0].Value);
        Assert.Equal(1_700_000_000_123, result.Series[2].Samples[0].TimestampMs);
        Assert.Equal("query m @1700000000123", _engine.Calls.Single());
    }

    [Fact]
    public async Task Matrix_Scalar_String_AndWarnings_RoundTrip()
    {
        _engine.Answer = _ => Task.FromResult(new QueryResult(ResultType.Matrix, [new SeriesSamples(Labels.Metric("m"), [new Sample(1000, 1), new Sample(2500, 2)])]) { Warnings = ["w"] });
        var matrix = await _remote.QueryRangeAsync("m", DateTimeOffset.FromUnixTimeSeconds(1), DateTimeOffset.FromUnixTimeSeconds(4), TimeSpan.FromSeconds(1.5));
        Assert.Equal([new Sample(1000, 1), new Sample(2500, 2)], matrix.Series.Single().Samples);
        Assert.Equal(["w"], matrix.Warnings);
        Assert.Equal("range m 1000..4000 step 1500", _engine.Calls.Single());

        _engine.Answer = _ => Task.FromResult(QueryResult.OfScalar(5000, 42));
        Assert.Equal(new Sample(5000, 42), (await _remote.QueryAsync("42", DateTimeOffset.FromUnixTimeSeconds(5))).Scalar);

        _engine.Answer = _ => Task.FromResult(new QueryResult(ResultType.String, [], new Sample(5000, 0), "hello"));
        Assert.Equal("hello", (await _remote.QueryAsync("\"hello\"", DateTimeOffset.FromUnixTimeSeconds(5))).Text);
    }

    [Fact]
    public async Task Errors_BecomeQueryExceptions_WithTypeAndPosition()
    {
        _engine.Answer = _ => throw new QueryException("unexpected end of input", 9);
        var parse = await Assert.ThrowsAsync<QueryException>(() => _remote.QueryAsync("sum(\nrate(", DateTimeOffset.UnixEpoch));
        Assert.Equal("bad_data", parse.ErrorType);
        Assert.Equal(9, parse.Position);

        _engine.Answer = _ => throw new QueryException("many-to-many matching not allowed", -1, "execution");
        var exec = await Assert.ThrowsAsync<QueryException>(() => _remote.QueryAsync("a + b", DateTimeOffset.UnixEpoch));
        Assert.Equal("execution", exec.ErrorType);
        Assert.Equal("many-to-many matching not allowed", exec.Message);
    }

    [Fact]
    public async Task Series_Labels_LabelValues_RoundTrip()
    {
        _engine.SeriesAnswer = [Labels.Metric("up", ("job", "a"))];
        Assert.Equal([Labels.Metric("up", ("job", "a"))], await _remote.SeriesAsync(["up", "down"], DateTimeOffset.MinValue, DateTimeOffset.FromUnixTimeSeconds(9)));
        Assert.Equal("series up | down min..9000", _engine.Calls[0]);

        _engine.StringsAnswer = ["a", "b"];
        Assert.Equal(["a", "b"], await _remote.LabelNamesAsync(DateTimeOffset.MinValue, DateTimeOffset.MaxValue));
        Assert.Equal(["a", "b"], await _remote.LabelValuesAsync("job", DateTimeOffset.FromUnixTimeSeconds(1), DateTimeOffset.MaxValue));
        Assert.Equal("values job 1000..max", _engine.Calls[2]);
    }
}
