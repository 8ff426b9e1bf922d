using System.Net;
using System.Text;
using Aida.Model.Config;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Scrape;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.Collectors.Scrape;

public class ScrapeCollectorTests
{
    private static readonly Uri Target = new("http://10.0.0.7:9400/metrics");

    [Fact]
    public async Task Scrape_StoresSeriesWithEntryLabels_UpAndScrapeSeries_AndMarksVanishedSeriesStale()
    {
        using var rig = new CollectorRig();
        var handler = new ScriptedHandler();
        using var collector = new ScrapeCollector(rig.Settings("gpu-node-1", labels: Labels.From(("hall", "h1"))), Target, honorTimestamps: true, handler);

        handler.Next = Body("# TYPE temp gauge\ntemp{gpu=\"0\",hall=\"other\"} 61\ntemp{gpu=\"1\"} 63 1699999999000\n");
        await collector.ScrapeOnceAsync(rig.Sink, default);
        Assert.Equal(61, rig.Last("temp", ("gpu", "0")));
        Assert.Equal("other", rig.Series("temp").Single(s => s.Labels.Get("gpu") == "0").Labels.Get("exported_hall"));
        Assert.Equal("h1", rig.Series("temp").Single(s => s.Labels.Get("gpu") == "0").Labels.Get("hall"));
        Assert.Equal(1699999999000, rig.Samples("temp", ("gpu", "1"))[0].TimestampMs); // honoured
        Assert.Equal(1, rig.Last("up", ("job", "gpu-node-1"), ("instance", "10.0.0.7:9400"), ("site", "s1")));
        Assert.Equal(2, rig.Last("scrape_samples_scraped", ("job", "gpu-node-1")));
        Assert.Contains("text/plain;version=0.0.4", handler.LastAccept, StringComparison.Ordinal);

        rig.Fake.Advance(TimeSpan.FromSeconds(15));
        handler.Next = Body("temp{gpu=\"0\",hall=\"other\"} 62\n");
        await collector.ScrapeOnceAsync(rig.Sink, default);
        Assert.Equal(62, rig.Last("temp", ("gpu", "0")));
        Assert.True(StaleMarker.Is(rig.Last("temp", ("gpu", "1"))), "the vanished series gets a staleness marker");

        rig.Fake.Advance(TimeSpan.FromSeconds(15));
        handler.Next = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        await collector.ScrapeOnceAsync(rig.Sink, default);
        Assert.Equal(0, rig.Last("up", ("job", "gpu-node-1")));
        Assert.True(StaleMarker.Is(rig.Last("temp", ("gpu", "0"))), "a target that goes down marks all its series stale");
        Assert.Equal((false, 1L, 0L), rig.Sink.HealthOf("scrape", "gpu-node-1"));
        Assert.Contains("HTTP 503", rig.Log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATargetWhoseProcessStartedAgainBetweenTwoScrapes_IsReportedRestarted_ByItsStartTime()
    {
        // An exporter (or a controller serving /metrics) restarted within an interval: both scrapes answer, so only its
        // process_start_time_seconds tells it came back (its counters from zero).
        using var rig = new CollectorRig();
        var handler = new ScriptedHandler();
        var entry = "site: s1\ncollectors:\n  - {type: scrape, name: cdu-exporter, url: 'http://10.0.0.7:9400/metrics', start_time: process_start_time_seconds}\n";
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [ScrapeCollector.Type] = ScrapeCollector.Create }, rig.Clock);
        using var collector = Assert.IsType<ScrapeCollector>(loader.Parse(entry, "site.yaml").Collectors.Single());
        Assert.Equal("process_start_time_seconds", collector.StartTimeMetric);

        handler.Next = Body("process_start_time_seconds 1699990000\npump_starts_total 41\n");
        using var scripted = new ScrapeCollector(rig.Settings("cdu-exporter"), Target, honorTimestamps: true, handler, collector.StartTimeMetric);
        await scripted.ScrapeOnceAsync(rig.Sink, default);
        rig.Fake.Advance(TimeSpan.FromSeconds(15));
        handler.Next = Body("process_start_time_seconds 1699990000.4\npump_starts_total 41\n"); // the same start, read again
        await scripted.ScrapeOnceAsync(rig.Sink, default);
        Assert.Null(rig.Sink.ReturnOf("scrape", "cdu-exporter"));

        rig.Fake.Advance(TimeSpan.FromSeconds(15));
        handler.Next = Body("process_start_time_seconds 1700000020\npump_starts_total 0\n");
        await scripted.ScrapeOnceAsync(rig.Sink, default);
        var back = rig.Sink.ReturnOf("scrape", "cdu-exporter");
        Assert.NotNull(back);
        Assert.True(back.How.EndsWith("(process_start_time_seconds{}: its process started at 2023-11-14 22:13:40Z, after 2023-11-14 19:26:40Z at the scrape before)", StringComparison.Ordinal), back.How);
        Assert.Equal((true, 0L, 0L), rig.Sink.HealthOf("scrape", "cdu-exporter"));

        var bad = Assert.Throws<ConfigException>(() => loader.Parse(entry.Replace("process_start_time_seconds", "'start time'", StringComparison.Ordinal), "site.yaml"));
        Assert.Contains("start_time: 'start time' is not a metric name", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_CountsEachBadLineMalformed_AndKeepsTheGoodOnes()
    {
        using var rig = new CollectorRig();
        var handler = new ScriptedHandler { Next = Body("a 1\nb{x=\"1\" 2\nc 3\n}}}\n") };
        using var collector = new ScrapeCollector(rig.Settings("t"), Target, honorTimestamps: true, handler);
        await collector.ScrapeOnceAsync(rig.Sink, default);
        Assert.Equal(2, rig.Sink.HealthOf("scrape", "t").Malformed);
        Assert.Equal(3, rig.Last("c"));
        Assert.Equal(1, rig.Last("up"));
        Assert.Contains("line 2", rig.Log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_OpenMetrics_ByContentType_AndTimestampsIgnoredWhenNotHonoured()
    {
        using var rig = new CollectorRig();
        var response = Body("x_total 5 1600000000.5\n# EOF\n");
        response.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("application/openmetrics-text; version=1.0.0");
        var handler = new ScriptedHandler { Next = response };
        using var collector = new ScrapeCollector(rig.Settings("t"), Target, honorTimestamps: false, handler);
        await collector.ScrapeOnceAsync(rig.Sink, default);
        var sample = rig.Samples("x_total").Single();
        Assert.Equal(CollectorRig.T0.ToUnixTimeMilliseconds(), sample.TimestampMs);
        Assert.Equal(0, rig.Sink.HealthOf("scrape", "t").Malformed);
    }

    [Fact]
    public async Task Run_ScrapesEveryInterval_AndATargetThatHangsTimesOutOnTheSiteClock()
    {
        using var rig = new CollectorRig();
        var handler = new ScriptedHandler { Hang = true };
        using var collector = new ScrapeCollector(rig.Settings("t", interval: TimeSpan.FromSeconds(10), timeout: TimeSpan.FromSeconds(2)), Target, true, handler);
        using var cts = new CancellationTokenSource();
        var run = collector.RunAsync(rig.Sink, cts.Token);

        // The first scrape starts within one interval (a seeded offset); it hangs until the timeout passes.
        rig.Fake.Advance(TimeSpan.FromSeconds(10));
        await handler.FirstRequest.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var down = rig.Sink.HealthOf("scrape", "t");
        rig.Fake.Advance(TimeSpan.FromSeconds(2));
        await WaitUntil(() => rig.Sink.HealthOf("scrape", "t").Errors == 1);
        Assert.Contains("no answer within 2 s", rig.Log.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, down.Errors);

        handler.Hang = false;
        handler.Next = Body("m 1\n");
        rig.Fake.Advance(TimeSpan.FromSeconds(8));
        await WaitUntil(() => rig.Sink.HealthOf("scrape", "t").Up);
        Assert.Equal(2, handler.Requests);
        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void SiteFile_ReadsTheEntry_AndNamesBadFields()
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [ScrapeCollector.Type] = ScrapeCollector.Create }, TimeProvider.System);
        var site = loader.Parse("site: s1\ncollectors:\n  - {type: scrape, name: n1, url: 'http://127.0.0.1:9100/metrics', honor_timestamps: false, interval: 5s}\n", "site.yaml");
        var scrape = Assert.IsType<ScrapeCollector>(site.Collectors.Single());
        Assert.False(scrape.HonorTimestamps);
        var bad = Assert.Throws<ConfigException>(() => loader.Parse("site: s1\ncollectors:\n  - {type: scrape, name: n1, url: 'ftp://x'}\n", "site.yaml"));
        Assert.Contains("site.yaml:3", bad.Message, StringComparison.Ordinal);
        Assert.Contains("collectors[0].url", bad.Message, StringComparison.Ordinal);
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(5);
        }
    }

    private static HttpResponseMessage Body(string text) =>
        new(HttpStatusCode.OK) { Content = new StringContent(text, Encoding.UTF8, "text/plain") };

    private sealed class ScriptedHandler : HttpMessageHandler
    {
        private int _requests;

        public HttpResponseMessage? Next { get; set; }

        public bool Hang { get; set; }

        public string LastAccept { get; private set; } = "";

        public int Requests => Volatile.Read(ref _requests);

        public TaskCompletionSource FirstRequest { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            LastAccept = string.Join(",", request.Headers.Accept.Select(a => a.ToString().Replace(" ", "", StringComparison.Ordinal)));
            FirstRequest.TrySetResult();
            if (Hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var response = Next ?? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("") };
            Next = null;
            return response;
        }
    }
}
