using System.ComponentModel;
using System.Text;
using System.Text.Json;
using Aida.Automation.Actions;
using Aida.Automation.Audit;
using Aida.Observability.Incidents;
using Aida.Server.Access;
using Aida.Server.Api;
using Aida.Telemetry.Http;
using Aida.Telemetry.Query;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace Aida.Server.Mcp;

/// <summary>The MCP tools: read metrics, incidents, budgets and the audit log (any key), propose an action (operator
/// and up) through the same executor, safety envelope and approvals as the agents and the REST API.</summary>
/// <remarks>Each answer is one JSON text. Bad input is an <see cref="McpException"/>, which the SDK returns as a tool
/// error carrying its message, so the client learns what was wrong; every other exception would be a generic error.</remarks>
[McpServerToolType]
internal sealed class McpTools(ServerContext context, IHttpContextAccessor http)
{
    /// <summary>The most points one range query may return per series (Prometheus' own limit).</summary>
    private const int MaxPoints = 11_000;

    [McpServerTool(Name = "query_metrics", ReadOnly = true)]
    [Description("Run a PromQL query over the run's telemetry. Without start/end/step an instant query (at 'time', default now); with all three a range query. Answers Prometheus' data object: {resultType, result}.")]
    public async Task<string> QueryMetricsAsync(
        [Description("The PromQL expression, e.g. aida_site_pue or avg by (hall) (aida_rack_inlet_celsius)")] string query,
        [Description("Evaluation time of an instant query: Unix seconds or RFC 3339; default the run's now")] string? time = null,
        [Description("Start of a range query: Unix seconds or RFC 3339")] string? start = null,
        [Description("End of a range query: Unix seconds or RFC 3339")] string? end = null,
        [Description("Step of a range query: seconds or a Prometheus duration such as 30s or 1m")] string? step = null,
        CancellationToken token = default)
    {
        var engine = context.Telemetry ?? throw new McpException("this run keeps no telemetry store: there is nothing to query");
        if (string.IsNullOrWhiteSpace(query))
        {
            throw new McpException("query: missing (a PromQL expression)");
        }

        QueryResult result;
        try
        {
            if (start is null && end is null && step is null)
            {
                var at = time is null ? (context.Clock ?? TimeProvider.System).GetUtcNow() : Time("time", time);
                result = await engine.QueryAsync(query, at, token);
            }
            else
            {
                if (time is not null)
                {
                    throw new McpException("time: an instant query's time; a range query takes start, end and step");
                }

                var from = Time("start", start ?? throw new McpException("start: missing (a range query needs start, end and step)"));
                var to = Time("end", end ?? throw new McpException("end: missing (a range query needs start, end and step)"));
                if (!PrometheusFormat.TryParseDuration(step ?? throw new McpException("step: missing (a range query needs start, end and step)"), out var every) || every <= TimeSpan.Zero)
                {
                    throw new McpException($"step: '{step}' is not a positive duration (seconds, or e.g. 30s, 1m)");
                }

                if (to < from)
                {
                    throw new McpException("end: before start");
                }

                if ((to - from) / every > MaxPoints)
                {
                    throw new McpException($"step: at most {MaxPoints} points per series; use a larger step");
                }

                result = await engine.QueryRangeAsync(query, from, to, every, token);
            }
        }
        catch (QueryException e) when (e.Position >= 0 && !System.Text.RegularExpressions.Regex.IsMatch(e.Message, @"^\d+:\d+: "))
        {
            var (line, column) = PrometheusApiExtensions.LineAndColumn(query, e.Position);
            throw new McpException($"query: {line}:{column}: {e.Message}");
        }
        catch (QueryException e)
        {
            throw new McpException($"query: {e.Message}");
        }

        return Write(w => PrometheusApiExtensions.WriteResult(w, result));
    }

    [McpServerTool(Name = "list_incidents", ReadOnly = true)]
    [Description("List the run's incidents, newest first: id, title, state, severity, times, alert count, assets.")]
    public string ListIncidents(
        [Description("Only incidents in this state: open, acknowledged, mitigated or resolved")] string? state = null)
    {
        IncidentState? only = state is null
            ? null
            : IncidentStore.ParseState(state) ?? throw new McpException($"state: unknown state '{state}' (expected open, acknowledged, mitigated or resolved)");
        var incidents = context.Incidents?.List(only) ?? [];
        return Write(w =>
        {
            w.WriteStartArray();
            foreach (var incident in incidents)
            {
                IncidentJson.Write(w, incident);
            }

            w.WriteEndArray();
        });
    }

