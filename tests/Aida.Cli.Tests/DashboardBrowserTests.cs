using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aida.Telemetry.Tests.Peers;
using Microsoft.Playwright;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>The dashboard in headless Chromium against a live <c>aida run</c>: sign in, watch PUE and the budgets move,
/// open an incident, approve an operator's pending rack isolation; a screenshot of every page on the way.</summary>
/// <remarks>Debian's chromium (PEERS.md) driven by Playwright for .NET; Playwright never downloads a browser here.
/// Screenshots go to <c>AIDA_SCREENSHOTS</c> (relative to the checkout's root), or a temporary directory.</remarks>
[Collection(WireTiming.Name)]
public class DashboardBrowserTests
{
    // Generous: the run, the browser and other tests share two cores.
    private const float WaitMs = 60_000;

    [SkippableFact]
    public async Task AnAdmin_SignsIn_WatchesPueAndBudgets_OpensTheIncident_AndApprovesAPendingIsolation()
    {
        var chromium = PeerProcess.Require("chromium", "chromium");
        var dir = TempDir();
        var adminKey = Invoke("keys", "issue", "chief", "--role", "admin", "--data", dir).Out.Trim();
        var operatorKey = Invoke("keys", "issue", "ops", "--role", "operator", "--data", dir).Out.Trim();
        var shots = Screenshots();

        using var stop = new CancellationTokenSource();
        // Mode human: Aida's own agent would act on the leak itself, and the isolation to approve is the operator's.
        var (baseUrl, run) = StartLeakSoon(dir, panelMove: null, stop.Token, "--mode", "human");
        // Stops the run however the test ends: a failed assertion must not leave it running in the test host.
        try
        {
            await using var session = await BrowserSession.OpenAsync(baseUrl, run, chromium);
            var (http, page) = (session.Http, session.Page);
            var refused = new List<string>();
            page.Console += (_, m) =>
            {
                if (m.Text.Contains("Content Security Policy", StringComparison.Ordinal))
                {
                    refused.Add(m.Text);
                }
            };
            page.PageError += (_, e) => refused.Add(e);

            // No session: the dashboard sends the browser to the login page; a wrong key is refused there.
            await page.GotoAsync(baseUrl + "/");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/login\\.html$"));
            await page.FillAsync("#key", "aida_not-a-key");
            await page.ClickAsync("#sign-in");
            await Assertions.Expect(page.Locator("#login-error")).Not.ToBeEmptyAsync();
            await page.FillAsync("#key", "");
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "login.png") });
            await page.FillAsync("#key", adminKey);
            await page.ClickAsync("#sign-in");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/#overview$"));
            await Assertions.Expect(page.Locator("#user")).ToContainTextAsync("chief (admin)");

            // PUE appears and moves with the live stream.
            var pue = page.Locator("#pue-value");
            await Assertions.Expect(pue).ToHaveTextAsync(new Regex(@"^1\.\d{3}$"));
            var first = await pue.TextContentAsync();
            await page.WaitForFunctionAsync("v => document.querySelector('#pue-value').textContent !== v", first);
            await Assertions.Expect(page.Locator("#pue-chart path.chart-line")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#budget-status")).ToHaveTextAsync(new Regex("^(expand|hold|freeze)$"));
            await Assertions.Expect(page.Locator("#devices-note")).ToHaveTextAsync("the embedded twin: no field devices");
            await Assertions.Expect(page.Locator("#power-chart path.chart-line")).ToHaveCountAsync(2);
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "overview.png"), FullPage = true });
            // The charts' axes read whole: no value label cut at the chart's left edge (before, "10.00 MW" lost its "1"),
            // one unit a step (before, "0 W" under "2.00 MW"), and the time labels a clock's even step apart (before, a
            // 100 s step read 03:43, 03:45, 03:46).
            Assert.Empty(await ClippedAxisLabels(page));
            Assert.All(await page.Locator("#power-chart .chart-grid text[text-anchor=end]").AllTextContentsAsync(), l => Assert.Matches(@"^\d+ MW$", l));
            var minutes = (await page.Locator("#power-chart .chart-grid text[text-anchor=middle]").AllTextContentsAsync())
                .Select(l => TimeSpan.ParseExact(l, @"hh\:mm", System.Globalization.CultureInfo.InvariantCulture).TotalMinutes).ToList();
            Assert.True(minutes.Count >= 2, string.Join(", ", minutes));
            Assert.Single(minutes.Zip(minutes.Skip(1), (a, b) => (b - a + 1440) % 1440).Distinct());

            // Budgets: a row per SLO, and the report's plant time advances as it is sampled again; a reading an operator
            // left out of the SLOs is listed.
            using (var exclude = new HttpRequestMessage(HttpMethod.Post, "/api/slos/exclusions")
            {
                Content = new StringContent("""{"selector":"aida_rack_inlet_celsius{rack=\"h1-a02\"}","reason":"probe hanging loose"}""", System.Text.Encoding.UTF8, "application/json"),
            })
            {
                exclude.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", operatorKey);
                Assert.Equal(System.Net.HttpStatusCode.Created, (await http.SendAsync(exclude)).StatusCode);
            }

            await page.ClickAsync("#nav-budgets");
            await Assertions.Expect(page.Locator("tr.slo-row[data-slo='rack-inlet-envelope']")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#excluded-readings tr.excluded-row")).ToContainTextAsync("rack=\"h1-a02\"");
            await Assertions.Expect(page.Locator("#excluded-readings tr.excluded-row")).ToContainTextAsync("still out");
            await Assertions.Expect(page.Locator("#power-regime")).ToHaveTextAsync(new Regex("^(expand|hold|freeze)$"));
            await Assertions.Expect(page.Locator("#power-reason")).ToContainTextAsync("power: ");
            var stamp = await page.Locator("#slo-at").TextContentAsync();
            await page.WaitForFunctionAsync("v => document.querySelector('#slo-at').textContent !== v", stamp);
            // The burn-down is read from the run's store, a line per SLO (before, sampled by the page from when it opened);
            // a flat line has no height, so Playwright calls it hidden: their count is what counts.
            await Assertions.Expect(page.Locator("#budget-history path.chart-line")).ToHaveCountAsync(7);
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "budgets.png"), FullPage = true });

            await page.ClickAsync("#nav-flow");
            await Assertions.Expect(page.Locator("#power-flow path.sankey-band").First).ToBeVisibleAsync();
            // Each group's redundancy as the run derives it each plant minute: the chillers carry the heat with their
            // standby to spare or not, but some N at least.
            await Assertions.Expect(page.Locator("#redundancy-table tr.redundancy-row[data-kind='chiller'][data-scope='site'] .pill")).ToHaveTextAsync(new Regex("^(N|N\\+\\d)$"));
            await Assertions.Expect(page.Locator("#redundancy-table tr.redundancy-row")).ToHaveCountAsync(10);
            // And why, as GET /api/redundancy says it: what is in service against what load.
            await Assertions.Expect(page.Locator("#redundancy-table tr.redundancy-row[data-kind='chiller'][data-scope='site'] .redundancy-said")).ToContainTextAsync(new Regex("^chillers at N(\\+\\d)?: 15\\.0 MW in service \\(of 15\\.0 MW\\) for [\\d.]+ MW of heat on facility water$"));
            // The dry coolers count at the weather: short is possible on a warm day, said as what the chillers make up.
            await Assertions.Expect(page.Locator("#redundancy-table tr.redundancy-row[data-kind='dry-cooler'][data-scope='site'] .pill")).ToHaveTextAsync(new Regex("^(short: the chillers make it up|N|N\\+\\d)$"));
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "flow.png"), FullPage = true });

            await page.ClickAsync("#nav-floor");
            await Assertions.Expect(page.Locator("#floor-map g.rack[data-rack='h1-c03']")).ToBeVisibleAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "floor.png"), FullPage = true });

            // The leak's incident: its page shows the timeline and the root-cause section. A technician has h1-c03
            // locked out meanwhile: the list and the page name it, since the work may be what raised the incident.
            await page.ClickAsync("#nav-incidents");
            var row = page.Locator("tr.incident-row").First;
            await Assertions.Expect(row).ToContainTextAsync("h1-c03");
            Assert.Equal(System.Net.HttpStatusCode.Created, (await Post(http, "/api/lockouts", operatorKey, """{"asset":"h1-c03","reason":"manifold drain"}""")).StatusCode);
            await Assertions.Expect(row.Locator(".locked-out")).ToHaveTextAsync("h1-c03 locked out");
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "incidents.png"), FullPage = true });
            await row.ClickAsync();
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/#incidents/[^/]+$"));
            await Assertions.Expect(page.Locator("#incident-title")).ToContainTextAsync("h1-c03");
            await Assertions.Expect(page.Locator("#incident-lockouts")).ToContainTextAsync(new Regex("^h1-c03 by api:ops since .+, until released: manifold drain$"));
            Assert.Equal(System.Net.HttpStatusCode.OK, (await Post(http, "/api/lockouts/h1-c03/release", operatorKey, """{"reason":"drained"}""")).StatusCode);
            await Assertions.Expect(page.Locator("#incident-lockouts")).ToHaveCountAsync(0);
            await Assertions.Expect(page.Locator("#timeline ol.timeline li").First).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#root-cause h2")).ToHaveTextAsync("Root cause");
            await Assertions.Expect(page.Locator("#signals .signal").First).ToBeVisibleAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "incident.png"), FullPage = true });
            // Each correlated signal's axis tells its ticks apart, a flat line's too: before, the flat GPU power limit
            // read "1.2 kW" at all seven ticks and the flat isolated flag "-0.0" at three.
            Assert.Empty(await ClippedAxisLabels(page));
            var axes = await page.EvaluateAsync<string[][]>(
                "() => [...document.querySelectorAll('#signals .signal')].map((s) => [...s.querySelectorAll('.chart-grid text[text-anchor=end]')].map((t) => t.textContent))");
            Assert.All(axes, labels => Assert.Equal(labels.Length, labels.Distinct().Count()));
            Assert.DoesNotContain(axes.SelectMany(l => l), l => l.StartsWith("-0", StringComparison.Ordinal) && !l.Any(c => c is >= '1' and <= '9'));

            // The admin resolves it from its page with a note: the state moves, the note is on the timeline as theirs.
            await page.FillAsync("#incident-moves input.note", "rack dried and checked on the floor");
            await page.ClickAsync("#incident-moves button.move-resolve");
            await Assertions.Expect(page.Locator("#incident-title .pill.state-resolved")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#timeline ol.timeline li").Last).ToContainTextAsync("rack dried and checked on the floor");
            await Assertions.Expect(page.Locator("#incident-moves")).ToHaveCountAsync(0);

            // An operator proposes isolating the leaking rack over the API; it waits; the admin approves it in the browser.
            // At 60x a high-risk action waits 15 s of wall time for its approver: the page is open before it is proposed.
            await page.ClickAsync("#nav-agent");
            await Assertions.Expect(page.Locator("#audit table")).ToBeVisibleAsync();
            var id = await Propose(http, operatorKey);
            var approve = page.Locator($".pending[data-source='api'][data-id='{id}'] button.approve");
            await Assertions.Expect(approve).ToBeEnabledAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "agent.png"), FullPage = true });
            await approve.ClickAsync();
            await Assertions.Expect(page.Locator($"tr.action-row[data-source='api'][data-id='{id}']")).ToHaveAttributeAsync("data-state", "executed");
            await Assertions.Expect(page.Locator($".pending[data-source='api'][data-id='{id}']")).ToHaveCountAsync(0);
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "agent-approved.png"), FullPage = true });

            var action = (await Actions(http, operatorKey)).Single(a => a.GetProperty("source").GetString() == "api" && a.GetProperty("id").GetString() == id);
            Assert.Equal("executed", action.GetProperty("state").GetString());
            Assert.Contains("chief", action.GetProperty("decided_by").GetString(), StringComparison.Ordinal);
            Assert.Empty(refused);

            await page.ClickAsync("#logout");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/login\\.html$"));

            // An operator sees what waits for approval but is offered no way to approve it.
            await page.FillAsync("#key", operatorKey);
            await page.ClickAsync("#sign-in");
            await Assertions.Expect(page.Locator("#user")).ToContainTextAsync("ops (operator)");
            await page.ClickAsync("#nav-agent");
            var second = await Propose(http, operatorKey, "h1-c04");
            await Assertions.Expect(page.Locator($".pending[data-source='api'][data-id='{second}'] button.approve")).ToBeDisabledAsync();
            Assert.Empty(refused);
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Equal(0, await run);
    }

    [SkippableFact]
    public async Task ASupervisedAgentsLeakRunbook_WaitsOnTheAgentPage_AndAnApproverClickStartsIt()
    {
        // aida run --supervised: the agent on the twin waits for people as on a network site. The leak's runbook (approval:
        // true) shows on the Agent page as a runbook card; one click approves it, and the isolation goes with it. At 60x
        // the runbook waits 15 s of wall time: the page is open before the leak.
        var chromium = PeerProcess.Require("chromium", "chromium");
        var dir = TempDir();
        var adminKey = Invoke("keys", "issue", "chief", "--role", "admin", "--data", dir).Out.Trim();
        using var stop = new CancellationTokenSource();
        var (baseUrl, run) = StartLeakSoon(dir, PanelMove, stop.Token, "--mode", "agent", "--supervised");
        try
        {
            await using var session = await BrowserSession.OpenAsync(baseUrl, run, chromium);
            var (http, page) = (session.Http, session.Page);
            await page.GotoAsync(baseUrl + "/login.html");
            await page.FillAsync("#key", adminKey);
            await page.ClickAsync("#sign-in");
            await Assertions.Expect(page.Locator("#user")).ToContainTextAsync("chief (admin)");
            await page.ClickAsync("#nav-agent");

            var card = page.Locator(".pending.runbook");
            await Assertions.Expect(card).ToContainTextAsync("leak on h1-c03 · runbook leak");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots(), "agent-runbook.png"), FullPage = true });
            await card.Locator("button.approve").ClickAsync();
            await Assertions.Expect(card).ToHaveCountAsync(0);
            var isolation = page.Locator("tr.action-row[data-source='agent'][data-state='executed']", new() { HasText = "isolate_rack" });
            await Assertions.Expect(isolation).ToContainTextAsync("h1-c03");

            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/runbook-runs");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
            using var response = await http.SendAsync(request);
            var leak = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.EnumerateArray().Single(r => r.GetProperty("runbook").GetString() == "leak");
            Assert.Equal(("succeeded", "api:chief"), (leak.GetProperty("state").GetString(), leak.GetProperty("decided_by").GetString()));

            // A person set cdu-h2-e's supply to 21 °C at its panel at 00:10, behind the agent's back: the page lists the
            // dispute, and the admin adopts the read-back with a reason.
            var dispute = page.Locator(".pending.dispute[data-actuator='cdu-h2-e/supply_setpoint']");
            await Assertions.Expect(dispute).ToContainTextAsync("reads back 21 where Aida wrote");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots(), "agent-dispute.png"), FullPage = true });
            await dispute.Locator("button.adopt").ClickAsync();
            await Assertions.Expect(dispute.Locator(".error")).ToHaveTextAsync("Say why: it is audited.");
            await dispute.Locator("input.note").FillAsync("set to 21 at the CDU's panel for a flow test");
            // Regression (session 47, a flaky failure): the page drew the waiting cards again at every audit change (each
            // second at 60x), wiping the reason typed, so the click said "Say why". Two audit changes later it is there.
            for (var i = 0; i < 2; i++)
            {
                var newest = await page.Locator("#audit tr.audit-row td").First.TextContentAsync();
                await Assertions.Expect(page.Locator("#audit tr.audit-row td").First).Not.ToHaveTextAsync(newest!);
            }

            await Assertions.Expect(dispute.Locator("input.note")).ToHaveValueAsync("set to 21 at the CDU's panel for a flow test");
            await dispute.Locator("button.adopt").ClickAsync();
            await Assertions.Expect(dispute).ToHaveCountAsync(0);
            using var disputes = new HttpRequestMessage(HttpMethod.Get, "/api/audit?limit=10000");
            disputes.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
            using var audit = await http.SendAsync(disputes);
            Assert.Contains(JsonDocument.Parse(await audit.Content.ReadAsStringAsync()).RootElement.EnumerateArray(),
                e => e.GetProperty("actor").GetString() == "api:chief" && e.GetProperty("detail").GetString()!.StartsWith("cdu-h2-e/supply_setpoint: adopted the read-back 21", StringComparison.Ordinal));


            // The admin takes the controls back from the agent: a dry run, with a reason (audited); the page shows who and why.
            var mode = page.Locator("#agent-mode");
            await Assertions.Expect(mode).ToHaveAttributeAsync("data-mode", "supervised");
            await mode.Locator("input.note").FillAsync("hands off during the flow test");
            await mode.Locator("button.to-dry-run").ClickAsync();
            await Assertions.Expect(page.Locator("#agent-mode")).ToHaveAttributeAsync("data-mode", "dry-run");
            await Assertions.Expect(page.Locator("#agent-mode")).ToContainTextAsync("set by api:chief: hands off during the flow test");

            // And locks cdu-h2-e out for the flow test's technician: the page lists it (the API refuses every write to it
            // from then on), and releasing it needs a reason.
            await page.Locator("#lockout-asset").FillAsync("cdu-h2-e");
            await page.Locator("#lockout-reason").FillAsync("flow test on the secondary loop");
            await page.Locator("#lockout-for").SelectOptionAsync("4h");
            await page.Locator("#lockout-add").ClickAsync();
            var lockout = page.Locator(".pending.lockout[data-asset='cdu-h2-e']");
            await Assertions.Expect(lockout).ToContainTextAsync("by api:chief since");
            // What it takes from the agent, said under the form: the CDU's own pump failure would be answered on it.
            await Assertions.Expect(page.Locator("#lockout-impact .impact-step").First).ToHaveTextAsync("runbook cdu-pump-failure would set_speed it on its own cdu-pump-failure");
            // And what its hall's other CDUs have left against the day's peak of heat on their coolant.
            await Assertions.Expect(page.Locator("#lockout-capacity")).ToContainTextAsync("Capacity: hall-2's CDUs: 4.0 MW left of 5.0 MW without cdu-h2-e, against a peak of ");
            await Assertions.Expect(lockout).ToContainTextAsync(new System.Text.RegularExpressions.Regex(", until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d: flow test on the secondary loop"));
            var held = System.Text.RegularExpressions.Regex.Match(await lockout.InnerTextAsync(), "since (\\S+ \\S+), until (\\S+ \\S+):");
            Assert.Equal(TimeSpan.FromHours(4), DateTime.Parse(held.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) - DateTime.Parse(held.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            // The flow test takes longer: its end moves to 8 h from the plant's now, the lockout held throughout.
            await lockout.Locator("select.extend-for").SelectOptionAsync("8h");
            await lockout.Locator("button.extend").ClickAsync();
            await Assertions.Expect(lockout.Locator(".lockout-held")).Not.ToContainTextAsync($"until {held.Groups[2].Value}:");
            var extended = System.Text.RegularExpressions.Regex.Match(await lockout.InnerTextAsync(), "until (\\S+ \\S+):");
            Assert.InRange(DateTime.Parse(extended.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - DateTime.Parse(held.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromHours(8), TimeSpan.FromHours(9));
            // The next work is booked ahead: chiller-3's compressor overhaul tomorrow, for 8 h from its start; listed as planned.
            var tomorrow = DateTime.Parse(held.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture).AddDays(1);
            await page.Locator("#lockout-asset").FillAsync("chiller-3");
            await page.Locator("#lockout-from").FillAsync(tomorrow.ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture));
            await page.Locator("#lockout-for").SelectOptionAsync("8h");
            // Asked first, for the work's time: what would locking the only standby chiller out take from the agent?
            await page.Locator("#lockout-check").ClickAsync();
            await Assertions.Expect(page.Locator("#lockout-impact")).ToContainTextAsync("Locking chiller-3 out would leave these runbook steps refused");
            await Assertions.Expect(page.Locator("#lockout-capacity")).ToContainTextAsync("Capacity: chillers: 10.0 MW left of 15.0 MW without chiller-3, against a peak of ");
            await page.Locator("#lockout-reason").FillAsync("compressor overhaul");
            await page.Locator("#lockout-add").ClickAsync();
            var planned = page.Locator(".pending.lockout[data-asset='chiller-3']");
            await Assertions.Expect(planned.Locator(".pill")).ToHaveTextAsync("planned");
            await Assertions.Expect(planned).ToContainTextAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"by api:chief from {tomorrow:yyyy-MM-dd HH:mm}:00, until {tomorrow.AddHours(8):yyyy-MM-dd HH:mm}:00: compressor overhaul"));
            // The only standby chiller: the page says what every chiller trip would then lack.
            await Assertions.Expect(page.Locator("#lockout-impact")).ToContainTextAsync("While chiller-3 is locked out from its start these runbook steps are refused");
            await Assertions.Expect(page.Locator("#lockout-impact .impact-step").First).ToHaveTextAsync("runbook chiller-trip would start_standby it on a chiller-trip of chiller-1 or chiller-2");
            // The overhaul is put off a day: its start moves, its 8 h kept.
            var later = tomorrow.AddDays(1);
            await planned.Locator("input.reschedule-from").FillAsync(later.ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture));
            await planned.Locator("button.reschedule").ClickAsync();
            await Assertions.Expect(planned).ToContainTextAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"by api:chief from {later:yyyy-MM-dd HH:mm}:00, until {later.AddHours(8):yyyy-MM-dd HH:mm}:00: compressor overhaul"));
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots(), "agent-lockout.png"), FullPage = true });
            await Assertions.Expect(planned.Locator("button.release")).ToHaveTextAsync("Call off");
            await planned.Locator("input.note").FillAsync("parts late");
            await planned.Locator("button.release").ClickAsync();
            await Assertions.Expect(planned).ToHaveCountAsync(0);
            await lockout.Locator("button.release").ClickAsync();
            await Assertions.Expect(lockout.Locator(".error")).ToHaveTextAsync("Say why: it is audited.");
            await lockout.Locator("input.note").FillAsync("flow test done");
            await lockout.Locator("button.release").ClickAsync();
            await Assertions.Expect(lockout).ToHaveCountAsync(0);
            await Assertions.Expect(page.Locator("#no-lockouts")).ToBeVisibleAsync();
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Equal(0, await run);
    }

    [SkippableFact]
    public async Task ANetworkSitesOverview_CountsItsFieldDevices_ListsOneFoundRestarted_AndThemDownOnceTheTwinStops()
    {
        // aida twin serve over loopback and aida run --plant network on its site file: the overview's tile counts the
        // devices answering; CDU h1-a's controller, restarted by the twin 20 plant minutes in (20 s) with no poll failing,
        // is listed as found restarted, with its uptime's evidence; once the twin stops, each is listed down with since when.
        var chromium = PeerProcess.Require("chromium", "chromium");
        var dir = TempDir();
        var adminKey = Invoke("keys", "issue", "chief", "--role", "admin", "--data", dir).Out.Trim();
        var siteFile = Path.Combine(TempDir(), "twin.yaml");
        using var stopTwin = new CancellationTokenSource();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(() => AidaCommand.RunAsync(
            ["twin", "serve", "--base-port", "0", "--speed", "60", "--status-every", "1h", "--write-site", siteFile, "--restart", "modbus-cdu-h1-a@20m"], TextWriter.Null, TextWriter.Null, stopTwin.Token));
        var port = FreePort();
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMilliseconds(WaitMs);
            while (!(File.Exists(siteFile) && new FileInfo(siteFile).Length > 0))
            {
                Assert.True(DateTime.UtcNow < deadline && !serving.IsCompleted, "aida twin serve wrote no site file");
                await Task.Delay(50);
            }

            var run = Task.Run(() => AidaCommand.RunAsync(
                ["run", "--plant", "network", "--site", siteFile, "--status-every", "1h", "--data", dir, "--api", $"127.0.0.1:{port}"],
                TextWriter.Null, TextWriter.Null, stop.Token));
            await using var session = await BrowserSession.OpenAsync($"http://127.0.0.1:{port}", run, chromium);
            var page = session.Page;
            page.PageError += (_, e) => Assert.Fail(e);
            await page.GotoAsync($"http://127.0.0.1:{port}/login.html");
            await page.FillAsync("#key", adminKey);
            await page.ClickAsync("#sign-in");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/#overview$"));
            var collectors = SiteFileCollectors(siteFile);
            await Assertions.Expect(page.Locator("#devices")).ToHaveTextAsync($"{collectors} / {collectors}");
            await Assertions.Expect(page.Locator("#devices-note")).ToHaveTextAsync("0 down · 1 found restarted");
            var restarted = page.Locator("#device-list tr.device-row[data-device='modbus-cdu-h1-a']");
            await Assertions.Expect(restarted).ToHaveAttributeAsync("data-up", "true");
            await Assertions.Expect(restarted.Locator("td").Nth(4)).ToHaveTextAsync("1");
            await Assertions.Expect(restarted.Locator("td").Nth(5)).ToContainTextAsync(new Regex(@"^was found restarted at .+ \(its uptime read \d+ s, "));

            // (A device whose first poll failed on the loaded machine is listed as back: answering, with why.)
            await Assertions.Expect(page.Locator("#device-list tr.device-row[data-up='false']")).ToHaveCountAsync(0);
            var card = (await page.Locator("#device-list").Locator("..").BoundingBoxAsync())!;
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots(), "overview-device-restarted.png"), FullPage = true, Clip = new() { X = card.X, Y = card.Y, Width = card.Width, Height = Math.Min(card.Height, 240) } });

            await stopTwin.CancelAsync();
            Assert.Equal(AidaCommand.Ok, await serving);
            await Assertions.Expect(page.Locator("#devices")).ToHaveTextAsync($"0 / {collectors}");
            await Assertions.Expect(page.Locator("#device-list tr.device-row[data-up='false']")).ToHaveCountAsync(collectors);
            await Assertions.Expect(page.Locator("#device-list tr.device-row").First).ToContainTextAsync("down since");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots(), "overview-devices-down.png") });
        }
        finally
        {
            await stopTwin.CancelAsync();
            await stop.CancelAsync();
        }
    }

    /// <summary>How many collectors a site file lists.</summary>
    private static int SiteFileCollectors(string siteFile) => File.ReadLines(siteFile).Count(l => l.StartsWith("  - type: ", StringComparison.Ordinal));

    /// <summary>A person at cdu-h2-e's panel sets its supply to 21 °C at 00:10 (a scenario's scheduled write).</summary>
    internal const string PanelMove = "writes:\n  - {at: 10m, actuator: cdu-h2-e/supply_setpoint, value: 21}\n";

    /// <summary>Starts <c>aida run</c> on <see cref="LeakSoon"/> (and <paramref name="panelMove"/>) at 60x with its data in
    /// <paramref name="dir"/> and the dashboard on a free loopback port, with <paramref name="mode"/>'s arguments.</summary>
    private static (string BaseUrl, Task<int> Run) StartLeakSoon(string dir, string? panelMove, CancellationToken stop, params string[] mode)
    {
        var port = FreePort();
        var run = Task.Run(() => AidaCommand.RunAsync(
            ["run", "--scenario", LeakSoon(panelMove), .. mode, "--speed", "60", "--status-every", "1h", "--data", dir, "--api", $"127.0.0.1:{port}"],
            TextWriter.Null, TextWriter.Null, stop));
        return ($"http://127.0.0.1:{port}", run);
    }

    /// <summary>A client of the run's API and a page in headless chromium, opened once the run answers.</summary>
    private sealed class BrowserSession(HttpClient http, Aida.Server.Tests.ChromiumPage chromium) : IAsyncDisposable
    {
        public HttpClient Http => http;

        public IPage Page => chromium.Page;

        public static async Task<BrowserSession> OpenAsync(string baseUrl, Task<int> run, string chromium)
        {
            var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
            await UntilUp(http, run);
            return new BrowserSession(http, await Aida.Server.Tests.ChromiumPage.OpenAsync(chromium, WaitMs));
        }

        public async ValueTask DisposeAsync()
        {
            await chromium.DisposeAsync();
            http.Dispose();
        }
    }

    /// <summary>The bundled leak scenario with its leak 5 plant minutes after the run's incident warm-up instead of 2 h
    /// in, so that at 60x its incident opens within about 40 s.</summary>
    internal static string LeakSoon(string? more = null)
    {
        var text = File.ReadAllText(Path.Combine(Root, "scenarios", "faults", "leak.yaml"));
        Assert.Contains("start: 2h,", text, StringComparison.Ordinal);
        var start = (LiveTelemetry.IncidentWarmUp + TimeSpan.FromMinutes(5)).TotalMinutes;
        return Scratch(text.Replace("start: 2h,", FormattableString.Invariant($"start: {start}m,"), StringComparison.Ordinal) + more);
    }

    private static string Screenshots() => Aida.Server.Tests.ChromiumPage.Screenshots(TempDir);

    private static async Task<string> Propose(HttpClient http, string key, string rack = "h1-c03")
    {
        using var response = await Post(http, "/api/actions", key, $$"""{"kind":"isolate_rack","asset":"{{rack}}","value":1,"reason":"coolant under {{rack}}"}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var action = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("pending_approval", action.GetProperty("state").GetString());
        return action.GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement[]> Actions(HttpClient http, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/actions");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        return [.. JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    /// <summary>The value-axis labels of the page's charts that stick out of their chart at the left.</summary>
    private static Task<string[]> ClippedAxisLabels(IPage page) => page.EvaluateAsync<string[]>(
        "() => [...document.querySelectorAll('.chart-grid text[text-anchor=end]')].filter((t) => t.getBBox().x < 0).map((t) => t.textContent)");
}
