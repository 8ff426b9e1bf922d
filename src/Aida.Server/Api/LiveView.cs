using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Aida.Automation.Actions;
using Aida.Telemetry.Query;

namespace Aida.Server.Api;

/// <summary>What the dashboard shows live: the overview (PUE and power from the run's telemetry, what is open and
/// pending) and the server-sent-events stream that pushes it every second, with the incident and action lists whenever
/// they change.</summary>
internal sealed class LiveView(ServerContext context, TimeProvider wall)
{
    /// <summary>How often the stream sends the overview.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    /// <summary>The overview now: PUE and IT and facility power as the telemetry last holds them (null before the
    /// first samples, or without telemetry), open incidents, actions waiting for an approver, audit entries.</summary>
    /// <remarks>With the control loop stalled holding the plant's lock, the figures read under it are those last read, and
    /// <c>stale</c> names them (<see cref="PlantLock"/>).</remarks>
    public async Task<object> OverviewAsync(CancellationToken token)
    {
        var at = context.Clock?.GetUtcNow() ?? wall.GetUtcNow();
        var waiting = WaitingRunbooks();
        return new
        {
            at,
            scenario = context.Run?.Scenario,
            mode = context.Run?.Mode,
            pue = await LatestAsync("aida_pue", at, token),
            it_power_watts = await LatestAsync("aida_it_power_watts", at, token),
            facility_power_watts = await LatestAsync("aida_facility_power_watts", at, token),
            open_incidents = context.Incidents?.List().Count(i => i.State != Aida.Observability.Incidents.IncidentState.Resolved) ?? 0,
            pending_actions = Actions().Count(a => a.Record.State == ActionState.PendingApproval),
            pending_runbooks = waiting.Value,
            audit_entries = context.Audit.Count,
            trouble = Trouble(),
            stale = waiting.Fresh ? Array.Empty<string>() : ["pending_runbooks"],
        };
    }

    /// <summary>What keeps Aida from doing its job now, one line each, for the dashboard's banner: its control loop
    /// stalled or lagging its schedule, half or more of a network site's field devices not answering (it neither sees
    /// nor operates the plant behind them), and what its data directory's disk refuses; none while all is well.</summary>
    private string[] Trouble()
    {
        var loop = context.Heartbeat?.Now();
        return [
            .. loop is { Stalled: true } or { Lagging: true } ? new[] { "control loop " + loop.Said } : [],
            .. DevicesDown() is { } down ? new[] { down } : [],
            .. (context.DataNotWritten?.Invoke() ?? []).Select(line => "not written: " + line),
        ];
    }

    /// <summary>A line when half or more of the field devices do not answer; null otherwise (a few down are the
    /// overview's card and a CollectorDown incident, not Aida blind).</summary>
    private string? DevicesDown()
    {
        var devices = context.Devices?.Invoke() ?? [];
        var down = devices.Where(d => !d.Up).ToList();
        if (devices.Count == 0 || down.Count * 2 < devices.Count)
        {
            return null;
        }

        var since = down.Min(d => d.DownSince);
        return $"field devices: {down.Count} of {devices.Count} not answering{(since is { } s ? $" (since {s:yyyy-MM-ddTHH:mm:ssZ})" : "")}: Aida neither sees nor operates the plant behind them";
    }

    private readonly LastRead<int> _waiting = new(0);

    /// <summary>The agent's runbooks waiting for a person's go-ahead as a whole (none without an agent).</summary>
    private (int Value, bool Fresh) WaitingRunbooks() =>
        context.Agent is { } agent ? _waiting.Take(context, () => agent.WaitingForApproval.Count) : (0, true);

    /// <summary>The event stream: <c>overview</c> every <see cref="Period"/>, <c>incidents</c> and <c>actions</c> (the
    /// same bodies as their GET routes) first and then whenever they change, until the client goes away.</summary>
    public async IAsyncEnumerable<SseItem<string>> EventsAsync(JsonSerializerOptions json, [EnumeratorCancellation] CancellationToken token)
    {
        string? incidents = null;
        string? actions = null;
        while (!token.IsCancellationRequested)
        {
            yield return new SseItem<string>(JsonSerializer.Serialize(await OverviewAsync(token), json), "overview");
            var nowIncidents = JsonSerializer.Serialize(AidaApi.IncidentList(context), json);
            if (nowIncidents != incidents)
            {
                incidents = nowIncidents;
                yield return new SseItem<string>(incidents, "incidents");
            }

            var nowActions = JsonSerializer.Serialize(Actions().Select(a => AidaApi.ActionView(a.Record, a.Source)).ToArray(), json);
            if (nowActions != actions)
            {
                actions = nowActions;
                yield return new SseItem<string>(actions, "actions");
            }

            try
            {
                await Task.Delay(Period, wall, token);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }

    // The executors' records are snapshots taken under their own locks: reading them needs no plant lock, so the
    // stream never waits for the plant's step.
    private (ActionRecord Record, string Source)[] Actions() => context.AllActions().ToArray();

    private async Task<double?> LatestAsync(string metric, DateTimeOffset at, CancellationToken token)
    {
        if (context.Telemetry is null)
        {
            return null;
        }

        var result = await context.Telemetry.QueryAsync(metric, at, token);
        return result.Series.Count > 0 && result.Series[0].Samples.Count > 0 && double.IsFinite(result.Series[0].Samples[^1].Value)
            ? result.Series[0].Samples[^1].Value
            : null;
    }
}
