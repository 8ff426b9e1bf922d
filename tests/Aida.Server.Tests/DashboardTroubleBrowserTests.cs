using Aida.Server.Access;
using Aida.Server.Api;
using Aida.Telemetry.Tests.Peers;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;

namespace Aida.Server.Tests;

/// <summary>The dashboard's banner in headless Chromium (Debian's, driven by Playwright): what keeps Aida from its job is
/// shown on every page, the control loop wedged while holding the plant's lock included; the figures then served as last
/// read, and audit entries held in memory on a full disk, are marked.</summary>
public sealed class DashboardTroubleBrowserTests
{
    private const float WaitMs = 60_000;

    [SkippableFact]
    public async Task TheBanner_SaysTheLoopStalled_WhileItHoldsThePlantsLock_AndWhatTheDiskRefuses_AndGoesWhenAllIsWell()
    {
        var chromium = PeerProcess.Require("chromium", "chromium");
        var wall = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var heartbeat = new LoopHeartbeat(wall, LoopHeartbeat.DefaultStalledAfter);
        IReadOnlyList<string> unwritten = [];
        using var disk = Aida.Telemetry.Tests.Storage.SmallDisk.Mount(4096);
        await using var server = await TestServer.StartWithAgentAsync(heartbeat, () => unwritten, Path.Combine(disk.Path, "data"));
        heartbeat.Beat(server.Sim!.Clock.GetUtcNow(), TimeSpan.Zero);

        await using var chromiumPage = await ChromiumPage.OpenAsync(chromium, WaitMs);
        var page = chromiumPage.Page;
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);

        var baseUrl = server.App.Urls.First();
        await page.GotoAsync(baseUrl + "/");
        await page.FillAsync("#key", server.Keys[Role.Viewer]);
        await page.ClickAsync("#sign-in");
        await Assertions.Expect(page.Locator("#user")).ToContainTextAsync("viewer-1 (viewer)");
        var banner = page.Locator("#trouble");
        await Assertions.Expect(page.Locator("#plant-time")).ToContainTextAsync("leak · agent");
        await Assertions.Expect(banner).ToBeHiddenAsync();

        // The loop wedged holding the plant's lock, a minute without a step, and the audit log's disk full.
        using (WedgedLoop.Holding(server.Context.Gate))
        {
            wall.Advance(TimeSpan.FromSeconds(61));
            unwritten = ["the audit log: 3 entries held since 2025-07-01T00:38:00Z (SQLite Error 13: 'database or disk is full'.)"];
            await Assertions.Expect(banner).ToBeVisibleAsync();
            await Assertions.Expect(banner.Locator("div")).ToHaveTextAsync([
                "control loop stalled: the control loop has made no step for 61 s (the last at 2026-12-07T10:00:00Z, plant time 2025-07-01T00:38:00Z); nothing operates the plant",
                "not written: " + unwritten[0],
            ]);
            Assert.Equal("alert", await banner.GetAttributeAsync("role"));
            // The runbooks waiting are read under the lock: shown as last read.
            await Assertions.Expect(page.Locator("#open-work-note")).ToContainTextAsync("runbooks waiting as last read");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots(), "trouble.png"), FullPage = true });

            // An operator's action meanwhile is refused; its audit entry, on a full disk, is held, and the Agent page
            // lists it as such.
            var filler = disk.FillUp();
            using (var refused = await server.Send(HttpMethod.Post, "/api/actions", server.Keys[Role.Operator], """{"kind":"set_speed","asset":"cdu-h1-b","value":0.9,"reason":"trim"}"""))
            {
                Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            }

            await page.ClickAsync("#nav-agent");
            var held = page.Locator("#audit tr.audit-row.held");
            await Assertions.Expect(held).ToHaveCountAsync(1);
            await Assertions.Expect(held.Locator(".detail")).ToContainTextAsync("refused: propose an action: the control loop holds the plant's lock");
            await Assertions.Expect(held.Locator(".pill.held")).ToHaveTextAsync("held");
            // What it cannot read now is said so, not shown as nothing waiting or no agent (the leak's runbook waits).
            await Assertions.Expect(page.Locator("#pending-unread")).ToContainTextAsync("The runbooks waiting and the disputes could not be read: the control loop holds the plant's lock");
            await Assertions.Expect(page.Locator("#no-pending")).ToHaveCountAsync(0);
            await Assertions.Expect(page.Locator("#mode-unread")).ToContainTextAsync("The agent's mode could not be read: the control loop holds the plant's lock");
            await Assertions.Expect(page.Locator("#lockouts-unread")).ToContainTextAsync("The lockouts could not be read: the control loop holds the plant's lock");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots(), "trouble-agent.png"), FullPage = true });
            File.Delete(filler);
        }

        heartbeat.Beat(server.Sim.Clock.GetUtcNow(), TimeSpan.Zero);
        unwritten = [];
        await Assertions.Expect(banner).ToBeHiddenAsync();
        // The loop back, the page reads the plant again at the next audit change: the leak's runbook waits.
        server.Context.Audit.Append("api:admin-1", Aida.Automation.Audit.AuditKind.Observation, "test", "the loop steps again");
        await Assertions.Expect(page.Locator("#pending .runbook-card, #pending [data-key^='runbook']").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#pending-unread")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#lockouts-unread")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#no-lockouts")).ToBeVisibleAsync();
        Assert.Empty(errors);
    }

    private static string Screenshots() => ChromiumPage.Screenshots(() => Path.Combine(Path.GetTempPath(), "aida-server-tests", "screenshots"));
}
