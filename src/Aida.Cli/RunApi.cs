using System.Net;
using Aida.Automation.Actions;
using Aida.Automation.Audit;
using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Reliability.Budgets;
using Aida.Server.Access;
using Aida.Server.Api;
using Aida.Telemetry.Query;
using Aida.Model.Facility;
using Aida.Model.Plant;
using Microsoft.AspNetCore.Builder;

namespace Aida.Cli;

/// <summary>The REST API of a live run (<c>aida run --api</c>): actions proposed over it go through a supervised
/// executor on the agent's own guard (or, without the agent, a guard of their own), so high-risk ones wait for an
/// approver; one audit log with the agent's; keys in DIR/keys.db.</summary>
internal sealed class RunApi : IAsyncDisposable
{
    /// <summary>The file a first start writes its admin key into, in the data directory.</summary>
    public const string InitialKeyFile = "admin.key";

    /// <summary>The file the actions proposed over the API that wait for an approver are kept in, in the data directory,
    /// so that a restart holds them for approval again.</summary>
    public const string PendingActionsFile = "pending-actions.json";

    /// <summary>How long an action proposed over the API waits for an approver.</summary>
    public static readonly TimeSpan ApprovalTimeout = TimeSpan.FromMinutes(15);

    private readonly WebApplication _app;
    private readonly ActionExecutor _executor;
    private readonly ApiKeyStore _keys;
    private readonly AuditLog? _ownAudit;
    private readonly object _gate;

    private RunApi(WebApplication app, ActionExecutor executor, ApiKeyStore keys, AuditLog? ownAudit, object gate, Uri url, ServerContext context)
    {
        Url = url;
        Context = context;
        _app = app;
        _executor = executor;
        _keys = keys;
        _ownAudit = ownAudit;
        _gate = gate;
    }

