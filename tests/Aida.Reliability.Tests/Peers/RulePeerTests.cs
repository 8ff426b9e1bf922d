using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Aida.Reliability.Alerting;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Rules;
using Aida.Telemetry.Query;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Aida.Reliability.Tests.Peers;

/// <summary>The exported rules in a real Prometheus, and Aida's alerts in a real Alertmanager (docs PEERS.md).</summary>
public sealed class RulePeerTests(ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [SkippableFact]
    public void ExportedRules_PassPromtoolCheckRules()
    {
        var directory = Aida.Telemetry.Tests.Peers.PeerProcess.TempDirectory("aida-slo-rules");
        var file = Path.Combine(directory, "slo-rules.yml");
        File.WriteAllText(file, PrometheusRuleExporter.Export(SyntheticPlant.Slos, ["test"]));

        var (code, text) = Promtool.CheckRules(file);
        Directory.Delete(directory, recursive: true);

        output.WriteLine(text);
        Assert.True(code == 0, text);
        // gpu-throttle-free: windows 5m 30m 1h 6h 3d 30d + 3 alerts; rack-inlet-recommended: 5m 1h 6h 7d 3d + 2 alerts.
        Assert.Contains("SUCCESS: 16 rules found", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void TheExampleAlertmanagerConfig_IsValid_AndRoutesAnAlertNotToldResolved_ToTheReceiverThatSendsNone()
    {
        // docs/examples/alertmanager.yml, checked by Debian's amtool: alertWhenResolved: false reaches people as
        // notify_resolved="false" on the alert, routed to a receiver with send_resolved: false.
        var config = Path.Combine(Aida.Model.Config.BundledFiles.Root!, "docs", "examples", "alertmanager.yml");
        var (code, text) = PeerTool.Run("amtool", "prometheus-alertmanager", "check-config", config);
        Assert.True(code == 0, text);
        Assert.Contains("SUCCESS", text, StringComparison.Ordinal);

        string Receiver(bool notifyResolved)
        {
            var condition = BurnRateCondition.Workbook[0];
            var alert = new SloAlert(AlertNames.For(condition), "rack-inlet-envelope", "facility-cooling", condition, DateTimeOffset.UnixEpoch, null, 20, 21, []) { NotifyResolved = notifyResolved };
            var (routed, said) = PeerTool.Run("amtool", "prometheus-alertmanager", ["config", "routes", "test", "--config.file=" + config, .. AlertmanagerAlert.From(alert).Labels.Select(l => $"{l.Key}={l.Value}")]);
            Assert.True(routed == 0, said);
            return said.Split('\n', StringSplitOptions.RemoveEmptyEntries).First(l => !l.StartsWith("Warning", StringComparison.Ordinal)).Trim();
        }

        Assert.Equal("facility-on-call-no-resolved", Receiver(notifyResolved: false));
        Assert.Equal("facility-on-call", Receiver(notifyResolved: true));
    }

    [SkippableFact]
    public async Task ExportedRules_InARealPrometheus_GiveAidasBurnRates()
    {
        var set = SyntheticPlant.Slos;
        using var prometheus = await LocalPeer.StartPrometheusAsync(PrometheusRuleExporter.Export(set));

        // The last 50 minutes up to now (Prometheus takes recent samples only); the fault covers the last 40.
        var now = TimeProvider.System.GetUtcNow();
        var end = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var plant = new SyntheticPlant(end.AddMinutes(-50), end, end.AddMinutes(-40), end, FaultBurnRate: 20);
        await RemoteWriteAsync(prometheus.WriteUrl, plant.Series(), prometheus);
        var written = TimeProvider.System.GetUtcNow();
        using var store = plant.Store(new FakeTimeProvider(end));
        var aida = new SloEvaluator(new EmbeddedQueryEngine(store));
        var remote = new RemoteQueryEngine(Http, prometheus.BaseUrl);

        foreach (var slo in set.Slos)
        {
            // A rule evaluation that saw all the data: its timestamp is after the write returned.
            var at = await RuleEvaluationAfterAsync(remote, slo.Name, written, prometheus);
            foreach (var window in PrometheusRuleExporter.RecordedWindows(slo))
            {
                var recorded = await remote.QueryAsync($"{PrometheusRuleExporter.RecordName(window)}{{slo=\"{slo.Name}\"}}", at);
                var sample = Assert.Single(recorded.Series).Samples[0];
                Assert.Equal(at.ToUnixTimeMilliseconds(), sample.TimestampMs);
                var prometheusBurn = ErrorBudget.BurnRate(sample.Value, slo.Objective.Target);
                var aidaBurn = await aida.BurnRateAsync(slo, window, at);
                output.WriteLine($"{slo.Name} {window}: Prometheus {prometheusBurn:R}x, Aida {aidaBurn:R}x");
                Assert.Equal(prometheusBurn, aidaBurn, 9);
            }

            // The fault burns both SLOs: the fast page holds in Aida at the same instant.
            var status = await aida.EvaluateAsync(slo, at);
            Assert.Contains(status.FiringAlerts, c => c.Severity == "page" && c.LongWindow == TimeSpan.FromHours(1));
        }

        // And Prometheus' own alerting rule fires the same page.
        var alerts = await PollAsync(async () =>
        {
            var r = await remote.QueryAsync("ALERTS{alertname=\"SLOBurnRatePage\",slo=\"gpu-throttle-free\",condition=\"page-fast-burn\",alertstate=\"firing\"}", TimeProvider.System.GetUtcNow());
            return r.Series.Count > 0 ? r : null;
        }, "the SLOBurnRatePage alert of gpu-throttle-free in Prometheus", prometheus.Output);
        Assert.Equal("page", alerts.Series[0].Labels.Get("severity"));
    }

    [SkippableFact]
    public async Task AReadingLeftOut_InARealPrometheus_GivesAidasCorrectedRatios()
    {
        // The correction is PromQL in the SLI (label_replace of vector(time()) inside the slices' subquery), so a
        // Prometheus behind the remote query engine must count the same slices: r1, hot for the last 40 minutes, left
        // out from 30 to 10 minutes before the end.
        var set = SyntheticPlant.Slos;
        using var prometheus = await LocalPeer.StartPrometheusAsync(PrometheusRuleExporter.Export(set));
        var now = TimeProvider.System.GetUtcNow();
        var end = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var plant = new SyntheticPlant(end.AddMinutes(-50), end, end.AddMinutes(-40), end, FaultBurnRate: 20);
        await RemoteWriteAsync(prometheus.WriteUrl, plant.Series(), prometheus);
        using var store = plant.Store(new FakeTimeProvider(end));
        var inlet = set.Find("rack-inlet-recommended")!;
        IReadOnlyList<ReadingExclusion> exclusions = [new(Labels.From(("__name__", "slo_test_rack_inlet_celsius"), ("rack", "r1")), end.AddMinutes(-30), end.AddMinutes(-10), "r1 lying")];
        var aida = new SloEvaluator(new EmbeddedQueryEngine(store), exclusions: () => exclusions);
        var remote = new SloEvaluator(new RemoteQueryEngine(Http, prometheus.BaseUrl), exclusions: () => exclusions);

        var asRead = await new SloEvaluator(new EmbeddedQueryEngine(store)).ErrorRatioAsync(inlet, TimeSpan.FromHours(1), end);
        var corrected = await aida.ErrorRatioAsync(inlet, TimeSpan.FromHours(1), end);
        var inPrometheus = await remote.ErrorRatioAsync(inlet, TimeSpan.FromHours(1), end);

        output.WriteLine($"as read {asRead:R}, Aida corrected {corrected:R}, Prometheus corrected {inPrometheus:R}");
        // 4 racks x 51 slice ends, 40 of r1's bad; 20 of those left out (ends after -30 min up to -10 min).
        Assert.Equal(40.0 / 204, asRead, 12);
        Assert.Equal(20.0 / 184, corrected, 12);
        Assert.Equal(corrected, inPrometheus, 12);
    }

    [SkippableFact]
    public async Task AFastBurn_ReachesARealAlertmanager_AndIsResolvedThere()
    {
        using var alertmanager = await LocalPeer.StartAlertmanagerAsync();

        // Three hours up to now; GPU 0 throttled at 20x from 100 to 40 minutes ago.
        var now = TimeProvider.System.GetUtcNow();
        var end = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var plant = new SyntheticPlant(end.AddHours(-3), end, end.AddMinutes(-100), end.AddMinutes(-40), FaultBurnRate: 20);
        var clock = new FakeTimeProvider(end.AddMinutes(-40));
        using var store = plant.Store(clock);
        // Firing alerts stay valid for an hour past each post, so the page posted "40 minutes ago" is active now.
        var client = new AlertmanagerClient(Http, alertmanager.BaseUrl, firingValidity: TimeSpan.FromHours(1));
        var monitor = new SloAlertMonitor(new SloEvaluator(new EmbeddedQueryEngine(store)), [SyntheticPlant.Slos.Find("gpu-throttle-free")!], clock, client);

        var fired = await monitor.EvaluateAsync();
        Assert.Contains(fired, a => a.Condition.Name == "page-fast-burn");

        var active = await PollAsync(async () =>
        {
            var alerts = await AlertsAsync(alertmanager.BaseUrl);
            return alerts.FirstOrDefault(a => a["condition"] == "page-fast-burn");
        }, "the page in Alertmanager", alertmanager.Output);
        Assert.Equal("SLOBurnRatePage", active["alertname"]);
        Assert.Equal("gpu-throttle-free", active["slo"]);
        Assert.Equal("page", active["severity"]);
        Assert.Equal("cooling", active["service"]);

        // Ten minutes after the fault the 5m window is clean: the page resolves and Alertmanager drops it.
        clock.Advance(TimeSpan.FromMinutes(10));
        var changes = await monitor.EvaluateAsync();
        Assert.Contains(changes, a => a.Condition.Name == "page-fast-burn" && a.IsResolved);
        await PollAsync(async () =>
        {
            var alerts = await AlertsAsync(alertmanager.BaseUrl);
            return alerts.Any(a => a["condition"] == "page-fast-burn") ? null : alerts;
        }, "the page to resolve in Alertmanager", alertmanager.Output);
        // The slow page still burns and stays active there.
        Assert.Contains(await AlertsAsync(alertmanager.BaseUrl), a => a["condition"] == "page-slow-burn");
    }

    [SkippableFact]
    public async Task TheFeed_KeepsARealAlertmanagerInStep_AlertsInWithTheirLinks_AndOutWhenTheyStopHolding()
    {
        using var alertmanager = await LocalPeer.StartAlertmanagerAsync();
        var feed = new AlertmanagerFeed([new AlertmanagerClient(Http, alertmanager.BaseUrl)], TimeProvider.System);
        FiringAlert Alert(string asset) => new(
            [new("alertname", "AidaIncident"), new("factory", "ref-10mw"), new("incident", asset == "chiller-1" ? "1" : "2"), new("severity", "critical")],
            [new("summary", $"ChillerTripped on {asset}")], $"http://127.0.0.1:8080/#incident-{asset}");

        await feed.UpdateAsync([Alert("chiller-1"), Alert("chiller-2")]);
        var seen = await PollAsync(async () =>
        {
            using var response = await Http.GetAsync(new Uri(alertmanager.BaseUrl, "api/v2/alerts"));
            var alerts = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            return alerts.GetArrayLength() == 2 ? alerts.EnumerateArray().ToList() : null;
        }, "both alerts in Alertmanager", alertmanager.Output);
        var first = seen.Single(a => a.GetProperty("labels").GetProperty("incident").GetString() == "1");
        Assert.Equal("ChillerTripped on chiller-1", first.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Equal("http://127.0.0.1:8080/#incident-chiller-1", first.GetProperty("generatorURL").GetString());
        Assert.Equal("active", first.GetProperty("status").GetProperty("state").GetString());

        await feed.UpdateAsync([Alert("chiller-2")]);
        var left = await PollAsync(async () =>
        {
            var alerts = await AlertsAsync(alertmanager.BaseUrl);
            return alerts.Count == 1 ? alerts : null;
        }, "the first alert to resolve in Alertmanager", alertmanager.Output);
        Assert.Equal("2", left[0]["incident"]);
        Assert.Equal((2L, 0L), (feed.Delivered, feed.Failed));
    }

    [SkippableFact]
    public async Task TheExportedNoDataRule_FiresInARealPrometheusWithNoReadings_AndClearsWhenTheyArrive()
    {
        var directory = Aida.Telemetry.Tests.Peers.PeerProcess.TempDirectory("aida-slo-nodata");
        var file = Path.Combine(directory, "slos.yaml");
        File.WriteAllText(file, Runs.NoDataAlertTests.NoDataSloText(hold: false));
        var set = SloLoader.Load([file]);
        using var prometheus = await LocalPeer.StartPrometheusAsync(PrometheusRuleExporter.Export(set));
        var remote = new RemoteQueryEngine(Http, prometheus.BaseUrl);
        const string NoData = "ALERTS{alertname=\"SLONoData\",alertstate=\"firing\"}";

        // Nothing written: the inlet SLO, whose policy asks, is blind; the GPU SLO, whose does not, says nothing.
        var firing = await PollAsync(async () =>
        {
            var r = await remote.QueryAsync(NoData, TimeProvider.System.GetUtcNow());
            return r.Series.Count > 0 ? r : null;
        }, "SLONoData firing in Prometheus", prometheus.Output);
        var alert = Assert.Single(firing.Series).Labels;
        Assert.Equal(("rack-inlet-recommended", "page", "inlet-fast-burn"), (alert.Get("slo"), alert.Get("severity"), alert.Get("condition")));

        // The last 10 minutes of readings arrive: the ratio has a value again and the alert clears.
        var now = TimeProvider.System.GetUtcNow();
        var end = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        await RemoteWriteAsync(prometheus.WriteUrl, new SyntheticPlant(end.AddMinutes(-10), end, end, end, FaultBurnRate: 0).Series(), prometheus);
        await PollAsync(async () =>
        {
            var r = await remote.QueryAsync(NoData, TimeProvider.System.GetUtcNow());
            return r.Series.Count == 0 ? r : null;
        }, "SLONoData cleared in Prometheus", prometheus.Output);
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>The labels of every active alert in Alertmanager (<c>GET /api/v2/alerts</c>).</summary>
    internal static async Task<List<Dictionary<string, string>>> AlertsAsync(Uri baseUrl)
    {
        using var response = await Http.GetAsync(new Uri(baseUrl, "api/v2/alerts"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.EnumerateArray()
            .Select(a => a.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? ""))
            .ToList();
    }

    private static async Task<DateTimeOffset> RuleEvaluationAfterAsync(RemoteQueryEngine remote, string slo, DateTimeOffset after, LocalPeer prometheus)
    {
        var result = await PollAsync(async () =>
        {
            var r = await remote.QueryAsync($"timestamp(slo:sli_error:ratio_rate5m{{slo=\"{slo}\"}})", TimeProvider.System.GetUtcNow());
            return r.Series.Count > 0 && r.Series[0].Samples[0].Value * 1000 > after.ToUnixTimeMilliseconds() + 1000 ? r : null;
        }, $"a rule evaluation of {slo} after the write", prometheus.Output);
        return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(result.Series[0].Samples[0].Value * 1000));
    }

    private static async Task RemoteWriteAsync(Uri url, IReadOnlyList<SeriesSamples> series, LocalPeer prometheus)
    {
        using var content = new ByteArrayContent(WriteRequestCodec.EncodeCompressed(series));
        content.Headers.ContentType = new MediaTypeHeaderValue(WriteRequestCodec.ContentType);
        content.Headers.ContentEncoding.Add("snappy");
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        request.Headers.Add("X-Prometheus-Remote-Write-Version", WriteRequestCodec.ProtocolVersion);
        using var response = await Http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.NoContent,
            $"Prometheus answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{prometheus.Output()}");
    }

    /// <summary>Asks a real server until it answers (these peers apply writes and evaluate rules on their own clocks).</summary>
    internal static async Task<T> PollAsync<T>(Func<Task<T?>> probe, string what, Func<string> peerOutput)
        where T : class
    {
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                Assert.Fail($"timed out waiting for {what}:\n{peerOutput()}");
            }

            await Task.Delay(250);
        }
    }
}
