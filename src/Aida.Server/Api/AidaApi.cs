using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Aida.Automation.Actions;
using Aida.Automation.Agents;
using Aida.Automation.Audit;
using Aida.Automation.Safety;
using Aida.Model.Facility;
using Aida.Observability.Derived;
using Aida.Observability.Incidents;
using Aida.Reliability.Budgets;
using Aida.Server.Access;
using Aida.Server.Mcp;
using Aida.Telemetry.Http;
using Aida.Telemetry.Query;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aida.Server.Api;

/// <summary>What the API serves and acts through: the factory, its incidents, the agents' action executor (the same
/// safety choke point and approvals the agents use), the audit log and the API keys.</summary>
/// <param name="Gate">The lock the plant is stepped under; the API takes it for every call that reads or acts on the
/// executor.</param>
/// <param name="Telemetry">The run's store, served as the Prometheus query API under <c>/api/v1/</c> (behind the same
/// keys); null to serve none.</param>
/// <param name="Budgets">The run's SLOs and error budgets over <paramref name="Telemetry"/>; null when there are none.</param>
/// <param name="Run">The scenario and operating mode, for the overview; null outside a run.</param>
/// <param name="AgentActions">The agent's own executor, whose actions are listed beside the API's; an approver decides
/// those waiting for a person as the API's own. Null when no agent runs.</param>
/// <param name="Agent">The agent, whose runbooks waiting for approval as a whole an approver decides
/// (<c>/api/runbook-runs</c>); null when no agent runs.</param>
public sealed record ServerContext(Factory Factory, ApiKeyStore Keys, AuditLog Audit, ActionExecutor Actions, ActionCatalog Catalog, IncidentStore? Incidents, object Gate, IQueryEngine? Telemetry = null, TimeProvider? Clock = null, BudgetBoard? Budgets = null, RunInfo? Run = null, ActionExecutor? AgentActions = null, FiledExclusions? Exclusions = null, PlantAgent? Agent = null)
{
    /// <summary>Every action, the API's and the agent's, newest first, each with where it came from (snapshots of the
    /// executors' records: no lock needed).</summary>
    public IEnumerable<(ActionRecord Record, string Source)> AllActions() =>
        Actions.Records.Select(r => (r, "api"))
            .Concat((AgentActions?.Records ?? []).Select(r => (r, "agent")))
            .OrderByDescending(a => a.Item1.ProposedAt);

    /// <summary>What keeps Alertmanager told (<c>aida run --alertmanager</c>), for <c>/metrics</c>; null when nothing
    /// does. Set once the run starts posting, after the server started.</summary>
    public Aida.Reliability.Alerting.AlertmanagerFeed? Alertmanager { get; set; }

    /// <summary>The field devices a network site's collectors poll, with their health now (<c>/api/devices</c>); null
    /// for the embedded twin, which has none.</summary>
    public Func<IReadOnlyList<Aida.Telemetry.Collectors.DeviceHealthView>>? Devices { get; init; }

    private RedundancyBoard? _redundancy;

    /// <summary>Each group's redundancy over <see cref="Telemetry"/>, worked out at most every
    /// <see cref="RedundancyBoard.Refresh"/> for all callers; null with no telemetry.</summary>
    public RedundancyBoard? Redundancy => Telemetry is null
        ? null
        : LazyInitializer.EnsureInitialized(ref _redundancy, () => new RedundancyBoard(Telemetry, Factory, Clock ?? TimeProvider.System));

    /// <summary>Whether the run's control loop still steps (<c>/healthz</c> answers 503 when it stalls); null outside a
    /// run, when <c>/healthz</c> says only that the server answers.</summary>
    public LoopHeartbeat? Heartbeat { get; init; }

    /// <summary>What the run cannot write to its data directory's disk now, one line each (the overview's
    /// <c>trouble</c>); null outside a run.</summary>
    public Func<IReadOnlyList<string>>? DataNotWritten { get; init; }
}

/// <summary>What run the server belongs to.</summary>
public sealed record RunInfo(string Scenario, string Mode);

