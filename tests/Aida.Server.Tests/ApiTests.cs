using System.Net;
using System.Text;
using System.Text.Json;
using Aida.Automation.Actions;
using Aida.Automation.Audit;
using Aida.Model.Scenarios;
using Aida.Server.Access;
using Aida.Server.Api;

namespace Aida.Server.Tests;

/// <summary>The API over a real Kestrel on loopback, with the twin behind the agents' safety choke point: keys and
/// roles, audit of every mutation, and clear problem details for bad requests.</summary>
public sealed class ApiTests : IAsyncLifetime
{
    private static readonly Scenario Reference = TestServer.Reference;
    private TestServer _server = null!;
    private IReadOnlyDictionary<Role, string> _keys = null!;
    private ServerContext _context = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        (_keys, _context, _http) = (_server.Keys, _server.Context, _server.Http);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Health_NeedsNoKey_ButTheApiAnswers401WithoutOne()
    {
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/healthz")).StatusCode);
        var anonymous = await _http.GetAsync("/api/factory");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Bearer", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        var forged = await Send(HttpMethod.Get, "/api/factory", "aida_not-a-key-anyone-was-given");
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Contains("unknown or revoked", await forged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AViewer_ReadsEverything_ButChangesNothing_AndTheRefusalIsAudited()
    {
        var factory = await Json(await Send(HttpMethod.Get, "/api/factory", _keys[Role.Viewer]));
        Assert.Equal(Reference.Factory.Racks.Count, factory.GetProperty("racks").GetInt32());

        var before = _context.Audit.Count;
        var refused = await Send(HttpMethod.Post, "/api/actions", _keys[Role.Viewer], """{"kind":"set_speed","asset":"cdu-h1-a","value":0.9,"reason":"trim"}""");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Empty(_context.Actions.Records);
        var entry = _context.Audit.Read(before + 1).Single();
        Assert.Equal(("api:viewer-1", AuditKind.Decision), (entry.Actor, entry.Kind));
        Assert.Contains("refused", entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOperator_Proposes_AHighRiskActionWaits_OnlyAnApproverApprovesIt_AndEveryStepIsAudited()
    {
        var proposed = await Send(HttpMethod.Post, "/api/actions", _keys[Role.Operator], """{"kind":"isolate_rack","asset":"h1-a01","value":1,"reason":"leak reported by a technician"}""");
        Assert.Equal(HttpStatusCode.Accepted, proposed.StatusCode);
        var record = await Json(proposed);
        Assert.Equal("pending_approval", record.GetProperty("state").GetString());
        Assert.Equal("api:operator-1", record.GetProperty("requested_by").GetString());
        var id = record.GetProperty("id").GetString();

        var byOperator = await Send(HttpMethod.Post, $"/api/actions/{id}/approve", _keys[Role.Operator], "{}");
        Assert.Equal(HttpStatusCode.Forbidden, byOperator.StatusCode);
        Assert.Equal(ActionState.PendingApproval, _context.Actions.Records.Single().State);

        var approved = await Json(await Send(HttpMethod.Post, $"/api/actions/{id}/approve", _keys[Role.Approver], "{}"));
        Assert.Equal("api:approver-1", approved.GetProperty("decided_by").GetString());
        Assert.NotEqual("pending_approval", approved.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await Send(HttpMethod.Post, $"/api/actions/{id}/approve", _keys[Role.Approver], "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Post, "/api/actions/A999/approve", _keys[Role.Admin], "{}")).StatusCode);

        var audit = await Json(await Send(HttpMethod.Get, "/api/audit?limit=1000", _keys[Role.Viewer]));
        var actors = audit.EnumerateArray().Select(e => (e.GetProperty("actor").GetString(), e.GetProperty("detail").GetString())).ToArray();
        Assert.Contains(actors, a => a.Item2!.Contains("proposed by api:operator-1", StringComparison.Ordinal));
        Assert.Contains(actors, a => a.Item1 == "api:operator-1" && a.Item2!.StartsWith("refused", StringComparison.Ordinal));
        Assert.True(_context.Audit.Verify().Intact);
    }

    [Fact]
    public async Task ASetPointMovedBehindTheGuardsBack_IsListedAsADispute_AndOnlyAnApproverAdoptsItsReadBack()
    {
        const string Setpoint = "cdu-h1-a/supply_setpoint";
        var guard = _context.Actions.Plant;
        var index = guard.Actuators.Single(a => a.Name == Setpoint).Index;
        var written = guard.Commanded(Setpoint);
        Assert.True(guard.Write(index, written).Ok);

        // Another BMS client writes the plant straight, and the plant's command point reads it back a poll later.
        Assert.True(_server.Sim!.Plant.Write(index, written - 4).Ok);
        _server.Sim.AdvanceSteps(30);
        var dispute = Assert.Single((await Json(await Send(HttpMethod.Get, "/api/actuators/disputes", _keys[Role.Viewer]))).EnumerateArray());
        Assert.Equal(Setpoint, dispute.GetProperty("actuator").GetString());
        Assert.Equal(written, dispute.GetProperty("written").GetDouble());
        Assert.Equal(written - 4, dispute.GetProperty("read_back").GetDouble(), 1e-9);
        Assert.Contains($"a step of 4.5 celsius from {written - 4:R}", guard.Write(index, written + 0.5).Message, StringComparison.Ordinal);
        var metrics = await _http.GetStringAsync("/metrics");
        Assert.Contains("aida_safety_disputes 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"aida_safety_dispute_read_back{{actuator=\"{Setpoint}\"}} {written - 4:R}\n", metrics, StringComparison.Ordinal);
        Assert.Contains("aida_safety_writes_total{verdict=\"refused\"} 1\n", metrics, StringComparison.Ordinal);

        var body = $$"""{"actuator":"{{Setpoint}}","reason":"moved at the panel for a valve test"}""";
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(HttpMethod.Post, "/api/actuators/adopt", _keys[Role.Operator], body)).StatusCode);
        var missing = await Send(HttpMethod.Post, "/api/actuators/adopt", _keys[Role.Approver], $$"""{"actuator":"{{Setpoint}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("reason: missing", (await Json(missing)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        var adopted = await Send(HttpMethod.Post, "/api/actuators/adopt", _keys[Role.Approver], body);
        Assert.Equal(HttpStatusCode.OK, adopted.StatusCode);
        Assert.Contains($"{Setpoint}: adopted the read-back", (await Json(adopted)).GetProperty("adopted").GetString(), StringComparison.Ordinal);
        Assert.Empty((await Json(await Send(HttpMethod.Get, "/api/actuators/disputes", _keys[Role.Viewer]))).EnumerateArray());
        Assert.Contains("aida_safety_disputes 0\n", await _http.GetStringAsync("/metrics"), StringComparison.Ordinal);
        Assert.True(guard.Write(index, written - 3).Ok);

        var dismissed = await Send(HttpMethod.Post, "/api/actuators/dismiss", _keys[Role.Approver], body);
        Assert.Equal(HttpStatusCode.NotFound, dismissed.StatusCode);
        var again = await Send(HttpMethod.Post, "/api/actuators/adopt", _keys[Role.Approver], body);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Contains("does not disagree", (await Json(again)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Post, "/api/actuators/adopt", _keys[Role.Approver], """{"actuator":"cdu-h9-z/supply_setpoint","reason":"x"}""")).StatusCode);
        Assert.Contains(_context.Audit.Read(), e => e.Kind == AuditKind.Decision && e.Actor == "api:approver-1" && e.Subject == Setpoint);
    }

    [Fact]
    public async Task AStandbyChillerStoppedBehindTheGuardsBack_IsListedAsAnOnOffDispute_AndADismissalEndsIt()
    {
        var guard = _context.Actions.Plant;
        var chiller = _server.Sim!.Scenario.Factory.Cooling.Chillers.First(c => c.Standby).Id + "/enable";
        var index = guard.Actuators.Single(a => a.Name == chiller).Index;
        Assert.True(guard.Write(index, 1).Ok);
        _server.Sim.AdvanceSteps(30);
        Assert.Empty((await Json(await Send(HttpMethod.Get, "/api/actuators/disputes", _keys[Role.Viewer]))).EnumerateArray());

        // Stopped at the panel (the plant written straight): its command point reads 0 a poll later.
        Assert.True(_server.Sim.Plant.Write(index, 0).Ok);
        _server.Sim.AdvanceSteps(30);
        var dispute = Assert.Single((await Json(await Send(HttpMethod.Get, "/api/actuators/disputes", _keys[Role.Viewer]))).EnumerateArray());
        Assert.Equal(chiller, dispute.GetProperty("actuator").GetString());
        Assert.Equal(1, dispute.GetProperty("written").GetDouble());
        Assert.Equal(0, dispute.GetProperty("read_back").GetDouble());
        Assert.True(dispute.GetProperty("on_off").GetBoolean());
        Assert.Contains("aida_safety_disputes 1\n", await _http.GetStringAsync("/metrics"), StringComparison.Ordinal);

        var dismissed = await Send(HttpMethod.Post, "/api/actuators/dismiss", _keys[Role.Approver], $$"""{"actuator":"{{chiller}}","reason":"its panel lamp is wired to the wrong relay"}""");
        Assert.Equal(HttpStatusCode.OK, dismissed.StatusCode);
        Assert.Empty((await Json(await Send(HttpMethod.Get, "/api/actuators/disputes", _keys[Role.Viewer]))).EnumerateArray());
        Assert.Contains(_context.Audit.Read(), e => e.Kind == AuditKind.Observation && e.Subject == chiller && e.Detail.Contains("switched by another writer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnActionOutsideTheEnvelope_IsRefusedByTheSameChokePointTheAgentsUse()
    {
        var record = await Json(await Send(HttpMethod.Post, "/api/actions", _keys[Role.Operator], """{"kind":"set_speed","asset":"cdu-h1-a","value":0.4,"reason":"save energy"}"""));
        Assert.Equal("refused", record.GetProperty("state").GetString());
        Assert.Contains("below the envelope's minimum", record.GetProperty("outcome").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"kind":"set_speed",,"asset":"cdu-h1-a"}""", "the body is not JSON")]
    [InlineData("""{"kind":"set_speed","asset":"cdu-h1-a","value":0.9,"reason":"x","force":true}""", "force: unknown field")]
    [InlineData("""{"kind":"open_valve","asset":"cdu-h1-a","value":0.9,"reason":"x"}""", "kind: unknown action 'open_valve'")]
    [InlineData("""{"kind":"set_speed","asset":"cdu-h9-z","value":0.9,"reason":"x"}""", "unknown asset 'cdu-h9-z'")]
    [InlineData("""{"kind":"set_speed","asset":"cdu-h1-a","value":"fast","reason":"x"}""", "value: must be a number")]
    [InlineData("""{"kind":"set_speed","asset":"cdu-h1-a","value":0.9}""", "reason: missing")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    public async Task BadRequests_Are400_WithAProblemNamingWhatIsWrong(string body, string named)
    {
        var response = await Send(HttpMethod.Post, "/api/actions", _keys[Role.Operator], body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(named, (await Json(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(_context.Actions.Records);
    }

    [Fact]
    public async Task AnOperator_LeavesALyingReadingOutOfTheSlos_EndsIt_AndEveryStepIsAudited()
    {
        var before = _context.Audit.Count;
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(HttpMethod.Post, "/api/slos/exclusions", _keys[Role.Viewer],
            """{"selector":"aida_rack_inlet_celsius{rack=\"h2-b04\"}","reason":"x"}""")).StatusCode);

        var filed = await Send(HttpMethod.Post, "/api/slos/exclusions", _keys[Role.Operator],
            """{"selector":"aida_rack_inlet_celsius{rack=\"h2-b04\"}","from":"2025-07-01T02:00:00Z","reason":"technician: inlet probe hanging loose"}""");
        Assert.Equal(HttpStatusCode.Created, filed.StatusCode);
        var view = await Json(filed);
        Assert.Equal(1, view.GetProperty("id").GetInt32());
        Assert.Equal("aida_rack_inlet_celsius{rack=\"h2-b04\"}", view.GetProperty("series").GetString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("until").ValueKind);
        Assert.Equal("technician: inlet probe hanging loose (filed by api:operator-1, exclusion 1)", view.GetProperty("reason").GetString());
        Assert.Single(_context.Exclusions!.Exclusions);

        var listed = Assert.Single((await Json(await Send(HttpMethod.Get, "/api/slos/exclusions", _keys[Role.Viewer]))).EnumerateArray());
        Assert.Equal("api:operator-1", listed.GetProperty("by").GetString());

        var ended = await Send(HttpMethod.Post, "/api/slos/exclusions/1/end", _keys[Role.Operator], """{"at":"2025-07-01T05:00:00Z"}""");
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.Equal(new DateTimeOffset(2025, 7, 1, 5, 0, 0, TimeSpan.Zero), (await Json(ended)).GetProperty("until").GetDateTimeOffset());
        var again = await Send(HttpMethod.Post, "/api/slos/exclusions/1/end", _keys[Role.Operator], "{}");
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Contains("exclusion 1 ended already", (await Json(again)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Post, "/api/slos/exclusions/7/end", _keys[Role.Operator], "{}")).StatusCode);

        var entries = _context.Audit.Read(before + 1).ToList();
        Assert.Contains(entries, e => e.Actor == "api:viewer-1" && e.Detail.StartsWith("refused: leave a reading out of the SLOs", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Actor == "api:operator-1" && e.Subject == "slo-corrections" && e.Detail.Contains("left out of the SLOs that read it from 2025-07-01 02:00:00Z", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Actor == "api:operator-1" && e.Subject == "slo-corrections" && e.Detail.Contains("again from 2025-07-01 05:00:00Z: exclusion 1 ended", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"reason":"x"}""", "selector: missing")]
    [InlineData("""{"selector":"aida_rack_inlet_celsius{rack=~\"h2.*\"}","reason":"x"}""", "with = matchers only")]
    [InlineData("""{"selector":"aida_rack_inlet_celsius","reason":"x"}""", "no label names the series")]
    [InlineData("""{"selector":"aida_rack_inlet_celsius{rack=\"h2-b04\"","reason":"x"}""", "selector: 'aida_rack_inlet_celsius{rack=")]
    [InlineData("""{"selector":"aida_rack_inlet_celsius{rack=\"h2-b04\"}","from":"yesterday","reason":"x"}""", "from: 'yesterday' is not a time")]
    [InlineData("""{"selector":"aida_rack_inlet_celsius{rack=\"h2-b04\"}","from":"2025-07-01T03:00:00Z","until":"2025-07-01T02:00:00Z","reason":"x"}""", "is not after from")]
    [InlineData("""{"selector":"aida_rack_inlet_celsius{rack=\"h2-b04\"}","reason":" "}""", "reason: say why")]
    [InlineData("""{"selector":"aida_rack_inlet_celsius{rack=\"h2-b04\"}","reason":"x","slo":"all"}""", "slo: unknown field")]
    public async Task BadExclusions_Are400_NamingWhatIsWrong_AndNoneIsFiled(string body, string named)
    {
        var response = await Send(HttpMethod.Post, "/api/slos/exclusions", _keys[Role.Operator], body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(named, (await Json(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(_context.Exclusions!.All);
    }

    [Fact]
    public async Task AnOversizedBody_Is413()
    {
        var body = "{\"reason\":\"" + new string('x', AidaApi.MaxBodyBytes) + "\"}";
        var response = await Send(HttpMethod.Post, "/api/actions", _keys[Role.Operator], body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("bytes", (await Json(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThePrometheusQueryApi_IsServedBehindTheSameKeys()
    {
        var at = Reference.Start.ToUnixTimeSeconds();
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.GetAsync($"/api/v1/query?query=aida_site_pue&time={at}")).StatusCode);
        var answer = await Json(await Send(HttpMethod.Get, $"/api/v1/query?query=aida_site_pue&time={at}", _keys[Role.Viewer]));
        Assert.Equal("success", answer.GetProperty("status").GetString());
        Assert.Equal("1.25", answer.GetProperty("data").GetProperty("result")[0].GetProperty("value")[1].GetString());
    }

    [Fact]
    public async Task Metrics_CountRequestsByCode_AndTheOpenApiDocumentNamesTheRoutes()
    {
        await _http.GetAsync("/api/factory");
        await Send(HttpMethod.Get, "/api/factory", _keys[Role.Viewer]);
        var metrics = await _http.GetStringAsync("/metrics");
        Assert.Contains("aida_api_requests_total{code=\"401\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("aida_api_requests_total{code=\"200\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("aida_api_keys 4", metrics, StringComparison.Ordinal);

        var openApi = await Json(await _http.GetAsync("/openapi/v1.json"));
        var paths = openApi.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Contains("/api/actions", paths);
        Assert.Contains("/api/actions/{id}/approve", paths);
        Assert.Contains("/api/audit", paths);
    }

    [Fact]
    public async Task TheFieldDevices_AreListed_DownFirst_ThenTheLastBack_WithWhyTheyCameBack()
    {
        // The embedded twin polls no device.
        var none = await Json(await Send(HttpMethod.Get, "/api/devices", _keys[Role.Viewer]));
        Assert.False(none.GetProperty("polled").GetBoolean());
        Assert.Empty(none.GetProperty("devices").EnumerateArray());

        // A network site: one device up throughout, one restarted behind its gateway, one down since 10:00:05.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-12-06T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Clock = clock });
        var sink = new Aida.Telemetry.Collectors.CollectorSink(store, Aida.Telemetry.Series.Labels.Empty, clock, TextWriter.Null);
        foreach (var device in new[] { "modbus-site", "modbus-cdu-h1-a", "modbus-crah-h1-1" })
        {
            sink.Up("modbus", device, TimeSpan.FromMilliseconds(20));
        }

        clock.Advance(TimeSpan.FromSeconds(5));
        sink.Error("modbus", "modbus-crah-h1-1", "no answer within 2 s");
        sink.Restarted("modbus", "modbus-cdu-h1-a", clock.GetUtcNow().ToUnixTimeMilliseconds(), "its uptime read 0 s, 5 s after it read 86400 s");
        clock.Advance(TimeSpan.FromSeconds(5));
        sink.Error("modbus", "modbus-crah-h1-1", "no answer within 2 s");
        await using var site = await TestServer.StartAsync(sink);

        var listed = await Json(await site.Send(HttpMethod.Get, "/api/devices", site.Keys[Role.Viewer]));
        Assert.True(listed.GetProperty("polled").GetBoolean());
        Assert.Equal((2, 1, 1), (listed.GetProperty("up").GetInt32(), listed.GetProperty("down").GetInt32(), listed.GetProperty("restarted").GetInt32()));
        var devices = listed.GetProperty("devices").EnumerateArray().ToArray();
        Assert.Equal(["modbus-crah-h1-1", "modbus-cdu-h1-a", "modbus-site"], devices.Select(d => d.GetProperty("device").GetString()));
        var down = devices[0];
        Assert.False(down.GetProperty("up").GetBoolean());
        Assert.Equal(DateTimeOffset.Parse("2026-12-06T10:00:05Z", System.Globalization.CultureInfo.InvariantCulture), down.GetProperty("down_since").GetDateTimeOffset());
        Assert.Equal(2, down.GetProperty("errors").GetInt64());
        var restarted = devices[1];
        Assert.True(restarted.GetProperty("up").GetBoolean());
        Assert.Equal(JsonValueKind.Null, restarted.GetProperty("down_since").ValueKind);
        Assert.Equal(1, restarted.GetProperty("restarts").GetInt64());
        Assert.Equal("was found restarted at 2026-12-06T10:00:05.0000000+00:00 (its uptime read 0 s, 5 s after it read 86400 s)", restarted.GetProperty("last_return").GetProperty("how").GetString());
        Assert.Equal(JsonValueKind.Null, devices[2].GetProperty("last_return").ValueKind);

        // One of three down is the overview's card and a CollectorDown incident; two of three leave Aida blind to most
        // of the plant, which the dashboard's banner says (seen live, session 56: every device of a site down, no banner).
        async Task<string[]> Trouble() => [.. (await Json(await site.Send(HttpMethod.Get, "/api/overview", site.Keys[Role.Viewer]))).GetProperty("trouble").EnumerateArray().Select(t => t.GetString()!)];
        Assert.Empty(await Trouble());
        sink.Error("modbus", "modbus-site", "connection refused");
        Assert.Equal(["field devices: 2 of 3 not answering (since 2026-12-06T10:00:05Z): Aida neither sees nor operates the plant behind them"], await Trouble());
    }

    [Fact]
    public void Keys_AreStoredHashed_AndARevokedKeyNoLongerWorks()
    {
        var key = _keys[Role.Admin];
        Assert.Equal(new Caller("admin-1", Role.Admin), _context.Keys.Find(key));
        Assert.DoesNotContain(key, File.ReadAllText(Path.Combine(_server.Dir, "keys.db"), Encoding.Latin1), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => _context.Keys.Issue("admin-1", Role.Viewer));
        Assert.True(_context.Keys.Revoke("admin-1"));
        Assert.Null(_context.Keys.Find(key));
        Assert.Null(ApiKeyStore.ParseRole("root"));
    }

    private Task<HttpResponseMessage> Send(HttpMethod method, string path, string key, string? body = null) => _server.Send(method, path, key, body);

    private static Task<JsonElement> Json(HttpResponseMessage response) => TestServer.Json(response);
}
