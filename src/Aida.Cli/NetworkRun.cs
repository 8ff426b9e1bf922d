using System.Runtime.InteropServices;
using Aida.Model.Scenarios;
using Aida.Twin.Operators;
using Aida.Twin.Simulation;
using static Aida.Cli.AidaCommand;

namespace Aida.Cli;

/// <summary><c>aida run --plant network</c>: operate a site over the network (real devices, or <c>aida twin serve</c>)
/// instead of the embedded twin. The scenario's factory is the plant's design: which points and actuators it has, and
/// the layout the operator reasons about.</summary>
internal static class NetworkRun
{
    /// <summary>How often the operator looks at the plant (as on the embedded twin).</summary>
    public static readonly TimeSpan OperatorInterval = TimeSpan.FromSeconds(10);

    /// <param name="Urls">Where to serve the dashboard and API; null for nowhere.</param>
    /// <param name="Alertmanagers">Where to post what a person on call must know (<see cref="OnCallPaging"/>); none for nowhere.</param>
    /// <param name="AgentMode">The agent's mode from the command line (dry run), or null for supervised unless a person
    /// changed it in an earlier run on the same directory.</param>
    /// <param name="StallAfter">How long the loop may make no step before it counts as stalled (<c>--stall-after</c>);
    /// null for <see cref="Aida.Server.Api.LoopHeartbeat.DefaultStalledAfter"/>.</param>
    public sealed record Options(string SiteFile, Scenario Scenario, OperatingMode Mode, TimeSpan? Duration, TimeSpan StatusEvery, string? Data, string? Listen, string? RemoteWrite, System.Net.IPEndPoint? Urls = null, IReadOnlyList<Uri>? Alertmanagers = null, Aida.Automation.Actions.AutomationMode? AgentMode = null, TimeSpan? StallAfter = null);

