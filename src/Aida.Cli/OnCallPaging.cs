using Aida.Automation.Actions;
using Aida.Automation.OnCall;
using Aida.Observability.Incidents;
using Aida.Reliability.Alerting;

namespace Aida.Cli;

/// <summary><c>aida run --alertmanager URL[,URL]</c>: keeps the given Alertmanagers in step with what a person on call
/// must know (<see cref="OnCallAlerts"/>), looking once a second of wall time, plus <c>AidaWatchdog</c>, an alert that
/// fires for as long as Aida runs and its control loop steps (route it to a dead man's switch to be told when Aida
/// stops), and <c>AidaLoopStalled</c> in its place once the loop has stalled (<see cref="Aida.Server.Api.LoopHeartbeat"/>).</summary>
/// <remarks>Alertmanager down, slow or refusing never stops the run: the feed says so once on stderr and tries again
/// (<see cref="AlertmanagerFeed"/>). Alerts left firing when the run stops expire in Alertmanager five minutes after
/// the last post, the watchdog's among them.</remarks>
internal sealed class OnCallPaging : IAsyncDisposable
{
    /// <summary>How often what holds is looked at (a post goes only on a change, a resend or a retry).</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;

    private OnCallPaging(HttpClient http, AlertmanagerFeed feed, CancellationTokenSource stop, Func<OnCallPaging, Task> loop)
    {
        _http = http;
        Feed = feed;
        _stop = stop;
        _loop = loop(this);
    }

    public AlertmanagerFeed Feed { get; }

    /// <summary>Alertmanager addresses from <c>--alertmanager</c> (comma-separated <c>http://HOST:PORT[/PATH]</c>; each
    /// of a cluster); none for null.</summary>
    /// <exception cref="BadInputException">One is not an http(s) URL.</exception>
    public static IReadOnlyList<Uri> ParseUrls(string? text)
    {
        if (text is null)
        {
            return [];
        }

        var urls = new List<Uri>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.Query.Length > 0)
            {
                throw new BadInputException($"--alertmanager: '{part}' is not an Alertmanager's http://HOST:PORT (e.g. http://127.0.0.1:9093; several comma-separated)");
            }

            urls.Add(url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/"));
        }

