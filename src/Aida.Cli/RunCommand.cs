using System.CommandLine;
using Aida.Model.Config;
using Aida.Model.Plant;
using Aida.Twin.Simulation;
using static Aida.Cli.AidaCommand;

namespace Aida.Cli;

/// <summary><c>aida run</c>: operate the embedded twin on the wall clock (optionally sped up), printing live status until the
/// scenario ends or Ctrl-C.</summary>
internal static class RunCommand
{
    /// <summary>The shortest <c>--stall-after</c>: two of a network site's operator ticks.</summary>
    internal static readonly TimeSpan MinStallAfter = 2 * NetworkRun.OperatorInterval;

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var scenario = ScenarioOption("reference");
        var mode = ModeOption("agent");
        var duration = DurationOption("Stop after this much plant time (default: the scenario's duration)");
        var seed = SeedOption();
        var speed = SpeedOption();
        var status = StatusEveryOption();
        var output = new Option<string?>("--out", "-o") { Description = "Directory to write summary.json into when the run stops" };
        var data = new Option<string>("--data")
        {
            Description = "Keep the run's telemetry (DIR/tsdb, as long as the SLOs' longest window and a day: 29 days), incidents, audit log, API keys, the readings left out of the SLOs and the twin's moved actuators in this directory; a restart resumes from it (the twin's actuators where the last run left them; the agent takes up the sensors it did not trust and its runbooks in progress: waiting for approval, running, or restoring after a repair, with their actions waiting for an approver under the same ids; the safety envelope the writes in the audit log: racks isolated and units stopped before still count). " +
                "A 32 MiB disk-reserve file there is given back when the disk fills, so incidents and the audit log are still written; what the disk refuses is held in memory and written once it can",
            DefaultValueFactory = _ => "data",
        };
        var listen = new Option<string?>("--listen") { Description = "Serve the live telemetry over the Prometheus HTTP API at this address:port (e.g. 127.0.0.1:9480)" };
        var apiAddress = new Option<string>("--urls", "--api")
        {
            Description = "Serve the dashboard and Aida's API (REST, server-sent events, Prometheus query API, MCP; API keys with roles) at this address, " +
                "e.g. http://127.0.0.1:8080 or 127.0.0.1:8080; 'none' serves nothing. Bind to loopback unless the host is protected otherwise. " +
                "/healthz answers 503 once the control loop has made no step for --stall-after",
            DefaultValueFactory = _ => "http://" + DefaultUrl,
        };
        var remote = new Option<string?>("--remote-write") { Description = "Forward every sample to this Prometheus remote-write URL (batched, retried, buffered on disk)" };
        var plantKind = new Option<string>("--plant")
        {
            Description = "twin: the embedded twin; network: the site file's devices over the network (--site), e.g. aida twin serve",
            DefaultValueFactory = _ => "twin",
        };
        var siteFile = new Option<string?>("--site")
        {
            Description = "With --plant network: the site file naming the collectors, or a bundled name (twin-local: aida twin serve's default ports)",
        };
        var dryRun = new Option<bool>("--dry-run")
        {
            Description = "With --mode agent: the agent plans, proposes and audits every action, runbook step and optimiser move, and writes nothing " +
                "(shadow mode, on the twin or a network site); a person hands it the controls with POST /api/agent/mode",
        };
        var alertmanager = new Option<string?>("--alertmanager")
        {
            Description = "Post what a person on call must know to this Alertmanager (http://HOST:PORT; several comma-separated, each of a cluster): " +
                "open incidents, actions and runbooks waiting for an approver, set points moved behind Aida's back, what runbooks' notify steps say, SLOs burning their budget or giving no data, what a full disk keeps it from writing, and a watchdog " +
                "alert that fires while Aida runs and its control loop steps (AidaLoopStalled in its place once the loop has made no step for --stall-after)",
        };
        var stallAfter = new Option<string>("--stall-after")
        {
            Description = "How long the control loop may make no step before it counts as stalled: /healthz answers 503, AidaLoopStalled is posted, " +
                "and calls waiting for the plant's lock are refused (at least 20 s: two of a network site's 10 s operator ticks)",
            DefaultValueFactory = _ => "60s",
        };
        var supervised = new Option<bool>("--supervised")
        {
            Description = "With --mode agent on the embedded twin: run the agent supervised, as on a network site: its high-risk actions " +
                "and the runbooks marked approval: true wait for a person (the dashboard's Agent page or the API) instead of running at once",
        };
        var command = new Command("run",
            "Run the plant (the embedded twin, or a site over the network with --plant network) on the wall clock from now and operate it, " +
            "printing live status; Ctrl-C stops")
        {
            scenario, mode, duration, seed, speed, status, output, data, listen, apiAddress, remote, plantKind, siteFile, supervised, dryRun, alertmanager, stallAfter,
        };
        command.SetAction(async (parse, token) =>
        {
            // The agent runs the twin by default; a network site is only watched unless told otherwise (--mode agent: the
            // agent runs it supervised, its risky actions waiting for an approver).
            var twin = parse.GetValue(plantKind) == "twin";
            var m = ParseMode(twin || parse.GetResult(mode) is { Implicit: false } ? parse.GetValue(mode)! : "human", agentAllowed: true);
            var d = ParseDuration(parse.GetValue(duration), "--duration");
            var every = ParseDuration(parse.GetValue(status), "--status-every")!.Value;
            var alertmanagers = OnCallPaging.ParseUrls(parse.GetValue(alertmanager));
            var stall = ParseDuration(parse.GetValue(stallAfter), "--stall-after")!.Value;
            if (stall < MinStallAfter)
            {
                throw new BadInputException($"--stall-after: {parse.GetValue(stallAfter)} is shorter than {MinStallAfter.TotalSeconds:0} s: a network site's loop steps every {NetworkRun.OperatorInterval.TotalSeconds:0} s, and two missed ticks are the least that says it stalled");
            }

            if (parse.GetValue(supervised) && (m != OperatingMode.Agent || !twin))
            {
                throw new BadInputException(twin ? "--supervised: only with --mode agent (the agent is what waits for approvals)"
                    : "--supervised: a network site's agent is always supervised; leave it out");
            }

            if (parse.GetValue(dryRun) && m != OperatingMode.Agent)
            {
                throw new BadInputException("--dry-run: only with --mode agent (the agent is what proposes instead of writing)");
            }

            if (parse.GetValue(dryRun) && parse.GetValue(supervised))
            {
                throw new BadInputException("--dry-run and --supervised: choose one");
            }

            // The mode the command line gives, or null: then an earlier run's, as a person last set it, else the default.
            Aida.Automation.Actions.AutomationMode? agentMode = parse.GetValue(dryRun) ? Aida.Automation.Actions.AutomationMode.DryRun
                : parse.GetValue(supervised) ? Aida.Automation.Actions.AutomationMode.Supervised : null;

            switch (parse.GetValue(plantKind))
            {
                case "twin":
                    if (parse.GetValue(siteFile) is not null)
                    {
                        throw new BadInputException("--site: only with --plant network");
                    }

                    break;
                case "network":
                    foreach (var twinOnly in new Option[] { speed, seed, output })
                    {
                        if (parse.GetResult(twinOnly) is { Implicit: false })
                        {
                            throw new BadInputException($"{twinOnly.Name}: only with the embedded twin (--plant twin)");
                        }
                    }

                    var name = parse.GetValue(siteFile) ?? throw new BadInputException("--plant network: needs --site FILE (e.g. sites/twin-local.yaml)");
                    var file = BundledFiles.Resolve(name, "sites");
                    if (!File.Exists(file))
                    {
                        throw new BadInputException($"--site: {file}: no such file");
                    }

                    return await NetworkRun.RunAsync(
                        new NetworkRun.Options(file, LoadScenario(parse.GetValue(scenario)!), m, d, every, parse.GetValue(data), parse.GetValue(listen), parse.GetValue(remote), ParseUrls(parse.GetValue(apiAddress)!), alertmanagers, agentMode, stall),
                        stdout, stderr, token);
                case var other:
                    throw new BadInputException($"--plant: unknown plant '{other}' (expected twin or network)");
            }

            var factor = ParseSpeed(parse.GetValue(speed));
            var apiEndpoint = ParseUrls(parse.GetValue(apiAddress)!);

            var s = StartingNow(LoadScenario(parse.GetValue(scenario)!), TimeProvider.System);
            if (LiveTelemetry.NewestSample(parse.GetValue(data)!) is { } newest && newest >= s.Start)
            {
                s = s with { Start = newest.AddTicks(TimeSpan.TicksPerSecond - (newest.Ticks % TimeSpan.TicksPerSecond)) };
                await stdout.WriteLineAsync($"resuming: the plant clock starts at {s.Start:yyyy-MM-dd HH:mm:ss}Z, after the newest sample kept in {parse.GetValue(data)}");
            }

            var simulator = new Simulator(s, new SimulationOptions { Mode = m, Duration = d, Seed = parse.GetValue(seed) });
            var keptTwin = Path.Combine(parse.GetValue(data)!, TwinActuatorsFile);
            var twinTakenUp = TakeUpTwin(simulator, keptTwin);
            if (twinTakenUp > 0)
            {
                await stdout.WriteLineAsync($"resuming: the twin takes up {twinTakenUp} actuator(s) where the last run left them ({keptTwin})");
            }

            var withAgent = m == OperatingMode.Agent;
            await using var telemetry = await LiveTelemetry.StartAsync(simulator, parse.GetValue(data), parse.GetValue(listen), parse.GetValue(remote), stdout, token, withAgent);
            telemetry.Log = stderr;
            var dataFrom = telemetry.Store?.MaxTimeMs is null ? simulator.Clock.GetUtcNow() : (DateTimeOffset?)null;

            // The agent works from the run's telemetry (in memory without --data) and keeps its incidents and audit log
            // beside it; its efficiency envelope comes from the bundled SLO pack's budgets.
            using var agent = withAgent
                ? AgentHost.Attach(simulator, telemetry.Store!, parse.GetValue(data), SloPack.Load(null), agentMode)
                : null;
            foreach (var line in agent?.Resumed() ?? [])
            {
                await stdout.WriteLineAsync("resuming: " + line);
            }

            telemetry.Audit = agent?.Audit;
            telemetry.IncidentsUnstored = agent is null ? null : () => agent.Agent.IncidentsUnstored;
            var gate = new object();
            var heartbeat = new Aida.Server.Api.LoopHeartbeat(TimeProvider.System, stall) { Speed = factor };
            // The SLOs' statuses are recorded into the store once a plant minute (the budgets' history), API or not.
            var filed = AgentHost.FiledIn(parse.GetValue(data), agent);
            using var slos = SloRecording.Start(telemetry, s.Factory.Site.Name, simulator.Clock, () => agent?.Exclusions ?? filed?.Exclusions ?? [], dataFrom, settled: true);
            await using var api = apiEndpoint is null ? null : await RunApi.StartAsync(apiEndpoint, s.Factory, simulator.Plant, simulator.Clock, agent, telemetry, parse.GetValue(data)!, gate, filed!, slos, stdout, token, new Aida.Server.Api.RunInfo(s.Name, m.ToString().ToLowerInvariant()), heartbeat: heartbeat);
            telemetry.Audit ??= api?.Context.Audit;
            await using var paging = alertmanagers.Count == 0 ? null : OnCallPaging.Start(alertmanagers, s.Factory.Name, agent, telemetry.Incidents, telemetry.SloAlerts, api, simulator.Clock, gate, stderr, token,
                heartbeat: heartbeat, dataNotWritten: () => telemetry.NotWritten, capacity: telemetry.Store is { } store ? new Aida.Observability.Derived.SpareCapacity(new Aida.Telemetry.Query.EmbeddedQueryEngine(store), s.Factory) : null);
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(token);
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                cancel.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            // SIGTERM (systemd, docker stop, kill) stops the run as Ctrl-C does: the store, incidents and audit log are
            // flushed and closed on the way out, so a restart resumes from them.
            using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, signal =>
            {
                signal.Cancel = true;
                cancel.Cancel();
            });
            var watching = Task.CompletedTask;
            try
            {
                await stdout.WriteLineAsync($"aida run: {s.Name} on {s.Factory.Name}, mode {m.ToString().ToLowerInvariant()}, {Format(factor, "0.##")}x real time; Ctrl-C stops");
                var lastKept = TimeProvider.System.GetTimestamp();
                watching = LoopWatch.Start(heartbeat, stderr, cancel.Token);
                await Drive(simulator, TimeProvider.System, factor, every, stdout, cancel.Token, () =>
                {
                    telemetry.Tick();
                    api?.Tick();
                    if (TimeProvider.System.GetElapsedTime(lastKept) >= KeepTwinEvery)
                    {
                        KeepTwin(simulator, keptTwin, gate);
                        lastKept = TimeProvider.System.GetTimestamp();
                    }
                }, api is null && paging is null ? null : gate, heartbeat);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
                await cancel.CancelAsync();
                await watching;
            }

            KeepTwin(simulator, keptTwin, gate);
            var summary = simulator.Summary();
            summary = ScoreOrSay(agent, summary, s.Start, stderr);
            SummaryTable.Write(stdout, summary);
            if (paging is not null)
            {
                await stdout.WriteLineAsync(paging.Summary());
            }

            if (parse.GetValue(output) is { } dir)
            {
                Directory.CreateDirectory(dir);
                await File.WriteAllTextAsync(Path.Combine(dir, "summary.json"), summary.ToJson(), CancellationToken.None);
            }

            return Ok;
        });
        return command;
    }

    /// <summary>The agent's figures added to the run's summary; when its incident store's disk refuses even the read
    /// (SQLite can need the disk to read), tried three times, then the plant's figures alone, said on stderr.</summary>
    private static Aida.Twin.Simulation.SimulationSummary ScoreOrSay(AgentHost? agent, Aida.Twin.Simulation.SimulationSummary summary, DateTimeOffset start, TextWriter stderr)
    {
        for (var attempt = 1; agent is not null; attempt++)
        {
            try
            {
                return agent.Score(summary, start);
            }
            catch (Microsoft.Data.Sqlite.SqliteException e) when (Aida.Observability.Incidents.IncidentStore.IsDiskRefusal(e))
            {
                if (attempt == 3)
                {
                    stderr.WriteLine($"aida run: the agent's figures could not be read from its incident store ({e.Message}): the summary has the plant's alone");
                    break;
                }
            }
        }

        return summary;
    }

    /// <summary>The file the embedded twin's moved actuators are kept in, in the data directory, so that the twin started
    /// again there takes them up (a real plant does not go back to its design state when Aida restarts).</summary>
    public const string TwinActuatorsFile = "twin-actuators.json";

    /// <summary>How often (wall time) the twin's actuators are kept while it runs, besides when it stops.</summary>
    private static readonly TimeSpan KeepTwinEvery = TimeSpan.FromSeconds(30);

    /// <summary>Starts <paramref name="simulator"/> with the actuators kept in <paramref name="file"/>; how many.</summary>
    /// <exception cref="BadInputException">The file is broken, or names an actuator this factory does not have or a value
    /// outside its range; the message names the file and the entry.</exception>
    private static int TakeUpTwin(Simulator simulator, string file)
    {
        try
        {
            var kept = Aida.Twin.Simulation.KeptActuators.Read(file);
            simulator.TakeUp(kept);
            return kept.Count;
        }
        catch (FormatException e)
        {
            throw new BadInputException(e.Message);
        }
        catch (ArgumentException e)
        {
            throw new BadInputException($"{file}: {e.Message} (kept by a run of another factory? move the file away to start the twin from its design state)");
        }
    }

    private static void KeepTwin(Simulator simulator, string file, object gate)
    {
        IReadOnlyList<Aida.Twin.Simulation.KeptActuator> moved;
        lock (gate)
        {
            moved = simulator.MovedActuators();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        Aida.Twin.Simulation.KeptActuators.Write(file, moved);
    }

    /// <summary>Where <c>aida run</c> serves unless told otherwise: loopback only.</summary>
    public const string DefaultUrl = "127.0.0.1:8080";

    /// <summary>The endpoint of <c>--urls</c> (<c>http://ADDRESS:PORT</c> or <c>ADDRESS:PORT</c>, port 0 for any free
    /// one); null for <c>none</c>.</summary>
    internal static System.Net.IPEndPoint? ParseUrls(string text)
    {
        if (text == "none")
        {
            return null;
        }

        var address = text.StartsWith("http://", StringComparison.Ordinal) ? text["http://".Length..].TrimEnd('/') : text;
        if (text.StartsWith("https://", StringComparison.Ordinal))
        {
            throw new BadInputException($"--urls: '{text}': Aida serves plain HTTP; put a TLS proxy in front of it for https");
        }

        if (address.StartsWith("localhost:", StringComparison.Ordinal))
        {
            address = "127.0.0.1" + address["localhost".Length..];
        }

        return System.Net.IPEndPoint.TryParse(address, out var endpoint) && address.Contains(':', StringComparison.Ordinal)
            ? endpoint
            : throw new BadInputException($"--urls: '{text}' is not http://ADDRESS:PORT (e.g. http://{DefaultUrl}) or none");
    }

    /// <summary>How many plant steps <see cref="Drive"/> takes in one hold of its gate.</summary>
    private const long MaxStepsPerHold = 10;

    /// <summary>At most this much plant time passes between two of <see cref="Drive"/>'s ticks, however far behind its
    /// schedule the loop is: the derived metrics and SLO statuses are due each plant minute, and the store cuts its blocks
    /// each plant hour.</summary>
    internal static readonly TimeSpan MaxPlantTimeBetweenTicks = TimeSpan.FromMinutes(1);

    /// <summary>Keeps plant time at <paramref name="speed"/> times wall time, as measured by <paramref name="wall"/>.</summary>
    /// <param name="tick">The run's own work between steps (derived metrics, SLO statuses, the store's blocks, approved
    /// actions): called each time the loop has caught up with its schedule, and also every
    /// <see cref="MaxPlantTimeBetweenTicks"/> of plant time while it has not.</param>
    /// <param name="gate">When given, every step is taken holding it (the lock other threads read the plant under).</param>
    /// <param name="heartbeat">Beaten after every hold of the gate (every advance without one), with how far plant time
    /// is behind its schedule.</param>
    internal static async Task Drive(Simulator simulator, TimeProvider wall, double speed, TimeSpan statusEvery, TextWriter stdout, CancellationToken token, Action? tick = null, object? gate = null, Aida.Server.Api.LoopHeartbeat? heartbeat = null)
    {
        var startWall = wall.GetTimestamp();
        void Advance(long steps)
        {
            if (gate is null)
            {
                simulator.AdvanceSteps(steps);
            }
            else
            {
                lock (gate)
                {
                    simulator.AdvanceSteps(steps);
                }
            }

            Beat();
        }

        // Behind: the steps the wall clock has made due by now at this speed and not yet taken.
        void Beat()
        {
            if (heartbeat is not null)
            {
                var dueNow = Math.Min(simulator.Steps, wall.GetElapsedTime(startWall).TotalSeconds * speed / simulator.Scenario.Step.TotalSeconds);
                heartbeat.Beat(simulator.Clock.GetUtcNow(), simulator.Scenario.Step * Math.Max(0, Math.Floor(dueNow) - simulator.StepsDone));
            }
        }

        var step = simulator.Scenario.Step.TotalSeconds;
        var statusSteps = Math.Max(1, (long)(statusEvery.TotalSeconds / step));
        var tickSteps = Math.Max(1, (long)(MaxPlantTimeBetweenTicks.TotalSeconds / step));
        var tickedAt = simulator.StepsDone;
        void Tick()
        {
            tick?.Invoke();
            tickedAt = simulator.StepsDone;
        }

        var points = new StatusPoints(simulator.Plant);
        await stdout.WriteLineAsync(StatusPoints.Header);

        // One step first, so the opening line shows a running plant rather than the empty initial state.
        Advance(1);
        await stdout.WriteLineAsync(points.Line(simulator.Clock.GetUtcNow()));
        while (!simulator.Finished && !token.IsCancellationRequested)
        {
            var wallSeconds = wall.GetElapsedTime(startWall).TotalSeconds;
            var due = Math.Min(simulator.Steps, (long)(wallSeconds * speed / step));
            while (simulator.StepsDone < due)
            {
                // With a gate, at most MaxStepsPerHold steps per hold: API calls that act on the plant wait between them.
                var next = Math.Min(due, ((simulator.StepsDone / statusSteps) + 1) * statusSteps);
                next = Math.Min(next, tickedAt + tickSteps);
                next = gate is null ? next : Math.Min(next, simulator.StepsDone + MaxStepsPerHold);
                Advance(next - simulator.StepsDone);
                if (simulator.StepsDone % statusSteps == 0)
                {
                    await stdout.WriteLineAsync(points.Line(simulator.Clock.GetUtcNow()));
                }

                // Behind its schedule (a --speed faster than this machine steps the plant), the loop never catches up:
                // the tick's work is done as plant time passes, not left until the run ends (its store's head growing
                // without a block cut, its PUE and budgets unwritten, approved actions not carried out).
                if (simulator.StepsDone - tickedAt >= tickSteps)
                {
                    Tick();
                }
            }

            Tick();
            // Alive between steps too (at a speed with a step due less often than the stall time).
            Beat();

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), wall, token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    internal sealed class StatusPoints(IPlant plant)
    {
        public const string Header = "time (UTC)            IT MW  facility MW   PUE  FW supply °C  ambient °C  max GPU °C  max inlet °C";
        private readonly int _it = plant.Point("site/it_power");
        private readonly int _facility = plant.Point("site/facility_power");
        private readonly int _fw = plant.Point("facility-water/supply_temperature");
        private readonly int _ambient = plant.Point("site/ambient_dry_bulb");
        private readonly int[] _gpu = plant.Points.Where(p => p.Name.EndsWith("/gpu_max_temperature", StringComparison.Ordinal)).Select(p => p.Index).ToArray();
        private readonly int[] _inlet = plant.Points.Where(p => p.Name.EndsWith("/inlet_temperature", StringComparison.Ordinal)).Select(p => p.Index).ToArray();

        public string Line(DateTimeOffset now)
        {
            var it = plant.Read(_it).Value / 1e6;
            var facility = plant.Read(_facility).Value / 1e6;
            var gpu = _gpu.Select(i => plant.Read(i).Value).Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Max();
            var inlet = _inlet.Select(i => plant.Read(i).Value).Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Max();
            return $"{now:yyyy-MM-dd HH:mm:ss}  {Format(it),6}  {Format(facility),11}  {(it > 0 ? Format(facility / it, "0.000") : "-"),5}  {Format(plant.Read(_fw).Value, "0.0"),12}  {Format(plant.Read(_ambient).Value, "0.0"),10}  {Format(gpu, "0.0"),10}  {Format(inlet, "0.0"),12}";
        }
    }
}