    [McpServerTool(Name = "explain_incident", ReadOnly = true)]
    [Description("Explain one incident: its timeline (alerts folded, state changes, root-cause findings), its root-cause candidates ranked with their evidence, and the assets it touched.")]
    public string ExplainIncident([Description("The incident's id (from list_incidents)")] long id)
    {
        var store = context.Incidents ?? throw new McpException("this run keeps no incidents");
        IncidentDetail detail;
        try
        {
            detail = store.Get(id);
        }
        catch (KeyNotFoundException)
        {
            throw new McpException($"id: no incident {id}");
        }

        return Write(w => IncidentJson.Write(w, detail));
    }

    [McpServerTool(Name = "move_incident")]
    [Description("Move an incident forward (needs the operator role; audited as the key's holder): acknowledge (someone is on it), mitigate (its impact is contained) or resolve (the fault is repaired), with a note on its timeline. States only move forward: open, acknowledged, mitigated, resolved. Answers the incident as explain_incident does.")]
    public string MoveIncident(
        [Description("The incident's id (from list_incidents)")] long id,
        [Description("acknowledge, mitigate or resolve")] string to,
        [Description("Why, or what was done, in a sentence: it goes on the incident's timeline and into the audit log")] string? note = null)
    {
        var caller = Operator("move_incident", $"{to} incident {id}", "moving an incident");
        var move = AidaApi.IncidentMoves.Where(m => m.Verb == to).Select(m => (IncidentState?)m.To).FirstOrDefault()
            ?? throw new McpException($"to: '{to}' is not a move (acknowledge, mitigate or resolve)");
        if (note is { Length: > 500 })
        {
            throw new McpException("note: at most 500 characters");
        }

        try
        {
            AidaApi.MoveIncident(context, Actor(caller), id, move, note);
        }
        catch (KeyNotFoundException)
        {
            throw new McpException($"id: no incident {id}");
        }
        catch (Exception e) when (e is InvalidOperationException or LoopStalledException)
        {
            throw new McpException(e.Message);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (IncidentStore.IsDiskRefusal(e))
        {
            context.Audit.Append(Actor(caller), AuditKind.Decision, "mcp:move_incident", $"refused: {to} incident {id}: {AidaApi.DiskRefusal(e)}");
            throw new McpException(AidaApi.DiskRefusal(e));
        }

        return ExplainIncident(id);
    }

    [McpServerTool(Name = "read_budgets", ReadOnly = true)]
    [Description("Read the run's SLOs and error budgets (objective, attained, budget consumed and remaining, burn rates, firing alerts) and the efficiency envelope they allow.")]
    public async Task<string> ReadBudgetsAsync(CancellationToken token = default)
    {
        var budgets = context.Budgets ?? throw new McpException("this run evaluates no SLOs (it keeps no telemetry store)");
        return JsonSerializer.Serialize((await budgets.ReadAsync(token)).ToView(), AidaApi.Json);
    }

    [McpServerTool(Name = "propose_action", Destructive = true)]
    [Description("Propose a typed action on the plant (needs the operator role). It passes the same safety envelope as the agents' writes; high-risk actions (isolate_rack, stop_unit) wait for an approver and answer state pending_approval.")]
    public string ProposeAction(
        [Description("The action: set_setpoint, set_speed, start_standby, stop_unit, set_economiser, cap_gpu_power, isolate_rack, pause_workload or move_workload")] string kind,
        [Description("The asset it acts on, e.g. h1-a01 (a rack) or cdu-h1-a")] string asset,
        [Description("The value written (a setpoint in °C, a speed 0-1, a power cap in W; 1 for on/off actions)")] double value,
        [Description("Why, in a sentence: it is audited with the action")] string reason)
    {
        var caller = Operator("propose_action", "propose an action", "proposing an action");

        if (reason is not { Length: > 0 and <= 500 })
        {
            throw new McpException("reason: must be a string of 1-500 characters");
        }

        try
        {
            return JsonSerializer.Serialize(AidaApi.ActionView(AidaApi.Propose(context, kind, asset, value, reason, Actor(caller))), AidaApi.Json);
        }
        catch (Exception e) when (e is ArgumentException or LoopStalledException)
        {
            throw new McpException(e.Message);
        }
    }

    [McpServerTool(Name = "leave_reading_out")]
    [Description("Leave a reading found lying (a stuck, drifting or noisy sensor) out of the time-slice SLOs that read it, so it stops spending their error budgets (needs the operator role; audited). The budgets the agent's efficiency policy reads apply it from their next evaluation.")]
    public string LeaveReadingOut(
        [Description("The reading as a PromQL selector with = matchers only, e.g. aida_rack_inlet_celsius{rack=\"h2-b04\"}")] string selector,
        [Description("Why, in a sentence: it is audited")] string reason,
        [Description("From when (RFC 3339 or Unix seconds; default now)")] string? from = null,
        [Description("Until when (RFC 3339 or Unix seconds; default: until ended through the API)")] string? until = null)
    {
        var caller = Operator("leave_reading_out", "leave a reading out of the SLOs", "leaving a reading out of the SLOs");

        var exclusions = context.Exclusions ?? throw new McpException("this run evaluates no SLOs: nothing to leave a reading out of");
        var start = from is null ? (context.Clock ?? TimeProvider.System).GetUtcNow() : Time("from", from);
        DateTimeOffset? end = until is null ? null : Time("until", until);
        try
        {
            return JsonSerializer.Serialize(AidaApi.ExclusionView(context, AidaApi.LeaveOut(exclusions, context.Audit, selector, start, end, reason, Actor(caller))), AidaApi.Json);
        }
        catch (ArgumentException e)
        {
            throw new McpException(e.Message);
        }
    }

    /// <summary>The plant's lock, or the tool's error when the control loop stalled holding it (<see cref="PlantLock"/>).</summary>
    private PlantLock.Held Hold()
    {
        try
        {
            return PlantLock.Hold(context);
        }
        catch (LoopStalledException e)
        {
            throw new McpException(e.Message);
        }
    }

    [McpServerTool(Name = "list_disputes", ReadOnly = true)]
    [Description("List the actuators whose read-back disagrees with what Aida last wrote (moved by another writer at the panel or from another BMS client, or a read-back that lies): actuator, written, read_back, read_at. The safety envelope judges each step of them from both; only an approver settles one, through the REST API (POST /api/actuators/adopt: it moved; POST /api/actuators/dismiss: the read-back lies).")]
    public string ListDisputes()
    {
        using (Hold())
        {
            return JsonSerializer.Serialize(AidaApi.DisputeViews(context.Actions.Plant), AidaApi.Json);
        }
    }

    [McpServerTool(Name = "list_devices", ReadOnly = true)]
    [Description("List a network site's field devices as their collectors report them: counts up, down and restarted, and each device (down first, then those back most recently) with its protocol, whether it answers, since when it is down, its error and restart counts, and how it last came back (an outage, or a restart found by its uptime). polled is false on the embedded twin, which has none.")]
    public string ListDevices() => JsonSerializer.Serialize(AidaApi.DeviceList(context), AidaApi.Json);

    [McpServerTool(Name = "list_lockouts", ReadOnly = true)]
    [Description("List the assets people have locked out (lockout/tagout: someone is working on them), then the lockouts planned to start later: each with its state (held or planned), who locked it out, why, since when (a planned one: from when) and until when (null: until released). Aida writes none of a locked-out asset's actuators, whoever asks; only people lock out and release, through the REST API (POST /api/lockouts, POST /api/lockouts/{asset}/release).")]
    public string ListLockouts()
    {
        using (Hold())
        {
            return JsonSerializer.Serialize(AidaApi.LockoutViews(context.Actions.Plant.Lockouts), AidaApi.Json);
        }
    }

    [McpServerTool(Name = "lockout_impact", ReadOnly = true)]
    [Description("Before a person locks an asset out: each runbook step of Aida's agent that would write it, and on which faults (e.g. 'runbook chiller-trip would start_standby it on a chiller-trip of chiller-1 or chiller-2'); while it is locked out those steps are refused and their run rolls back to a person. agent is false (and the list empty) when no agent runs. capacity: what its group (the chillers, its hall's CDUs or CRAHs, the UPSs of its halls) would have left with it and the other lockouts out, against the peak load of the last 24 h, and the redundancy now and without it (verdict short, none_to_spare, spare or not_measured; said: one line); null for an asset with no such group (a rack). Give from and duration to ask about the work's own time: the other lockouts over it count as out.")]
    public async Task<string> LockoutImpact(
        [Description("The asset, as its actuators name it before the slash (chiller-3, cdu-h1-a, h1-a01)")] string asset,
        [Description("When the work would start (RFC 3339, plant time); default now: the other lockouts over its time count as out")] string? from = null,
        [Description("How long it would last from its start (4h, 1d); default no end")] string? duration = null,
        CancellationToken cancellationToken = default)
    {
        if (!context.Factory.Topology.AssetKinds.ContainsKey(asset))
        {
            throw new McpException($"asset: unknown asset '{asset}'");
        }

        var window = AidaApi.ImpactWindow(context, from, null, duration, out var error);
        return error is not null ? throw new McpException(error.Replace("for: ", "duration: ", StringComparison.Ordinal))
            : JsonSerializer.Serialize(new { asset, agent = context.Agent is not null, runbooks = AidaApi.LockoutImpact(context, asset), capacity = await AidaApi.LockoutCapacityAsync(context, asset, window.From, window.Until, cancellationToken) }, AidaApi.Json);
    }

    [McpServerTool(Name = "get_redundancy", ReadOnly = true)]
    [Description("Each group of units that share a load (kind chiller, dry-cooler or cooling-tower with scope site; cdu, crah, busway with the hall; ups, transformer with the group's units): spare is N+k's k at the present load (-1: short, the units in service do not carry it; null: no load measured), the units in fault, in maintenance or locked out counted out (out), capacity and left in unit (W, or m3/s for CRAHs), load, and said: one line. The economiser's units count at the weather (weather: facility water's return over the dry or wet bulb) and made_up_by says the chillers carry what they cannot.")]
    public async Task<string> GetRedundancy(CancellationToken cancellationToken = default)
    {
        try
        {
            return await AidaApi.RedundancyAsync(context, cancellationToken) is { } redundancy
                ? JsonSerializer.Serialize(redundancy, AidaApi.Json)
                : throw new McpException("this run keeps no telemetry store to read the loads from");
        }
        catch (Exception e) when (e is Aida.Telemetry.Query.QueryException or HttpRequestException)
        {
            throw new McpException($"the groups' loads could not be read from the telemetry: {e.Message}");
        }
    }

    [McpServerTool(Name = "get_agent_mode", ReadOnly = true)]
    [Description("How Aida's agent acts now: mode (dry-run: it proposes and writes nothing; supervised: its high-risk actions wait for an approver; autonomous), highest (the most autonomy it may be handed), and who last changed it, why and when. Only people change it, through the REST API (POST /api/agent/mode: an approver takes autonomy away, an admin hands it back).")]
    public string GetAgentMode()
    {
        using (Hold())
        {
            return context.Agent is { } agent
                ? JsonSerializer.Serialize(AidaApi.AgentModeView(agent), AidaApi.Json)
                : throw new McpException("no agent runs here (aida run --mode agent runs one)");
        }
    }

    [McpServerTool(Name = "read_audit", ReadOnly = true)]
    [Description("Read the last entries of the hash-chained audit log: sequence, time, actor, kind, subject, detail, hash; only an asset's or one actor's when asked.")]
    public string ReadAudit(
        [Description("How many of the last entries, 1-10000 (default 100)")] int limit = 100,
        [Description("Only entries about this subject or one under it: an asset (cdu-h1-a also gives cdu-h1-a/supply_setpoint), lockouts, cooling-optimiser")] string? subject = null,
        [Description("Only entries by this actor (api:alice, agent:aida, runbook:leak)")] string? actor = null)
    {
        if (limit is < 1 or > 10_000)
        {
            throw new McpException($"limit: {limit} is not from 1 to 10000");
        }

        return JsonSerializer.Serialize(AidaApi.AuditViews(context.Audit, limit, string.IsNullOrEmpty(subject) ? null : subject, string.IsNullOrEmpty(actor) ? null : actor), AidaApi.Json);
    }

    /// <summary>The caller, who must hold the operator role for <paramref name="tool"/>; a refusal is audited.</summary>
    private Caller Operator(string tool, string what, string doing)
    {
        var caller = Caller();
        if (caller.Role < Role.Operator)
        {
            context.Audit.Append(Actor(caller), AuditKind.Decision, "mcp:" + tool, $"refused: {what} needs the {ApiKeyStore.RoleName(Role.Operator)} role, the caller is {ApiKeyStore.RoleName(caller.Role)}");
            throw new McpException($"forbidden: {doing} needs the {ApiKeyStore.RoleName(Role.Operator)} role; this key is {ApiKeyStore.RoleName(caller.Role)}");
        }

        return caller;
    }

    /// <summary>The key holder of the current request, set by the API's authentication middleware.</summary>
    private Caller Caller() =>
        http.HttpContext?.Items[typeof(Caller)] as Caller ?? throw new McpException("not authenticated: send an API key as 'Authorization: Bearer aida_...'");

    private static string Actor(Caller caller) => "mcp:" + caller.Name;

    private static DateTimeOffset Time(string name, string text) =>
        PrometheusFormat.TryParseTime(text, out var t) ? t : throw new McpException($"{name}: '{text}' is not a time (Unix seconds or RFC 3339)");

    private static string Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
