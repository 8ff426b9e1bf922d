using System.Net;
using Aida.Telemetry.Http;
using Aida.Telemetry.Query;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;

namespace Aida.Telemetry.Tests.Http;

/// <summary>The API over the real store and engine, as <c>aida serve</c> wires them.</summary>
public sealed class EmbeddedApiTests : IAsyncLifetime
{
    private readonly Tsdb _store = new(new TsdbOptions { FutureTolerance = TimeSpan.FromDays(3650) });
    private TestServerHost _host = null!;

    public async Task InitializeAsync()
    {
        var s = _store.GetOrCreateSeries(Labels.Metric("aida_it_power_watts", ("site", "x")));
        for (var t = 0; t <= 600; t += 10)
        {
            _store.Append(s, 1_700_000_000_000 + (t * 1000L), 7e6 + t);
        }

        _host = await TestServerHost.StartAsync(e =>
        {
            e.MapPrometheusApi(new EmbeddedQueryEngine(_store), TimeProvider.System);
            e.MapRemoteWrite(_store, TimeProvider.System);
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _store.Dispose();
    }

    [Fact]
    public async Task Query_AnswersFromTheStore()
    {
        var client = _host.Client;
        var json = await client.GetStringAsync("/api/v1/query?query=sum(aida_it_power_watts)&time=1700000600");
        Assert.Equal("""{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000600,"7000600"]}]}}""", json);
    }

    [Fact]
    public async Task ParseError_Is400_WithThePositionOnce()
    {
        // Regression: the position was written twice ("1:24: parse error: 1:24: parse error: ...").
        var client = _host.Client;
        var response = await client.GetAsync("/api/v1/query?query=sum(aida_it_power_watts");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid parameter \\\"query\\\": 1:24: parse error: ", body, StringComparison.Ordinal);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(body, "parse error"));
    }
}
