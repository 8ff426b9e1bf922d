using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Aida.Automation.Actions;
using Aida.Automation.Audit;
using Aida.Server.Access;
using Aida.Server.Api;
using ModelContextProtocol.Client;

namespace Aida.Server.Tests;

/// <summary>The MCP server at <c>/mcp</c> over a real Kestrel on loopback, driven by a real MCP client (the official
/// TypeScript SDK, <c>tests/mcp-client/client.mjs</c>, run by node) and, for bad input, the C# SDK's client.</summary>
public sealed class McpTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private IReadOnlyDictionary<Role, string> _keys = null!;
    private ServerContext _context = null!;
    private Uri _mcp = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        (_keys, _context) = (_server.Keys, _server.Context);
        _mcp = new Uri(new Uri(_server.App.Urls.First()), "/mcp");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [SkippableFact]
    public async Task TheTypeScriptClient_ListsTheTools_QueriesAMetric_AndAProposedIsolationWaitsForApproval()
    {
        var answer = await RunClientAsync(_keys[Role.Operator]);

        var tools = answer.GetProperty("tools").EnumerateArray().Select(t => t.GetString()).ToArray();
        Assert.Equal(["explain_incident", "get_agent_mode", "get_redundancy", "leave_reading_out", "list_devices", "list_disputes", "list_incidents", "list_lockouts", "lockout_impact", "move_incident", "propose_action", "query_metrics", "read_audit", "read_budgets"], tools.Order());

        var metric = answer.GetProperty("query_metrics");
        Assert.False(metric.GetProperty("isError").GetBoolean(), metric.GetProperty("text").GetString());
        var data = JsonDocument.Parse(metric.GetProperty("text").GetString()!).RootElement;
        Assert.Equal("vector", data.GetProperty("resultType").GetString());
        Assert.Equal("1.31", data.GetProperty("result")[0].GetProperty("value")[1].GetString());

        var proposal = answer.GetProperty("propose_action");
        Assert.False(proposal.GetProperty("isError").GetBoolean(), proposal.GetProperty("text").GetString());
        Assert.Equal("pending_approval", JsonDocument.Parse(proposal.GetProperty("text").GetString()!).RootElement.GetProperty("state").GetString());
        var record = Assert.Single(_context.Actions.Records);
        Assert.Equal((ActionKind.IsolateRack, "h1-a01", ActionState.PendingApproval, "mcp:operator-1"), (record.Action.Kind, record.Action.Asset, record.State, record.RequestedBy));
        Assert.Contains(_context.Audit.Read(), e => e.Detail.Contains("proposed by mcp:operator-1", StringComparison.Ordinal));
        Assert.True(_context.Audit.Verify().Intact);
    }

    [SkippableFact]
    public async Task AViewer_ReadsButCannotPropose_AndTheRefusalIsAudited()
    {
        var before = _context.Audit.Count;
        var answer = await RunClientAsync(_keys[Role.Viewer]);

        Assert.False(answer.GetProperty("query_metrics").GetProperty("isError").GetBoolean());
        var proposal = answer.GetProperty("propose_action");
        Assert.True(proposal.GetProperty("isError").GetBoolean());
        Assert.Contains("needs the operator role; this key is viewer", proposal.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Empty(_context.Actions.Records);
        var entry = _context.Audit.Read(before + 1).Single();
        Assert.Equal(("mcp:viewer-1", AuditKind.Decision), (entry.Actor, entry.Kind));
        Assert.StartsWith("refused", entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAValidKey_TheEndpointAnswers401()
    {
        using var http = new HttpClient();
        const string initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";
        using var anonymous = await http.PostAsync(_mcp, new StringContent(initialize, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("Bearer", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var forged = new HttpRequestMessage(HttpMethod.Post, _mcp) { Content = new StringContent(initialize, Encoding.UTF8, "application/json") };
        forged.Headers.Authorization = new("Bearer", "aida_not-a-key-anyone-was-given");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(forged)).StatusCode);
    }

    [Theory]
    // An action kind the catalog does not know.
    [InlineData("propose_action", """{"kind":"open_valve","asset":"cdu-h1-a","value":0.9,"reason":"x"}""", "kind: unknown action 'open_valve'")]
    // An asset the factory does not have.
    [InlineData("propose_action", """{"kind":"set_speed","asset":"cdu-h9-z","value":0.9,"reason":"x"}""", "unknown asset 'cdu-h9-z'")]
    // PromQL that does not parse: the position is named.
    [InlineData("query_metrics", """{"query":"sum(aida_site_pue"}""", "query: 1:")]
    // A range query missing its step.
    [InlineData("query_metrics", """{"query":"aida_site_pue","start":"0","end":"60"}""", "step: missing")]
    // An incident state that does not exist.
    [InlineData("list_incidents", """{"state":"closed"}""", "state: unknown state 'closed'")]
    // An incident the run does not have.
    [InlineData("explain_incident", """{"id":99}""", "id: no incident 99")]
    // This run evaluates no SLOs.
    [InlineData("read_budgets", "{}", "evaluates no SLOs")]
    // A limit out of range.
    [InlineData("read_audit", """{"limit":0}""", "limit: 0 is not from 1 to 10000")]
    // A reading named otherwise than by = matchers, and a time that does not parse.
    [InlineData("leave_reading_out", """{"selector":"aida_rack_inlet_celsius{rack=~\"h2.*\"}","reason":"x"}""", "selector: 'aida_rack_inlet_celsius{rack=~")]
    [InlineData("leave_reading_out", """{"selector":"aida_rack_inlet_celsius{rack=\"h2-b04\"}","reason":"x","from":"soon"}""", "from: 'soon' is not a time")]
    public async Task BadInput_IsAToolError_NamingWhatIsWrong(string tool, string arguments, string named)
    {
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = _mcp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + _keys[Role.Operator] },
        }));
        var args = JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments)!;
        var result = await client.CallToolAsync(tool, args);

        Assert.True(result.IsError);
        var text = string.Concat(result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text));
        Assert.Contains(named, text, StringComparison.Ordinal);
        Assert.Empty(_context.Actions.Records);
    }

    [Fact]
    public async Task AnOperator_LeavesALyingReadingOutOfTheSlos_AndItIsAudited()
    {
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = _mcp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + _keys[Role.Operator] },
        }));

        var result = await client.CallToolAsync("leave_reading_out", new Dictionary<string, object?>
        {
            ["selector"] = "aida_rack_inlet_celsius{rack=\"h2-b04\"}", ["reason"] = "probe hanging loose", ["from"] = "2025-07-01T02:00:00Z",
        });

        var text = string.Concat(result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text));
        Assert.True(result.IsError is null or false, text);
        Assert.Equal("probe hanging loose (filed by mcp:operator-1, exclusion 1)", JsonDocument.Parse(text).RootElement.GetProperty("reason").GetString());
        Assert.Equal("h2-b04", Assert.Single(_context.Exclusions!.Exclusions).Series.Get("rack"));
        Assert.Contains(_context.Audit.Read(), e => e.Actor == "mcp:operator-1" && e.Subject == "slo-corrections");
    }

    [Fact]
    public async Task AViewer_ListsTheActuatorsInDispute()
    {
        // A set point written through the guard, then moved straight at the plant (another BMS client), read back a poll later.
        var guard = _context.Actions.Plant;
        var index = guard.Actuators.Single(a => a.Name == "cdu-h1-a/supply_setpoint").Index;
        var written = guard.Commanded("cdu-h1-a/supply_setpoint");
        Assert.True(guard.Write(index, written).Ok);
        Assert.True(_server.Sim!.Plant.Write(index, written - 3).Ok);
        _server.Sim.AdvanceSteps(30);

        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = _mcp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + _keys[Role.Viewer] },
        }));
        var result = await client.CallToolAsync("list_disputes", new Dictionary<string, object?>());
        var text = string.Concat(result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text));
        Assert.True(result.IsError is null or false, text);
        var dispute = Assert.Single(JsonDocument.Parse(text).RootElement.EnumerateArray());
        Assert.Equal(("cdu-h1-a/supply_setpoint", written, written - 3), (dispute.GetProperty("actuator").GetString(), dispute.GetProperty("written").GetDouble(), Math.Round(dispute.GetProperty("read_back").GetDouble(), 6)));
    }

    [Fact]
    public async Task AViewer_ListsANetworkSitesFieldDevices_TheOneDownFirst()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-12-06T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Clock = clock });
        var sink = new Aida.Telemetry.Collectors.CollectorSink(store, Aida.Telemetry.Series.Labels.Empty, clock, TextWriter.Null);
        sink.Up("modbus", "modbus-site", TimeSpan.FromMilliseconds(20));
        sink.Error("nut", "upsd-twin", "connection refused");
        await using var site = await TestServer.StartAsync(sink);
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(new Uri(site.App.Urls.First()), "/mcp"),
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + site.Keys[Role.Viewer] },
        }));
        var result = await client.CallToolAsync("list_devices", new Dictionary<string, object?>());
        var text = string.Concat(result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text));
        Assert.True(result.IsError is null or false, text);
        var listed = JsonDocument.Parse(text).RootElement;
        Assert.Equal((1, 1), (listed.GetProperty("up").GetInt32(), listed.GetProperty("down").GetInt32()));
        Assert.Equal(["upsd-twin", "modbus-site"], listed.GetProperty("devices").EnumerateArray().Select(d => d.GetProperty("device").GetString()));
    }

    [Fact]
    public async Task AViewer_ReadsTheAgentsMode_AndCannotChangeIt()
    {
        async Task<(bool Error, string Text)> Call(Uri endpoint, string key)
        {
            await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = endpoint,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + key },
            }));
            // Read-only: no tool changes the mode (only people do, over the REST API).
            Assert.DoesNotContain((await client.ListToolsAsync()).Select(t => t.Name), n => n.Contains("mode", StringComparison.Ordinal) && n != "get_agent_mode");
            var result = await client.CallToolAsync("get_agent_mode", new Dictionary<string, object?>());
            return (result.IsError == true, string.Concat(result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text)));
        }

        var none = await Call(_mcp, _keys[Role.Viewer]);
        Assert.True(none.Error);
        Assert.Contains("no agent runs here", none.Text, StringComparison.Ordinal);

        await using var withAgent = await TestServer.StartWithAgentAsync();
        var (error, text) = await Call(new Uri(new Uri(withAgent.App.Urls.First()), "/mcp"), withAgent.Keys[Role.Viewer]);
        Assert.False(error, text);
        var mode = JsonDocument.Parse(text).RootElement;
        Assert.Equal(("supervised", "autonomous"), (mode.GetProperty("mode").GetString(), mode.GetProperty("highest").GetString()));
    }

    [Fact]
    public async Task AnOperator_AcknowledgesAnIncidentWithANote_AViewerCannot_AndOnlyForwardMovesAreTaken()
    {
        async Task<(bool Error, string Text)> Move(string key, Dictionary<string, object?> args)
        {
            await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = _mcp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + key },
            }));
            var result = await client.CallToolAsync("move_incident", args);
            // The SDK says which tool failed before the tool's own words.
            return (result.IsError == true, string.Concat(result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text))
                .Replace("An error occurred invoking 'move_incident': ", "", StringComparison.Ordinal));
        }

        var viewer = await Move(_keys[Role.Viewer], new() { ["id"] = 1, ["to"] = "acknowledge" });
        Assert.Equal((true, "forbidden: moving an incident needs the operator role; this key is viewer"), viewer);
        Assert.Equal("refused: acknowledge incident 1 needs the operator role, the caller is viewer", _context.Audit.Last(1).Single().Detail);

        var acknowledged = await Move(_keys[Role.Operator], new() { ["id"] = 1, ["to"] = "acknowledge", ["note"] = "paged the facility tech" });
        Assert.False(acknowledged.Error, acknowledged.Text);
        Assert.Equal("acknowledged", JsonDocument.Parse(acknowledged.Text).RootElement.GetProperty("incident").GetProperty("state").GetString());
        var timeline = _context.Incidents!.Get(1).Timeline[^1];
        Assert.Equal(("mcp:operator-1", "paged the facility tech"), (timeline.By, timeline.Text));
        var audited = _context.Audit.Last(1).Single();
        Assert.Equal(("mcp:operator-1", "incident 1", "open -> acknowledged: paged the facility tech"), (audited.Actor, audited.Subject, audited.Detail));

        Assert.Equal((true, "incident 1: cannot go from acknowledged to acknowledged; states only move forward: open → acknowledged → mitigated → resolved"),
            await Move(_keys[Role.Operator], new() { ["id"] = 1, ["to"] = "acknowledge" }));
        Assert.Equal((true, "to: 'close' is not a move (acknowledge, mitigate or resolve)"), await Move(_keys[Role.Operator], new() { ["id"] = 1, ["to"] = "close" }));
        Assert.Equal((true, "id: no incident 99"), await Move(_keys[Role.Operator], new() { ["id"] = 99, ["to"] = "resolve" }));
    }

    /// <summary>Runs <c>tests/mcp-client/client.mjs</c> with <paramref name="key"/> and parses what it prints. Node or
    /// the client's node_modules missing fails the test under CI=true (scripts/test installs them) and skips it
    /// otherwise.</summary>
    private async Task<JsonElement> RunClientAsync(string key)
    {
        var node = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "node"))
            .FirstOrDefault(File.Exists);
        var client = ClientDirectory();
        var missing = node is null ? "node is not on PATH (apt-get install nodejs)"
            : client is null ? "tests/mcp-client was not found above " + AppContext.BaseDirectory
            : !Directory.Exists(Path.Combine(client, "node_modules", "@modelcontextprotocol", "sdk")) ? $"{client}/node_modules is missing (npm ci --prefix {client}; scripts/test does it)"
            : null;
        if (missing is not null)
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail("CI=true requires the MCP test client: " + missing);
            }

            Skip.If(true, missing);
        }

        var info = new ProcessStartInfo(node!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = client! };
        info.ArgumentList.Add(Path.Combine(client!, "client.mjs"));
        info.ArgumentList.Add(_mcp.ToString());
        info.ArgumentList.Add(key);
        info.ArgumentList.Add("aida_pue");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the MCP client did not finish within 60 s: {await stderr}");
        }

        Assert.True(process.ExitCode == 0, $"the MCP client exited with {process.ExitCode}: {await stderr}");
        return JsonDocument.Parse(await stdout).RootElement;
    }

    private static string? ClientDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "mcp-client");
            if (File.Exists(Path.Combine(candidate, "client.mjs")))
            {
                return candidate;
            }
        }

        return null;
    }
}
