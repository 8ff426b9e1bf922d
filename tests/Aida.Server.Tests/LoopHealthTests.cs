using System.Net;
using System.Text.Json;
using Aida.Server.Api;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Server.Tests;

/// <summary>Whether the run's control loop still steps, for a liveness probe, a site's alerting and the run's log: before,
/// <c>/healthz</c> answered ok for as long as the process served, with nothing operating the plant.</summary>
public sealed class LoopHealthTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-12-07T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private static readonly DateTimeOffset PlantTime = DateTimeOffset.Parse("2025-07-01T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void TheLoop_IsStalled_OnlyOnceItHasMadeNoStepForTheStallTime_AndTheLogIsToldOnceEachWay()
    {
        var wall = new FakeTimeProvider(Start);
        var heartbeat = new LoopHeartbeat(wall, TimeSpan.FromSeconds(60));

        // Starting: no step yet, but not stalled until the stall time has passed since the loop started.
        wall.Advance(TimeSpan.FromSeconds(59));
        Assert.False(heartbeat.Now().Stalled);
        Assert.StartsWith("starting: no step yet", heartbeat.Now().Said, StringComparison.Ordinal);
        Assert.Null(heartbeat.Changed());
        wall.Advance(TimeSpan.FromSeconds(1));
        Assert.True(heartbeat.Now().Stalled);
        Assert.Equal("aida run: stalled: the control loop has made no step in the 60 s since it started at 2026-12-07T10:00:00Z; nothing operates the plant", heartbeat.Changed());

        heartbeat.Beat(PlantTime, TimeSpan.FromSeconds(12.5));
        var stepping = heartbeat.Now();
        Assert.Equal((false, 1L, Start.AddSeconds(60), PlantTime, 12.5), (stepping.Stalled, stepping.Beats, stepping.LastBeat, stepping.PlantTime, stepping.BehindSeconds));
        Assert.Equal("aida run: the control loop steps again (stalled since 2026-12-07T10:00:00Z): stepping: the last step 0.0 s ago, plant time 2025-07-01T03:00:00Z, 12.5 s behind its schedule", heartbeat.Changed());
        Assert.Null(heartbeat.Changed());

        // A step every 59.9 s is alive; 60 s without one is not, and is said once.
        for (var i = 0; i < 5; i++)
        {
            wall.Advance(TimeSpan.FromSeconds(59.9));
            Assert.False(heartbeat.Now().Stalled);
            heartbeat.Beat(PlantTime.AddSeconds(i), TimeSpan.Zero);
        }

        Assert.Null(heartbeat.Changed());
        wall.Advance(TimeSpan.FromSeconds(60));
        var stalled = heartbeat.Now();
        Assert.True(stalled.Stalled);
        Assert.Equal("stalled: the control loop has made no step for 60 s (the last at 2026-12-07T10:05:59Z, plant time 2025-07-01T03:00:04Z); nothing operates the plant", stalled.Said);
        Assert.NotNull(heartbeat.Changed());
        wall.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(heartbeat.Changed());
        Assert.Throws<ArgumentOutOfRangeException>(() => new LoopHeartbeat(wall, TimeSpan.Zero));
    }

    [Fact]
    public void ATwinSteppingSlowerThanItsSpeed_IsSaidOnceToFallBehind_InWallTime_AndOnceToCatchUp()
    {
        var wall = new FakeTimeProvider(Start);
        var heartbeat = new LoopHeartbeat(wall, TimeSpan.FromSeconds(60)) { Speed = 600 };
        heartbeat.Beat(PlantTime, TimeSpan.Zero);
        Assert.Null(heartbeat.Changed());

        // 29 s of wall time behind at 600x is 4.8 plant hours: still keeping up, by the wall clock.
        wall.Advance(TimeSpan.FromSeconds(5));
        heartbeat.Beat(PlantTime.AddSeconds(2000), TimeSpan.FromSeconds(600 * 29));
        Assert.False(heartbeat.Now().Lagging);
        Assert.Null(heartbeat.Changed());

        // 31 s behind: lagging, said once with how fast it steps (3,000 plant seconds in the 5 s since the look before).
        wall.Advance(TimeSpan.FromSeconds(5));
        heartbeat.Beat(PlantTime.AddSeconds(5000), TimeSpan.FromSeconds(600 * 31));
        var lagging = heartbeat.Now();
        Assert.True(lagging.Lagging);
        Assert.False(lagging.Stalled);
        Assert.Equal("aida run: the control loop falls behind its schedule: 5.2 h of plant time behind at 600x; it stepped 600 plant seconds a second since the look before (a slower --speed keeps up on this machine)", heartbeat.Changed());
        wall.Advance(TimeSpan.FromSeconds(5));
        heartbeat.Beat(PlantTime.AddSeconds(6000), TimeSpan.FromSeconds(600 * 40));
        Assert.Null(heartbeat.Changed());

        heartbeat.Beat(PlantTime.AddSeconds(7000), TimeSpan.Zero);
        Assert.StartsWith("aida run: the control loop has caught up with its schedule: stepping:", heartbeat.Changed(), StringComparison.Ordinal);
        Assert.Null(heartbeat.Changed());
    }

    [Fact]
    public async Task Healthz_Answers503_OnceTheLoopStalls_EvenWhileTheWedgedLoopHoldsThePlantsLock_And200WhenItStepsAgain()
    {
        var wall = new FakeTimeProvider(Start);
        var heartbeat = new LoopHeartbeat(wall, LoopHeartbeat.DefaultStalledAfter);
        await using var server = await TestServer.StartAsync(heartbeat: heartbeat);
        heartbeat.Beat(PlantTime, TimeSpan.Zero);

        using (var ok = await server.Http.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            var body = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("ok", body.GetProperty("status").GetString());
            Assert.Equal(PlantTime, body.GetProperty("loop").GetProperty("plant_time").GetDateTimeOffset());
            Assert.Equal(60, body.GetProperty("loop").GetProperty("stalled_after_seconds").GetDouble());
        }

        // The loop wedged while stepping the plant: it holds the plant's lock and makes no step for a minute.
        using (WedgedLoop.Holding(server.Context.Gate))
        {
            wall.Advance(TimeSpan.FromSeconds(61));
            using var stalled = await server.Http.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, stalled.StatusCode);
            var body = JsonDocument.Parse(await stalled.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("stalled", body.GetProperty("status").GetString());
            Assert.Equal("stalled: the control loop has made no step for 61 s (the last at 2026-12-07T10:00:00Z, plant time 2025-07-01T03:00:00Z); nothing operates the plant",
                body.GetProperty("detail").GetString());
        }

        // Unwedged: /metrics says it too, then the loop steps again.
        var metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains("aida_loop_stalled 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("aida_loop_steps_total 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("aida_loop_last_step_age_seconds 61\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"aida_loop_plant_time_seconds {PlantTime.ToUnixTimeSeconds()}\n", metrics, StringComparison.Ordinal);
        heartbeat.Beat(PlantTime.AddSeconds(1), TimeSpan.FromSeconds(3));
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/healthz")).StatusCode);
        metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains("aida_loop_stalled 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("aida_loop_behind_seconds 3\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithTheLoopStalledHoldingThePlantsLock_TheOverviewAndMetricsServeWhatTheyLastRead_AndCallsThatNeedTheLockAre503()
    {
        // Before, every call that read the plant waited on its lock with no end: the overview (whose banner says the loop
        // stalled), most of /metrics and a person's approval hung for as long as the loop stayed wedged.
        var wall = new FakeTimeProvider(Start);
        var heartbeat = new LoopHeartbeat(wall, LoopHeartbeat.DefaultStalledAfter);
        await using var server = await TestServer.StartWithAgentAsync(heartbeat);
        heartbeat.Beat(PlantTime, TimeSpan.Zero);
        var (viewer, op) = (server.Keys[Aida.Server.Access.Role.Viewer], server.Keys[Aida.Server.Access.Role.Operator]);

        // The leak's runbook waits for a person's go-ahead: read under the lock while the loop lives.
        var overview = await TestServer.Json(await server.Send(HttpMethod.Get, "/api/overview", viewer));
        Assert.Equal((1, 0), (overview.GetProperty("pending_runbooks").GetInt32(), overview.GetProperty("stale").GetArrayLength()));
        Assert.Contains("aida_agent_mode{mode=\"supervised\"} 1\n", await server.Http.GetStringAsync("/metrics"), StringComparison.Ordinal);

        using (WedgedLoop.Holding(server.Context.Gate))
        {
            // Asked while the loop still counts as alive, a call waits for the lock; once the loop is said to stall it
            // is answered, and changes nothing.
            var waiting = server.Send(HttpMethod.Get, "/api/lockouts", viewer);
            wall.Advance(TimeSpan.FromSeconds(61));
            using (var refused = await waiting.WaitAsync(TimeSpan.FromSeconds(60)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                var problem = await TestServer.Json(refused);
                Assert.Equal("control loop stalled", problem.GetProperty("title").GetString());
                Assert.Equal("the control loop holds the plant's lock and has stalled (stalled: the control loop has made no step for 61 s (the last at 2026-12-07T10:00:00Z, plant time 2025-07-01T03:00:00Z); nothing operates the plant): nothing was read or changed; try again once /healthz answers 200",
                    problem.GetProperty("detail").GetString());
            }

            // A person's action is refused, and the refusal audited; nothing is proposed.
            var proposed = server.Context.Actions.Records.Count;
            using (var action = await server.Send(HttpMethod.Post, "/api/actions", op, """{"kind":"set_speed","asset":"cdu-h1-b","value":0.9,"reason":"trim"}"""))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, action.StatusCode);
            }

            Assert.Equal(proposed, server.Context.Actions.Records.Count);
            var audited = server.Context.Audit.Last(1, null, null).Single();
            Assert.Equal(("api:operator-1", "/api/actions"), (audited.Actor, audited.Subject));
            Assert.StartsWith("refused: propose an action: the control loop holds the plant's lock and has stalled", audited.Detail, StringComparison.Ordinal);

            // The overview answers, its banner says why, and the figure it could not read is served as last read.
            overview = await TestServer.Json(await server.Send(HttpMethod.Get, "/api/overview", viewer));
            Assert.Equal(1, overview.GetProperty("pending_runbooks").GetInt32());
            Assert.Equal(["pending_runbooks"], overview.GetProperty("stale").EnumerateArray().Select(e => e.GetString()));
            Assert.StartsWith("control loop stalled: ", overview.GetProperty("trouble")[0].GetString(), StringComparison.Ordinal);

            // /metrics answers whole: the loop's stall, and the agent's mode and the disputes as last read.
            var metrics = await server.Http.GetStringAsync("/metrics");
            Assert.Contains("aida_loop_stalled 1\n", metrics, StringComparison.Ordinal);
            Assert.Contains("aida_agent_mode{mode=\"supervised\"} 1\n", metrics, StringComparison.Ordinal);
            Assert.Contains("aida_safety_disputes 0\n", metrics, StringComparison.Ordinal);
            Assert.Contains("aida_incidents{state=", metrics, StringComparison.Ordinal);

            // An AI agent over MCP is told the same, as the tool's error.
            await using var client = await ModelContextProtocol.Client.McpClient.CreateAsync(new ModelContextProtocol.Client.HttpClientTransport(new ModelContextProtocol.Client.HttpClientTransportOptions
            {
                Endpoint = new Uri(new Uri(server.App.Urls.First()), "/mcp"),
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + viewer },
            }));
            var mode = await client.CallToolAsync("get_agent_mode", new Dictionary<string, object?>());
            Assert.True(mode.IsError);
            Assert.Contains("the control loop holds the plant's lock and has stalled", string.Concat(mode.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text)), StringComparison.Ordinal);
        }

        // Unwedged and stepping: the calls are served again, from the plant.
        heartbeat.Beat(PlantTime.AddSeconds(1), TimeSpan.Zero);
        Assert.Equal(HttpStatusCode.OK, (await server.Send(HttpMethod.Get, "/api/lockouts", viewer)).StatusCode);
        overview = await TestServer.Json(await server.Send(HttpMethod.Get, "/api/overview", viewer));
        Assert.Equal(0, overview.GetProperty("stale").GetArrayLength());
    }

    [Fact]
    public async Task TheOverview_SaysWhatKeepsAidaFromItsJob_ALaggingLoopAndWhatItsDiskRefuses_ForTheDashboardsBanner()
    {
        var wall = new FakeTimeProvider(Start);
        var heartbeat = new LoopHeartbeat(wall, LoopHeartbeat.DefaultStalledAfter) { Speed = 600 };
        IReadOnlyList<string> unwritten = ["the audit log: 3 entries held since 2025-07-01T03:00:00Z (SQLite Error 13: 'database or disk is full'.)"];
        await using var server = await TestServer.StartAsync(heartbeat: heartbeat, dataNotWritten: () => unwritten);
        var key = server.Keys[Aida.Server.Access.Role.Viewer];
        async Task<string[]> Trouble()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/overview");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            using var response = await server.Http.SendAsync(request);
            return [.. JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("trouble").EnumerateArray().Select(t => t.GetString()!)];
        }

        heartbeat.Beat(PlantTime, TimeSpan.FromSeconds(600 * 45));
        Assert.Equal(
            ["control loop stepping: the last step 0.0 s ago, plant time 2025-07-01T03:00:00Z, 27000 s behind its schedule", "not written: " + unwritten[0]],
            await Trouble());

        heartbeat.Beat(PlantTime.AddSeconds(10), TimeSpan.Zero);
        unwritten = [];
        Assert.Empty(await Trouble());
    }

    [Fact]
    public async Task Metrics_SayTheProcessesOwnFigures_UnderTheNamesPrometheusClientsGiveThem()
    {
        await using var server = await TestServer.StartAsync();
        var metrics = await server.Http.GetStringAsync("/metrics");
        var started = double.Parse(Assert.Single(metrics.Split('\n'), l => l.StartsWith("process_start_time_seconds ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        Assert.Equal(new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0, started, 3);
        Assert.Matches(@"\nprocess_resident_memory_bytes [1-9]\d{6,}\n", metrics);
        Assert.Matches(@"\nprocess_cpu_seconds_total \d+(\.\d+)?\n", metrics);
        Assert.Matches(@"\nprocess_open_fds [1-9]\d*\n", metrics);
        Assert.Matches(@"\ndotnet_gc_heap_size_bytes [1-9]\d*\n", metrics);
        Assert.Contains("# TYPE process_cpu_seconds_total counter\n", metrics, StringComparison.Ordinal);
        // No run's loop behind this server: no loop figures, and /healthz says only that it answers.
        Assert.DoesNotContain("aida_loop_", metrics, StringComparison.Ordinal);
        Assert.Equal("""{"status":"ok"}""", await server.Http.GetStringAsync("/healthz"));
    }
}
