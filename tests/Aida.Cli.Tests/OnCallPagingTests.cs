using System.Net.Http.Headers;
using System.Text.Json;
using Aida.Reliability.Tests.Peers;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary><c>aida run --alertmanager</c> against a real Alertmanager (Debian's <c>prometheus-alertmanager</c>).</summary>
public class OnCallPagingTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [SkippableFact]
    public async Task ASupervisedLeak_ReachesAlertmanager_AsAnIncidentAndARunbookWaitingForAnApprover_AndWhatTheRunbookSaysOnceApproved()
    {
        // The agent supervised on the twin at 60x: h1-c03 leaks 35 plant minutes in (35 s), and its runbook (approval:
        // true) waits up to 15 min (15 s) for a person. Before, nothing outside the dashboard told anyone: the runbook's
        // "send a technician" went to the audit log alone. A person also sets cdu-h2-e's supply at its panel at 00:10.
        using var alertmanager = await LocalPeer.StartAlertmanagerAsync();
        var dir = TempDir();
        var adminKey = Invoke("keys", "issue", "chief", "--role", "admin", "--data", dir).Out.Trim();
        var port = FreePort();
        var stdout = new CapturedOutput();
        var stderr = new CapturedOutput();
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => AidaCommand.RunAsync(
            ["run", "--scenario", DashboardBrowserTests.LeakSoon(DashboardBrowserTests.PanelMove), "--mode", "agent", "--supervised", "--speed", "60", "--status-every", "1h",
                "--data", dir, "--api", $"127.0.0.1:{port}", "--alertmanager", alertmanager.BaseUrl.ToString()],
            stdout.Writer, stderr.Writer, stop.Token));
        try
        {
            var watchdog = await UntilAlert(alertmanager, run, a => Name(a) == "AidaWatchdog");
            Assert.Equal(("ref-10mw", "none"), (Label(watchdog, "factory"), Label(watchdog, "severity")));

            var dispute = await UntilAlert(alertmanager, run, a => Name(a) == "AidaActuatorDisputed");
            Assert.Equal(("cdu-h2-e/supply_setpoint", "warning"), (Label(dispute, "actuator"), Label(dispute, "severity")));
            Assert.StartsWith("cdu-h2-e/supply_setpoint reads back 21 where Aida wrote", Annotation(dispute, "summary"), StringComparison.Ordinal);

            var approval = await UntilAlert(alertmanager, run, a => Name(a) == "AidaRunbookApproval");
            Assert.Equal(("leak", "critical"), (Label(approval, "runbook"), Label(approval, "severity")));
            Assert.Equal($"http://127.0.0.1:{port}/#agent", approval.GetProperty("generatorURL").GetString());
            var incident = Label(approval, "incident");
            var page = await UntilAlert(alertmanager, run, a => Name(a) == "AidaIncident" && Label(a, "incident") == incident);
            Assert.Contains("LeakDetected on h1-c03", Annotation(page, "summary"), StringComparison.Ordinal);

            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/api/runbook-runs/{incident}/approve") { Content = new StringContent("{}") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
            using var approved = await Http.SendAsync(request);
            Assert.True(approved.IsSuccessStatusCode, await approved.Content.ReadAsStringAsync());

            var notice = await UntilAlert(alertmanager, run, a => Name(a) == "AidaRunbookNotice");
            Assert.Equal("rack h1-c03: leak detected and rack isolated; send a technician with spill kit", Annotation(notice, "summary"));
            Assert.Equal(incident, Label(notice, "incident"));
            await UntilAlerts(alertmanager, run, alerts => alerts.All(a => Name(a) != "AidaRunbookApproval"));

            // Aida's own /metrics say how the posts go, for a site's alerting on Aida itself.
            var metrics = await Http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            Assert.Matches(@"aida_alertmanager_posts_total\{outcome=""delivered""\} [1-9]\d*\n", metrics);
            Assert.Contains("aida_alertmanager_posts_total{outcome=\"failed\"} 0\n", metrics, StringComparison.Ordinal);
            Assert.Matches(@"aida_alertmanager_alerts_firing [2-9]\n", metrics);

            // chiller-1 taken out for its service: the chillers left have none to spare at the plant's heat, and on-call
            // is told so, beside the lockout itself.
            using var lockOut = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/api/lockouts") { Content = new StringContent("""{"asset":"chiller-1","reason":"annual service","for":"4h"}""") };
            lockOut.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
            using var locked = await Http.SendAsync(lockOut);
            Assert.True(locked.IsSuccessStatusCode, await locked.Content.ReadAsStringAsync());
            var lost = await UntilAlert(alertmanager, run, a => Name(a) == "AidaRedundancyLost" && Label(a, "kind") == "chiller");
            Assert.Equal(("site", "warning"), (Label(lost, "scope"), Label(lost, "severity")));
            Assert.StartsWith("chillers at N: 10.0 MW in service (of 15.0 MW; chiller-1 (locked out) out) for ", Annotation(lost, "summary"), StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.True(await run == 0, stderr.ToString());
        Assert.Matches(@"alertmanager: \d+ post\(s\) delivered, 0 failed", stdout.ToString());
    }

    [SkippableFact]
    public async Task ADeviceRestartedBehindItsGateway_OnTheTwinOverTheWire_ReachesAlertmanager_AsAidaDeviceRestarted()
    {
        // aida twin serve at 60x restarts CDU h1-a's Modbus controller 20 plant minutes in (20 s), its connection up, as
        // one behind a gateway restarts: no poll fails. The network run finds it by the controller's uptime register and
        // tells a person on call, since the CDU's set point may be back at its own. Before (session 48), the restart was
        // only in the network run's log and GET /api/devices, and the twin could restart a device in tests alone.
        using var alertmanager = await LocalPeer.StartAlertmanagerAsync();
        var siteFile = Path.Combine(TempDir(), "twin.yaml");
        using var stopTwin = new CancellationTokenSource();
        var serveOut = new CapturedOutput();
        var serving = AidaCommand.RunAsync(
            ["twin", "serve", "--base-port", "0", "--speed", "60", "--status-every", "1h", "--write-site", siteFile, "--restart", "modbus-cdu-h1-a@20m"],
            serveOut.Writer, TextWriter.Null, stopTwin.Token);
        using var stop = new CancellationTokenSource();
        var stderr = new CapturedOutput();
        Task<int>? run = null;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!(File.Exists(siteFile) && new FileInfo(siteFile).Length > 0))
            {
                Assert.False(serving.IsCompleted || DateTime.UtcNow > deadline, "aida twin serve did not write its site file: " + serveOut);
                await Task.Delay(50);
            }

            run = Task.Run(() => AidaCommand.RunAsync(
                ["run", "--plant", "network", "--site", siteFile, "--status-every", "1h", "--data", TempDir(), "--urls", "none", "--alertmanager", alertmanager.BaseUrl.ToString()],
                TextWriter.Null, stderr.Writer, stop.Token));
            var restarted = await UntilAlert(alertmanager, run, a => Name(a) == "AidaDeviceRestarted");
            Assert.Contains("aida twin serve: restarted modbus-cdu-h1-a", serveOut.ToString(), StringComparison.Ordinal);
            // The CDU it writes, for an inhibit rule: a controller power-cycled under a lockout is the lockout's work.
            Assert.Equal(("modbus", "modbus-cdu-h1-a", "cdu-h1-a", "warning"), (Label(restarted, "collector"), Label(restarted, "device"), Label(restarted, "asset"), Label(restarted, "severity")));
            Assert.Matches(@"^modbus device modbus-cdu-h1-a was found restarted at \S+ \(its uptime read \d+ s, [\d.]+ s after it read \d+ s\): it may be back at its own settings$", Annotation(restarted, "summary"));
            Assert.Contains("modbus-cdu-h1-a: restarted since the poll before: its uptime read", stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            await stopTwin.CancelAsync();
        }

        Assert.True(run is null || await run == 0, stderr.ToString());
        Assert.Equal(0, await serving);
    }

    [SkippableFact]
    public async Task AStalledControlLoop_WithdrawsTheWatchdog_AndPagesAidaLoopStalled_ThoughTheWedgedLoopHoldsThePlantsLock()
    {
        // Before, the watchdog fired for as long as the process posted, so a loop wedged on a device call or a deadlock
        // left a dead man's switch content while nothing operated the plant.
        using var alertmanager = await LocalPeer.StartAlertmanagerAsync();
        var wall = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var heartbeat = new Aida.Server.Api.LoopHeartbeat(wall, Aida.Server.Api.LoopHeartbeat.DefaultStalledAfter);
        var plantTime = DateTimeOffset.Parse("2025-07-01T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        heartbeat.Beat(plantTime, TimeSpan.Zero);
        var gate = new object();
        var running = new TaskCompletionSource<int>().Task;
        Aida.Server.Tests.WedgedLoop? wedged = null;
        var paging = OnCallPaging.Start([alertmanager.BaseUrl], "ref-10mw", null, null, null, null, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(plantTime), gate, TextWriter.Null, CancellationToken.None, heartbeat: heartbeat);
        try
        {
            await UntilAlert(alertmanager, running, a => Name(a) == "AidaWatchdog");

            wedged = Aida.Server.Tests.WedgedLoop.Holding(gate);
            wall.Advance(TimeSpan.FromSeconds(61));
            var stalled = await UntilAlert(alertmanager, running, a => Name(a) == "AidaLoopStalled");
            Assert.Equal(("ref-10mw", "critical"), (Label(stalled, "factory"), Label(stalled, "severity")));
            Assert.StartsWith("Aida's control loop has made no step since 2026-12-07T10:00:00Z (plant time 2025-07-01T03:00:00Z); nothing operates the plant, and the watchdog is withdrawn.",
                Annotation(stalled, "summary"), StringComparison.Ordinal);
            await UntilAlerts(alertmanager, running, alerts => alerts.All(a => Name(a) != "AidaWatchdog"));

            // The loop steps again: the watchdog is back and the stall withdrawn.
            wedged.Dispose();
            heartbeat.Beat(plantTime.AddSeconds(1), TimeSpan.Zero);
            await UntilAlerts(alertmanager, running, alerts => alerts.Any(a => Name(a) == "AidaWatchdog") && alerts.All(a => Name(a) != "AidaLoopStalled"));
        }
        finally
        {
            wedged?.Dispose();
            await paging.DisposeAsync();
        }
    }

    private static string Name(JsonElement alert) => Label(alert, "alertname");

    private static string Label(JsonElement alert, string name) => alert.GetProperty("labels").TryGetProperty(name, out var v) ? v.GetString()! : "";

    private static string Annotation(JsonElement alert, string name) => alert.GetProperty("annotations").GetProperty(name).GetString()!;

    private static async Task<JsonElement> UntilAlert(LocalPeer alertmanager, Task<int> run, Func<JsonElement, bool> which)
    {
        JsonElement found = default;
        await UntilAlerts(alertmanager, run, alerts =>
        {
            found = alerts.FirstOrDefault(which);
            return found.ValueKind == JsonValueKind.Object;
        });
        return found;
    }

    /// <summary>Waits (at most 180 s) until Alertmanager's active alerts satisfy <paramref name="done"/>. The twin runs at
    /// 60x on the wall clock: alone the whole test takes 38 s, but with the other test assemblies' simulations on the same
    /// 2 cores the plant fell so far behind that the leak's approval had not come 90 s after the dispute (CI, session 46).</summary>
    private static async Task UntilAlerts(LocalPeer alertmanager, Task<int> run, Func<List<JsonElement>, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(180);
        List<JsonElement> alerts = [];
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(run.IsCompleted, "aida run stopped: " + (run.IsCompleted ? run.Result.ToString(System.Globalization.CultureInfo.InvariantCulture) : ""));
            using var response = await Http.GetAsync(new Uri(alertmanager.BaseUrl, "api/v2/alerts"));
            alerts = [.. JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone().EnumerateArray()];
            if (done(alerts))
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"Alertmanager's alerts did not come to what was awaited within 180 s; it holds: {string.Join("; ", alerts.Select(a => a.GetProperty("labels").ToString()))}\n{alertmanager.Output()}");
    }
}