/// <summary>Aida's REST API under <c>/api/</c>: every call authenticated by an API key (<c>Authorization: Bearer</c>),
/// every state-changing call checked against the caller's role and audited (refusals too), errors as RFC 9457 problem
/// details, bodies capped, callers rate-limited.</summary>
public static class AidaApi
{
    /// <summary>The largest request body accepted (a proposed action is a few hundred bytes).</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Requests per minute one caller (one key, or one address without a key) may make.</summary>
    public const int RequestsPerMinute = 600;

    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = false };

    /// <summary>Starts the API on <paramref name="endpoint"/>.</summary>
    public static async Task<WebApplication> StartAsync(IPEndPoint endpoint, ServerContext context, CancellationToken token)
    {
        // Rooted at the binary, with no configuration reloaded on change: by default the host watches the directory it
        // was started from and every directory under it (an inotify watch each: 14,007 from /tmp), for an appsettings
        // file Aida does not use.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(endpoint);
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
        });
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Aida";
            document.Info.Description = "Aida's REST API: every /api/ route needs 'Authorization: Bearer aida_...' (docs/server.md)";
            return Task.CompletedTask;
        }));
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http => RateLimitPartition.GetFixedWindowLimiter(
                http.Request.Headers.Authorization.ToString() is { Length: > 0 } key ? key : http.Connection.RemoteIpAddress?.ToString() ?? "",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = RequestsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            o.OnRejected = (rejected, ct) => new ValueTask(Problem(StatusCodes.Status429TooManyRequests, "too many requests", $"at most {RequestsPerMinute} requests a minute per caller").ExecuteAsync(rejected.HttpContext));
        });
        builder.Services.AddAidaMcp(context);
        var app = builder.Build();
        app.UseRateLimiter();
        app.MapOpenApi("/openapi/{documentName}.json");
        Map(app, context);
        app.MapAidaMcp();
        await app.StartAsync(token);
        return app;
    }

    /// <summary>Maps <c>/healthz</c>, the <c>/api/</c> routes and the dashboard onto <paramref name="app"/>.</summary>
    public static void Map(WebApplication app, ServerContext context)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(context);
        var counters = new RequestCounters();
        var sessions = new SessionStore(context.Keys, TimeProvider.System);
        var live = new LiveView(context, TimeProvider.System);
        app.Use(async (http, next) =>
        {
            var headers = http.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'";
            headers["Referrer-Policy"] = "no-referrer";
            await next(http);
        });
        app.Use(async (http, next) =>
        {
            try
            {
                await next(http);
            }
            finally
            {
                counters.Count(http.Response.StatusCode);
            }
        });
        app.Use(async (http, next) =>
        {
            if (!http.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal) && !http.Request.Path.StartsWithSegments(AidaMcp.Path, StringComparison.Ordinal))
            {
                await next(http);
                return;
            }

            // Every body read below, the login's too, is capped: an oversized one is a 413 problem here.
            try
            {
                if (http.Request.Path.Equals("/api/session", StringComparison.Ordinal) && HttpMethods.IsPost(http.Request.Method))
                {
                    await next(http); // the login itself
                    return;
                }

                var header = http.Request.Headers.Authorization.ToString();
                var cookie = http.Request.Cookies[SessionStore.Cookie];
                Caller? caller;
                if (header.Length > 0 || cookie is null)
                {
                    caller = header.StartsWith("Bearer ", StringComparison.Ordinal) ? context.Keys.Find(header["Bearer ".Length..].Trim()) : null;
                }
                else
                {
                    // A browser's session: a state-changing request must echo the session's CSRF token, which a page of
                    // another origin cannot read.
                    var session = sessions.Find(cookie);
                    caller = session?.Caller;
                    if (session is not null && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)
                        && !SessionStore.CsrfMatches(session, http.Request.Headers[SessionStore.CsrfHeader].ToString()))
                    {
                        context.Audit.Append("api:" + session.Caller.Name, AuditKind.Decision, http.Request.Path, $"refused: {http.Request.Method} without the session's CSRF token");
                        await Problem(StatusCodes.Status403Forbidden, "CSRF token missing or wrong", $"a request made with the session cookie that changes state must send the session's token in {SessionStore.CsrfHeader}").ExecuteAsync(http);
                        return;
                    }
                }

                if (caller is null)
                {
                    http.Response.Headers.WWWAuthenticate = "Bearer";
                    await Problem(StatusCodes.Status401Unauthorized, "not authenticated", header.Length == 0
                        ? cookie is null ? "send an API key as 'Authorization: Bearer aida_...', or log in (POST /api/session)" : "the session has ended: log in again"
                        : "the API key is unknown or revoked").ExecuteAsync(http);
                    return;
                }

                http.Items[typeof(Caller)] = caller;
                await next(http);
            }
            catch (BadHttpRequestException e)
            {
                await Problem(e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "request body too large" : "bad request",
                    e.StatusCode == StatusCodes.Status413PayloadTooLarge ? $"bodies are limited to {MaxBodyBytes} bytes" : e.Message).ExecuteAsync(http);
            }
            catch (LoopStalledException e) when (!http.Response.HasStarted)
            {
                await Problem(StatusCodes.Status503ServiceUnavailable, "control loop stalled", e.Message).ExecuteAsync(http);
            }
            catch (Microsoft.Data.Sqlite.SqliteException e) when (IncidentStore.IsDiskRefusal(e) && !http.Response.HasStarted)
            {
                await DiskRefused(e).ExecuteAsync(http);
            }
        });

        app.MapGet("/healthz", () => Health(context.Heartbeat));
        var metricsReads = new MetricsReads(new([]), new(context.Agent?.Mode ?? AutomationMode.DryRun));
        app.MapGet("/metrics", () => Results.Text(Metrics(context, counters, metricsReads), "text/plain; version=0.0.4; charset=utf-8"));
        if (context.Telemetry is not null)
        {
            app.MapPrometheusApi(context.Telemetry, context.Clock);
        }

        app.MapGet("/api/factory", () => Results.Json(FactoryView(context.Factory), Json));
        app.MapPost("/api/session", (Func<HttpContext, Task<IResult>>)(http => Login(http, context, sessions)));
        app.MapGet("/api/session", (HttpContext http) => SessionView(http, sessions));
        app.MapDelete("/api/session", (HttpContext http) =>
        {
            if (http.Request.Cookies[SessionStore.Cookie] is { } id)
            {
                sessions.Logout(id);
            }

            http.Response.Cookies.Delete(SessionStore.Cookie, new CookieOptions { Path = "/" });
            return Results.NoContent();
        });
        app.MapGet("/api/overview", (Func<HttpContext, Task<IResult>>)(async http => Results.Json(await live.OverviewAsync(http.RequestAborted), Json)));
        app.MapGet("/api/events", (HttpContext http) => TypedResults.ServerSentEvents(live.EventsAsync(Json, http.RequestAborted)));
        app.MapGet("/api/incidents", () => Results.Json(IncidentList(context), Json));
        app.MapGet("/api/devices", () => Results.Json(DeviceList(context), Json));
        app.MapGet("/api/incidents/{id}", (string id) => IncidentDetailView(context, id));
        foreach (var (verb, to) in IncidentMoves)
        {
            app.MapPost($"/api/incidents/{{id}}/{verb}", async (HttpContext http, string id) =>
                await Mutation(http, context, Role.Operator, $"{verb} incident {id}", body => MoveIncident(context, Caller(http), id, body, to)));
        }

        app.MapGet("/api/slos", (Func<HttpContext, Task<IResult>>)(async http => context.Budgets is null
            ? Problem(StatusCodes.Status404NotFound, "no SLOs", "this run evaluates no SLOs (it keeps no telemetry store)")
            : Results.Json((await context.Budgets.ReadAsync(http.RequestAborted)).ToView(), Json)));
        app.MapGet("/api/slos/exclusions", () => Results.Json((context.Exclusions?.All ?? []).Select(f => ExclusionView(context, f)), Json));
        app.MapPost("/api/slos/exclusions", (Func<HttpContext, Task<IResult>>)(http => Mutation(http, context, Role.Operator, "leave a reading out of the SLOs", body => FileExclusion(context, Caller(http), body))));
        app.MapPost("/api/slos/exclusions/{id}/end", async (HttpContext http, string id) => await Mutation(http, context, Role.Operator, $"end exclusion {id}", body => EndExclusion(context, Caller(http), id, body)));
        app.MapGet("/api/actions", () => Results.Json(context.AllActions().Select(a => ActionView(a.Record, a.Source)).ToArray(), Json));
        app.MapGet("/api/audit", (HttpContext http) =>
        {
            var limitText = http.Request.Query["limit"].ToString();
            var limit = 100;
            if (limitText.Length > 0 && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 10_000))
            {
                return Problem(StatusCodes.Status400BadRequest, "bad query", $"limit: '{limitText}' is not a whole number from 1 to 10000");
            }

            // An asset's history (subject=cdu-h1-a: its entries and its actuators') or one person's (actor=api:alice).
            var subject = http.Request.Query["subject"].ToString();
            var actor = http.Request.Query["actor"].ToString();
            return Results.Json(AuditViews(context.Audit, limit, subject.Length > 0 ? subject : null, actor.Length > 0 ? actor : null), Json);
        });
        // Typed as Func<..., Task<IResult>>: a lambda of HttpContext alone returning a Task would bind as a RequestDelegate,
        // whose result is dropped (every call would answer 200).
        app.MapPost("/api/actions", (Func<HttpContext, Task<IResult>>)(http => Mutation(http, context, Role.Operator, "propose an action", body => ProposeAction(context, Caller(http), body))));
        app.MapPost("/api/actions/{id}/approve", async (HttpContext http, string id) => await Mutation(http, context, Role.Approver, $"approve {id}", body => Decide(context, Caller(http), id, body, approve: true)));
        app.MapPost("/api/actions/{id}/reject", async (HttpContext http, string id) => await Mutation(http, context, Role.Approver, $"reject {id}", body => Decide(context, Caller(http), id, body, approve: false)));
        app.MapGet("/api/actuators/disputes", () =>
        {
            using (PlantLock.Hold(context))
            {
                return Results.Json(DisputeViews(context.Actions.Plant), Json);
            }
        });
        app.MapPost("/api/actuators/adopt", (Func<HttpContext, Task<IResult>>)(http => Mutation(http, context, Role.Approver, "adopt an actuator's read-back", body => SettleDispute(context, Caller(http), body, adopt: true))));
        app.MapPost("/api/actuators/dismiss", (Func<HttpContext, Task<IResult>>)(http => Mutation(http, context, Role.Approver, "dismiss an actuator's read-back", body => SettleDispute(context, Caller(http), body, adopt: false))));
        app.MapGet("/api/lockouts", () =>
        {
            using (PlantLock.Hold(context))
            {
                return Results.Json(LockoutViews(context.Actions.Plant.Lockouts), Json);
            }
        });
        app.MapGet("/api/lockouts/impact", async (string? asset, string? from, string? until, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "for")] string? lasting, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(asset) || !context.Factory.Topology.AssetKinds.ContainsKey(asset))
            {
                return Problem(StatusCodes.Status400BadRequest, "bad request", string.IsNullOrWhiteSpace(asset) ? "asset: give the asset (?asset=chiller-3)" : $"asset: unknown asset '{asset}'");
            }

            // The work's window, as POST /api/lockouts would take it: the other lockouts over it count as out.
            var window = ImpactWindow(context, from, until, lasting, out var error);
            return error is not null ? Problem(StatusCodes.Status400BadRequest, "bad request", error) : Results.Json(new { asset, agent = context.Agent is not null, runbooks = LockoutImpact(context, asset), capacity = await LockoutCapacityAsync(context, asset, window.From, window.Until, ct) }, Json);
        });
        app.MapGet("/api/redundancy", async (CancellationToken ct) =>
        {
            try
            {
                return await RedundancyAsync(context, ct) is { } redundancy ? Results.Json(redundancy, Json)
                    : Problem(StatusCodes.Status404NotFound, "no telemetry", "this run keeps no telemetry store to read the loads from");
            }
            catch (Exception e) when (e is QueryException or HttpRequestException)
            {
                return Problem(StatusCodes.Status502BadGateway, "telemetry not read", $"the groups' loads could not be read from the telemetry: {e.Message}");
            }
        });
        app.MapPost("/api/lockouts", (Func<HttpContext, Task<IResult>>)(http => Mutation(http, context, Role.Operator, "lock an asset out", body => LockOut(context, Caller(http), body))));
        app.MapPost("/api/lockouts/{asset}/release", async (HttpContext http, string asset) => await Mutation(http, context, Role.Operator, $"release {asset}'s lockout", body => ReleaseLockout(context, Caller(http), asset, body)));
        app.MapPost("/api/lockouts/{asset}/extend", async (HttpContext http, string asset) => await Mutation(http, context, Role.Operator, $"change the end of {asset}'s lockout", body => ExtendLockout(context, Caller(http), asset, body)));
        app.MapPost("/api/lockouts/{asset}/reschedule", async (HttpContext http, string asset) => await Mutation(http, context, Role.Operator, $"move the start of {asset}'s planned lockout", body => RescheduleLockout(context, Caller(http), asset, body)));
        app.MapGet("/api/agent/mode", () =>
        {
            using (PlantLock.Hold(context))
            {
                return context.Agent is { } agent ? Results.Json(AgentModeView(agent), Json)
                    : Problem(StatusCodes.Status404NotFound, "no agent", "no agent runs here (aida run --mode agent runs one)");
            }
        });
        app.MapPost("/api/agent/mode", (Func<HttpContext, Task<IResult>>)(http => Mutation(http, context, Role.Approver, "change the agent's mode", body => ChangeAgentMode(context, Caller(http), body))));
        app.MapGet("/api/runbook-runs", () =>
        {
            using (PlantLock.Hold(context))
            {
                return Results.Json((context.Agent?.Responses ?? []).AsEnumerable().Reverse().Select(RunbookRunView).ToArray(), Json);
            }
        });
        app.MapPost("/api/runbook-runs/{incident}/approve", async (HttpContext http, string incident) => await Mutation(http, context, Role.Approver, $"approve incident {incident}'s runbook", body => DecideRunbook(context, Caller(http), incident, body, approve: true)));
        app.MapPost("/api/runbook-runs/{incident}/reject", async (HttpContext http, string incident) => await Mutation(http, context, Role.Approver, $"reject incident {incident}'s runbook", body => DecideRunbook(context, Caller(http), incident, body, approve: false)));

        // The dashboard: everything outside /api/ that no route above took.
        var files = Dashboard.StaticFiles.Embedded();
        app.MapGet("/{**path}", (string? path) => path is not null && (path == "api" || path.StartsWith("api/", StringComparison.Ordinal))
            ? Problem(StatusCodes.Status404NotFound, "no such route", $"no API route '/{path}' (the routes: /openapi/v1.json)")
            : files.Serve(path));
    }

    /// <summary>A state-changing call: the role checked (a refusal audited), the body parsed as a JSON object, the
    /// change made and audited.</summary>
    private static Task<IResult> Mutation(HttpContext http, ServerContext context, Role needed, string what, Func<JsonElement, IResult> act) =>
        Mutation(http, context, needed, what, body => Task.FromResult(act(body)));

    /// <summary>As the other, for a change whose answer reads telemetry.</summary>
    private static async Task<IResult> Mutation(HttpContext http, ServerContext context, Role needed, string what, Func<JsonElement, Task<IResult>> act)
    {
        var caller = Caller(http);
        if (caller.Role < needed)
        {
            context.Audit.Append(Actor(caller), AuditKind.Decision, http.Request.Path, $"refused: {what} needs the {ApiKeyStore.RoleName(needed)} role, the caller is {ApiKeyStore.RoleName(caller.Role)}");
            return Problem(StatusCodes.Status403Forbidden, "forbidden", $"{what} needs the {ApiKeyStore.RoleName(needed)} role; this key is {ApiKeyStore.RoleName(caller.Role)}");
        }

        try
        {
            return await WithObjectBody(http, act);
        }
        catch (LoopStalledException e)
        {
            // Audited like any refusal: a person's approval that could not be made must show in the log.
            context.Audit.Append(Actor(caller), AuditKind.Decision, http.Request.Path, $"refused: {what}: {e.Message}");
            return Problem(StatusCodes.Status503ServiceUnavailable, "control loop stalled", e.Message);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (IncidentStore.IsDiskRefusal(e))
        {
            // The store's write is one transaction: refused, it changed nothing. The audit log holds its entry in memory
            // while its own disk refuses.
            context.Audit.Append(Actor(caller), AuditKind.Decision, http.Request.Path, $"refused: {what}: {DiskRefusal(e)}");
            return DiskRefused(e);
        }
    }

    /// <summary>507: a store in the data directory could not write the change, its disk full or failing; nothing changed.</summary>
    private static IResult DiskRefused(Microsoft.Data.Sqlite.SqliteException e) =>
        Problem(StatusCodes.Status507InsufficientStorage, "not written: the disk refuses", DiskRefusal(e));

    internal static string DiskRefusal(Microsoft.Data.Sqlite.SqliteException e) =>
        $"the data directory's disk refuses the write ({e.Message}): nothing was changed; free space there and try again";

    /// <summary>Parses the body as a JSON object and acts on it: malformed JSON, a body that is not an object and a
    /// <see cref="BadRequest"/> from <paramref name="act"/> are 400 problems naming what is wrong.</summary>
    private static Task<IResult> WithObjectBody(HttpContext http, Func<JsonElement, IResult> act) =>
        WithObjectBody(http, body => Task.FromResult(act(body)));

    private static async Task<IResult> WithObjectBody(HttpContext http, Func<JsonElement, Task<IResult>> act)
    {
        JsonElement body;
        try
        {
            using var document = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
            body = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "malformed JSON", $"the body is not JSON: {e.Message}");
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return Problem(StatusCodes.Status400BadRequest, "bad request", $"the body must be a JSON object, not {body.ValueKind.ToString().ToLowerInvariant()}");
        }

        try
        {
            return await act(body);
        }
        catch (BadRequest e)
        {
            return Problem(StatusCodes.Status400BadRequest, "bad request", e.Message);
        }
    }

    /// <summary>A person leaves a reading found lying out of the SLIs that read it: <c>selector</c> (= matchers only),
    /// <c>from</c> (RFC 3339; default now), <c>until</c> (optional), <c>reason</c>. Audited.</summary>
    private static IResult FileExclusion(ServerContext context, Caller caller, JsonElement body)
    {
        Only(body, "selector", "from", "until", "reason");
        var exclusions = context.Exclusions ?? throw new BadRequest("this server evaluates no SLOs for a run: nothing to leave a reading out of");
        var now = (context.Clock ?? TimeProvider.System).GetUtcNow();
        var selector = Text(body, "selector", required: true)!;
        var from = Time(body, "from") ?? now;
        var until = Time(body, "until");
        var reason = Text(body, "reason", required: true)!;
        try
        {
            return Results.Json(ExclusionView(context, LeaveOut(exclusions, context.Audit, selector, from, until, reason, Actor(caller))), Json, statusCode: StatusCodes.Status201Created);
        }
        catch (ArgumentException e)
        {
            throw new BadRequest(e.Message);
        }
    }

    /// <summary>Files a reading exclusion for <paramref name="actor"/> and audits it (REST and MCP alike).</summary>
    /// <exception cref="ArgumentException">The selector, span or reason is wrong; the message names the field.</exception>
    internal static FiledExclusion LeaveOut(FiledExclusions exclusions, AuditLog audit, string selector, DateTimeOffset from, DateTimeOffset? until, string reason, string actor)
    {
        FiledExclusion filed;
        try
        {
            filed = exclusions.File(selector, from, until, reason, actor);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(e.Message.StartsWith("reason:", StringComparison.Ordinal) ? e.Message : $"selector: {e.Message}", e);
        }

        audit.Append(actor, AuditKind.Decision, "slo-corrections", $"{filed.Exclusion.Series} left out of the SLOs that read it from {from:u}{(until is { } u ? $" until {u:u}" : "")}: {filed.Exclusion.Reason}");
        return filed;
    }

    /// <summary>The actuators in dispute as the API and MCP show them; <c>on_off</c>: a switch (a unit's enable, a rack's
    /// isolation, a UPS's eco mode), whose dispute changes no judgement (the interlocks count what the plant reports).</summary>
    internal static object[] DisputeViews(Aida.Automation.Safety.GuardedPlant plant) =>
        [.. plant.Disputes().Select(d => new { actuator = d.Actuator, written = d.Written, read_back = d.ReadBack, read_at = d.ReadAt, on_off = plant.IsOnOff(d.Actuator) })];

    /// <summary>A person's word on an actuator in dispute: it is where the plant reads it back (<paramref name="adopt"/>,
    /// <see cref="GuardedPlant.AdoptReadBack"/>), or the read-back lies (<see cref="GuardedPlant.DismissReadBack"/>); 404
    /// for an actuator not in dispute or unknown.</summary>
    private static IResult SettleDispute(ServerContext context, Caller caller, JsonElement body, bool adopt)
    {
        Only(body, "actuator", "reason");
        var actuator = Text(body, "actuator", required: true)!;
        var reason = Text(body, "reason", required: true)!;
        string? settled;
        string error;
        using (PlantLock.Hold(context))
        {
            settled = adopt
                ? context.Actions.Plant.AdoptReadBack(actuator, Actor(caller), reason, out error)
                : context.Actions.Plant.DismissReadBack(actuator, Actor(caller), reason, out error);
        }

        return settled is null ? Problem(StatusCodes.Status404NotFound, "not in dispute", error) : Results.Json(adopt ? new { adopted = settled } : (object)new { dismissed = settled }, Json);
    }

    /// <summary>The lockouts holding, by asset, then those planned, soonest first, as <c>GET /api/lockouts</c> and MCP's
    /// <c>list_lockouts</c> serve them.</summary>
    internal static object[] LockoutViews(Lockouts lockouts) =>
        [.. lockouts.Held.Select(l => LockoutView(l, planned: false)), .. lockouts.Planned.Select(l => LockoutView(l, planned: true))];

    // state: held (Aida writes none of its actuators) or planned (from since on).
    private static object LockoutView(Lockout l, bool planned) =>
        new { asset = l.Asset, state = planned ? "planned" : "held", by = l.By, reason = l.Reason, since = l.Since, until = l.Until };

    private static object LockoutView(ServerContext context, Lockout l) => LockoutView(l, l.PlannedAt((context.Clock ?? TimeProvider.System).GetUtcNow()));

    // Anyone who may act on the plant (an operator) may take an asset out of Aida's hands; only they, or an approver,
    // hand it back (lockout/tagout: the person who put the lock on takes it off).
    private static async Task<IResult> LockOut(ServerContext context, Caller caller, JsonElement body)
    {
        Only(body, "asset", "reason", "from", "until", "for");
        var asset = Text(body, "asset", required: true)!;
        var reason = Text(body, "reason", required: true)!;
        var from = Time(body, "from");
        var end = LockoutEnd(body);
        JsonObject view;
        Lockout lockout;
        using (PlantLock.Hold(context))
        {
            var lockouts = context.Actions.Plant.Lockouts;
            try
            {
                lockout = end.For is { } lasting ? lockouts.Add(asset, Actor(caller), reason, lasting, from) : lockouts.Add(asset, Actor(caller), reason, end.Until, from);
                view = JsonSerializer.SerializeToNode(LockoutView(context, lockout), Json)!.AsObject();
            }
            catch (LockoutOverlapException e)
            {
                return Overlapping(e);
            }
            catch (ArgumentException e)
            {
                throw new BadRequest($"{(e.ParamName is "until" ? "until" : "asset")}: {e.Message.Split(" (Parameter", 2)[0]}");
            }
        }

        // Worked out from the factory and the runbooks alone, outside the plant's lock: it binds the runbooks over every asset.
        view["impact"] = new JsonArray([.. LockoutImpact(context, asset).Select(line => (JsonNode?)line)]);
        view["capacity"] = JsonSerializer.SerializeToNode(await LockoutCapacityAsync(context, asset, lockout.Since, lockout.Until, CancellationToken.None), Json);
        return Results.Json(view, Json, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>How the economiser's units were rated against the weather, as the API says it; null for other groups.</summary>
    private static object? WeatherView(WeatherRating? weather) =>
        weather is null ? null : new { across = weather.Across, rated = weather.Rated, difference_celsius = weather.Difference };

    /// <summary>Each group's redundancy now (<see cref="SpareCapacity.NowAsync"/>, through <see cref="RedundancyBoard"/>:
    /// as of at most 10 s of plant time ago): N+k at its present load, the units in fault or maintenance and those locked
    /// out counted out, as on-call's <c>AidaRedundancyLost</c> reads it, the least redundant first (<see cref="RedundancyReading.Rank"/>, then kind and scope); null with no telemetry.</summary>
    /// <exception cref="QueryException">The telemetry refused a query.</exception>
    /// <exception cref="HttpRequestException">The telemetry store could not be reached.</exception>
    internal static async Task<object?> RedundancyAsync(ServerContext context, CancellationToken ct)
    {
        if (context.Redundancy is not { } board)
        {
            return null;
        }

        var locked = context.Actions.Plant.Lockouts.Held.ToDictionary(l => l.Asset, _ => "locked out", StringComparer.Ordinal);
        var (at, groups) = await board.ReadAsync(locked, ct);
        return new
        {
            at,
            groups = groups.OrderBy(r => r.Rank).ThenBy(r => r.Kind, StringComparer.Ordinal).ThenBy(r => r.Scope, StringComparer.Ordinal).Select(r => new
            {
                kind = r.Kind, scope = r.Scope, group = r.Group, carries = r.Carries, unit = r.Unit, units = r.Units, @out = r.Out, capacity = r.Capacity,
                left = r.Left, load = r.Load, spare = r.Spare, made_up_by = r.MadeUpBy, weather = WeatherView(r.Weather),
                said = r.Describe(),
            }),
        };
    }

    /// <summary>What <paramref name="asset"/>'s group (the chillers, its hall's CDUs) would have left with it out, against
    /// the peak load of the last 24 h (<see cref="SpareCapacity"/>), counting the other lockouts held or planned over
    /// [<paramref name="from"/> (null: now), <paramref name="until"/> (null: no end)) as out too; null with no telemetry
    /// or for an asset with no group; <c>verdict</c> <c>not_read</c> and why when the telemetry could not be read.</summary>
    internal static async Task<object?> LockoutCapacityAsync(ServerContext context, string asset, DateTimeOffset? from, DateTimeOffset? until, CancellationToken ct)
    {
        if (context.Telemetry is null)
        {
            return null;
        }

        var now = (context.Clock ?? TimeProvider.System).GetUtcNow();
        var others = context.Actions.Plant.Lockouts.OthersOutOver(asset, from ?? now, until);
        SpareCapacityReading? reading;
        try
        {
            reading = await new SpareCapacity(context.Telemetry, context.Factory).WithoutAsync(asset, now, others, ct);
        }
        catch (Exception e) when (e is QueryException or HttpRequestException)
        {
            // The lockout is taken (or the runbook steps told) all the same: the answer says the capacity was not read.
            return new { verdict = "not_read", said = $"what {asset}'s group has left could not be read from the telemetry: {e.Message}" };
        }

        return reading is { } r
            ? new
            {
                group = r.Group, load = r.Load, unit = r.Unit, units = r.Units, capacity = r.Capacity, already_out = r.AlreadyOut, units_left = r.UnitsLeft,
                left = r.Left, peak = r.Peak, peak_at = r.PeakAt, window_seconds = r.Window.TotalSeconds, spare_now = r.SpareNow,
                spare_without = r.SpareWithout, verdict = r.Verdict, said = r.Describe(),
                made_up_by = r.MadeUpBy, weather = WeatherView(r.Weather),
            }
            : null;
    }

    /// <summary>What a lockout of <paramref name="asset"/> takes from the agent: each runbook step that would write it,
    /// and on which faults (refused while it is held: the run rolls back to a person). Empty with no agent.</summary>
    internal static IReadOnlyList<string> LockoutImpact(ServerContext context, string asset) => context.Agent?.LockoutImpact(asset) ?? [];

    /// <summary>A lockout's end as a body gives it: <c>until</c> (a time) or <c>for</c> (a duration from the moment the
    /// lockout starts or moves, or a planned one's start, read by <see cref="Lockouts"/> under its lock: a twin at
    /// --speed runs ahead of the wall clock), not both; neither for both null.</summary>
    private static (DateTimeOffset? Until, TimeSpan? For) LockoutEnd(JsonElement body)
    {
        var until = Time(body, "until");
        var lasting = DurationText("for", Text(body, "for", required: false));
        return until is not null && lasting is not null ? throw new BadRequest("for: give until (an end) or for (how long from now), not both")
            : (until, lasting);
    }

    /// <summary>A lockout's window as <c>GET /api/lockouts/impact</c>'s query (or MCP's <c>lockout_impact</c>) gives it,
    /// as a lockout would take it: <c>from</c> (null: now), then <c>until</c> or <c>for</c> from that start (neither: no
    /// end), not both; <paramref name="error"/> names a bad one.</summary>
    internal static (DateTimeOffset? From, DateTimeOffset? Until) ImpactWindow(ServerContext context, string? from, string? until, string? lasting, out string? error)
    {
        try
        {
            var start = TimeText("from", from);
            var end = TimeText("until", until);
            if (lasting is not null && end is not null)
            {
                throw new BadRequest("for: give until (an end) or for (how long from its start), not both");
            }

            error = null;
            return (start, DurationText("for", lasting) is { } d ? (start ?? (context.Clock ?? TimeProvider.System).GetUtcNow()) + d : end);
        }
        catch (BadRequest e)
        {
            error = e.Message;
            return default;
        }
    }

    /// <summary>409: another lockout of the asset holds at some moment of the time asked for.</summary>
    private static IResult Overlapping(LockoutOverlapException e) =>
        Problem(StatusCodes.Status409Conflict, e.Planned ? "already planned" : "already locked out", e.Message);

    // The person who locked it out, or an approver, moves its end without a moment unlocked.
    private static IResult ExtendLockout(ServerContext context, Caller caller, string asset, JsonElement body)
    {
        Only(body, "until", "for", "since");
        var since = Time(body, "since");
        var end = LockoutEnd(body);
        if (end is (null, null))
        {
            throw new BadRequest("until: give the new end (until, a time) or how long from now (for, such as 2h)");
        }

        using (PlantLock.Hold(context))
        {
            try
            {
                return ByHolder(context, caller, asset, $"changing the end of {asset}'s lockout", (lockouts, by, overrides) => end.For is { } lasting ? lockouts.Extend(asset, by, lasting, overrides, since) : lockouts.Extend(asset, by, end.Until!.Value, overrides, since));
            }
            catch (LockoutOverlapException e)
            {
                return Overlapping(e);
            }
            catch (ArgumentException e)
            {
                throw new BadRequest($"until: {e.Message.Split(" (Parameter", 2)[0]}");
            }
        }
    }

    // The work put off or brought forward: a planned lockout's start moves, its length kept, by its holder or an approver.
    private static IResult RescheduleLockout(ServerContext context, Caller caller, string asset, JsonElement body)
    {
        Only(body, "from", "since");
        var from = Time(body, "from") ?? throw new BadRequest("from: give the new start (RFC 3339)");
        var since = Time(body, "since");
        using (PlantLock.Hold(context))
        {
            try
            {
                return ByHolder(context, caller, asset, $"moving the start of {asset}'s planned lockout", (lockouts, by, overrides) => lockouts.Reschedule(asset, by, from, overrides, since));
            }
            catch (LockoutOverlapException e)
            {
                return Overlapping(e);
            }
            catch (InvalidOperationException e)
            {
                return Problem(StatusCodes.Status409Conflict, "already started", e.Message);
            }
        }
    }

    private static IResult ReleaseLockout(ServerContext context, Caller caller, string asset, JsonElement body)
    {
        Only(body, "reason", "since");
        var reason = Text(body, "reason", required: true)!;
        var since = Time(body, "since");
        using (PlantLock.Hold(context))
        {
            return ByHolder(context, caller, asset, $"releasing {asset}", (lockouts, by, overrides) => lockouts.Release(asset, by, reason, overrides, since));
        }
    }

    /// <summary>A change only the person who locked the asset out, or an approver, makes: 404 when it is not locked
    /// out, 403 (audited as <paramref name="what"/> refused) when it is someone else's.</summary>
    private static IResult ByHolder(ServerContext context, Caller caller, string asset, string what, Func<Lockouts, string, bool, Lockout> change)
    {
        try
        {
            return Results.Json(LockoutView(context, change(context.Actions.Plant.Lockouts, Actor(caller), caller.Role >= Role.Approver)), Json);
        }
        catch (KeyNotFoundException e)
        {
            return Problem(StatusCodes.Status404NotFound, "not locked out", e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            context.Audit.Append(Actor(caller), AuditKind.Decision, "lockouts", $"refused: {what}: {e.Message}");
            return Problem(StatusCodes.Status403Forbidden, "forbidden", e.Message);
        }
    }

    private static IResult EndExclusion(ServerContext context, Caller caller, string id, JsonElement body)
    {
        Only(body, "at");
        if (context.Exclusions is not { } exclusions || !int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return Problem(StatusCodes.Status404NotFound, "no such exclusion", $"no exclusion '{id}'");
        }

        var at = Time(body, "at") ?? (context.Clock ?? TimeProvider.System).GetUtcNow();
        FiledExclusion ended;
        try
        {
            ended = exclusions.End(number, at);
        }
        catch (KeyNotFoundException e)
        {
            return Problem(StatusCodes.Status404NotFound, "no such exclusion", e.Message);
        }
        catch (ArgumentException e)
        {
            throw new BadRequest($"at: {e.Message}");
        }

        context.Audit.Append(Actor(caller), AuditKind.Decision, "slo-corrections", $"{ended.Exclusion.Series} counted in the SLOs that read it again from {at:u}: exclusion {number} ended");
        return Results.Json(ExclusionView(context, ended), Json);
    }

    /// <summary>A filed exclusion as the API and MCP serve it, with the SLOs of the run whose SLIs it corrects (empty: no
    /// time-slice SLO reads the reading's metric, so it changes nothing).</summary>
    internal static object ExclusionView(ServerContext context, FiledExclusion f) => new
    {
        id = f.Id,
        series = f.Exclusion.Series.ToString(),
        from = f.Exclusion.From,
        until = f.Exclusion.Until,
        reason = f.Exclusion.Reason,
        by = f.By,
        slos = (context.Budgets?.Slos.Slos ?? []).Where(x => SloCorrections.Reads(x, f.Exclusion.Series.MetricName)).Select(x => x.Name),
    };

    /// <summary>An optional time field: RFC 3339 or Unix seconds, as the Prometheus API takes them.</summary>
    private static DateTimeOffset? Time(JsonElement body, string field) => TimeText(field, Text(body, field, required: false));

    private static DateTimeOffset? TimeText(string field, string? text) =>
        text is null ? null
        : PrometheusFormat.TryParseTime(text, out var t) ? t
        : throw new BadRequest($"{field}: '{text}' is not a time (RFC 3339 such as 2025-07-01T02:00:00Z, or Unix seconds)");

    /// <summary>An optional duration above zero (30m, 4h, 1d).</summary>
    private static TimeSpan? DurationText(string field, string? text) =>
        text is null ? null
        : PrometheusFormat.TryParseDuration(text, out var d) && d > TimeSpan.Zero ? d
        : throw new BadRequest($"{field}: '{text}' is not a duration above zero (such as 30m, 4h or 1d)");

    private static IResult ProposeAction(ServerContext context, Caller caller, JsonElement body)
    {
        Only(body, "kind", "asset", "value", "reason");
        var kindText = Text(body, "kind", required: true)!;
        var asset = Text(body, "asset", required: true)!;
        var value = body.TryGetProperty("value", out var v) ? v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new BadRequest("value: must be a number") : 0;
        var reason = Text(body, "reason", required: true)!;
        try
        {
            return Results.Json(ActionView(Propose(context, kindText, asset, value, reason, Actor(caller))), Json, statusCode: StatusCodes.Status202Accepted);
        }
        catch (ArgumentException e)
        {
            throw new BadRequest(e.Message);
        }
    }

    /// <summary>Proposes a typed action to the supervised executor (REST and MCP alike): the kind by its snake_case
    /// name, the asset checked against the factory; the safety envelope and approvals decide the rest.</summary>
    /// <exception cref="ArgumentException">An unknown kind, or an asset the factory lacks or the kind does not apply
    /// to; the message names the field.</exception>
    internal static ActionRecord Propose(ServerContext context, string kindText, string asset, double value, string reason, string actor)
    {
        if (!ActionKindNames.TryParse(kindText, out var kind))
        {
            throw new ArgumentException($"kind: unknown action '{kindText}' (expected one of {ActionKindNames.All})");
        }

        PlantAction action;
        try
        {
            action = context.Catalog.Create(kind, asset, value, reason);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"asset: {e.Message}", e);
        }

        using (PlantLock.Hold(context))
        {
            return context.Actions.Propose(action, actor);
        }
    }

    private static IResult Decide(ServerContext context, Caller caller, string id, JsonElement body, bool approve)
    {
        Only(body, "note");
        var note = Text(body, "note", required: false);
        using (PlantLock.Hold(context))
        {
            // The API's own actions, or the agent's: a supervised agent's high-risk actions wait for a person here (its
            // ids, A…, are apart from the API's, P…).
            var (executor, source) = context.Actions.Records.Any(r => r.Action.Id == id) ? (context.Actions, "api")
                : context.AgentActions?.Records.Any(r => r.Action.Id == id) == true ? (context.AgentActions, "agent")
                : (null, "");
            if (executor is null)
            {
                return Problem(StatusCodes.Status404NotFound, "no such action", $"no action '{id}'");
            }

            try
            {
                var record = approve ? executor.Approve(id, Actor(caller)) : executor.Reject(id, Actor(caller), note);
                return Results.Json(ActionView(record, source), Json);
            }
            catch (ApprovalException e)
            {
                return Problem(StatusCodes.Status409Conflict, "cannot decide", e.Message);
            }
        }
    }

    /// <summary>A person changes how the agent acts: an approver may take autonomy away (to supervised or dry run), only an
    /// admin may hand it back, and never above what the agent may have (a network site's: supervised).</summary>
    private static IResult ChangeAgentMode(ServerContext context, Caller caller, JsonElement body)
    {
        Only(body, "mode", "reason");
        var name = Text(body, "mode", required: true)!;
        var reason = Text(body, "reason", required: true)!;
        var mode = ModeChange.Parse(name) ?? throw new BadRequest($"mode: '{name}' is not dry-run, supervised or autonomous");
        using (PlantLock.Hold(context))
        {
            if (context.Agent is not { } agent)
            {
                return Problem(StatusCodes.Status404NotFound, "no agent", "no agent runs here (aida run --mode agent runs one)");
            }

            if (mode > agent.Mode && caller.Role < Role.Admin)
            {
                context.Audit.Append(Actor(caller), AuditKind.Decision, "/api/agent/mode", $"refused: handing the agent more autonomy ({ModeChange.Name(agent.Mode)} -> {name}) needs the admin role, the caller is {ApiKeyStore.RoleName(caller.Role)}");
                return Problem(StatusCodes.Status403Forbidden, "forbidden", $"handing the agent more autonomy ({ModeChange.Name(agent.Mode)} -> {name}) needs the admin role; an approver may only take autonomy away");
            }

            try
            {
                agent.ChangeMode(mode, Actor(caller), reason);
            }
            catch (ArgumentException e)
            {
                return Problem(StatusCodes.Status409Conflict, "cannot change the mode", e.Message.Split(" (Parameter", 2)[0]);
            }

            return Results.Json(AgentModeView(agent), Json);
        }
    }

    internal static object AgentModeView(PlantAgent agent) => new
    {
        mode = ModeChange.Name(agent.Mode),
        highest = ModeChange.Name(agent.Options.HighestMode),
        changed_by = agent.LastModeChange?.By,
        reason = agent.LastModeChange?.Reason,
        changed_at = agent.LastModeChange?.At,
    };

    /// <summary>The incident number a route names and the optional <c>note</c> of its body (its only field).</summary>
    /// <exception cref="BadRequest">Not a positive number, or a field other than <c>note</c>.</exception>
    private static (long Incident, string? Note) IncidentAndNote(string incidentText, JsonElement body)
    {
        Only(body, "note");
        var note = Text(body, "note", required: false);
        return long.TryParse(incidentText, NumberStyles.None, CultureInfo.InvariantCulture, out var incident) && incident > 0
            ? (incident, note)
            : throw new BadRequest($"incident: '{incidentText}' is not an incident number");
    }

    /// <summary>Approves or rejects the runbook the agent started on incident <paramref name="incidentText"/> that waits
    /// for a person's go-ahead as a whole.</summary>
    private static IResult DecideRunbook(ServerContext context, Caller caller, string incidentText, JsonElement body, bool approve)
    {
        var (incident, note) = IncidentAndNote(incidentText, body);

        using (PlantLock.Hold(context))
        {
            if (context.Agent is not { } agent)
            {
                return Problem(StatusCodes.Status404NotFound, "no agent", "no agent runs here: nothing waits for approval as a runbook");
            }

            try
            {
                var response = approve ? agent.ApproveRunbook(incident, Actor(caller)) : agent.RejectRunbook(incident, Actor(caller), note);
                return Results.Json(RunbookRunView(response), Json);
            }
            catch (KeyNotFoundException e)
            {
                return Problem(StatusCodes.Status404NotFound, "no such runbook run", e.Message);
            }
            catch (ApprovalException e)
            {
                return Problem(StatusCodes.Status409Conflict, "cannot decide", e.Message);
            }
        }
    }

    /// <summary>One of the agent's runbook runs: the incident it answers, its cause, its state and, while it waits for a
    /// person's go-ahead as a whole, until when.</summary>
    internal static object RunbookRunView(AgentResponse r) => new
    {
        incident = r.Incident,
        runbook = r.Runbook,
        fault_kind = r.FaultKind,
        asset = r.Asset,
        state = Snake(r.Run.State),
        step = r.Run.StepIndex,
        steps = r.Run.Book.Steps.Count,
        started = r.Run.Started,
        waiting_until = r.Run.WaitingUntil,
        decided_by = r.Run.DecidedBy,
        finished = r.Run.Finished,
        failure = r.Run.Failure,
        actions = r.Run.Actions.Select(a => a.Action.Id).ToArray(),
    };

    private static void Only(JsonElement body, params string[] fields)
    {
        foreach (var property in body.EnumerateObject())
        {
            if (!fields.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new BadRequest($"{property.Name}: unknown field (expected {string.Join(", ", fields)})");
            }
        }
    }

    private static string? Text(JsonElement body, string field, bool required)
    {
        if (!body.TryGetProperty(field, out var value))
        {
            return required ? throw new BadRequest($"{field}: missing") : null;
        }

        return value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 and <= 500 } text
            ? text
            : throw new BadRequest($"{field}: must be a string of 1-500 characters");
    }

    private static Caller Caller(HttpContext http) => (Caller)http.Items[typeof(Caller)]!;

    private static string Actor(Caller caller) => "api:" + caller.Name;

    private static string Snake(Enum state) => JsonNamingPolicy.SnakeCaseLower.ConvertName(state.ToString());

    private static IResult Problem(int status, string title, string detail) =>
        Results.Problem(title: title, detail: detail, statusCode: status);

    private static object FactoryView(Factory f) => new
    {
        name = f.Name,
        site = f.Site.Name,
        halls = f.Halls.Select(h => h.Id),
        racks = f.Racks.Count,
        gpus = f.GpuCount,
        design_it_power_watts = f.DesignItPowerWatts,
    };

    /// <summary>The incidents as <c>GET /api/incidents</c> serves them, newest first.</summary>
    internal static object[] IncidentList(ServerContext context)
    {
        if (context.Incidents is null)
        {
            return [];
        }

        // Read once for the list (the live view lists every second, an alarm storm's incidents included).
        var held = context.Actions.Plant.Lockouts.Held;
        return [.. context.Incidents.List().OrderByDescending(i => i.Id).Select(i => (object)new
        {
            id = i.Id,
            state = IncidentStore.Name(i.State),
            title = i.Title,
            severity = i.Severity,
            opened = i.Opened,
            locked_out = LockoutsOf(held, i).Select(l => l.Asset).ToArray(),
        })];
    }

    /// <summary>Of the lockouts <paramref name="held"/> now, those on the assets an incident's alerts name, while it is
    /// not resolved: the work on a locked-out asset may be what raised it (a drained manifold reads as a leak).</summary>
    private static IEnumerable<Lockout> LockoutsOf(IReadOnlyList<Lockout> held, Incident incident) =>
        incident.State == IncidentState.Resolved || held.Count == 0 ? [] : held.Where(l => incident.Assets.ContainsKey(l.Asset));

    /// <summary>The field devices as <c>GET /api/devices</c> serves them: those down first, then those that came back
    /// (an outage or a restart) most recently, then the rest by protocol and name. <c>polled</c> is false for the
    /// embedded twin, which has no field devices.</summary>
    internal static object DeviceList(ServerContext context)
    {
        var devices = context.Devices?.Invoke() ?? [];
        return new
        {
            polled = context.Devices is not null,
            up = devices.Count(d => d.Up),
            down = devices.Count(d => !d.Up),
            restarted = devices.Count(d => d.Restarts > 0),
            devices = devices
                .OrderBy(d => d.Up)
                .ThenByDescending(d => d.LastReturn?.At ?? DateTimeOffset.MinValue)
                .Select(d => new
                {
                    collector = d.Collector,
                    device = d.Device,
                    up = d.Up,
                    down_since = d.DownSince,
                    last_answer = d.LastAnswer,
                    errors = d.Errors,
                    malformed = d.Malformed,
                    restarts = d.Restarts,
                    last_return = d.LastReturn is { } r ? new { at = r.At, how = r.How } : null,
                }),
        };
    }

    /// <summary>The routes that move an incident through its lifecycle, and where each moves it.</summary>
    internal static readonly (string Verb, IncidentState To)[] IncidentMoves =
        [("acknowledge", IncidentState.Acknowledged), ("mitigate", IncidentState.Mitigated), ("resolve", IncidentState.Resolved)];

    /// <summary>A person moves an incident forward (acknowledged: someone is on it; mitigated: the impact is contained;
    /// resolved: it is over), with an optional note: on the incident's timeline as theirs and in the audit log. The
    /// agent's own moves of the incident then go no further back than the person's (a runbook whose incident a person
    /// resolved leaves it resolved); a sensor's incident resolved so has its reading trusted again.</summary>
    private static IResult MoveIncident(ServerContext context, Caller caller, string id, JsonElement body, IncidentState to)
    {
        var (number, note) = IncidentAndNote(id, body);
        try
        {
            MoveIncident(context, Actor(caller), number, to, note);
        }
        catch (KeyNotFoundException)
        {
            return Problem(StatusCodes.Status404NotFound, "no such incident", $"no incident {number}");
        }
        catch (InvalidOperationException e)
        {
            return Problem(StatusCodes.Status409Conflict, "cannot move the incident", e.Message);
        }

        return IncidentDetailView(context, id);
    }

    /// <summary>Moves incident <paramref name="number"/> to <paramref name="to"/> for <paramref name="actor"/> under the
    /// plant's lock, with <paramref name="note"/> on its timeline, and audits it (REST and MCP alike).</summary>
    /// <exception cref="KeyNotFoundException">No such incident (or no incident store).</exception>
    /// <exception cref="InvalidOperationException">Not a move forward; the message names the states.</exception>
    internal static void MoveIncident(ServerContext context, string actor, long number, IncidentState to, string? note)
    {
        using (PlantLock.Hold(context))
        {
            var store = context.Incidents ?? throw new KeyNotFoundException($"no incident {number}");
            var from = store.Transition(number, to, actor, note);
            context.Audit.Append(actor, AuditKind.Decision, $"incident {number}",
                $"{IncidentStore.Name(from)} -> {IncidentStore.Name(to)}{(string.IsNullOrWhiteSpace(note) ? "" : ": " + note)}");
        }
    }

    private static IResult IncidentDetailView(ServerContext context, string id)
    {
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return Problem(StatusCodes.Status400BadRequest, "bad incident id", $"'{id}' is not an incident number");
        }

        if (context.Incidents is null || !context.Incidents.List().Any(i => i.Id == number))
        {
            return Problem(StatusCodes.Status404NotFound, "no such incident", $"no incident {number}");
        }

        var detail = context.Incidents.Get(number);
        var i = detail.Incident;
        return Results.Json(new
        {
            id = i.Id,
            state = IncidentStore.Name(i.State),
            title = i.Title,
            severity = i.Severity,
            opened = i.Opened,
            last_alert = i.LastAlert,
            resolved = i.Resolved,
            alert_count = i.AlertCount,
            assets = i.Assets,
            lockouts = LockoutsOf(context.Actions.Plant.Lockouts.Held, i).Select(l => LockoutView(l, planned: false)),
            root_cause = detail.RootCause is { } finding
                ? new { ranked = finding.Ranked.Select(c => new { asset = c.Asset, fault_kind = c.FaultKind, score = c.Score, evidence = c.Evidence }) }
                : null,
            timeline = detail.Timeline.Select(t => new
            {
                at = t.At,
                kind = JsonNamingPolicy.SnakeCaseLower.ConvertName(t.Kind.ToString()),
                text = t.Text,
                by = t.By,
                asset = t.Asset,
            }),
        }, Json);
    }

    /// <summary>A dashboard login: the API key in the body traded for a session cookie and a CSRF token; audited.</summary>
    private static Task<IResult> Login(HttpContext http, ServerContext context, SessionStore sessions) => WithObjectBody(http, body =>
    {
        Only(body, "key");
        var key = Text(body, "key", required: true)!;
        if (sessions.Login(key) is not { } login)
        {
            context.Audit.Append("api:anonymous", AuditKind.Decision, "/api/session", $"refused: login with an unknown or revoked key from {http.Connection.RemoteIpAddress}");
            return Problem(StatusCodes.Status401Unauthorized, "login failed", "the API key is unknown or revoked");
        }

        http.Response.Cookies.Append(SessionStore.Cookie, login.Id, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = "/",
            MaxAge = SessionStore.Lifetime,
        });
        context.Audit.Append(Actor(login.Session.Caller), AuditKind.Decision, "/api/session", $"logged in ({ApiKeyStore.RoleName(login.Session.Caller.Role)})");
        return Results.Json(SessionBody(login.Session), Json);
    });

    private static IResult SessionView(HttpContext http, SessionStore sessions)
    {
        // Reached with a bearer key too: that caller has no session, so no CSRF token.
        var session = sessions.Find(http.Request.Cookies[SessionStore.Cookie]);
        return session is null
            ? Results.Json(new { name = Caller(http).Name, role = ApiKeyStore.RoleName(Caller(http).Role), csrf_token = (string?)null }, Json)
            : Results.Json(SessionBody(session), Json);
    }

    private static object SessionBody(Session session) => new
    {
        name = session.Caller.Name,
        role = ApiKeyStore.RoleName(session.Caller.Role),
        csrf_token = session.CsrfToken,
    };

    /// <summary>An action as the API serves it.</summary>
    internal static object ActionView(ActionRecord r) => ActionView(r, "api");

    /// <param name="source"><c>api</c> (proposed over REST or MCP) or <c>agent</c>.</param>
    internal static object ActionView(ActionRecord r, string source) => new
    {
        id = r.Action.Id,
        source,
        kind = ActionKindNames.Name(r.Action.Kind),
        asset = r.Action.Asset,
        actuator = r.Action.Actuator,
        value = r.Action.Value,
        risk = r.Action.Risk.ToString().ToLowerInvariant(),
        reason = r.Action.Reason,
        requested_by = r.RequestedBy,
        proposed_at = r.ProposedAt,
        state = Snake(r.State),
        decided_by = r.DecidedBy,
        outcome = r.Outcome,
    };

    /// <summary>The last entries as <c>GET /api/audit</c> and MCP's <c>read_audit</c> serve them: <c>held</c> for one
    /// sealed into the chain but not yet on disk (its disk refuses).</summary>
    internal static object[] AuditViews(AuditLog audit, int limit, string? subject, string? actor)
    {
        var entries = audit.Last(limit, subject, actor);
        var written = audit.WrittenThrough;
        return [.. entries.Select(e => new
        {
            sequence = e.Sequence,
            at = e.At,
            actor = e.Actor,
            kind = e.Kind.ToString().ToLowerInvariant(),
            subject = e.Subject,
            detail = e.Detail,
            hash = e.Hash,
            held = e.Sequence > written,
        })];
    }

    /// <summary>A family of one unlabelled sample: its <c># HELP</c> and <c># TYPE</c> lines and the sample.</summary>
    private static void OneSample(System.Text.StringBuilder text, string name, string type, string help, double value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n{name} {value:0.###}\n");

    /// <summary>The process's own figures under the names Prometheus's client libraries give them (a site alerts on a
    /// restart by <c>process_start_time_seconds</c>, on memory growth by <c>process_resident_memory_bytes</c>), and the
    /// .NET heap's size.</summary>
    private static void ProcessMetrics(System.Text.StringBuilder text)
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        OneSample(text, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.", new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        OneSample(text, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", process.TotalProcessorTime.TotalSeconds);
        OneSample(text, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", process.WorkingSet64);
        OneSample(text, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", process.VirtualMemorySize64);
        if (Directory.Exists("/proc/self/fd"))
        {
            OneSample(text, "process_open_fds", "gauge", "Number of open file descriptors.", Directory.EnumerateFileSystemEntries("/proc/self/fd").Count());
        }

        OneSample(text, "dotnet_gc_heap_size_bytes", "gauge", "The .NET managed heap's size after the last garbage collection, in bytes.", GC.GetGCMemoryInfo().HeapSizeBytes);
    }

    /// <summary><c>/healthz</c>: 200 while the run's control loop steps (or is starting), 503 once it has stalled, with
    /// what the heartbeat says; read without the plant's lock, which a wedged loop may hold.</summary>
    private static IResult Health(LoopHeartbeat? heartbeat)
    {
        if (heartbeat is null)
        {
            return Results.Json(new { status = "ok" }, Json);
        }

        var health = heartbeat.Now();
        var loop = new
        {
            beats = health.Beats,
            last_step = health.LastBeat,
            seconds_since = Math.Round(health.Since.TotalSeconds, 3),
            plant_time = health.PlantTime,
            behind_seconds = Math.Round(health.BehindSeconds, 3),
            lagging = health.Lagging,
            speed = heartbeat.Speed,
            stalled_after_seconds = heartbeat.StalledAfter.TotalSeconds,
        };
        return Results.Json(new { status = health.Stalled ? "stalled" : "ok", detail = health.Said, loop }, Json,
            statusCode: health.Stalled ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }

    /// <summary>The figures <c>/metrics</c> reads under the plant's lock, as last read.</summary>
    private sealed record MetricsReads(LastRead<IReadOnlyList<(string Actuator, double Written, double ReadBack, DateTimeOffset ReadAt)>> Disputes, LastRead<AutomationMode> Mode);

    /// <summary>Aida's own metrics in the Prometheus text format: API requests by status code, keys, audit entries,
    /// actions proposed over the API by state, the safety guard's writes, lockouts and disputes, incidents by state.</summary>
    /// <remarks>With the control loop stalled holding the plant's lock, the disputes and the agent's mode are as last
    /// read (<see cref="PlantLock"/>).</remarks>
    private static string Metrics(ServerContext context, RequestCounters counters, MetricsReads reads)
    {
        var text = new System.Text.StringBuilder();
        void Family(string name, string type, string help)
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
        }

        // The process and its control loop first, read without the plant's lock (nor does /healthz take it).
        ProcessMetrics(text);
        if (context.Heartbeat is { } heartbeat)
        {
            var health = heartbeat.Now();
            OneSample(text, "aida_loop_stalled", "gauge", "1 when the control loop has made no step for the heartbeat's stall time (/healthz answers 503), else 0.", health.Stalled ? 1 : 0);
            OneSample(text, "aida_loop_steps_total", "counter", "Steps the control loop has made since the run started.", health.Beats);
            OneSample(text, "aida_loop_last_step_age_seconds", "gauge", "Wall seconds since the control loop's last step (since it started, before its first).", health.Since.TotalSeconds);
            OneSample(text, "aida_loop_behind_seconds", "gauge", "How far the control loop was behind its schedule at its last step (the twin's plant seconds not yet stepped at its speed; a network tick's overrun).", health.BehindSeconds);
            if (health.PlantTime is { } plant)
            {
                OneSample(text, "aida_loop_plant_time_seconds", "gauge", "The plant's time at the control loop's last step (Unix seconds).", plant.ToUnixTimeMilliseconds() / 1000.0);
            }
        }

        Family("aida_api_requests_total", "counter", "HTTP requests answered, by status code.");
        foreach (var (code, count) in counters.Snapshot())
        {
            text.Append(CultureInfo.InvariantCulture, $"aida_api_requests_total{{code=\"{code}\"}} {count}\n");
        }

        Family("aida_api_keys", "gauge", "API keys issued and not revoked.");
        text.Append(CultureInfo.InvariantCulture, $"aida_api_keys {context.Keys.List().Count}\n");
        Family("aida_audit_entries", "gauge", "Entries in the hash-chained audit log.");
        text.Append(CultureInfo.InvariantCulture, $"aida_audit_entries {context.Audit.Count}\n");
        Family("aida_api_actions", "gauge", "Actions proposed over the API (REST and MCP), by state.");
        foreach (var group in context.Actions.Records.GroupBy(r => Snake(r.State)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"aida_api_actions{{state=\"{group.Key}\"}} {group.Count()}\n");
        }

        // The safety choke point the API writes through (the agent's, when one runs): what it let through and refused,
        // and the actuators whose read-back disagrees with what Aida wrote (moved behind its back), for a site's alerting.
        var guard = context.Actions.Plant;
        var disputes = reads.Disputes.Take(context, guard.Disputes).Value;

        Family("aida_safety_writes_total", "counter", "Actuator writes judged by the safety envelope, by verdict.");
        text.Append(CultureInfo.InvariantCulture, $"aida_safety_writes_total{{verdict=\"passed\"}} {guard.Passed}\n");
        text.Append(CultureInfo.InvariantCulture, $"aida_safety_writes_total{{verdict=\"refused\"}} {guard.Refused}\n");
        var held = guard.Lockouts.Held;
        Family("aida_lockouts", "gauge", "Assets people hold locked out (GET /api/lockouts): Aida writes none of their actuators.");
        text.Append(CultureInfo.InvariantCulture, $"aida_lockouts {held.Count}\n");
        Family("aida_lockouts_planned", "gauge", "Lockouts booked to start later (GET /api/lockouts, state planned).");
        text.Append(CultureInfo.InvariantCulture, $"aida_lockouts_planned {guard.Lockouts.Planned.Count}\n");
        // Each lockout's start and end (plant time, Unix seconds), so a site alerts on one forgotten: held for days with
        // no end, an asset Aida quietly never runs.
        Family("aida_lockout_since_seconds", "gauge", "When each held lockout began (Unix seconds, plant time), by asset and who locked it out.");
        foreach (var l in held)
        {
            text.Append(CultureInfo.InvariantCulture, $"aida_lockout_since_seconds{{asset=\"{l.Asset}\",by=\"{Aida.Protocols.Exposition.ExpositionWriter.EscapeLabelValue(l.By)}\"}} {l.Since.ToUnixTimeMilliseconds() / 1000.0}\n");
        }

        Family("aida_lockout_until_seconds", "gauge", "When each held lockout with an end ends by itself (Unix seconds, plant time); none for one held until released.");
        foreach (var l in held.Where(l => l.Until is not null))
        {
            text.Append(CultureInfo.InvariantCulture, $"aida_lockout_until_seconds{{asset=\"{l.Asset}\"}} {l.Until!.Value.ToUnixTimeMilliseconds() / 1000.0}\n");
        }

        Family("aida_safety_disputes", "gauge", "Actuators whose read-back disagrees with what Aida last wrote (GET /api/actuators/disputes).");
        text.Append(CultureInfo.InvariantCulture, $"aida_safety_disputes {disputes.Count}\n");
        Family("aida_safety_dispute_read_back", "gauge", "Where the plant reads back an actuator in dispute.");
        foreach (var d in disputes)
        {
            text.Append(CultureInfo.InvariantCulture, $"aida_safety_dispute_read_back{{actuator=\"{d.Actuator}\"}} {d.ReadBack}\n");
        }

        if (context.Agent is { } running)
        {
            Family("aida_agent_mode", "gauge", "How the agent acts: 1 for its mode (dry-run, supervised, autonomous), 0 for the others.");
            var mode = reads.Mode.Take(context, () => running.Mode).Value;

            foreach (var m in new[] { AutomationMode.DryRun, AutomationMode.Supervised, AutomationMode.Autonomous })
            {
                text.Append(CultureInfo.InvariantCulture, $"aida_agent_mode{{mode=\"{ModeChange.Name(m)}\"}} {(m == mode ? 1 : 0)}\n");
            }
        }

        if (context.Alertmanager is { } feed)
        {
            Family("aida_alertmanager_posts_total", "counter", "Posts to Alertmanager (aida run --alertmanager), by outcome, over every Alertmanager.");
            text.Append(CultureInfo.InvariantCulture, $"aida_alertmanager_posts_total{{outcome=\"delivered\"}} {feed.Delivered}\n");
            text.Append(CultureInfo.InvariantCulture, $"aida_alertmanager_posts_total{{outcome=\"failed\"}} {feed.Failed}\n");
            Family("aida_alertmanager_alerts_firing", "gauge", "Alerts Aida holds firing in Alertmanager (its watchdog included).");
            text.Append(CultureInfo.InvariantCulture, $"aida_alertmanager_alerts_firing {feed.Firing}\n");
        }

        if (context.Incidents is not null)
        {
            Family("aida_incidents", "gauge", "Incidents, by state.");
            foreach (var group in context.Incidents.List().GroupBy(i => IncidentStore.Name(i.State)).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $"aida_incidents{{state=\"{group.Key}\"}} {group.Count()}\n");
            }
        }

        return text.ToString();
    }

    /// <summary>Requests answered, by status code.</summary>
    private sealed class RequestCounters
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, long> _counts = new();

        public void Count(int status) => _counts.AddOrUpdate(status, 1, (_, n) => n + 1);

        public IEnumerable<(int Code, long Count)> Snapshot() => _counts.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value));
    }

    /// <summary>A request the API refuses with 400, naming the field.</summary>
    private sealed class BadRequest(string message) : Exception(message);
}
