using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aida.Automation.Actions;
using Aida.Automation.Agents;
using Aida.Automation.Audit;
using Aida.Automation.Runbooks;
using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Model.Scenarios;
using Aida.Observability.Incidents;
using Aida.Observability.RootCause;
using Aida.Server.Access;
using Aida.Server.Api;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;
using Microsoft.AspNetCore.Builder;

namespace Aida.Server.Tests;

/// <summary>Aida's server on a real Kestrel on loopback, with the twin behind the agents' safety choke point, a key per
/// role, one PUE sample and one incident with a root cause: what the API tests run against.</summary>
public sealed class TestServer : IAsyncDisposable
{
    public static readonly Scenario Reference = ScenarioLoader.Load("reference");

    private readonly Tsdb _store;

    private TestServer(string dir, Dictionary<Role, string> keys, ServerContext context, WebApplication app, Tsdb store)
    {
        Dir = dir;
        Keys = keys;
        Context = context;
        App = app;
        _store = store;
        Http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = new Uri(app.Urls.First()) };
    }

    public string Dir { get; }

    /// <summary>A key per role, held by <c>ROLE-1</c>.</summary>
    public IReadOnlyDictionary<Role, string> Keys { get; }

    public ServerContext Context { get; }

    public WebApplication App { get; }

    /// <summary>A client that keeps no cookies of its own (tests send them explicitly).</summary>
    public HttpClient Http { get; }

    /// <param name="devices">A network site's collectors' sink, for <c>/api/devices</c>; null: the embedded twin.</param>
    /// <param name="heartbeat">The run's control loop, for <c>/healthz</c>; null: none.</param>
    /// <param name="dataNotWritten">What the run cannot write to its disk, for the overview; null: none.</param>
    /// <param name="dataDir">Where the keys, audit log and incidents are kept (it must not exist yet); null: a fresh
    /// temporary directory.</param>
    public static async Task<TestServer> StartAsync(Aida.Telemetry.Collectors.CollectorSink? devices = null, LoopHeartbeat? heartbeat = null, Func<IReadOnlyList<string>>? dataNotWritten = null, string? dataDir = null)
    {
        var dir = dataDir ?? Path.Combine(Path.GetTempPath(), "aida-server-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var simulator = new Simulator(Reference, new SimulationOptions { NoOperator = true, Duration = TimeSpan.FromHours(1) });
        simulator.AdvanceSteps(60);
        var audit = new AuditLog(Path.Combine(dir, "audit.db"), simulator.Clock);
        var envelope = new SafetyEnvelope(SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml")), Reference.Factory);
        var guarded = new GuardedPlant(simulator.Plant, envelope, simulator.Clock, "api", audit);
        var executor = new ActionExecutor(guarded, simulator.Clock, AutomationMode.Supervised, TimeSpan.FromMinutes(15), "api", audit);
        var (keyStore, keys) = KeysPerRole(dir);

        var store = new Tsdb(new TsdbOptions());
        store.Append(store.GetOrCreateSeries(Labels.Metric("aida_site_pue", ("site", "leesburg"))), Reference.Start.ToUnixTimeMilliseconds(), 1.25);
        store.Append(store.GetOrCreateSeries(Labels.Metric("aida_pue", ("site", "leesburg"))), simulator.Clock.GetUtcNow().ToUnixTimeMilliseconds(), 1.31);

        var incidents = new IncidentStore(Path.Combine(dir, "incidents.db"), simulator.Clock);
        var id = incidents.Open(new Alert("CduSupplyHigh", AlertSource.Threshold, "cdu-h1-a", simulator.Clock.GetUtcNow(), "CDU supply 31 °C above 30 °C") { Severity = "critical" });
        incidents.AttachRootCause(id, new RootCauseFinding([new CauseCandidate("cdu-h1-a", "cdu_pump_failure", 0.9, ["flow fell 80 % within a minute"])]));

        // The agent's own executor, with one fan trim it made.
        var catalog = new ActionCatalog(Reference.Factory, envelope);
        var agent = new ActionExecutor(guarded, simulator.Clock, AutomationMode.Autonomous, TimeSpan.FromMinutes(15), "agent", audit);
        agent.Propose(catalog.Create(ActionKind.SetSpeed, "cdu-h1-b", 0.9, "optimiser: trim"), "agent");

        var context = new ServerContext(Reference.Factory, keyStore, audit, executor, catalog, incidents, new object(),
            new EmbeddedQueryEngine(store), simulator.Clock, Run: new RunInfo("reference", "agent"), AgentActions: agent, Exclusions: new Aida.Reliability.Budgets.FiledExclusions())
        {
            Devices = devices is null ? null : devices.Devices,
            Heartbeat = heartbeat,
            DataNotWritten = dataNotWritten,
        };
        var app = await AidaApi.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), context, CancellationToken.None);
        return new TestServer(dir, keys, context, app, store) { Sim = simulator };
    }

    /// <summary>The API of a site run by Aida's agent as over the network (supervised, no simulated approver), at 00:38 of
    /// <c>faults/leak</c> moved to leak at h1-c03 from 00:35 to 00:50: the leak's runbook waits for a person's go-ahead
    /// as a whole. <see cref="Agent"/> is the agent, <see cref="Sim"/> the twin it runs.</summary>
    /// <param name="heartbeat">The run's control loop, for <c>/healthz</c> and the plant's lock; null: none.</param>
    /// <param name="dataNotWritten">What the run cannot write to its disk, for the overview; null: none.</param>
    /// <param name="dataDir">As <see cref="StartAsync"/>'s.</param>
    public static async Task<TestServer> StartWithAgentAsync(LoopHeartbeat? heartbeat = null, Func<IReadOnlyList<string>>? dataNotWritten = null, string? dataDir = null)
    {
        var dir = dataDir ?? Path.Combine(Path.GetTempPath(), "aida-server-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var leak = ScenarioLoader.Load("faults/leak");
        var scenario = leak with { Faults = [leak.Faults[0] with { Start = TimeSpan.FromMinutes(35), End = TimeSpan.FromMinutes(50) }] };
        var simulator = new Simulator(scenario, new SimulationOptions { Mode = OperatingMode.Agent, Duration = TimeSpan.FromMinutes(80) });
        var store = new Tsdb(new TsdbOptions { Clock = simulator.Clock, Retention = TimeSpan.FromDays(3650) });
        simulator.RecordTo(new PlantTelemetryRecorder(store, simulator.Plant, simulator.GpuCatalog, scenario.Factory.Site.Name));
        var audit = new AuditLog(Path.Combine(dir, "audit.db"), simulator.Clock);
        var incidents = new IncidentStore(Path.Combine(dir, "incidents.db"), simulator.Clock);
        var agent = new PlantAgent(simulator.Plant, scenario.Factory, new EmbeddedQueryEngine(store), incidents, SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml")),
            Runbook.LoadDirectory(BundledFiles.Shipped("runbooks"), scenario.Factory), simulator.Clock,
            new PlantAgentOptions { Optimise = false, Mode = AutomationMode.Supervised, ApproverDelay = null }, audit);
        simulator.AttachAgent(agent);
        simulator.AdvanceSteps((long)(TimeSpan.FromMinutes(38) / scenario.Step));

        var api = new ActionExecutor(agent.Plant, simulator.Clock, AutomationMode.Supervised, TimeSpan.FromMinutes(15), "api", audit);
        var catalog = new ActionCatalog(scenario.Factory, new SafetyEnvelope(SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml")), scenario.Factory), "P");
        var (keyStore, keys) = KeysPerRole(dir);
        var context = new ServerContext(scenario.Factory, keyStore, audit, api, catalog, incidents, new object(),
            new EmbeddedQueryEngine(store), simulator.Clock, Run: new RunInfo("leak", "agent"), AgentActions: agent.Executor, Agent: agent)
        {
            Heartbeat = heartbeat,
            DataNotWritten = dataNotWritten,
        };
        var app = await AidaApi.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), context, CancellationToken.None);
        return new TestServer(dir, keys, context, app, store) { Sim = simulator, Agent = agent };
    }

    /// <summary>The twin behind the API's guard (<see cref="StartWithAgentAsync"/>: behind its agent).</summary>
    public Simulator? Sim { get; private init; }

    /// <summary>The agent of <see cref="StartWithAgentAsync"/>; null otherwise.</summary>
    public PlantAgent? Agent { get; private init; }

    /// <summary>A key store in <paramref name="dir"/> with one key per role, held by <c>ROLE-1</c>.</summary>
    private static (ApiKeyStore Store, Dictionary<Role, string> Keys) KeysPerRole(string dir)
    {
        var store = new ApiKeyStore(Path.Combine(dir, "keys.db"));
        var keys = new Dictionary<Role, string>();
        foreach (var role in Enum.GetValues<Role>())
        {
            keys[role] = store.Issue(ApiKeyStore.RoleName(role) + "-1", role);
        }

        return (store, keys);
    }

    public async Task<HttpResponseMessage> Send(HttpMethod method, string path, string key, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return await Http.SendAsync(request);
    }

    public static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Context.Keys.Dispose();
        Context.Audit.Dispose();
        Context.Incidents!.Dispose();
        _store.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