    public static async Task<int> RunAsync(Options o, TextWriter stdout, TextWriter stderr, CancellationToken token)
    {
        var clock = TimeProvider.System;
        var site = CollectorCatalog.Load(o.SiteFile, clock);

        // The design: the factory's points and actuators as the twin defines them, never stepped.
        var design = new Simulator(o.Scenario, new SimulationOptions { NoOperator = true }).Plant;
        await using var telemetry = await LiveTelemetry.OpenAsync(clock, o.Data, o.Listen, o.RemoteWrite, stdout, token);
        telemetry.Log = stderr;
        var collectingSince = clock.GetUtcNow();
        var freshStore = telemetry.Store!.MaxTimeMs is null;
        await using var network = new NetworkSite(site, design, telemetry.Appender!, telemetry.Store!, clock, stderr, o.Scenario.Factory.Gpu.ThrottleCelsius);
        telemetry.DeriveFor(o.Scenario.Factory, o.Data, o.Mode == OperatingMode.Agent ? null : LiveTelemetry.BundledSlos(), network.Sink.SourceOf);
        var profile = o.Mode == OperatingMode.Digital ? OperatorProfile.Digital : OperatorProfile.Human;
        var op = o.Mode == OperatingMode.Agent ? null : new BaselineOperator(profile, network.Plant, o.Scenario.Factory, clock, unchecked((o.Scenario.Seed * 104729) + 3));
        // Aida's agent on real devices: supervised, so its high-risk actions (isolating a rack, moving jobs) wait for an
        // approver (aida's API, /api/actions); its incidents and audit log beside the telemetry in --data.
        using var agent = o.Mode == OperatingMode.Agent
            ? AgentHost.ForNetwork(network.Plant, o.Scenario.Factory, telemetry.Store!, o.Data, SloPack.Load(null), o.AgentMode, clock, collectingSince, freshStore, network.Sink.SourceOf)
            : null;
        foreach (var line in agent?.Resumed() ?? [])
        {
            await stdout.WriteLineAsync("resuming: " + line);
        }

        // The operator's (or agent's) and API writes all go to the devices: one at a time, under this lock.
        telemetry.Audit = agent?.Audit;
        telemetry.IncidentsUnstored = agent is null ? null : () => agent.Agent.IncidentsUnstored;
        var gate = new object();
        var heartbeat = new Aida.Server.Api.LoopHeartbeat(clock, o.StallAfter ?? Aida.Server.Api.LoopHeartbeat.DefaultStalledAfter);
        // The SLOs' statuses are recorded into the store once a plant minute (the budgets' history) when anything reads it:
        // the data directory, --listen, --remote-write or the API.
        var filed = AgentHost.FiledIn(o.Data, agent);
        using var slos = o.Data is null && o.Listen is null && o.RemoteWrite is null && o.Urls is null
            ? null
            : SloRecording.Start(telemetry, o.Scenario.Factory.Site.Name, clock, () => agent?.Exclusions ?? filed?.Exclusions ?? [], freshStore ? collectingSince : null, settled: false);
        await using var api = o.Urls is null || o.Data is null
            ? null
            : await RunApi.StartAsync(o.Urls, o.Scenario.Factory, network.Plant, clock, agent, telemetry, o.Data, gate, filed!, slos, stdout, token, new Aida.Server.Api.RunInfo($"site {site.Name}", o.Mode.ToString().ToLowerInvariant()), network.Sink, heartbeat);
        telemetry.Audit ??= api?.Context.Audit;
        await using var paging = o.Alertmanagers is not { Count: > 0 } alertmanagers ? null : OnCallPaging.Start(alertmanagers, o.Scenario.Factory.Name, agent, telemetry.Incidents, telemetry.SloAlerts, api, clock, gate, stderr, token, network,
            heartbeat: heartbeat, dataNotWritten: () => telemetry.NotWritten, capacity: telemetry.Store is { } store ? new Aida.Observability.Derived.SpareCapacity(new Aida.Telemetry.Query.EmbeddedQueryEngine(store), o.Scenario.Factory) : null);
        await stdout.WriteLineAsync(
            $"aida run: site {site.Name} over the network ({site.Collectors.Count} collectors, {network.Plant.Actuators.Count} actuators), " +
            $"design {o.Scenario.Factory.Name}, mode {o.Mode.ToString().ToLowerInvariant()}; Ctrl-C stops");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        if (o.Duration is { } d)
        {
            stop.CancelAfter(d);
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        Action begin = op is null ? () => { } : op.Begin;
        Action tick = op is null ? () => agent!.Agent.Tick(clock.GetUtcNow()) : op.Tick;
        var watching = LoopWatch.Start(heartbeat, stderr, stop.Token);
        await OperateAsync(begin, tick, network, telemetry, o.StatusEvery, clock, stdout, gate, api, heartbeat, stop.Token);
        await stop.CancelAsync();
        await watching;
        if (op is not null)
        {
            var s = op.Stats;
            await stdout.WriteLineAsync($"operator: {s.AlarmsRaised} alarms raised, {s.AlarmsNoticed} noticed, {s.AlarmsFixed} fixed, {s.Writes} writes confirmed; " +
                $"{network.Sink.SamplesStored} samples collected");
        }
        else
        {
            var a = agent!.Agent;
            await stdout.WriteLineAsync($"agent: {a.Incidents} incidents, {a.Responses.Count} runbooks started, {a.Executor.Records.Count} actions proposed, " +
                $"{a.Plant.Refused} writes refused by the envelope{(a.DetectionFailures > 0 ? $", {a.DetectionFailures} detection rounds failed (audited)" : "")}; {network.Sink.SamplesStored} samples collected");
        }

        if (paging is not null)
        {
            await stdout.WriteLineAsync(paging.Summary());
        }

        return Ok;
    }

    /// <summary>The status line's last column on a network site: the field devices answering their collectors' polls, of
    /// those reported on (<c>GET /api/devices</c> lists them).</summary>
    internal const string DevicesHeader = "devices up";

    internal static string DevicesUp(IReadOnlyList<Aida.Telemetry.Collectors.DeviceHealthView> devices) =>
        $"{devices.Count(d => d.Up)}/{devices.Count}".PadLeft(DevicesHeader.Length);

    /// <summary>The operator's (or agent's) loop on the wall clock: <paramref name="begin"/> once (the operator's standing
    /// setpoints), then <paramref name="tick"/> every <see cref="OperatorInterval"/>, and a status line every
    /// <paramref name="statusEvery"/>; <paramref name="heartbeat"/> beaten after each tick, with how far it overran its
    /// interval.</summary>
    private static async Task OperateAsync(Action begin, Action tick, NetworkSite network, LiveTelemetry telemetry, TimeSpan statusEvery, TimeProvider clock, TextWriter stdout, object gate, RunApi? api, Aida.Server.Api.LoopHeartbeat heartbeat, CancellationToken token)
    {
        var status = new RunCommand.StatusPoints(network.Plant);
        await stdout.WriteLineAsync(RunCommand.StatusPoints.Header + "  " + DevicesHeader);

        // Writes wait for the devices: the operator runs off the caller's thread.
        await Task.Run(begin, CancellationToken.None);
        heartbeat.Beat(clock.GetUtcNow(), TimeSpan.Zero);
        // The first status line once the collectors have had one operator interval to deliver.
        var nextStatus = clock.GetUtcNow() + OperatorInterval;
        using var timer = new PeriodicTimer(OperatorInterval, clock);
        do
        {
            if (clock.GetUtcNow() + TimeSpan.FromMilliseconds(500) >= nextStatus)
            {
                await stdout.WriteLineAsync(status.Line(clock.GetUtcNow()) + "  " + DevicesUp(network.Sink.Devices()));
                nextStatus += statusEvery;
            }

            var started = clock.GetTimestamp();
            network.Tick();
            await Task.Run(() =>
            {
                lock (gate)
                {
                    tick();
                }
            }, CancellationToken.None);
            telemetry.Tick();
            api?.Tick();
            heartbeat.Beat(clock.GetUtcNow(), clock.GetElapsedTime(started) - OperatorInterval);
        }
        while (await timer.NextOrStopped(token));
    }
}