    /// <param name="gate">The lock the run steps the plant under; API writes take it too.</param>
    /// <param name="plant">The plant API writes go to (through the agent's guard, or one of their own): the twin, or a
    /// site over the network.</param>
    /// <param name="devices">A network site's collectors' sink, whose devices <c>/api/devices</c> lists; null for the
    /// embedded twin.</param>
    /// <param name="filed">The readings people left out of the SLOs (<see cref="AgentHost.FiledIn"/>).</param>
    /// <param name="slos">The run's SLO recording, whose newest evaluation the API serves; null: no budgets.</param>
    public static async Task<RunApi> StartAsync(IPEndPoint endpoint, Factory factory, IPlant plant, TimeProvider clock, AgentHost? agent, LiveTelemetry telemetry, string dataDirectory, object gate, FiledExclusions filed, SloRecording? slos, TextWriter stdout, CancellationToken token, RunInfo? run = null, Aida.Telemetry.Collectors.CollectorSink? devices = null, LoopHeartbeat? heartbeat = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var envelope = new SafetyEnvelope(SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml")), factory);
        var ownAudit = agent is null ? new AuditLog(Path.Combine(dataDirectory, "audit.db"), clock) : null;
        var audit = agent?.Audit ?? ownAudit!;
        var guarded = agent?.Agent.Plant ?? new GuardedPlant(plant, envelope, clock, "api", audit);
        var executor = new ActionExecutor(guarded, clock, AutomationMode.Supervised, ApprovalTimeout, "api", audit);
        var keys = KeysCommand.Open(dataDirectory);
        var query = telemetry.Store is { } store ? new EmbeddedQueryEngine(store) : null;
        // Actions proposed through the API are P1, P2, … (the agent's A1, A2, …), on after an earlier run's.
        var catalog = new ActionCatalog(factory, envelope, "P", audit.HighestNumbered("P"));
        List<ActionRecord> takenUp;
        IReadOnlyList<Lockout> lockoutsHeld = [];
        try
        {
            takenUp = TakeUp(Path.Combine(dataDirectory, PendingActionsFile), executor, catalog);
            // With no agent the API's own guard holds the lockouts (the agent's guard takes up its own).
            if (agent is null)
            {
                lockoutsHeld = AgentHost.HoldKeptLockouts(guarded.Lockouts, dataDirectory);
            }
        }
        catch (BadInputException)
        {
            keys.Dispose();
            ownAudit?.Dispose();
            throw;
        }

        var context = new ServerContext(factory, keys, audit, executor, catalog, agent?.Incidents ?? telemetry.Incidents, gate,
            query, clock, slos?.Board, run, agent?.Agent.Executor, filed, agent?.Agent)
        {
            Devices = devices is null ? null : devices.Devices,
            Heartbeat = heartbeat,
            DataNotWritten = () => telemetry.NotWritten,
        };
        var app = await AidaApi.StartAsync(endpoint, context, token);
        var url = $"http://{app.Urls.Select(u => new Uri(u)).Select(u => $"{u.Host}:{u.Port}").First()}/";
        if (keys.List().Count == 0)
        {
            // First start: nobody could log in. One admin key, readable only by this user, as a fresh install's
            // initial password is; more with aida keys issue.
            var file = Path.Combine(dataDirectory, InitialKeyFile);
            await File.WriteAllTextAsync(file, "", CancellationToken.None);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            await File.WriteAllTextAsync(file, keys.Issue("admin", Role.Admin) + "\n", CancellationToken.None);
            await stdout.WriteLineAsync($"first start: an admin key was written to {file} (log in with it; issue others with aida keys issue NAME --role ROLE --data {dataDirectory})");
        }

        if (ownAudit is not null && guarded.TakenUp.Resumed is { } envelopeTakenUp)
        {
            await stdout.WriteLineAsync("resuming: " + envelopeTakenUp);
        }

        if (lockoutsHeld.Count > 0)
        {
            await stdout.WriteLineAsync("resuming: " + Lockouts.Said(lockoutsHeld));
        }

        if (agent is null && guarded.Lockouts.Planned is { Count: > 0 } planned)
        {
            await stdout.WriteLineAsync("resuming: " + Lockouts.SaidPlanned(planned));
        }

        if (takenUp.Count > 0)
        {
            var waiting = takenUp.Where(r => r.State == ActionState.PendingApproval).Select(r => $"{r.Action.Id} until {r.ProposedAt + ApprovalTimeout:O}").ToList();
            var expired = takenUp.Where(r => r.State == ActionState.Expired).Select(r => r.Action.Id).ToList();
            await stdout.WriteLineAsync($"resuming: {waiting.Count} action(s) proposed over the API wait for an approver again"
                + (waiting.Count > 0 ? $" ({string.Join(", ", waiting)})" : "") + (expired.Count > 0 ? $"; {string.Join(", ", expired)} expired while Aida was down" : ""));
        }

        await stdout.WriteLineAsync($"Aida on {url} (dashboard; API under {url}api/, {keys.List().Count} key(s))");
        return new RunApi(app, executor, keys, ownAudit, gate, new Uri(url), context);
    }

    /// <summary>What the server serves from.</summary>
    public ServerContext Context { get; }

    /// <summary>Where the dashboard is served, e.g. <c>http://127.0.0.1:8080/</c>.</summary>
    public Uri Url { get; }

    /// <summary>The executor of the actions proposed over the API (on the agent's guard, or one of its own).</summary>
    public ActionExecutor Executor => _executor;

    /// <summary>Holds the actions an earlier run kept in <paramref name="file"/> for approval again (those whose time ran out
    /// meanwhile expire), and keeps the executor's waiting actions there from now on.</summary>
    /// <exception cref="BadInputException">The file is broken, or an entry names an action this site cannot take; the
    /// message names the file and the entry.</exception>
    private static List<ActionRecord> TakeUp(string file, ActionExecutor executor, ActionCatalog catalog)
    {
        IReadOnlyList<KeptAction> kept;
        try
        {
            kept = KeptActions.Read(file);
        }
        catch (FormatException e)
        {
            throw new BadInputException(e.Message);
        }

        var taken = new List<ActionRecord>();
        foreach (var (k, i) in kept.Select((k, i) => (k, i + 1)))
        {
            try
            {
                taken.Add(executor.TakeUp(catalog.CreateKept(k.Id, k.Kind, k.Asset, k.Value, k.Reason), k.RequestedBy, k.ProposedAt));
            }
            catch (ArgumentException e)
            {
                throw new BadInputException($"{file}: entry {i}: {e.Message}");
            }
        }

        executor.PendingChanged = pending => KeptActions.Write(file, pending);
        if (kept.Count > 0)
        {
            // Those that expired while Aida was down leave the file.
            KeptActions.Write(file, executor.Pending);
        }

        return taken;
    }

    /// <summary>Expires approvals nobody gave and checks due verifications (from the run loop).</summary>
    public void Tick()
    {
        lock (_gate)
        {
            _executor.Tick();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _keys.Dispose();
        _ownAudit?.Dispose();
    }
}