        return urls;
    }

    /// <summary>Starts looking at what holds for a run's <paramref name="agent"/> (else its own
    /// <paramref name="incidents"/> and <paramref name="sloAlerts"/>) and <paramref name="api"/> under <paramref name="gate"/> (the lock the plant is
    /// stepped under) every <see cref="Period"/> and posting to <paramref name="urls"/>.</summary>
    /// <param name="clock">The plant's clock.</param>
    /// <param name="network">A network site, whose devices found restarted are told (with the asset each writes); null
    /// for the twin.</param>
    /// <param name="capacity">Works out what a lockout about to start leaves its group, from the run's telemetry; null:
    /// not told.</param>
    /// <param name="heartbeat">The run's control loop: while it has stalled the watchdog is withdrawn and
    /// <c>AidaLoopStalled</c> posted, with what held before, without waiting for <paramref name="gate"/> (a wedged loop
    /// may hold it); null: the watchdog fires for as long as this runs.</param>
    /// <param name="dataNotWritten">What the run cannot write to its data directory's disk now; null: not told.</param>
    public static OnCallPaging Start(IReadOnlyList<Uri> urls, string factory, AgentHost? agent, IncidentStore? incidents, Aida.Reliability.Runs.LiveSloAlerts? sloAlerts, RunApi? api, TimeProvider clock, object gate, TextWriter stderr, CancellationToken token, NetworkSite? network = null, Aida.Observability.Derived.SpareCapacity? capacity = null, Aida.Server.Api.LoopHeartbeat? heartbeat = null, Func<IReadOnlyList<string>>? dataNotWritten = null)
    {
        var slos = agent?.SloAlerts ?? sloAlerts;
        var alerts = new OnCallAlerts(factory, agent?.Incidents ?? incidents, [.. new[] { agent?.Agent.Executor, api?.Executor }.OfType<ActionExecutor>()],
            agent?.Agent, agent?.Agent.Plant ?? api?.Executor.Plant, api?.Url, clock)
        {
            SloAlerts = slos is null ? null : () => slos.Firing,
            DeviceRestarts = network is null ? null : network.Sink.Restarts,
            DeviceAsset = network is null ? null : network.AssetOf,
            Capacity = capacity,
            DataNotWritten = dataNotWritten,
        };
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var said = TextWriter.Synchronized(stderr);
        var feed = new AlertmanagerFeed([.. urls.Select(u => new AlertmanagerClient(http, u))], TimeProvider.System, report: said.WriteLine);
        if (api is not null)
        {
            api.Context.Alertmanager = feed;
        }

        var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        FiringAlert watchdog = new(
            [new("alertname", "AidaWatchdog"), new("factory", factory), new("severity", "none")],
            [new("summary", "Aida runs and its alerts reach this Alertmanager; route this alert to a dead man's switch to be told when they stop")]);
        return new OnCallPaging(http, feed, stop, async self =>
        {
            using var timer = new PeriodicTimer(Period, TimeProvider.System);
            string? failing = null;
            string? capacityFailing = null;
            IReadOnlyList<FiringAlert> before = [];
            do
            {
                IReadOnlyList<FiringAlert> holding;
                if (heartbeat?.Now() is { Stalled: true } stalled)
                {
                    // Nothing operates the plant: the dead man's switch is told by the watchdog's absence, on-call by
                    // AidaLoopStalled; what held before still holds (the loop may hold the lock it is read under).
                    holding = [Stalled(factory, heartbeat, stalled), .. before];
                    await self.Feed.UpdateAsync(holding, stop.Token);
                    continue;
                }

                try
                {
                    await alerts.ReadCapacityAsync(stop.Token);
                    capacityFailing = null;
                }
                catch (Exception e) when (e is Aida.Telemetry.Query.QueryException or HttpRequestException)
                {
                    // Told without what the lockout leaves (or with what was read before); the rest is posted as ever.
                    if (capacityFailing != e.Message)
                    {
                        said.WriteLine($"alertmanager: could not read the units' redundancy and what a lockout about to start leaves its group ({e.Message}); told without them until they read");
                        capacityFailing = e.Message;
                    }
                }

                try
                {
                    lock (gate)
                    {
                        before = alerts.Now();
                    }

                    holding = [watchdog, .. before];

                    failing = null;
                }
                catch (Exception e) when (e is InvalidOperationException or Microsoft.Data.Sqlite.SqliteException or IOException)
                {
                    // The incident store busy or gone for a moment: say so once and look again; what holds is unchanged.
                    if (failing != e.Message)
                    {
                        said.WriteLine($"alertmanager: could not read what holds now ({e.Message}); looking again every {Period.TotalSeconds:0} s");
                        failing = e.Message;
                    }

                    continue;
                }

                await self.Feed.UpdateAsync(holding, stop.Token);
            }
            while (await timer.NextOrStopped(stop.Token));
        });
    }

    /// <summary><c>AidaLoopStalled</c>: the run's control loop has made no step for its heartbeat's stall time.
    /// The summary names the last step, not the time since, so it stays the same post after post.</summary>
    internal static FiringAlert Stalled(string factory, Aida.Server.Api.LoopHeartbeat heartbeat, Aida.Server.Api.LoopHealth health) => new(
        [new("alertname", "AidaLoopStalled"), new("factory", factory), new("severity", "critical")],
        [new("summary", (health.LastBeat is { } last
            ? $"Aida's control loop has made no step since {last:yyyy-MM-ddTHH:mm:ssZ} (plant time {health.PlantTime:yyyy-MM-ddTHH:mm:ssZ})"
            : $"Aida's control loop has made no step since it started at {heartbeat.StartedAt:yyyy-MM-ddTHH:mm:ssZ}") +
            "; nothing operates the plant, and the watchdog is withdrawn. The process still answers: find why on its stderr, and restart it (aida run resumes from its data directory)")]);

    /// <summary>One line for the run's summary.</summary>
    public string Summary() =>
        $"alertmanager: {Feed.Delivered} post(s) delivered, {Feed.Failed} failed; {Feed.Firing} alert(s) firing when the run stopped (they expire there in 5 min)";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // Stopped in the middle of a post.
        }

        _stop.Dispose();
        _http.Dispose();
    }
}
