using System.Net;
using System.Text.Json;
using Aida.Server.Access;
using ModelContextProtocol.Client;

namespace Aida.Server.Tests;

/// <summary>Lockout/tagout over the API: an operator takes an asset out of Aida's hands, nothing is written to it until
/// they (or an approver) release it, and every step and refusal is audited.</summary>
public sealed class LockoutApiTests
{
    [Fact]
    public async Task AnOperatorLocksACduOut_AnApprovedWriteToItIsRefused_AndOnlyTheyOrAnApproverReleaseIt()
    {
        await using var server = await TestServer.StartAsync();
        var keys = server.Keys;
        var other = server.Context.Keys.Issue("operator-2", Role.Operator);

        // A viewer may not lock out; bad requests name the field.
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Send(HttpMethod.Post, "/api/lockouts", keys[Role.Viewer], """{"asset":"cdu-h1-a","reason":"x"}""")).StatusCode);
        var unknown = await server.Send(HttpMethod.Post, "/api/lockouts", keys[Role.Operator], """{"asset":"cdu-h9-z","reason":"x"}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("asset: unknown asset 'cdu-h9-z'", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var past = await server.Send(HttpMethod.Post, "/api/lockouts", keys[Role.Operator], """{"asset":"cdu-h1-a","reason":"x","until":"2020-01-01T00:00:00Z"}""");
        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.Contains("until: until 2020-01-01 00:00:00Z is not after now", await past.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Send(HttpMethod.Post, "/api/lockouts", keys[Role.Operator], """{"asset":"cdu-h1-a"}""")).StatusCode);

        var now = server.Sim!.Clock.GetUtcNow();
        var locked = await server.Send(HttpMethod.Post, "/api/lockouts", keys[Role.Operator], $$"""{"asset":"cdu-h1-a","reason":"pump 2 seal","until":"{{now.AddHours(4):O}}"}""");
        Assert.Equal(HttpStatusCode.Created, locked.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await server.Send(HttpMethod.Post, "/api/lockouts", keys[Role.Approver], """{"asset":"cdu-h1-a","reason":"x"}""")).StatusCode);
        var listed = Assert.Single((await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts", keys[Role.Viewer]))).EnumerateArray());
        Assert.Equal(("cdu-h1-a", "api:operator-1", "pump 2 seal"), (listed.GetProperty("asset").GetString(), listed.GetProperty("by").GetString(), listed.GetProperty("reason").GetString()));
        Assert.Equal(now.AddHours(4), listed.GetProperty("until").GetDateTimeOffset());
        var metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains("aida_lockouts 1\n", metrics, StringComparison.Ordinal);
        // Its start and end, for a site's rule on a lockout forgotten (held for days with no end).
        var since = listed.GetProperty("since").GetDateTimeOffset();
        Assert.Contains($"aida_lockout_since_seconds{{asset=\"cdu-h1-a\",by=\"api:operator-1\"}} {since.ToUnixTimeSeconds()}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"aida_lockout_until_seconds{{asset=\"cdu-h1-a\"}} {now.AddHours(4).ToUnixTimeSeconds()}\n", metrics, StringComparison.Ordinal);

        // An action on it is refused by the guard, whoever proposes it: it never reaches the plant.
        var proposed = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/actions", keys[Role.Admin], """{"kind":"set_speed","asset":"cdu-h1-a","value":0.9,"reason":"trim"}"""));
        Assert.Equal("refused", proposed.GetProperty("state").GetString());
        Assert.Contains("cdu-h1-a is locked out by api:operator-1", proposed.GetProperty("outcome").GetString(), StringComparison.Ordinal);

        // Another operator may not release it (audited); the one who locked it out, or an approver, may.
        var refused = await server.Send(HttpMethod.Post, "/api/lockouts/cdu-h1-a/release", other, """{"reason":"looks done"}""");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("only api:operator-1 or an approver releases it", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Send(HttpMethod.Post, "/api/lockouts/cdu-h1-b/release", keys[Role.Operator], """{"reason":"x"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Send(HttpMethod.Post, "/api/lockouts/cdu-h1-a/release", keys[Role.Operator], """{"reason":"seal replaced"}""")).StatusCode);
        Assert.Empty((await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts", keys[Role.Viewer]))).EnumerateArray());

        var audit = server.Context.Audit.Read().Where(e => e.Subject == "lockouts").Select(e => (e.Actor, e.Detail)).ToList();
        Assert.Equal(3, audit.Count);
        Assert.StartsWith("cdu-h1-a is locked out by api:operator-1 since ", audit[0].Detail, StringComparison.Ordinal);
        Assert.Equal("api:operator-2", audit[1].Actor);
        Assert.StartsWith("refused: releasing cdu-h1-a: ", audit[1].Detail, StringComparison.Ordinal);
        Assert.StartsWith("cdu-h1-a released (seal replaced)", audit[2].Detail, StringComparison.Ordinal);

        // The history over the API: the lockouts' entries, and one person's.
        var history = (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/audit?subject=lockouts", keys[Role.Viewer]))).EnumerateArray().ToList();
        Assert.Equal(audit.Select(a => a.Detail), history.Select(e => e.GetProperty("detail").GetString()));
        var theirs = Assert.Single((await TestServer.Json(await server.Send(HttpMethod.Get, "/api/audit?actor=api:operator-2", keys[Role.Viewer]))).EnumerateArray());
        Assert.StartsWith("refused: releasing cdu-h1-a: ", theirs.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var last = Assert.Single((await TestServer.Json(await server.Send(HttpMethod.Get, "/api/audit?subject=lockouts&limit=1", keys[Role.Viewer]))).EnumerateArray());
        Assert.StartsWith("cdu-h1-a released", last.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALockoutFor4h_EndsFourPlantHoursFromNow_AndItsEndMoves_AndForWithUntilOrNoDurationIsRefusedNamingIt()
    {
        // The dashboard's "for 4 h": counted from the plant's clock, which a twin at --speed runs ahead of the wall's.
        await using var server = await TestServer.StartAsync();
        var operatorKey = server.Keys[Role.Operator];
        var now = server.Sim!.Clock.GetUtcNow();

        var both = await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, $$"""{"asset":"chiller-2","reason":"x","for":"4h","until":"{{now.AddHours(1):O}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
        Assert.Contains("for: give until (an end) or for (how long from now), not both", await both.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        foreach (var bad in new[] { "4 hours", "0s", "-1h" })
        {
            var refused = await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, $$"""{"asset":"chiller-2","reason":"x","for":"{{bad}}"}""");
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains($"for: '{bad}' is not a duration above zero", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Empty(server.Context.Actions.Plant.Lockouts.Held);
        var locked = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, """{"asset":"chiller-2","reason":"condenser tubes","for":"4h"}"""));
        Assert.Equal(now.AddHours(4), locked.GetProperty("until").GetDateTimeOffset());
        Assert.Equal(now.AddHours(4), Assert.Single(server.Context.Actions.Plant.Lockouts.Held).Until);

        // The work takes longer: its end moves, the lockout held throughout; only they or an approver move it.
        var other = server.Context.Keys.Issue("operator-2", Role.Operator);
        var notTheirs = await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/extend", other, """{"for":"2h"}""");
        Assert.Equal(HttpStatusCode.Forbidden, notTheirs.StatusCode);
        Assert.Contains("only api:operator-1 or an approver changes its end", await notTheirs.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Send(HttpMethod.Post, "/api/lockouts/chiller-1/extend", operatorKey, """{"for":"2h"}""")).StatusCode);
        var nothing = await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/extend", operatorKey, "{}");
        Assert.Equal(HttpStatusCode.BadRequest, nothing.StatusCode);
        Assert.Contains("until: give the new end", await nothing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var before = await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/extend", operatorKey, $$"""{"until":"{{now.AddHours(-1):O}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, before.StatusCode);
        Assert.Contains("until: until ", await before.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var extended = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/extend", operatorKey, """{"for":"6h"}"""));
        Assert.Equal((now.AddHours(6), "api:operator-1"), (extended.GetProperty("until").GetDateTimeOffset(), extended.GetProperty("by").GetString()));
        var approver = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/extend", server.Keys[Role.Approver], $$"""{"until":"{{now.AddHours(8):O}}"}"""));
        Assert.Equal(now.AddHours(8), approver.GetProperty("until").GetDateTimeOffset());
        Assert.Contains(server.Context.Audit.Read(), e => e.Subject == "lockouts" && e.Detail.StartsWith("refused: changing the end of chiller-2's lockout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheNextJobOnAnAsset_IsBookedWhileOneHolds_NeitherRunningIntoTheOther_AndEachNamedByItsStart()
    {
        // chiller-2's tubes for 4 h from now; its oil change booked for the 2 h after.
        await using var server = await TestServer.StartAsync();
        var operatorKey = server.Keys[Role.Operator];
        var now = server.Sim!.Clock.GetUtcNow();
        Assert.Equal(HttpStatusCode.Created, (await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, """{"asset":"chiller-2","reason":"condenser tubes","for":"4h"}""")).StatusCode);
        var oil = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, $$"""{"asset":"chiller-2","reason":"oil change","from":"{{now.AddHours(4):O}}","for":"2h"}"""));
        Assert.Equal(("planned", now.AddHours(4)), (oil.GetProperty("state").GetString(), oil.GetProperty("since").GetDateTimeOffset()));

        // Neither may run into the other: a job over the oil change, or the tubes' end moved past its start, is a 409.
        var over = await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, $$"""{"asset":"chiller-2","reason":"leak check","from":"{{now.AddHours(5):O}}","for":"1h"}""");
        Assert.Equal(HttpStatusCode.Conflict, over.StatusCode);
        Assert.Contains("(oil change): already planned then", await over.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, (await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/extend", operatorKey, """{"for":"5h"}""")).StatusCode);
        var listed = (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts", server.Keys[Role.Viewer]))).EnumerateArray()
            .Select(l => (l.GetProperty("asset").GetString(), l.GetProperty("state").GetString(), l.GetProperty("reason").GetString())).ToList();
        Assert.Equal([("chiller-2", "held", "condenser tubes"), ("chiller-2", "planned", "oil change")], listed);

        // since names which: the oil change is called off, the tubes' lockout holds on.
        var bad = await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/release", operatorKey, """{"reason":"x","since":"soon"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("since: 'soon' is not a time", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var none = await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/release", operatorKey, $$"""{"reason":"x","since":"{{now.AddHours(9):O}}"}""");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Contains("chiller-2 has no lockout from", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var calledOff = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/release", operatorKey, $$"""{"reason":"oil fine","since":"{{now.AddHours(4):O}}"}"""));
        Assert.Equal(("planned", "oil change"), (calledOff.GetProperty("state").GetString(), calledOff.GetProperty("reason").GetString()));
        Assert.Equal("condenser tubes", Assert.Single(server.Context.Actions.Plant.Lockouts.Held).Reason);
        Assert.Empty(server.Context.Actions.Plant.Lockouts.Planned);
    }

    [Fact]
    public async Task APlannedLockout_IsListedAsPlanned_AndOnlyItsHolderOrAnApproverCallsItOff()
    {
        // Work booked ahead: from an hour on, for 2 h (counted from its start). Until then Aida still runs the asset.
        await using var server = await TestServer.StartAsync();
        var operatorKey = server.Keys[Role.Operator];
        var start = server.Sim!.Clock.GetUtcNow().AddHours(1);
        var badFrom = await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, """{"asset":"chiller-2","reason":"x","from":"tomorrow"}""");
        Assert.Equal(HttpStatusCode.BadRequest, badFrom.StatusCode);
        Assert.Contains("from:", await badFrom.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var beforeStart = await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, $$"""{"asset":"chiller-2","reason":"x","from":"{{start:O}}","until":"{{start.AddMinutes(-5):O}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, beforeStart.StatusCode);
        Assert.Contains("is not after its start", await beforeStart.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var planned = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, $$"""{"asset":"chiller-2","reason":"condenser tubes","from":"{{start:O}}","for":"2h"}"""));
        Assert.Equal(("planned", start, start.AddHours(2)), (planned.GetProperty("state").GetString(), planned.GetProperty("since").GetDateTimeOffset(), planned.GetProperty("until").GetDateTimeOffset()));
        var conflict = await server.Send(HttpMethod.Post, "/api/lockouts", server.Keys[Role.Approver], """{"asset":"chiller-2","reason":"x"}""");
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Contains("already planned", await conflict.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, """{"asset":"cdu-h1-a","reason":"strainer"}""");
        var listed = (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts", server.Keys[Role.Viewer]))).EnumerateArray()
            .Select(l => (l.GetProperty("asset").GetString(), l.GetProperty("state").GetString())).ToList();
        Assert.Equal([("cdu-h1-a", "held"), ("chiller-2", "planned")], listed);
        var metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains("aida_lockouts 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("aida_lockouts_planned 1\n", metrics, StringComparison.Ordinal);

        // The work is put off an hour: its holder moves the start, its 2 h kept; another operator may not; one held keeps
        // its start.
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/reschedule", server.Context.Keys.Issue("operator-3", Role.Operator), $$"""{"from":"{{start.AddHours(1):O}}"}""")).StatusCode);
        var moved = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/reschedule", operatorKey, $$"""{"from":"{{start.AddHours(1):O}}"}"""));
        Assert.Equal(("planned", start.AddHours(1), start.AddHours(3)), (moved.GetProperty("state").GetString(), moved.GetProperty("since").GetDateTimeOffset(), moved.GetProperty("until").GetDateTimeOffset()));
        var started = await server.Send(HttpMethod.Post, "/api/lockouts/cdu-h1-a/reschedule", operatorKey, $$"""{"from":"{{start:O}}"}""");
        Assert.Equal(HttpStatusCode.Conflict, started.StatusCode);
        Assert.Contains("it has started; move its end instead", await started.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var noStart = await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/reschedule", operatorKey, "{}");
        Assert.Equal(HttpStatusCode.BadRequest, noStart.StatusCode);
        Assert.Contains("from: give the new start", await noStart.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Another operator may not call it off; its holder may, with a reason, audited.
        var other = server.Context.Keys.Issue("operator-2", Role.Operator);
        var notTheirs = await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/release", other, """{"reason":"not needed"}""");
        Assert.Equal(HttpStatusCode.Forbidden, notTheirs.StatusCode);
        Assert.Contains("only api:operator-1 or an approver calls it off", await notTheirs.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var calledOff = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts/chiller-2/release", operatorKey, """{"reason":"parts late"}"""));
        Assert.Equal("planned", calledOff.GetProperty("state").GetString());
        Assert.Empty(server.Context.Actions.Plant.Lockouts.Planned);
        Assert.Contains(server.Context.Audit.Read(), e => e.Subject == "lockouts" && e.Detail.StartsWith("chiller-2's lockout planned by api:operator-1 from ", StringComparison.Ordinal) && e.Detail.EndsWith(" called off (parts late)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LockingOutTheOnlyStandbyChiller_SaysWhichRunbookStepsItTakesFromTheAgent_AskedBeforeAndAnsweredAfter()
    {
        // Before the work: what would Aida no longer do? chiller-3 is what every chiller trip starts.
        await using var server = await TestServer.StartWithAgentAsync();
        var viewer = server.Keys[Role.Viewer];
        var asked = await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts/impact?asset=chiller-3", viewer));
        Assert.True(asked.GetProperty("agent").GetBoolean());
        var lines = asked.GetProperty("runbooks").EnumerateArray().Select(l => l.GetString()).ToList();
        Assert.Contains("runbook chiller-trip would start_standby it on a chiller-trip of chiller-1 or chiller-2", lines);
        Assert.Empty((await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts/impact?asset=chiller-1", viewer))).GetProperty("runbooks").EnumerateArray());
        foreach (var (query, said) in new[] { ("", "asset: give the asset"), ("?asset=chiller-9", "asset: unknown asset 'chiller-9'") })
        {
            var bad = await server.Send(HttpMethod.Get, "/api/lockouts/impact" + query, viewer);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains(said, await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // An AI assistant asked "may chiller-3 be taken down?" reads the same over MCP.
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(new Uri(server.App.Urls.First()), "/mcp"),
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + viewer },
        }));
        var overMcp = await client.CallToolAsync("lockout_impact", new Dictionary<string, object?> { ["asset"] = "chiller-3" });
        var mcpText = string.Concat(overMcp.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text));
        Assert.Equal(lines, JsonDocument.Parse(mcpText).RootElement.GetProperty("runbooks").EnumerateArray().Select(l => l.GetString()));
        var unknownOverMcp = await client.CallToolAsync("lockout_impact", new Dictionary<string, object?> { ["asset"] = "chiller-9" });
        Assert.True(unknownOverMcp.IsError);

        // Locked out anyway, the answer says it again beside the lockout.
        var locked = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts", server.Keys[Role.Operator], """{"asset":"chiller-3","reason":"compressor overhaul"}"""));
        Assert.Equal(lines, locked.GetProperty("impact").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task AskedBeforeALockout_AidaSaysWhatTheAssetsGroupHasLeft_AgainstTheDaysPeak_CountingTheOtherLockouts()
    {
        // The twin's 38 minutes of telemetry: two chillers of 5 MW are left without chiller-3, against the peak of heat on
        // facility water the store holds.
        await using var server = await TestServer.StartWithAgentAsync();
        var (viewer, operatorKey) = (server.Keys[Role.Viewer], server.Keys[Role.Operator]);
        var asked = (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts/impact?asset=chiller-3", viewer))).GetProperty("capacity");
        Assert.Equal(("chillers", 3, 15e6, 2, 10e6), (asked.GetProperty("group").GetString(), asked.GetProperty("units").GetInt32(), asked.GetProperty("capacity").GetDouble(), asked.GetProperty("units_left").GetInt32(), asked.GetProperty("left").GetDouble()));
        var peak = asked.GetProperty("peak").GetDouble();
        Assert.InRange(peak, 1e6, 15e6);
        var (now, without) = (asked.GetProperty("spare_now").GetInt32(), asked.GetProperty("spare_without").GetInt32());
        Assert.Equal((peak <= 5e6 ? 2 : peak <= 10e6 ? 1 : 0, peak <= 5e6 ? 1 : peak <= 10e6 ? 0 : -1), (now, without));
        Assert.StartsWith("chillers: 10.0 MW left of 15.0 MW without chiller-3, against a peak of ", asked.GetProperty("said").GetString(), StringComparison.Ordinal);

        Assert.Equal((JsonValueKind.Null, JsonValueKind.Null), (asked.GetProperty("weather").ValueKind, asked.GetProperty("made_up_by").ValueKind));

        // The dry coolers (since session 54) at the weather of the moment judged: five of 2.5 MW, rated at 15 K, scaled by
        // facility water's return over the dry bulb then; what they cannot take the chillers make up.
        var economiser = (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts/impact?asset=dc-1", viewer))).GetProperty("capacity");
        var weather = economiser.GetProperty("weather");
        var difference = weather.GetProperty("difference_celsius").GetDouble();
        Assert.Equal(("facility water's return over the dry bulb", "at 15.0 K", "the chillers"), (weather.GetProperty("across").GetString(), weather.GetProperty("rated").GetString(), economiser.GetProperty("made_up_by").GetString()));
        Assert.InRange(difference, -20, 40);
        Assert.Equal(5 * 2.5e6 * Math.Max(0, difference) / 15, economiser.GetProperty("left").GetDouble(), 1e-3);

        // A rack shares its load with nothing: no capacity to judge.
        Assert.Equal(JsonValueKind.Null, (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts/impact?asset=h1-a01", viewer))).GetProperty("capacity").ValueKind);

        // chiller-1's service is booked for tomorrow: asked now (a lockout from now, with no end yet), it counts; a 4 h
        // lockout of chiller-3 from now is over by then, and its answer leaves it out.
        var tomorrow = server.Sim!.Clock.GetUtcNow().AddDays(1);
        Assert.Equal(HttpStatusCode.Created, (await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, $$"""{"asset":"chiller-1","reason":"annual service","from":"{{tomorrow:O}}","for":"8h"}""")).StatusCode);
        var withService = (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts/impact?asset=chiller-3", viewer))).GetProperty("capacity");
        Assert.Equal([$"chiller-1 (planned out from {tomorrow:yyyy-MM-dd HH:mm}Z)"], withService.GetProperty("already_out").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(5e6, withService.GetProperty("left").GetDouble());
        // Asked for the work's time, as the form or aida lockouts impact --from/--for give it: today's 4 h leave the
        // service out, tomorrow's hour over it counts it.
        async Task<int> OutOver(string query) => (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/lockouts/impact?asset=chiller-3" + query, viewer))).GetProperty("capacity").GetProperty("already_out").GetArrayLength();
        Assert.Equal(0, await OutOver("&for=4h"));
        Assert.Equal(1, await OutOver($"&from={Uri.EscapeDataString(tomorrow.AddHours(2).ToString("O"))}&for=1h"));
        Assert.Equal(0, await OutOver($"&until={Uri.EscapeDataString(tomorrow.AddMinutes(-1).ToString("O"))}"));
        foreach (var (query, said) in new[] { ("&for=4hours", "for: '4hours' is not a duration"), ("&from=soon", "from: 'soon' is not a time"), ("&for=1h&until=" + Uri.EscapeDataString(tomorrow.ToString("O")), "for: give until (an end) or for") })
        {
            var bad = await server.Send(HttpMethod.Get, "/api/lockouts/impact?asset=chiller-3" + query, viewer);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains(said, await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var locked = (await TestServer.Json(await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, """{"asset":"chiller-3","reason":"compressor overhaul","for":"4h"}"""))).GetProperty("capacity");
        Assert.Empty(locked.GetProperty("already_out").EnumerateArray());
        Assert.Equal(10e6, locked.GetProperty("left").GetDouble());

        // Held now, chiller-3 counts against a lockout of chiller-2 asked over MCP.
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(new Uri(server.App.Urls.First()), "/mcp"),
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + viewer },
        }));
        var overMcp = await client.CallToolAsync("lockout_impact", new Dictionary<string, object?> { ["asset"] = "chiller-2" });
        var mcp = JsonDocument.Parse(string.Concat(overMcp.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text))).RootElement.GetProperty("capacity");
        Assert.Equal(["chiller-1 (planned out from " + $"{tomorrow:yyyy-MM-dd HH:mm}Z)", "chiller-3 (locked out)"], mcp.GetProperty("already_out").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal((0.0, "short"), (mcp.GetProperty("left").GetDouble(), mcp.GetProperty("verdict").GetString()));
        // For an hour's work now, only chiller-3 is out with it; a bad duration is a tool error naming it.
        var hour = await client.CallToolAsync("lockout_impact", new Dictionary<string, object?> { ["asset"] = "chiller-2", ["duration"] = "1h" });
        Assert.Equal(["chiller-3 (locked out)"], JsonDocument.Parse(string.Concat(hour.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text))).RootElement.GetProperty("capacity").GetProperty("already_out").EnumerateArray().Select(e => e.GetString()));
        var badDuration = await client.CallToolAsync("lockout_impact", new Dictionary<string, object?> { ["asset"] = "chiller-2", ["duration"] = "an hour" });
        Assert.True(badDuration.IsError);
    }

    [Fact]
    public async Task EachGroupsRedundancyNow_CountsTheLockoutsHeld_OverTheApiAndMcp()
    {
        // The twin's 38 minutes of telemetry; chiller-3 locked out now, chiller-1's service planned for tomorrow: the
        // chillers' redundancy counts the one held, not the one planned.
        await using var server = await TestServer.StartWithAgentAsync();
        var (viewer, operatorKey) = (server.Keys[Role.Viewer], server.Keys[Role.Operator]);
        static JsonElement Chillers(JsonElement answer) => answer.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("kind").GetString() == "chiller");
        var before = Chillers(await TestServer.Json(await server.Send(HttpMethod.Get, "/api/redundancy", viewer)));
        Assert.Equal(("site", 3, 15e6, 15e6), (before.GetProperty("scope").GetString(), before.GetProperty("units").GetInt32(), before.GetProperty("capacity").GetDouble(), before.GetProperty("left").GetDouble()));
        var load = before.GetProperty("load").GetDouble();
        Assert.InRange(load, 1e6, 10e6);
        Assert.Equal(load <= 5e6 ? 2 : 1, before.GetProperty("spare").GetInt32());

        var tomorrow = server.Sim!.Clock.GetUtcNow().AddDays(1);
        Assert.Equal(HttpStatusCode.Created, (await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, $$"""{"asset":"chiller-1","reason":"annual service","from":"{{tomorrow:O}}","for":"8h"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await server.Send(HttpMethod.Post, "/api/lockouts", operatorKey, """{"asset":"chiller-3","reason":"compressor overhaul","for":"4h"}""")).StatusCode);
        var answer = await TestServer.Json(await server.Send(HttpMethod.Get, "/api/redundancy", viewer));
        var after = Chillers(answer);
        Assert.Equal(["chiller-3 (locked out)"], after.GetProperty("out").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal((10e6, load <= 5e6 ? 1 : 0), (after.GetProperty("left").GetDouble(), after.GetProperty("spare").GetInt32()));
        Assert.StartsWith($"chillers at {(load <= 5e6 ? "N+1" : "N")}: 10.0 MW in service (of 15.0 MW; chiller-3 (locked out) out) for ", after.GetProperty("said").GetString(), StringComparison.Ordinal);
        Assert.Equal(10, answer.GetProperty("groups").GetArrayLength());
        var economiser = answer.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("kind").GetString() == "dry-cooler");
        Assert.Equal(("the chillers", "facility water's return over the dry bulb"), (economiser.GetProperty("made_up_by").GetString(), economiser.GetProperty("weather").GetProperty("across").GetString()));

        // The same over MCP, for an AI agent with a viewer's key.
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(new Uri(server.App.Urls.First()), "/mcp"),
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + viewer },
        }));
        var overMcp = await client.CallToolAsync("get_redundancy", new Dictionary<string, object?>());
        var mcp = Chillers(JsonDocument.Parse(string.Concat(overMcp.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text))).RootElement);
        Assert.Equal(after.GetProperty("said").GetString(), mcp.GetProperty("said").GetString());

        // No key, no answer.
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Send(HttpMethod.Get, "/api/redundancy", null!)).StatusCode);
    }

    [Fact]
    public async Task WithTheTelemetryStoreDown_ALockoutIsTakenAllTheSame_AndItsCapacitySaidUnread()
    {
        // The site's Prometheus is down (nothing listens on its port): what the asset's group has left cannot be read,
        // but the lockout is what the technician's safety needs, and it is taken.
        await using var server = await TestServer.StartAsync();
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closed = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var http = new HttpClient();
        var down = server.Context with { Telemetry = new Aida.Telemetry.Query.RemoteQueryEngine(http, new Uri($"http://127.0.0.1:{closed}/")) };
        var app = await Aida.Server.Api.AidaApi.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), down, CancellationToken.None);
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", server.Keys[Role.Operator]);
            using var taken = await client.PostAsync("/api/lockouts", new StringContent("""{"asset":"chiller-2","reason":"condenser tubes"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, taken.StatusCode);
            var capacity = (await TestServer.Json(taken)).GetProperty("capacity");
            Assert.Equal("not_read", capacity.GetProperty("verdict").GetString());
            Assert.StartsWith("what chiller-2's group has left could not be read from the telemetry: ", capacity.GetProperty("said").GetString(), StringComparison.Ordinal);
            Assert.Contains(server.Context.Actions.Plant.Lockouts.Held, l => l.Asset == "chiller-2");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task AnOpenIncidentOnALockedOutAsset_NamesTheLockout_InTheListAndItsDetail_UntilReleased()
    {
        // The test server's incident: CduSupplyHigh on cdu-h1-a. A person working on that CDU may be what raised it.
        await using var server = await TestServer.StartAsync();
        var viewer = server.Keys[Role.Viewer];
        var incident = Assert.Single((await TestServer.Json(await server.Send(HttpMethod.Get, "/api/incidents", viewer))).EnumerateArray());
        Assert.Empty(incident.GetProperty("locked_out").EnumerateArray());
        var id = incident.GetProperty("id").GetInt64();

        server.Context.Actions.Plant.Lockouts.Add("cdu-h1-b", "api:operator-1", "another CDU", null);
        Assert.Empty(Assert.Single((await TestServer.Json(await server.Send(HttpMethod.Get, "/api/incidents", viewer))).EnumerateArray()).GetProperty("locked_out").EnumerateArray());
        server.Context.Actions.Plant.Lockouts.Add("cdu-h1-a", "api:operator-1", "strainer cleaning", null);
        incident = Assert.Single((await TestServer.Json(await server.Send(HttpMethod.Get, "/api/incidents", viewer))).EnumerateArray());
        Assert.Equal(["cdu-h1-a"], incident.GetProperty("locked_out").EnumerateArray().Select(a => a.GetString()));
        var lockout = Assert.Single((await TestServer.Json(await server.Send(HttpMethod.Get, $"/api/incidents/{id}", viewer))).GetProperty("lockouts").EnumerateArray());
        Assert.Equal(("cdu-h1-a", "api:operator-1", "strainer cleaning"), (lockout.GetProperty("asset").GetString(), lockout.GetProperty("by").GetString(), lockout.GetProperty("reason").GetString()));

        server.Context.Actions.Plant.Lockouts.Release("cdu-h1-a", "api:operator-1", "clean", overrides: false);
        Assert.Empty((await TestServer.Json(await server.Send(HttpMethod.Get, $"/api/incidents/{id}", viewer))).GetProperty("lockouts").EnumerateArray());
    }

    [Fact]
    public async Task AViewer_ListsTheLockouts_OverMcp()
    {
        await using var server = await TestServer.StartAsync();
        server.Context.Actions.Plant.Lockouts.Add("chiller-2", "api:operator-1", "condenser tubes", null);
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(new Uri(server.App.Urls.First()), "/mcp"),
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + server.Keys[Role.Viewer] },
        }));
        var result = await client.CallToolAsync("list_lockouts", new Dictionary<string, object?>());
        var text = string.Concat(result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text));
        Assert.True(result.IsError is null or false, text);
        var lockout = Assert.Single(JsonDocument.Parse(text).RootElement.EnumerateArray());
        Assert.Equal(("chiller-2", "held", "condenser tubes"), (lockout.GetProperty("asset").GetString(), lockout.GetProperty("state").GetString(), lockout.GetProperty("reason").GetString()));
        Assert.Equal(JsonValueKind.Null, lockout.GetProperty("until").ValueKind);

        // An assistant reads the chiller's history: who locked it out and why.
        var read = await client.CallToolAsync("read_audit", new Dictionary<string, object?> { ["subject"] = "lockouts", ["limit"] = 10 });
        var entries = JsonDocument.Parse(string.Concat(read.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text))).RootElement.EnumerateArray().ToList();
        Assert.StartsWith("chiller-2 is locked out by api:operator-1", Assert.Single(entries).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
