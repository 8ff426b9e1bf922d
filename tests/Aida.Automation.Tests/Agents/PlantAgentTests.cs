using Aida.Automation.Agents;
using Aida.Automation.Runbooks;
using Aida.Automation.Tests.Safety;
using Aida.Model.Config;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Observability.Incidents;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Automation.Tests.Agents;

/// <summary>The agent in the twin's loop.</summary>
public sealed class PlantAgentTests
{
    /// <summary>Runs <paramref name="scenario"/> with the agent in the loop, its telemetry in a store, the bundled
    /// runbooks and envelope, the efficiency envelope at full headroom; its incidents in <paramref name="incidentsPath"/>
    /// when given; <paramref name="pause"/> runs its action (a person at the incident store) that far into the run.</summary>
    private static PlantAgent RunAgent(Scenario scenario, TimeSpan duration, PlantAgentOptions options, string? auditPath = null, Func<DateTimeOffset, IEnumerable<Alert>>? burns = null, string? incidentsPath = null,
        (TimeSpan At, Action<IncidentStore, PlantAgent> Act)? pause = null, Func<Tsdb, IPlantSampleSink, IPlantSampleSink>? recorder = null)
    {
        var sim = new Simulator(scenario, new SimulationOptions { Mode = OperatingMode.Agent, Duration = duration });
        using var store = new Tsdb(new TsdbOptions { Clock = sim.Clock, Retention = TimeSpan.FromDays(3650) });
        IPlantSampleSink telemetry = new PlantTelemetryRecorder(store, sim.Plant, sim.GpuCatalog, scenario.Factory.Site.Name);
        sim.RecordTo(recorder?.Invoke(store, telemetry) ?? telemetry);
        var dir = ScratchDir();
        using var incidents = new IncidentStore(incidentsPath ?? Path.Combine(dir, "incidents.db"), sim.Clock);
        var runbooks = Runbook.LoadDirectory(BundledFiles.Shipped("runbooks"), scenario.Factory);
        using var audit = auditPath is null ? null : new Aida.Automation.Audit.AuditLog(auditPath, sim.Clock);
        var agent = new PlantAgent(sim.Plant, scenario.Factory, new EmbeddedQueryEngine(store), incidents, SafetyEnvelopeTests.Bundled, runbooks, sim.Clock,
            options, audit, efficiency: () => Optimiser.OptimiserLoop.Expand)
        {
            SloBurnAlerts = burns,
        };
        sim.AttachAgent(agent);
        if (pause is { } p)
        {
            sim.AdvanceSteps((long)(p.At / scenario.Step));
            p.Act(incidents, agent);
        }

        sim.Run();
        return agent;
    }

    /// <summary>A new directory of its own for a test's stores.</summary>
    private static string ScratchDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aida-agent-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Alerts handed to the agent as SLO burn-rate alerts are: <paramref name="alert"/> once, at the first
    /// look at or after its time.</summary>
    private static Func<DateTimeOffset, IEnumerable<Alert>> HandedOnce(Alert alert)
    {
        var handed = false;
        return now =>
        {
            if (handed || now < alert.At)
            {
                return [];
            }

            handed = true;
            return [alert];
        };
    }

    [Fact]
    public void SameCauseAgain_AfterTheFirstResponseFinished_GetsItsRunbookAgain()
    {
        // Regression: the agent kept every (fault kind, asset) it had handled for the whole run, so a second trip of the
        // same chiller days later got no runbook. Two trips of chiller-1, 75 min apart: two responses.
        var one = ScenarioLoader.Load("faults/chiller-trip");
        var trip = one.Faults[0];
        var scenario = one with
        {
            Faults = [trip with { Start = TimeSpan.FromMinutes(45), End = TimeSpan.FromMinutes(65) }, trip with { Start = TimeSpan.FromMinutes(140), End = TimeSpan.FromMinutes(160) }],
        };
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(165), new PlantAgentOptions { Optimise = false });

        var responses = agent.Responses.Where(r => r.FaultKind == "chiller-trip" && r.Asset == "chiller-1").ToList();
        Assert.Equal(2, responses.Count);
        Assert.True(responses[1].Opened >= scenario.Start + TimeSpan.FromMinutes(140), responses[1].Opened.ToString("O"));
    }

    [Fact]
    public void AChillerTrip_IsAnsweredAtTheFirstLookAfterItsFaultFlag_NotAtTheNextPeriod()
    {
        // chiller-1 trips at 02:00:00, on one of the agent's minute periods; its fault flag is read at 02:00:10. Looking
        // at the equipment alarms every 10 s, the agent starts the standby then; waiting for its period, at 02:01:00.
        var scenario = ScenarioLoader.Load("faults/chiller-trip");
        Assert.Equal(TimeSpan.FromSeconds(10), FirstActionAfterOnset(scenario, "chiller-1", new PlantAgentOptions { Optimise = false }));
        Assert.Equal(TimeSpan.FromSeconds(60), FirstActionAfterOnset(scenario, "chiller-1", new PlantAgentOptions { Optimise = false, EquipmentAlarmLook = null }));
    }

    [Fact]
    public void AChillerTrip_WithItsStandbyLockedOut_IsNotWrittenToTheStandby_AndItsRunbookCallsAPerson()
    {
        // chiller-3, the standby, is locked out for work from 01:55; chiller-1 trips at 02:00. The runbook's first step,
        // starting the standby, is refused for good (not retried each minute as a rate limit is): the run rolls back to a
        // person, and no write to chiller-3 reaches the plant.
        var scenario = ScenarioLoader.Load("faults/chiller-trip");
        var fault = scenario.Faults[0];
        var auditPath = Path.Combine(ScratchDir(), "audit.db");
        var agent = RunAgent(scenario, fault.Start + TimeSpan.FromMinutes(5), new PlantAgentOptions(), auditPath,
            pause: (fault.Start - TimeSpan.FromMinutes(5), (_, a) => a.Plant.Lockouts.Add("chiller-3", "api:alice", "compressor overhaul", null)));

        var response = Assert.Single(agent.Responses, r => r.Asset == "chiller-1");
        Assert.Equal(RunbookState.RolledBack, response.Run.State);
        Assert.Contains("chiller-3 is locked out by api:alice", response.Run.Failure, StringComparison.Ordinal);
        using var audit = new Aida.Automation.Audit.AuditLog(auditPath, TimeProvider.System);
        var toStandby = audit.Read().Where(e => e.Subject.StartsWith("chiller-3/", StringComparison.Ordinal) && e.Kind == Aida.Automation.Audit.AuditKind.Result).ToList();
        Assert.NotEmpty(toStandby);
        Assert.All(toStandby, e => Assert.StartsWith("refused: chiller-3/enable: chiller-3 is locked out", e.Detail, StringComparison.Ordinal));
    }

    [Fact]
    public void TheOptimiser_WritesNothingToALockedOutCdu_AndDefersItsMovesThere()
    {
        // The reference day's first hours: the optimiser moves every CDU's set point and pumps. With cdu-h1-a locked out
        // from the start, nothing is written to it; its moves are deferred, not refused and retried.
        var scenario = ScenarioLoader.Load("reference");
        var auditPath = Path.Combine(ScratchDir(), "audit.db");
        var agent = RunAgent(scenario, TimeSpan.FromHours(1), new PlantAgentOptions(), auditPath,
            pause: (TimeSpan.Zero, (_, a) => a.Plant.Lockouts.Add("cdu-h1-a", "api:alice", "strainer cleaning", null)));

        using var audit = new Aida.Automation.Audit.AuditLog(auditPath, TimeProvider.System);
        var entries = audit.Read();
        var tried = entries.Where(e => e.Subject.StartsWith("cdu-h1-a/", StringComparison.Ordinal)).Select(e => $"{e.At:O} {e.Actor} {e.Kind} {e.Subject} {e.Detail}").ToList();
        Assert.True(tried.Count == 0, string.Join("\n", tried.Take(10)));
        Assert.Contains(entries, e => e.Subject.StartsWith("cdu-h1-b/", StringComparison.Ordinal) && e.Kind == Aida.Automation.Audit.AuditKind.Result && e.Detail == "accepted");
        Assert.Contains(entries, e => e.Detail.Contains("its asset locked out", StringComparison.Ordinal));
        Assert.True(agent.OptimiserMoves > 0);
    }

    /// <summary>How long after the scenario's one fault began the agent's first write took effect, over the 3 min
    /// after it; the fault answered once, on its own asset.</summary>
    private static TimeSpan FirstActionAfterOnset(Scenario scenario, string asset, PlantAgentOptions options)
    {
        var fault = scenario.Faults[0];
        var onset = scenario.Start + fault.Start;
        var agent = RunAgent(scenario, fault.Start + TimeSpan.FromMinutes(3), options);
        Assert.Single(agent.Responses, r => r.FaultKind == FaultCatalog.Of(fault.Kind).Name && r.Asset == asset);
        return agent.Executor.Records.Where(r => r.ExecutedAt > onset).Min(r => r.ExecutedAt!.Value) - onset;
    }

    [Fact]
    public void AStuckValve_IsAnsweredAtTheFirstLookAfterItsActuatorAlarms()
    {
        // cdu-h1-b's valve sticks at 02:00:00; its actuator alarms 13 s later (position off the command), and the look
        // at 02:00:20 moves the racks' jobs off the CDU then. Without the look the agent waits for its trend rules at
        // its next minute, while the CDU's racks heat the loop through a quarter-open valve.
        var scenario = ScenarioLoader.Load("faults/valve-stuck");
        Assert.Equal(TimeSpan.FromSeconds(20), FirstActionAfterOnset(scenario, "cdu-h1-b", new PlantAgentOptions { Optimise = false }));
        Assert.True(FirstActionAfterOnset(scenario, "cdu-h1-b", new PlantAgentOptions { Optimise = false, EquipmentAlarmLook = null }) >= TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void WhatIsInferredOfAnAssetAwaitingRepair_IsAttachedToItsResponse_NotAnsweredAgain()
    {
        // Regression (faults/valve-stuck, agent): cdu-h1-b's valve sticks at 02:00 and stays stuck for 4 h; its runbook
        // moves the racks' jobs (here the supply stays over 32 °C, so it rolls back: what stayed is held and a person
        // called), its restore waiting for the valve to follow its controller again. At 04:06:30 the CDU's energy
        // balance, read with its racks idle, left its reference, and a new incident named a drifting supply sensor: the
        // sensor-drift runbook ran and asked for a sound sensor to be replaced (04:10:20 on seed 1 with the budget's
        // envelope, where the valve's runbook succeeded). Now that finding is attached to the valve's response, and
        // audited as such. (The balance is no longer judged under a 3 K rise since, so the finding is made here with
        // that gate off, as it was made then.)
        var scenario = ScenarioLoader.Load("faults/valve-stuck");
        var audit = Path.Combine(Path.GetTempPath(), "aida-agent-tests", Guid.NewGuid().ToString("N") + ".db");
        Directory.CreateDirectory(Path.GetDirectoryName(audit)!);
        var asBefore = new Aida.Observability.Detection.AlertingOptions { EnergyBalance = new Aida.Observability.Anomalies.EnergyBalanceOptions { MinimumRiseCelsius = 0 } };
        // Run until 07:20: the valve is freed at 06:00 and the restore runs 15 min later; the attached finding is not
        // answered then either (it was, on the faults week's seed 3, and moved the jobs off the repaired CDU again). A
        // budget page on the CDU at 05:00 joins one of the two incidents, which may take alerts until 07:00: the agent
        // resolves that one then, not at the restore.
        var incidentsPath = Path.ChangeExtension(audit, ".incidents.db");
        var page = scenario.Start + TimeSpan.FromHours(5);
        var burns = HandedOnce(new Alert("SLOBurnRatePage", AlertSource.SloBurn, "cdu-h1-b", page, "cdu-supply-class burning 14x") { Severity = "critical" });

        var agent = RunAgent(scenario, TimeSpan.FromMinutes(440), new PlantAgentOptions { Alerting = asBefore }, audit, burns, incidentsPath);

        Assert.True(agent.Responses.Count == 1, string.Join("; ", agent.Responses.Select(r => $"{r.FaultKind} {r.Asset} {r.Opened:HH:mm:ss} {r.Run.State}")));
        var response = agent.Responses[0];
        Assert.Equal(("valve-stuck", "cdu-h1-b", RunbookState.RolledBack), (response.FaultKind, response.Asset, response.Run.State));
        Assert.NotNull(response.Run.Restored);
        using var log = new Aida.Automation.Audit.AuditLog(audit, TimeProvider.System);
        var attached = Assert.Single(log.Read(), e => e.Kind == Aida.Automation.Audit.AuditKind.Observation
            && e.Detail.StartsWith("root cause sensor-drift on cdu-h1-b", StringComparison.Ordinal) && e.Detail.Contains($"after incident {response.Incident} (valve-stuck", StringComparison.Ordinal));

        // The incidents' lifecycle follows: the valve's acknowledged when its runbook started, not mitigated (it rolled
        // back and called a person), resolved once its restore ran and it had no alert for 2 h (the grouping's recurrence:
        // until then an SLO alert may reopen it); the attached one acknowledged when attached and resolved with it, once
        // quiet too.
        using var incidents = new IncidentStore(incidentsPath, TimeProvider.System);
        var valve = StateChanges(incidents, response.Incident);
        Assert.Equal([IncidentState.Acknowledged, IncidentState.Resolved], valve.Select(c => c.To));
        Assert.Equal(response.Run.Started, valve[0].At);
        AssertResolvedOnceRestoredAndQuiet(incidents, response.Incident, response.Run.Restored!.Value);
        var attachedTo = long.Parse(attached.Subject.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(response.Incident, attachedTo);
        Assert.Equal([(IncidentState.Acknowledged, attached.At)], StateChanges(incidents, attachedTo).Take(1));
        AssertResolvedOnceRestoredAndQuiet(incidents, attachedTo, response.Run.Restored!.Value);
        Assert.Contains(new[] { response.Incident, attachedTo }, id => incidents.Get(id).Incident.LastAlert == page);
    }

    /// <summary>The incident was resolved by the agent within 10 s after the later of the restore and 2 h past its last
    /// alert (the grouping's recurrence, within which an SLO alert may reopen it).</summary>
    private static void AssertResolvedOnceRestoredAndQuiet(IncidentStore incidents, long id, DateTimeOffset restored)
    {
        var detail = incidents.Get(id);
        var due = Max(restored, detail.Incident.LastAlert + TimeSpan.FromHours(2));
        var resolved = StateChanges(incidents, id).Single(c => c.To == IncidentState.Resolved).At;
        Assert.InRange(resolved, due, due + TimeSpan.FromSeconds(10));
        Assert.Equal(IncidentState.Resolved, detail.Incident.State);

        static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
    }

    [Fact]
    public void AResponsesOwnIncidentFindingItsCauseAgain_IsNotAuditedAsAttached()
    {
        // faults/leak: h1-c03 leaks at 02:00; the runbook isolates the rack and succeeds, its restore waiting for the
        // leak sensor to dry. The incident grows as the rack's neighbours react and names the leak again each time: that
        // is no news, but the agent audited it as a finding attached to its own response ("awaits repair after incident
        // 1 ... attached to it", faults week session 24, on the pump, leak and CRAH incidents).
        var scenario = ScenarioLoader.Load("faults/leak");
        var audit = Path.Combine(Path.GetTempPath(), "aida-agent-tests", Guid.NewGuid().ToString("N") + ".db");
        Directory.CreateDirectory(Path.GetDirectoryName(audit)!);
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(150), new PlantAgentOptions { Optimise = false }, audit);

        var response = Assert.Single(agent.Responses);
        Assert.Equal(("leak", RunbookState.Succeeded), (response.FaultKind, response.Run.State));
        using var log = new Aida.Automation.Audit.AuditLog(audit, TimeProvider.System);
        var entries = log.Read();
        Assert.Single(entries, e => e.Detail.StartsWith("root cause leak on h1-c03", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.Detail.Contains("attached to it", StringComparison.Ordinal));
    }

    /// <summary>The agent's state changes of an incident, in order: the state reached and when.</summary>
    private static List<(IncidentState To, DateTimeOffset At)> StateChanges(IncidentStore incidents, long id) =>
        [.. incidents.Get(id).Timeline.Where(e => e.Kind == TimelineEntryKind.StateChanged && e.By == "agent:aida").Select(e => (e.To!.Value, e.At))];

    [Fact]
    public void ARunbookThatSucceeds_MitigatesItsIncident_WhichAPersonResolves_WhenItHasNoRestore()
    {
        // sensor-stuck: cdu-h2-a's return reading freezes at 02:00. Its runbook tells maintenance to replace the sensor
        // and succeeds; it restores nothing, so the agent cannot see the repair: the incident stays mitigated for a person.
        var scenario = ScenarioLoader.Load("faults/sensor-stuck");
        var path = Path.Combine(Path.GetTempPath(), "aida-agent-tests", Guid.NewGuid().ToString("N") + ".incidents.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(135), new PlantAgentOptions { Optimise = false }, incidentsPath: path);

        var response = Assert.Single(agent.Responses);
        Assert.Equal(("sensor-stuck", "cdu-h2-a", RunbookState.Succeeded), (response.FaultKind, response.Asset, response.Run.State));
        using var incidents = new IncidentStore(path, TimeProvider.System);
        Assert.Equal([(IncidentState.Acknowledged, response.Run.Started), (IncidentState.Mitigated, response.Run.Finished!.Value)], StateChanges(incidents, response.Incident));
        var detail = incidents.Get(response.Incident);
        Assert.Equal(IncidentState.Mitigated, detail.Incident.State);
        Assert.Contains("resolve it once the fault is repaired", detail.Timeline.Last(e => e.Kind == TimelineEntryKind.StateChanged).Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("chiller-1", RunbookState.Succeeded)]
    [InlineData("chiller-3", RunbookState.RolledBack)]
    public void AChillerTrip_IsVerifiedByItsStandbyRunning_AndATrippedStandbyCallsAPerson(string chiller, RunbookState expected)
    {
        // The runbook proves the standby runs (its 5 min restart from the start at 02:00:10) instead of waiting a fixed
        // 5 min. When the chiller that trips is the standby itself (chiller-3) there is none left to start: the check
        // cannot be met and the runbook rolls back to a person, where the fixed wait had called it a success.
        var one = ScenarioLoader.Load("faults/chiller-trip");
        var scenario = one with { Faults = [one.Faults[0] with { Asset = chiller }] };
        var onset = scenario.Start + scenario.Faults[0].Start;
        var agent = RunAgent(scenario, scenario.Faults[0].Start + TimeSpan.FromMinutes(12), new PlantAgentOptions { Optimise = false });

        var response = Assert.Single(agent.Responses, r => r.FaultKind == "chiller-trip" && r.Asset == chiller);
        Assert.Equal(expected, response.Run.State);
        if (expected == RunbookState.Succeeded)
        {
            Assert.Equal(onset + TimeSpan.FromSeconds(10), response.Run.Started);
            Assert.Equal(onset + TimeSpan.FromSeconds(310), response.Run.Finished);
        }
    }

    [Fact]
    public void SloBurnAlerts_JoinTheAgentsIncidents_OnceTheWatchBegins()
    {
        // A fault-free hour: the only alerts are two budget pages, one in the warm-up (not judged, as telemetry alerts
        // are not) and one after it, which opens an incident of its own. Each is handed to the agent once.
        var scenario = ScenarioLoader.Load("reference");
        var start = scenario.Start;
        var handed = new List<DateTimeOffset>();
        IEnumerable<Alert> Burns(DateTimeOffset now)
        {
            foreach (var at in new[] { start.AddMinutes(10), start.AddMinutes(45) }.Where(t => t <= now && !handed.Contains(t)))
            {
                handed.Add(at);
                yield return new Alert("SLOBurnRatePage", AlertSource.SloBurn, "hall-1", at, "training-goodput burning 20x") { Severity = "critical" };
            }
        }

        var quiet = RunAgent(scenario, TimeSpan.FromHours(1), new PlantAgentOptions { Optimise = false });
        var burning = RunAgent(scenario, TimeSpan.FromHours(1), new PlantAgentOptions { Optimise = false }, burns: Burns);

        Assert.Equal(0, quiet.Incidents);
        Assert.Equal(2, handed.Count);
        Assert.Equal(1, burning.SloAlertsFolded);
        Assert.Equal(1, burning.Incidents);
        Assert.Empty(burning.Responses); // a budget burning names no cause to answer
    }

    [Fact]
    public void AnAgentStartedAfterAFaultBegan_StillAnswersIt()
    {
        // Regression: a network agent restarted on its earlier run's store watched from its collectors' start, and the
        // chiller trip that began before the restart was no new alert there (its fault register had read 1 all along):
        // the restarted agent never answered it. Here the watch starts 30 min into a trip.
        var one = ScenarioLoader.Load("faults/chiller-trip");
        var scenario = one with { Faults = [one.Faults[0] with { Start = TimeSpan.FromMinutes(10), End = TimeSpan.FromHours(2) }] };
        var watch = scenario.Start + TimeSpan.FromMinutes(40);
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(50), new PlantAgentOptions { Optimise = false, DetectFrom = watch });

        var response = Assert.Single(agent.Responses, r => r.FaultKind == "chiller-trip");
        Assert.Equal("chiller-1", response.Asset);
        Assert.InRange(response.Opened - watch, TimeSpan.Zero, TimeSpan.FromMinutes(2));
    }

    [Fact]
    public void PumpFailureWithNoPumpLeft_HoldsTheRacksJobs_AndIsNotRetriedWhileItLasts()
    {
        // cdu-h1-a loses both duty pumps with its third out for maintenance: no flow. The runbook finds no flow within a
        // minute, rolls back by pausing the CDU's eight racks, and calls a person. The fault's alerts come back after
        // quiet spells as new incidents; regression: each restarted the same failing runbook.
        var scenario = ScenarioLoader.Load("faults/cdu-pump-failure");
        var agent = RunAgent(scenario, TimeSpan.FromHours(4), new PlantAgentOptions { Optimise = false });

        var response = Assert.Single(agent.Responses, r => r.FaultKind == "cdu-pump-failure");
        Assert.Equal("cdu-h1-a", response.Asset);
        Assert.Equal(RunbookState.RolledBack, response.Run.State);
        Assert.InRange(response.Opened - (scenario.Start + TimeSpan.FromHours(2)), TimeSpan.Zero, TimeSpan.FromMinutes(2));
        var paused = agent.Executor.Records.Where(r => r.Action.Actuator.EndsWith("/workload_pause", StringComparison.Ordinal) && r.ExecutedAt is not null).Select(r => r.Action.Asset);
        Assert.Equal(scenario.Factory.Racks.Where(r => r.Cdu == "cdu-h1-a").Select(r => r.Id).Order(), paused.Order());
    }

    /// <summary>Regression (faults week, seed 1): two of hall 1's CRAHs failed; the runbook pushed the others' fans to
    /// full, but the optimiser stood aside while it ran (3 min) and then lowered the water 1 K every 2 min, so the water
    /// was 1 K colder only 6 min in: all 40 racks were over 27 °C for 15 min, 615 rack-minutes, three quarters of the
    /// week's rack-inlet budget. Now it plans while the runbook runs, writes only its moves toward safety, and plans
    /// every minute while it predicts a limit crossed.</summary>
    [Fact]
    public void CrahsLost_WhileTheRunbookRuns_TheOptimiserBringsTheWaterDown_AndTrimsNothing()
    {
        var scenario = ScenarioLoader.Load("faults/crah-fan-failure");
        var failed = scenario.Start + scenario.Faults[0].Start;
        var dir = ScratchDir();
        var auditPath = Path.Combine(dir, "audit.db");
        var agent = RunAgent(scenario, scenario.Faults[0].Start + TimeSpan.FromMinutes(12), new PlantAgentOptions(), auditPath);

        using var audit = new Aida.Automation.Audit.AuditLog(auditPath, TimeProvider.System);
        var entries = audit.Read();
        var response = Assert.Single(agent.Responses, r => r.FaultKind == "crah-fan-failure" && r.Asset == "crah-h1-1");
        var writes = entries.Where(e => e.Kind == Aida.Automation.Audit.AuditKind.Action).ToList();
        double Water(DateTimeOffset at) => writes.Where(e => e.Subject == "facility-water/supply_setpoint" && e.At <= at)
            .Select(e => double.Parse(e.Detail, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(double.NaN).Last();

        var before = Water(failed);
        Assert.True(double.IsFinite(before), "the optimiser set the water before the failure");
        Assert.True(Water(failed + TimeSpan.FromMinutes(6)) <= before - 3, $"water {before} °C at the failure, {Water(failed + TimeSpan.FromMinutes(6))} °C 6 min later");
        // Within 130 s of the failure (one plan step and a little) the water is already coming down.
        Assert.True(Water(failed + TimeSpan.FromSeconds(130)) < before, $"water {Water(failed + TimeSpan.FromSeconds(130))} °C 130 s after the failure");

        // What the runbook pushed to full stays there while it runs: the optimiser's plans in that time trimmed nothing.
        var ran = entries.Where(e => e.Subject == "crah-fan-failure" && e.Kind == Aida.Automation.Audit.AuditKind.Result).Select(e => e.At).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        Assert.True(ran > failed && ran < DateTimeOffset.MaxValue, "the runbook finished");
        var fans = writes.Where(e => e.At >= response.Opened && e.At < ran && e.Subject.StartsWith("crah-h1-", StringComparison.Ordinal) && e.Subject.EndsWith("/fan_speed", StringComparison.Ordinal)).ToList();
        Assert.All(fans, e => Assert.Equal(1.0, double.Parse(e.Detail, System.Globalization.CultureInfo.InvariantCulture), 9));
        Assert.Contains(entries, e => e.Actor == "agent:optimiser" && e.At > failed && e.At < ran && e.Detail.Contains("a runbook is responding", StringComparison.Ordinal));
    }

    [Fact]
    public void ASensorAnsweredAsLying_IsNotReadByTheOptimiser_NorOpensIncidentsOfItsOwn_UntilAPersonResolvesItsIncident()
    {
        // No probation here: only the person brings the reading back (with one, it behaves from 02:20 and is trusted
        // again before 03:00: ASensorAnsweredAsLying_IsTrustedAgain_...).
        // sensor-noise: h2-b04's inlet reading scatters by 3 K from 02:00 to 02:20 (spikes the optimiser took for its
        // hall's hottest inlet). Its runbook succeeds at once and restores nothing; the reading stays out of the
        // optimiser's view until a person resolves the incident (the sensor replaced) at 03:10. At 03:00, after the noise
        // incident's quiet period, the reading crosses 27 °C (an alert handed in as the detection would raise it): a new
        // incident, attached to the sensor's response instead of waiting open for a person.
        var bundled = ScenarioLoader.Load("faults/sensor-noise");
        var scenario = bundled with { Faults = [bundled.Faults[0] with { End = bundled.Faults[0].Start + TimeSpan.FromMinutes(20) }] };
        var dir = ScratchDir();
        var auditPath = Path.Combine(dir, "audit.db");
        var crossing = HandedOnce(new Alert("RackInletHigh", AlertSource.Threshold, "h2-b04", scenario.Start + TimeSpan.FromHours(3), "rack inlet 28.8 °C above the ASHRAE recommended 27 °C")
        { Series = Aida.Telemetry.Series.Labels.Metric("aida_rack_inlet_celsius", ("rack", "h2-b04")) });

        var whileOpen = new HashSet<int>();
        long incident = 0;
        Incident? crossed = null;
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(195), new PlantAgentOptions { SensorProbation = null }, auditPath, crossing, pause: (TimeSpan.FromMinutes(190), (incidents, agent) =>
        {
            whileOpen = [.. agent.DistrustedReadings];
            incident = Assert.Single(agent.Responses, r => r.FaultKind == "sensor-noise" && r.Asset == "h2-b04").Incident;
            crossed = incidents.List().Single(i => i.Title == "RackInletHigh on h2-b04");
            incidents.Transition(incident, IncidentState.Resolved, "person:test", "inlet sensor replaced");
        }));

        var inlet = agent.Plant.Points.Single(p => p.Name == "h2-b04/inlet_temperature").Index;
        Assert.Equal([inlet], whileOpen);
        Assert.Empty(agent.DistrustedReadings);
        Assert.Equal(IncidentState.Acknowledged, crossed!.State);
        Assert.Single(agent.Responses);
        using var audit = new Aida.Automation.Audit.AuditLog(auditPath, TimeProvider.System);
        var said = audit.Read().Where(e => e.Actor == "agent:aida" && (e.Subject == "cooling-optimiser" || e.Subject == $"incident {crossed.Id}")).Select(e => e.Detail).ToList();
        Assert.Equal([$"readings not used by the optimiser until trusted again (when a person resolves the sensor's incident): h2-b04/inlet_temperature (incident {incident})",
            $"every alert reads h2-b04's sensor answered as lying in incident {incident} (sensor-noise); attached to it, no runbook",
            "every reading trusted again"], said);
    }

    [Fact]
    public void ADeviceThatCannotBeReached_IsATelemetryLoss_WhoseRunbookTellsAPerson_AndTheAgentResolvesItOnceTheDeviceAnswers()
    {
        // modbus-chiller-1 does not answer from 00:39:30 to 00:45 (its aida_collector_up 0, written beside the twin's
        // telemetry as a collector would), and its CollectorDown alert is handed in at 00:40 as the detection raises it
        // over the network: root cause telemetry-loss on the site's telemetry, its runbook's notice, the incident
        // mitigated; once the device has answered for 2 min the telemetry is back, and the incident is resolved once
        // quiet (2 h after its alert, at 02:40).
        var scenario = ScenarioLoader.Load("reference");
        var dir = ScratchDir();
        var auditPath = Path.Combine(dir, "audit.db");
        var incidentsPath = Path.Combine(dir, "incidents.db");
        var device = Labels.Metric("aida_collector_up", ("collector", "modbus"), ("device", "modbus-chiller-1"));
        var lost = (From: scenario.Start + TimeSpan.FromMinutes(39.5), To: scenario.Start + TimeSpan.FromMinutes(45));
        var down = HandedOnce(new Alert(Aida.Observability.Detection.AlertNames.CollectorDown, AlertSource.Threshold, Aida.Observability.Detection.AlertNames.TelemetryAsset,
            scenario.Start + TimeSpan.FromMinutes(40), "modbus device modbus-chiller-1 down since 00:39:30")
        { Series = device });
        IncidentState? atFifty = null;

        var agent = RunAgent(scenario, TimeSpan.FromMinutes(165), new PlantAgentOptions(), auditPath, down, incidentsPath,
            pause: (TimeSpan.FromMinutes(50), (incidents, _) => atFifty = incidents.List().Single().State),
            recorder: (store, twin) => new DeviceHealthBeside(twin, store, device, lost.From, lost.To));

        var response = Assert.Single(agent.Responses);
        Assert.Equal(("telemetry-loss", "telemetry", "telemetry-loss", RunbookState.Succeeded), (response.FaultKind, response.Asset, response.Runbook, response.Run.State));
        Assert.Equal(IncidentState.Mitigated, atFifty);
        using (var incidents = new IncidentStore(incidentsPath, TimeProvider.System))
        {
            var incident = incidents.List().Single(i => i.Id == response.Incident);
            Assert.Equal(IncidentState.Resolved, incident.State);
            Assert.Equal(scenario.Start + TimeSpan.FromMinutes(160), incident.Resolved!.Value, TimeSpan.FromMinutes(2));
        }

        using var audit = new Aida.Automation.Audit.AuditLog(auditPath, TimeProvider.System);
        var entries = audit.Read().ToList();

        Assert.Contains(entries, e => e.Detail.StartsWith("root cause telemetry-loss on telemetry", StringComparison.Ordinal) && e.Detail.EndsWith("runbook telemetry-loss", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Detail.Contains("telemetry lost (telemetry): the devices the incident's root cause lists cannot be reached", StringComparison.Ordinal));
        var back = Assert.Single(entries, e => e.Detail.StartsWith("telemetry back", StringComparison.Ordinal));
        Assert.True(back.At >= lost.To + TimeSpan.FromMinutes(2), $"telemetry called back at {back.At:HH:mm:ss}");
    }

    /// <summary>The twin's telemetry, and beside it a collector's <c>aida_collector_up</c> for one device: 0 from
    /// <paramref name="from"/> to <paramref name="to"/>, 1 otherwise, every 10 s of plant time.</summary>
    private sealed class DeviceHealthBeside(IPlantSampleSink twin, Tsdb store, Labels device, DateTimeOffset from, DateTimeOffset to) : IPlantSampleSink
    {
        private readonly int _series = store.GetOrCreateSeries(device);
        private long _next = long.MinValue;

        public void PointSampled(int point, long timestampMs, double value)
        {
            twin.PointSampled(point, timestampMs, value);
            if (timestampMs >= _next)
            {
                _next = timestampMs + 10_000;
                store.Append(_series, timestampMs, timestampMs >= from.ToUnixTimeMilliseconds() && timestampMs < to.ToUnixTimeMilliseconds() ? 0 : 1);
            }
        }

        public void GpusSampled(long timestampMs, ReadOnlySpan<float> temperatureCelsius, ReadOnlySpan<float> powerWatts, ReadOnlySpan<float> utilisationPercent, ReadOnlySpan<uint> clockEventReasons) =>
            twin.GpusSampled(timestampMs, temperatureCelsius, powerWatts, utilisationPercent, clockEventReasons);
    }

    [Fact]
    public void ASensorAnsweredAsLying_IsTrustedAgain_OnceItsReadingBehavesForTheProbation_AndTheAgentResolvesItsIncident()
    {
        // h2-b04's inlet scatters by 3 K from 02:00 to 03:10. At 03:00 the probation (30 min from the runbook, about
        // 02:02) has long run, but the reading still scatters: not trusted. From 03:10 it behaves; 30 min of it (and the
        // scatter gone from the detection's lookback) bring it back, and the agent resolves the incident once it is quiet
        // (2 h after its last alert). Nobody else touches it.
        var (scenario, noise) = FirstFaultLasting("faults/sensor-noise", TimeSpan.FromMinutes(70));
        var dir = ScratchDir();
        var auditPath = Path.Combine(dir, "audit.db");
        var incidentsPath = Path.Combine(dir, "incidents.db");
        var whileScattering = new HashSet<int>();
        var leftOutWhileScattering = new List<Aida.Reliability.Budgets.ReadingExclusion>();
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(330), new PlantAgentOptions(), auditPath, incidentsPath: incidentsPath,
            pause: (TimeSpan.FromMinutes(180), (_, agent) =>
            {
                whileScattering = [.. agent.DistrustedReadings];
                leftOutWhileScattering = [.. agent.ReadingExclusions];
            }));

        var inlet = agent.Plant.Points.Single(p => p.Name == "h2-b04/inlet_temperature").Index;
        Assert.Equal([inlet], whileScattering);
        Assert.Empty(agent.DistrustedReadings);
        var response = Assert.Single(agent.Responses, r => r.FaultKind == "sensor-noise" && r.Asset == "h2-b04");
        Assert.True(response.Run.Started < scenario.Start + TimeSpan.FromMinutes(150), $"runbook at {response.Run.Started:HH:mm:ss}");

        using var audit = new Aida.Automation.Audit.AuditLog(auditPath, TimeProvider.System);
        var trusted = Assert.Single(audit.Read(), e => e.Subject == $"incident {response.Incident}" && e.Detail.Contains("trusted again", StringComparison.Ordinal));
        Assert.Equal("h2-b04/inlet_temperature behaved for 30 min (readings present, not frozen, scatter at its usual level): trusted again", trusted.Detail);
        Assert.True(trusted.At >= scenario.Start + noise.End + TimeSpan.FromMinutes(30), $"trusted again at {trusted.At:HH:mm:ss}");

        // Its slices are left out of the SLIs that read it (the rack-inlet SLO) from when its fault was found, about
        // 02:01, until it is trusted again: open while it scatters, closed at the same minute after.
        var open = Assert.Single(leftOutWhileScattering);
        Assert.Equal("aida_rack_inlet_celsius", open.Series.MetricName);
        Assert.Equal("h2-b04", open.Series.Get("rack"));
        Assert.Null(open.Until);
        Assert.InRange(open.From, scenario.Start + noise.Start, scenario.Start + noise.Start + TimeSpan.FromMinutes(5));
        var closed = Assert.Single(agent.ReadingExclusions);
        Assert.Equal(open with { Until = trusted.At }, closed);
        var corrections = audit.Read().Where(e => e.Subject == "slo-corrections").ToList();
        Assert.Equal(2, corrections.Count);
        Assert.Contains($"left out of the SLOs that read it from {open.From:u} until trusted again: incident {response.Incident}: sensor-noise on h2-b04", corrections[0].Detail, StringComparison.Ordinal);
        Assert.Equal(trusted.At, corrections[1].At);
        Assert.Contains("counted in the SLOs that read it again", corrections[1].Detail, StringComparison.Ordinal);

        using var incidents = new IncidentStore(incidentsPath, TimeProvider.System);
        var detail = incidents.Get(response.Incident);
        Assert.Equal(IncidentState.Resolved, detail.Incident.State);
        var resolved = detail.Timeline.Last(t => t.Kind == TimelineEntryKind.StateChanged);
        Assert.Equal("agent:aida", resolved.By);
        Assert.Contains("the sensor's readings behaved for 30 min, trusted again", resolved.Text, StringComparison.Ordinal);
    }

    /// <summary>Where the agent sits in the simulator's loop: replaced at a restart, empty while Aida is down.</summary>
    internal sealed class AgentSeat : Aida.Model.Plant.IPlantAgent
    {
        public PlantAgent? Agent { get; set; }

        public void Tick(DateTimeOffset now) => Agent?.Tick(now);
    }

    /// <summary><c>faults/leak</c> with its leak at h1-c03 from 00:35 to 00:50: five minutes after the agent's warm-up.</summary>
    /// <summary>The agent as it runs a site over the network: supervised, only people approve (no simulated approver).</summary>
    internal static readonly PlantAgentOptions SupervisedByPeople = new() { Optimise = false, Mode = Aida.Automation.Actions.AutomationMode.Supervised, ApproverDelay = null };

    internal static Scenario LeakFrom35To50Minutes()
    {
        var leak = ScenarioLoader.Load("faults/leak");
        return leak with { Faults = [leak.Faults[0] with { Start = TimeSpan.FromMinutes(35), End = TimeSpan.FromMinutes(50) }] };
    }

    /// <summary>The bundled scenario <paramref name="name"/> with its first fault alone, lasting <paramref name="lasting"/>.</summary>
    private static (Scenario Scenario, FaultSpec Fault) FirstFaultLasting(string name, TimeSpan lasting)
    {
        var bundled = ScenarioLoader.Load(name);
        var fault = bundled.Faults[0] with { End = bundled.Faults[0].Start + lasting };
        return (bundled with { Faults = [fault] }, fault);
    }

    /// <summary>A simulated site whose agent restarts: the twin with its telemetry, incidents and audit log in a directory
    /// of their own, which every agent started on it shares (as <c>aida run --data DIR</c> started again does).</summary>
    internal sealed class RestartSite : IDisposable
    {
        public RestartSite(Scenario scenario, TimeSpan duration)
        {
            Scenario = scenario;
            Sim = new Simulator(scenario, new SimulationOptions { Mode = OperatingMode.Agent, Duration = duration });
            Store = new Tsdb(new TsdbOptions { Clock = Sim.Clock, Retention = TimeSpan.FromDays(3650) });
            Sim.RecordTo(new PlantTelemetryRecorder(Store, Sim.Plant, Sim.GpuCatalog, scenario.Factory.Site.Name));
            Dir = ScratchDir();
            Incidents = new IncidentStore(Path.Combine(Dir, "incidents.db"), Sim.Clock);
            Audit = new Aida.Automation.Audit.AuditLog(Path.Combine(Dir, "audit.db"), Sim.Clock);
            Sim.AttachAgent(Seat);
        }

        public Scenario Scenario { get; }

        public Simulator Sim { get; }

        public Tsdb Store { get; }

        public string Dir { get; }

        public IncidentStore Incidents { get; }

        public Aida.Automation.Audit.AuditLog Audit { get; }

        public AgentSeat Seat { get; } = new();

        /// <summary>A new agent on the site, seated in the loop.</summary>
        public PlantAgent Start(PlantAgentOptions options, Action<IReadOnlyList<KeptResponse>>? responsesChanged = null)
        {
            var agent = new PlantAgent(Sim.Plant, Scenario.Factory, new EmbeddedQueryEngine(Store), Incidents, SafetyEnvelopeTests.Bundled,
                Runbook.LoadDirectory(BundledFiles.Shipped("runbooks"), Scenario.Factory), Sim.Clock, options, Audit, efficiency: () => Optimiser.OptimiserLoop.Expand)
            {
                ResponsesChanged = responsesChanged,
            };
            Seat.Agent = agent;
            return agent;
        }

        /// <summary>The file a live run keeps the agent's responses in, in the site's directory.</summary>
        public string ResponsesFile => Path.Combine(Dir, "agent-responses.json");

        /// <summary>The responses kept in <see cref="ResponsesFile"/>.</summary>
        public IReadOnlyList<KeptResponse> Kept => KeptResponses.Read(ResponsesFile);

        /// <summary>A new agent on the site keeping its responses in <see cref="ResponsesFile"/>, as a live run does.</summary>
        public PlantAgent StartKeeping(PlantAgentOptions options) => Start(options, now => KeptResponses.Write(ResponsesFile, now));

        /// <summary>Advances the twin by <paramref name="span"/> of plant time.</summary>
        public void Advance(TimeSpan span) => Sim.AdvanceSteps((long)(span / Scenario.Step));

        public void Dispose()
        {
            Audit.Dispose();
            Incidents.Dispose();
            Store.Dispose();
        }
    }

    [Fact]
    public void AfterARestart_TheAgentTakesUpASensorItDidNotTrust_LeftOutOfTheSlosFromTheSameTime_UntilItBehavesAgain()
    {
        // h2-b04's inlet scatters by 3 K from 02:00 to 03:10; the agent answers it at about 02:01 and leaves the reading
        // out of the optimiser's view and of the SLOs. At 02:30 Aida restarts: a new agent on the same telemetry, incidents
        // and audit log, given the exclusions the first kept. The scatter began before it started, so its detection does
        // not alert it again: before Resume, the new agent read the inlet again and counted its slices. Now it takes the
        // incident up at once (its runbook again, audited), leaves the reading out from the same time, and trusts it
        // again as the first would have: once it behaved for 30 min after 03:10, resolving the incident.
        var (scenario, noise) = FirstFaultLasting("faults/sensor-noise", TimeSpan.FromMinutes(70));
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(330));
        var (sim, incidents, audit) = (site.Sim, site.Incidents, site.Audit);
        var first = site.Start(new PlantAgentOptions());
        site.Advance(TimeSpan.FromMinutes(150));

        var answered = Assert.Single(first.Responses);
        Assert.Equal(("sensor-noise", "h2-b04"), (answered.FaultKind, answered.Asset));
        var leftOut = Assert.Single(first.ReadingExclusions);
        Assert.Null(leftOut.Until);
        var inlet = sim.Plant.Points.Single(p => p.Name == "h2-b04/inlet_temperature").Index;
        Assert.Equal([inlet], first.DistrustedReadings);

        var restart = sim.Clock.GetUtcNow();
        var second = site.Start(new PlantAgentOptions());
        Assert.Equal([answered.Incident], second.Resume(first.ReadingExclusions));
        Assert.Equal([inlet], second.DistrustedReadings);
        Assert.Equal([leftOut], second.ReadingExclusions);
        var resumed = Assert.Single(second.Responses);
        Assert.Equal((answered.Incident, answered.Opened, "sensor-noise", "h2-b04", RunbookState.Succeeded), (resumed.Incident, resumed.Opened, resumed.FaultKind, resumed.Asset, resumed.Run.State));
        Assert.Contains(audit.Read(), e => e.At == restart && e.Subject == $"incident {answered.Incident}"
            && e.Detail.StartsWith("taken up after a restart: root cause sensor-noise on h2-b04", StringComparison.Ordinal));

        var whileScattering = new HashSet<int>();
        site.Advance(TimeSpan.FromMinutes(45)); // 03:15: scattered until 03:10
        whileScattering = [.. second.DistrustedReadings];
        sim.Run();

        Assert.Equal([inlet], whileScattering);
        Assert.Empty(second.DistrustedReadings);
        var trusted = Assert.Single(audit.Read(), e => e.Subject == $"incident {answered.Incident}" && e.Detail.EndsWith("trusted again", StringComparison.Ordinal));
        Assert.True(trusted.At >= scenario.Start + noise.End + TimeSpan.FromMinutes(30), $"trusted again at {trusted.At:HH:mm:ss}");
        Assert.Equal([leftOut with { Until = trusted.At }], second.ReadingExclusions);
        // One runbook after the restart: the scatter alerted again at 03:00 (a new incident) is attached to it, and both
        // incidents are resolved by the agent.
        Assert.All(second.Responses, r => Assert.Equal(answered.Incident, r.Incident));
        Assert.All(incidents.List(), i => Assert.Equal((IncidentState.Resolved, "agent:aida"), (i.State, incidents.Get(i.Id).Timeline[^1].By)));
    }

    [Fact]
    public void AfterARestart_TheAgentTakesUpAnIsolationAwaitingItsRepair_AndPowersTheRackAgainOnceItIsDry()
    {
        // h1-c03 leaks from 02:00 to 02:30 (repaired). The agent isolates the rack at once; its runbook succeeds and its
        // restore waits for the leak sensor to read dry for 15 min. Aida is down over the repair and starts again at
        // 02:40: a new agent on the same telemetry, incidents and audit log, given the responses the first kept. Before,
        // the new agent knew nothing of the isolation and, the rack dry, nothing alerted it again: the rack stayed
        // isolated until a person brought it back. Now it takes the response up, powers the rack again once it has read
        // dry for 15 min from the restart (02:55: a condition held while Aida was down counts from the restart), and
        // resolves the incident once it is quiet.
        var (scenario, leak) = FirstFaultLasting("faults/leak", TimeSpan.FromMinutes(30));
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(180));
        var (sim, incidents, audit) = (site.Sim, site.Incidents, site.Audit);
        var kept = new List<IReadOnlyList<KeptResponse>>();
        var file = Path.Combine(site.Dir, "agent-responses.json");
        void Keep(IReadOnlyList<KeptResponse> now)
        {
            kept.Add(now);
            KeptResponses.Write(file, now);
        }

        var first = site.Start(new PlantAgentOptions { Optimise = false }, Keep);
        site.Advance(TimeSpan.FromMinutes(125));

        var isolated = Assert.Single(first.Responses);
        Assert.Equal(("leak", "h1-c03", RunbookState.Succeeded), (isolated.FaultKind, isolated.Asset, isolated.Run.State));
        Assert.Equal(1, Aida.Model.Plant.PlantLookup.ReadValue(sim.Plant, "h1-c03/isolated"));
        var waiting = Assert.Single(kept[^1]);
        Assert.Equal((isolated.Incident, "leak"), (waiting.Incident, waiting.Runbook));
        Assert.Equal(["h1-c03/isolate"], waiting.Progress.Changed);
        Assert.Equal([null], waiting.Progress.RestoredAt);
        var read = Assert.Single(KeptResponses.Read(file));
        Assert.Equal((waiting.Incident, waiting.Opened, waiting.Progress.State, waiting.Progress.Started, waiting.Progress.Finished), (read.Incident, read.Opened, read.Progress.State, read.Progress.Started, read.Progress.Finished));

        // Aida down from 02:05 to 02:40 (no agent ticks): the leak repaired at 02:30 meanwhile.
        site.Seat.Agent = null;
        site.Advance(TimeSpan.FromMinutes(35));
        var restart = sim.Clock.GetUtcNow();
        var second = site.Start(new PlantAgentOptions { Optimise = false }, Keep);
        Assert.Equal([isolated.Incident], second.Resume([], KeptResponses.Read(file)));
        var resumed = Assert.Single(second.Responses);
        Assert.Equal((isolated.Incident, "leak", "h1-c03", RunbookState.Succeeded, isolated.Run.Started), (resumed.Incident, resumed.FaultKind, resumed.Asset, resumed.Run.State, resumed.Run.Started));
        Assert.Contains(audit.Read(), e => e.At == restart && e.Subject == $"incident {isolated.Incident}"
            && e.Detail == "taken up after a restart: leak on h1-c03, runbook leak Succeeded, its restore waiting for the repair");

        sim.Run();

        // Dry for 15 min from the restart: the rack powered again by the second agent, within a minute of 02:55.
        Assert.Equal(0, Aida.Model.Plant.PlantLookup.ReadValue(sim.Plant, "h1-c03/isolated"));
        var restored = resumed.Run.Restored ?? throw new Xunit.Sdk.XunitException("the rack was not powered again");
        Assert.InRange(restored, restart + TimeSpan.FromMinutes(15), restart + TimeSpan.FromMinutes(16));
        Assert.Contains(audit.Read(), e => e.At == restored && e.Actor == "agent:aida" && e.Kind == Aida.Automation.Audit.AuditKind.Result
            && e.Subject == "h1-c03/isolate" && e.Detail == "accepted");
        // The restarted agent numbers its actions on after the first's: the isolation was A1, the restore is A2.
        Assert.Equal(["A1", "A2"], audit.Read().Where(e => e.Kind == Aida.Automation.Audit.AuditKind.Decision && e.Actor == "agent:aida" && e.Subject.StartsWith('A')).Select(e => e.Subject));
        Assert.Empty(kept[^1]);
        Assert.Empty(KeptResponses.Read(file));
        Assert.All(second.Responses, r => Assert.Equal(isolated.Incident, r.Incident));
        Assert.Equal((IncidentState.Resolved, "agent:aida"), (incidents.Get(isolated.Incident).Incident.State, incidents.Get(isolated.Incident).Timeline[^1].By));
    }

    [Fact]
    public void Supervised_ALeaksRunbookWaitsForAPerson_OneApprovalIsolatesTheRack_AndPuttingItBackAsksAgain()
    {
        // The agent as it runs a site over the network: supervised, no simulated approver. h1-c03 leaks from 00:35 to
        // 00:50. The leak runbook (approval: true) waits as a whole. Before, nothing could approve it (the API decided
        // only its own actions), so it expired after 15 min and the rack was never isolated; had it been approved, the
        // isolation would have waited for a second approval. Now a person approves the runbook (as
        // POST /api/runbook-runs/N/approve does), the isolation goes with that approval at the next tick, and powering
        // the rack again after the repair, high risk too, waits for a person again.
        var scenario = LeakFrom35To50Minutes();
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(80));
        var agent = site.Start(SupervisedByPeople);
        double Isolated() => Aida.Model.Plant.PlantLookup.ReadValue(site.Sim.Plant, "h1-c03/isolated");
        site.Advance(TimeSpan.FromMinutes(38));

        var waiting = Assert.Single(agent.WaitingForApproval);
        Assert.Equal(("leak", "h1-c03", RunbookState.WaitingForApproval), (waiting.FaultKind, waiting.Asset, waiting.Run.State));
        Assert.Equal(waiting.Run.Started + TimeSpan.FromMinutes(15), waiting.Run.WaitingUntil);
        Assert.Equal(0, Isolated());
        Assert.Contains("no runbook of the agent answers incident 999", Assert.Throws<KeyNotFoundException>(() => agent.ApproveRunbook(999, "alice")).Message, StringComparison.Ordinal);

        // Approved, it runs at once: the isolation is written before the approval returns.
        agent.ApproveRunbook(waiting.Incident, "alice");
        Assert.Equal(RunbookState.Succeeded, waiting.Run.State);
        Assert.Contains("is Succeeded, not waiting for approval", Assert.Throws<Aida.Automation.Actions.ApprovalException>(() => agent.RejectRunbook(waiting.Incident, "bob")).Message, StringComparison.Ordinal);
        site.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, Isolated());
        Assert.Empty(agent.WaitingForApproval);
        Assert.Empty(agent.Executor.Pending);
        var isolation = Assert.Single(waiting.Run.Actions);
        Assert.Equal(("alice", Aida.Automation.Actions.ActionState.Executed), (isolation.DecidedBy, isolation.State));
        var audit = site.Audit.Read();
        Assert.Contains(audit, e => e.Actor == "user:alice" && e.Subject == "runbook:leak" && e.Detail == "approved");
        Assert.Contains(audit, e => e.Actor == "agent:aida" && e.Subject == isolation.Action.Id && e.Detail == "approved with runbook:leak by alice");

        // Dry from 00:50: after 15 min the restore proposes powering the rack again, which waits for a person.
        site.Advance(TimeSpan.FromMinutes(27));
        var restore = Assert.Single(agent.Executor.Pending);
        Assert.Equal(("h1-c03/isolate", 0.0), (restore.Action.Actuator, restore.Action.Value));
        Assert.Equal(1, Isolated());
        agent.Executor.Approve(restore.Action.Id, "bob");
        site.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, Isolated());
    }

    [Fact]
    public void AfterARestart_ARunbookWaitingForApproval_WaitsOnUnderItsIncidentUntilTheSameTime_AndOneApprovalIsolatesTheRack()
    {
        // Supervised, as on a network site: h1-c03 leaks from 00:35; the leak runbook waits for a person from about
        // 00:35. Aida is down from 00:38 to 00:41. Before, the waiting run lived in memory only: the restarted agent
        // saw the leak alarm again in a new incident and its runbook waited afresh, and the first incident stayed
        // acknowledged for nobody. Now the run is kept in agent-responses.json, taken up waiting until the same time
        // under the same incident, the alarm raised again is attached to it, and one approval isolates the rack.
        var scenario = LeakFrom35To50Minutes();
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(60));
        var first = site.StartKeeping(SupervisedByPeople);
        site.Advance(TimeSpan.FromMinutes(38));
        var waiting = Assert.Single(first.WaitingForApproval);
        var kept = Assert.Single(site.Kept);
        Assert.Equal((waiting.Incident, RunbookState.WaitingForApproval, waiting.Run.Started), (kept.Incident, kept.Progress.State, kept.Progress.Started));

        site.Seat.Agent = null;
        site.Advance(TimeSpan.FromMinutes(3));
        var restart = site.Sim.Clock.GetUtcNow();
        var second = site.StartKeeping(SupervisedByPeople with { DetectFrom = restart });
        Assert.Equal([waiting.Incident], second.Resume([], site.Kept));
        var resumed = Assert.Single(second.WaitingForApproval);
        Assert.Equal((waiting.Incident, waiting.Run.Started, waiting.Run.WaitingUntil), (resumed.Incident, resumed.Run.Started, resumed.Run.WaitingUntil));
        Assert.Contains(site.Audit.Read(), e => e.At == restart && e.Subject == $"incident {waiting.Incident}"
            && e.Detail == $"taken up after a restart: leak on h1-c03, runbook leak WaitingForApproval, waiting for approval until {waiting.Run.WaitingUntil:O}");

        // The leak alarm read again from the restart opens an incident of its own, attached to the one taken up.
        site.Advance(TimeSpan.FromMinutes(1));
        Assert.Single(second.WaitingForApproval);
        var again = Assert.Single(site.Incidents.List(), i => i.Id != waiting.Incident);
        Assert.Equal(IncidentState.Acknowledged, again.State);
        Assert.Contains(site.Audit.Read(), e => e.Subject == $"incident {again.Id}"
            && e.Detail.EndsWith($"the fault of incident {waiting.Incident}, taken up after a restart (runbook leak WaitingForApproval); attached to it, no runbook", StringComparison.Ordinal));

        second.ApproveRunbook(waiting.Incident, "alice");
        site.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, Aida.Model.Plant.PlantLookup.ReadValue(site.Sim.Plant, "h1-c03/isolated"));
        Assert.Equal(RunbookState.Succeeded, Assert.Single(site.Kept).Progress.State);
        Assert.Equal(IncidentState.Mitigated, site.Incidents.Get(waiting.Incident).Incident.State);
    }

    [Fact]
    public void AfterARestart_ARunbookWaitingForApproval_ThatExpiredWhileAidaWasDown_DoesNothing()
    {
        var scenario = LeakFrom35To50Minutes();
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(60));
        site.StartKeeping(SupervisedByPeople);
        site.Advance(TimeSpan.FromMinutes(38));

        site.Seat.Agent = null;
        site.Advance(TimeSpan.FromMinutes(15));
        var second = site.StartKeeping(SupervisedByPeople);
        second.Resume([], site.Kept);

        var expired = Assert.Single(second.Responses);
        Assert.Equal((RunbookState.NotStarted, "no approver answered in time"), (expired.Run.State, expired.Run.Failure));
        Assert.Contains("is NotStarted, not waiting for approval", Assert.Throws<Aida.Automation.Actions.ApprovalException>(() => second.ApproveRunbook(expired.Incident, "alice")).Message, StringComparison.Ordinal);
        Assert.Equal(0, Aida.Model.Plant.PlantLookup.ReadValue(site.Sim.Plant, "h1-c03/isolated"));
        Assert.Empty(site.Kept);
    }

    [Fact]
    public void AfterARestart_ARunningRunbook_GoesOnAtItsStep_WithoutStartingTheStandbyAgain()
    {
        // chiller-1 trips at 00:35; the chiller-trip runbook starts the standby and enables the economiser at once, then
        // checks that the standby runs (its restart takes 5 min). Aida is down from 00:37 to 00:38, in that check.
        // Before, the run was lost: the restarted agent saw the trip again in a new incident, but a chiller whose response
        // was lost is a new fault, so the runbook ran again from its first step. Now it is taken up at its check, which
        // keeps its deadline (00:45), and succeeds; the trip alerted again is attached to it.
        var chiller = ScenarioLoader.Load("faults/chiller-trip");
        var scenario = chiller with { Faults = [chiller.Faults[0] with { Start = TimeSpan.FromMinutes(35), End = TimeSpan.FromMinutes(95) }] };
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(70));
        var first = site.StartKeeping(new PlantAgentOptions { Optimise = false });
        site.Advance(TimeSpan.FromMinutes(37));
        var running = Assert.Single(first.Responses);
        Assert.Equal(("chiller-trip", RunbookState.Running, 2), (running.FaultKind, running.Run.State, running.Run.StepIndex));
        var kept = Assert.Single(site.Kept);
        Assert.Equal((RunbookState.Running, 2, "check {standby_chillers}/running above 0.5 within 00:10:00"), (kept.Progress.State, kept.Progress.Step, kept.Progress.StepText));
        Assert.Equal(["chiller-3/enable", "economiser/enable"], kept.Progress.Changed);

        site.Seat.Agent = null;
        site.Advance(TimeSpan.FromMinutes(1));
        var restart = site.Sim.Clock.GetUtcNow();
        var second = site.StartKeeping(new PlantAgentOptions { Optimise = false, DetectFrom = restart });
        Assert.Equal([running.Incident], second.Resume([], site.Kept));
        var resumed = Assert.Single(second.Responses);
        Assert.Equal((RunbookState.Running, 2), (resumed.Run.State, resumed.Run.StepIndex));
        Assert.Contains(site.Audit.Read(), e => e.At == restart && e.Actor == "runbook:chiller-trip"
            && e.Detail == "taken up after a restart for chiller-1: running, at step 3 of 5 (check {standby_chillers}/running above 0.5 within 00:10:00); it changed chiller-3/enable, economiser/enable");
        site.Advance(TimeSpan.FromMinutes(30));

        Assert.Equal(RunbookState.Succeeded, resumed.Run.State);
        Assert.Single(second.Responses);
        Assert.Empty(resumed.Run.Actions); // the standby was started once, by the first run
        Assert.Single(site.Audit.Read(), e => e.Subject == "chiller-3/enable" && e.Kind == Aida.Automation.Audit.AuditKind.Result);
        Assert.Equal(IncidentState.Mitigated, site.Incidents.Get(running.Incident).Incident.State);
        Assert.All(site.Incidents.List().Where(i => i.Id != running.Incident), i => Assert.Equal(IncidentState.Acknowledged, i.State));
        Assert.Empty(site.Kept); // succeeded, with no restore: nothing to keep
    }

    [Fact]
    public void Supervised_PoweringTheRackAgain_UntilAPersonApprovesIt_IsNotARestore_AndARestartWhileItWaitsKeepsTheRequest()
    {
        // Regression: the leak's restore (powering the rack again, high risk) counted as run the moment it was proposed.
        // Nobody answering, the proposal expired, and the agent resolved the incident as "what it changed restored" with
        // the rack still isolated; a restart while it waited lost it for good. Now: h1-c03 leaks 00:35-00:50, the runbook
        // approved at 00:38; dry from 00:50, the restore asks at about 01:05, expires unanswered at about 01:20 (the
        // incident stays mitigated, the rack isolated), asks again once dry 15 min more (about 01:35); Aida is down from
        // 01:40 to 01:42 with that asked. Regression (session 38): the agent started again asked once more 15 min after
        // the restart under a new id, and the id the approver had answered 404. Now the request is taken up under its id
        // until the same time; approved at 01:43, the rack is powered again and the incident resolved.
        var scenario = LeakFrom35To50Minutes();
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(125));
        var first = site.StartKeeping(SupervisedByPeople);
        double Isolated() => Aida.Model.Plant.PlantLookup.ReadValue(site.Sim.Plant, "h1-c03/isolated");
        IncidentState State(long id) => site.Incidents.Get(id).Incident.State;
        site.Advance(TimeSpan.FromMinutes(38));
        var leak = Assert.Single(first.WaitingForApproval);
        first.ApproveRunbook(leak.Incident, "alice");

        site.Advance(TimeSpan.FromMinutes(28)); // 01:06
        var asked = Assert.Single(first.Executor.Pending);
        Assert.Equal(("h1-c03/isolate", 0.0), (asked.Action.Actuator, asked.Action.Value));
        Assert.True(leak.Run.RestoreWaiting);
        Assert.Null(leak.Run.Restored);
        Assert.DoesNotContain(site.Audit.Read(), e => e.Detail.StartsWith("notify: rack h1-c03: dry for 15 min", StringComparison.Ordinal));

        site.Advance(TimeSpan.FromMinutes(16)); // 01:22: expired
        Assert.Equal(Aida.Automation.Actions.ActionState.Expired, asked.State);
        Assert.Null(leak.Run.Restored);
        Assert.Equal((1.0, IncidentState.Mitigated), (Isolated(), State(leak.Incident)));
        Assert.Contains(site.Audit.Read(), e => e.Actor == "runbook:leak" && e.Detail.StartsWith($"restore not done: h1-c03/isolate Expired: no approver answered in time; asked again once h1-c03/leak has held for {TimeSpan.FromMinutes(15)} again", StringComparison.Ordinal));

        site.Advance(TimeSpan.FromMinutes(18)); // 01:40: asked again
        var again = Assert.Single(first.Executor.Pending);
        Assert.NotEqual(asked.Action.Id, again.Action.Id);
        var kept = Assert.Single(site.Kept);
        Assert.Equal(RunbookState.Succeeded, kept.Progress.State);
        Assert.Equal([null], kept.Progress.RestoredAt);
        Assert.DoesNotContain("h1-c03/isolate", kept.Progress.Released);
        var request = Assert.Single(Assert.Single(kept.Progress.RestoreWaiting));
        Assert.Equal((again.Action.Id, again.ProposedAt), (request.Id, request.ProposedAt));

        site.Seat.Agent = null;
        site.Advance(TimeSpan.FromMinutes(2));
        var second = site.StartKeeping(SupervisedByPeople);
        second.Resume([], site.Kept);
        var same = Assert.Single(second.Executor.Pending);
        Assert.Equal((again.Action.Id, again.Action.Actuator, again.Action.Value, again.ProposedAt), (same.Action.Id, same.Action.Actuator, same.Action.Value, same.ProposedAt));
        var until = again.ProposedAt + TimeSpan.FromMinutes(15);
        Assert.Contains(site.Audit.Read(), e => e.Subject == again.Action.Id && e.Detail == $"taken up after a restart: waiting for an approver until {until:O}");
        Assert.Contains(site.Audit.Read(), e => e.Subject == $"incident {leak.Incident}"
            && e.Detail == $"taken up after a restart: leak on h1-c03, runbook leak Succeeded, its restore asked; {again.Action.Id} waits for an approver until {until:O}");
        var resumed = Assert.Single(second.Responses);
        Assert.True(resumed.Run.RestoreWaiting);
        site.Advance(TimeSpan.FromMinutes(1));
        second.Executor.Approve(again.Action.Id, "bob");
        site.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(0, Isolated());
        Assert.Equal([again.Action.Id], resumed.Run.Actions.Select(a => a.Action.Id));
        Assert.NotNull(resumed.Run.Restored);
        Assert.Equal(IncidentState.Resolved, State(leak.Incident));
        Assert.Single(site.Audit.Read(), e => e.Detail.StartsWith("notify: rack h1-c03: dry for 15 min", StringComparison.Ordinal));
        Assert.Empty(site.Kept);
    }

    [Fact]
    public void Supervised_ARestoreRequestThatExpiredWhileAidaWasDown_IsAskedAgainOnceItsConditionHeldFromTheRestart()
    {
        // h1-c03 leaks 00:35-00:50, the runbook approved at 00:38; the restore asks at about 01:05 and Aida is down from
        // 01:10 to 01:25, past the request's 15 min. Taken up, it expires at once (as it would have) and the restore is
        // asked again under a new id once the rack has read dry for 15 min from the restart.
        var scenario = LeakFrom35To50Minutes();
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(125));
        var first = site.StartKeeping(SupervisedByPeople);
        site.Advance(TimeSpan.FromMinutes(38));
        first.ApproveRunbook(Assert.Single(first.WaitingForApproval).Incident, "alice");
        site.Advance(TimeSpan.FromMinutes(32)); // 01:10
        var asked = Assert.Single(first.Executor.Pending);

        site.Seat.Agent = null;
        site.Advance(TimeSpan.FromMinutes(15));
        var restart = site.Sim.Clock.GetUtcNow();
        var second = site.StartKeeping(SupervisedByPeople);
        second.Resume([], site.Kept);
        Assert.Empty(second.Executor.Pending);
        Assert.Equal(Aida.Automation.Actions.ActionState.Expired, Assert.Single(second.Executor.Records).State);
        Assert.Contains(site.Audit.Read(), e => e.Subject == asked.Action.Id && e.Detail.StartsWith("expired while Aida was down", StringComparison.Ordinal));

        site.Advance(TimeSpan.FromMinutes(16));
        var again = Assert.Single(second.Executor.Pending);
        Assert.NotEqual(asked.Action.Id, again.Action.Id);
        Assert.InRange(again.ProposedAt, restart + TimeSpan.FromMinutes(15), restart + TimeSpan.FromMinutes(16));
        Assert.Equal(1, Aida.Model.Plant.PlantLookup.ReadValue(site.Sim.Plant, "h1-c03/isolated"));
    }

    [Fact]
    public void Supervised_InSimulation_TheSimulatedApproverAnswersALeaksRunbook_AfterItsDelay_AsItAnswersAnAction()
    {
        // Before, the simulated approver answered only pending actions: a supervised simulation's leak runbook, waiting as a
        // whole, expired after 15 min unanswered.
        var scenario = LeakFrom35To50Minutes();
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(45));
        var agent = site.Start(new PlantAgentOptions { Optimise = false, Mode = Aida.Automation.Actions.AutomationMode.Supervised });
        site.Advance(TimeSpan.FromMinutes(37));
        var waiting = Assert.Single(agent.WaitingForApproval);
        site.Advance(TimeSpan.FromMinutes(4));

        Assert.Equal((RunbookState.Succeeded, Aida.Automation.Actions.SimulatedApprover.Name), (waiting.Run.State, waiting.Run.DecidedBy));
        Assert.InRange(waiting.Run.Finished!.Value - waiting.Run.Started, TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(10));
        Assert.Equal(Aida.Automation.Actions.SimulatedApprover.Name, Assert.Single(waiting.Run.Actions).DecidedBy);
    }

    [Fact]
    public void ADetectionRoundThatCannotReadItsTelemetry_IsAuditedAndReadAgain_TheRunGoesOn_AndTheLeakIsStillIsolated()
    {
        // The query engine refuses the rounds' reads of the leak sensors from 00:30 to 00:40 (as the embedded engine
        // refused ref-1gw's 57.6 million samples). Before, the QueryException ended the run. Now each failed round is
        // audited and its window read again at the next: the leak at 00:35 is found at the first round after 00:40.
        var scenario = LeakFrom35To50Minutes();
        using var site = new RestartSite(scenario, TimeSpan.FromMinutes(45));
        var refuseUntil = scenario.Start + TimeSpan.FromMinutes(40);
        var agent = new PlantAgent(site.Sim.Plant, scenario.Factory, new RefusingQueries(new EmbeddedQueryEngine(site.Store), site.Sim.Clock, refuseUntil), site.Incidents,
            SafetyEnvelopeTests.Bundled, Runbook.LoadDirectory(BundledFiles.Shipped("runbooks"), scenario.Factory), site.Sim.Clock, new PlantAgentOptions { Optimise = false }, site.Audit);
        site.Seat.Agent = agent;
        site.Advance(TimeSpan.FromMinutes(45));

        Assert.InRange(agent.DetectionFailures, 9, 11);
        var failed = site.Audit.Read().Where(e => e.Subject == "detection").ToList();
        Assert.Equal(agent.DetectionFailures, failed.Count);
        Assert.All(failed, e => Assert.Contains("failed: too many samples; its window is read again at the next round", e.Detail, StringComparison.Ordinal));
        var isolated = Assert.Single(agent.Responses);
        Assert.Equal(("leak", "h1-c03", RunbookState.Succeeded), (isolated.FaultKind, isolated.Asset, isolated.Run.State));
        Assert.InRange(isolated.Run.Started, refuseUntil, refuseUntil + TimeSpan.FromMinutes(1));
        Assert.Equal(scenario.Start + TimeSpan.FromMinutes(35), site.Incidents.Get(isolated.Incident).Incident.Opened, TimeSpan.FromSeconds(15));
    }

    /// <summary>A query engine that refuses range reads of the leak sensors until a time, as an engine over its limits does.</summary>
    private sealed class RefusingQueries(IQueryEngine inner, TimeProvider clock, DateTimeOffset until) : IQueryEngine
    {
        public Task<QueryResult> QueryAsync(string promql, DateTimeOffset time, CancellationToken cancellationToken = default) =>
            promql.StartsWith("aida_rack_leak_detected[", StringComparison.Ordinal) && clock.GetUtcNow() < until
                ? throw new QueryException("too many samples", -1, "execution")
                : inner.QueryAsync(promql, time, cancellationToken);

        public Task<QueryResult> QueryRangeAsync(string promql, DateTimeOffset start, DateTimeOffset end, TimeSpan step, CancellationToken cancellationToken = default) =>
            inner.QueryRangeAsync(promql, start, end, step, cancellationToken);

        public Task<IReadOnlyList<Labels>> SeriesAsync(IReadOnlyList<string> match, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default) =>
            inner.SeriesAsync(match, start, end, cancellationToken);

        public Task<IReadOnlyList<string>> LabelNamesAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default) =>
            inner.LabelNamesAsync(start, end, cancellationToken);

        public Task<IReadOnlyList<string>> LabelValuesAsync(string name, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default) =>
            inner.LabelValuesAsync(name, start, end, cancellationToken);
    }

    /// <summary>Regression (session 38, over the wire): on the wall clock a plan and its writes take time, the first one
    /// most. The next plan came a step after this one began, so its 1 K set point moves were written a little less than a
    /// minute after this one's and the rate limit over the last minute refused them (deferred, since): every other
    /// minute's moves over `aida twin serve`. Here, under the policy's freeze, the first two plans a minute apart each
    /// take the ten CDUs 1 K down, and the twin's writes take 200 ms each for the first ten and 20 ms after
    /// (<see cref="SlowWrites"/>): without the change nine of the second plan's moves were deferred. The next plan now
    /// counts from when the writes ended, and no move is refused or deferred.</summary>
    [Fact]
    public void OnTheWallClock_APlansWritingTime_DelaysTheNextPlan_SoTheRateLimitRefusesAndDefersNoMove()
    {
        var (agent, entries) = RunUnderTheFreeze(TimeSpan.FromMinutes(12), sim =>
        {
            var wall = new WallClock(sim.Clock);
            return (new SlowWrites(sim.Plant, wall), wall);
        });

        var setpointWrites = entries.Count(e => e.Kind == Aida.Automation.Audit.AuditKind.Result && e.Subject.EndsWith("/supply_setpoint", StringComparison.Ordinal));
        Assert.True(setpointWrites >= 20, $"{setpointWrites} set point writes");
        Assert.Equal(0, agent.Plant.Refused);
        Assert.DoesNotContain(entries, e => e.Detail.Contains(" deferred to the next step", StringComparison.Ordinal));
    }

    /// <summary>Runs the reference scenario for <paramref name="duration"/> with the agent under the policy's freeze,
    /// over the plant and clock <paramref name="wrap"/> makes of the simulator's; returns the agent and its audit log.</summary>
    private static (PlantAgent Agent, IReadOnlyList<Aida.Automation.Audit.AuditEntry> Audit) RunUnderTheFreeze(
        TimeSpan duration, Func<Simulator, (Aida.Model.Plant.IPlant Plant, TimeProvider Clock)> wrap)
    {
        var scenario = ScenarioLoader.Load("reference");
        var sim = new Simulator(scenario, new SimulationOptions { Mode = OperatingMode.Agent, Duration = duration });
        using var store = new Tsdb(new TsdbOptions { Clock = sim.Clock, Retention = TimeSpan.FromDays(3650) });
        sim.RecordTo(new PlantTelemetryRecorder(store, sim.Plant, sim.GpuCatalog, scenario.Factory.Site.Name));
        var dir = ScratchDir();
        using var incidents = new IncidentStore(Path.Combine(dir, "incidents.db"), sim.Clock);
        using var audit = new Aida.Automation.Audit.AuditLog(Path.Combine(dir, "audit.db"), sim.Clock);
        var (plant, clock) = wrap(sim);
        var agent = new PlantAgent(plant, scenario.Factory, new EmbeddedQueryEngine(store), incidents, SafetyEnvelopeTests.Bundled,
            Runbook.LoadDirectory(BundledFiles.Shipped("runbooks"), scenario.Factory), clock, new PlantAgentOptions(), audit, efficiency: () => Optimiser.OptimiserLoop.Freeze);
        sim.AttachAgent(agent);
        sim.Run();
        return (agent, audit.Read());
    }

    /// <summary>While the devices of some CDUs are down with their last writes failed, the guard refuses their moves for
    /// now and the optimiser defers them: one audit line a plan naming the actuators and why (the guard's typed
    /// <see cref="Aida.Automation.Safety.HoldCause"/>; before, the reason was found by matching the refusal's text), and no write reaches them.</summary>
    [Fact]
    public void MovesToDevicesDown_AreDeferred_InOneAuditLineAPlan_NamingWhy()
    {
        DevicesDown? down = null;
        var (agent, entries) = RunUnderTheFreeze(TimeSpan.FromMinutes(8), sim =>
        {
            down = new DevicesDown(sim.Plant, sim.Clock, sim.Clock.GetUtcNow() + TimeSpan.FromMinutes(4), a => a.StartsWith("cdu-h1-", StringComparison.Ordinal));
            return (down, sim.Clock);
        });
        var from = down!.From;

        var deferred = entries.Where(e => e.Detail.Contains(" deferred to the next step: ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(deferred);
        Assert.All(deferred, e =>
        {
            Assert.True(e.At >= from, e.Detail);
            Assert.Matches(@"^\d+ move\(s\) deferred to the next step: cdu-h1-[^;]* \(its device down\)$", e.Detail);
        });
        Assert.DoesNotContain(entries, e => e.Kind == Aida.Automation.Audit.AuditKind.Action && e.At >= from && e.Subject.StartsWith("cdu-h1-", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Kind == Aida.Automation.Audit.AuditKind.Action && e.At >= from && e.Subject.StartsWith("cdu-h2-", StringComparison.Ordinal));
        Assert.Equal(0, agent.Plant.Refused);
    }

    /// <summary>A plant whose devices for some actuators are down, their last writes failed, from a time on.</summary>
    private sealed class DevicesDown(Aida.Model.Plant.IPlant inner, TimeProvider clock, DateTimeOffset from, Func<string, bool> onDevice)
        : Aida.Model.Plant.IPlant, Aida.Model.Plant.IDeviceAvailability
    {
        public DateTimeOffset From => from;

        public IReadOnlyList<Aida.Model.Plant.PointInfo> Points => inner.Points;

        public IReadOnlyList<Aida.Model.Plant.ActuatorInfo> Actuators => inner.Actuators;

        public Aida.Model.Plant.PointReading Read(int point) => inner.Read(point);

        public Aida.Model.Plant.WriteResult Write(int actuator, double value) =>
            WritesHeldBack(actuator) ? new(Aida.Model.Plant.WriteStatus.NotSent, "not sent: its device is down") : inner.Write(actuator, value);

        public Aida.Model.Plant.DeviceReturn? ReturnOf(int actuator) => null;

        public bool WritesHeldBack(int actuator) => clock.GetUtcNow() >= from && onDevice(inner.Actuators[actuator].Name);
    }

    /// <summary>The simulator's clock plus the time the writes made since its last step took.</summary>
    private sealed class WallClock(TimeProvider simulated) : TimeProvider
    {
        private DateTimeOffset _at;
        private TimeSpan _spent;

        public override DateTimeOffset GetUtcNow()
        {
            var now = simulated.GetUtcNow();
            if (now != _at)
            {
                (_at, _spent) = (now, TimeSpan.Zero);
            }

            return now + _spent;
        }

        public void Spend(TimeSpan span)
        {
            GetUtcNow();
            _spent += span;
        }
    }

    /// <summary>A plant whose writes take time on a <see cref="WallClock"/>: 200 ms each for the first ten (a cold
    /// start), 20 ms after.</summary>
    private sealed class SlowWrites(Aida.Model.Plant.IPlant inner, WallClock clock) : Aida.Model.Plant.IPlant
    {
        private int _writes;

        public IReadOnlyList<Aida.Model.Plant.PointInfo> Points => inner.Points;

        public IReadOnlyList<Aida.Model.Plant.ActuatorInfo> Actuators => inner.Actuators;

        public Aida.Model.Plant.PointReading Read(int point) => inner.Read(point);

        public Aida.Model.Plant.WriteResult Write(int actuator, double value)
        {
            clock.Spend(TimeSpan.FromMilliseconds(_writes++ < 10 ? 200 : 20));
            return inner.Write(actuator, value);
        }
    }

    [Fact]
    public void KeptResponses_ThatAreBroken_AreNamedByFileAndEntry()
    {
        var dir = ScratchDir();
        string Write(string json)
        {
            var path = Path.Combine(dir, "agent-responses.json");
            File.WriteAllText(path, json);
            return path;
        }

        Assert.Empty(KeptResponses.Read(Path.Combine(dir, "none.json")));
        Assert.Contains("not a list of the agent's responses", Assert.Throws<FormatException>(() => KeptResponses.Read(Write("{"))).Message, StringComparison.Ordinal);
        var missing = Assert.Throws<FormatException>(() => KeptResponses.Read(Write("""[{"incident": 3, "runbook": "leak", "state": "succeeded"}]""")));
        Assert.Contains("agent-responses.json: entry 1: incident (a positive number), fault_kind, asset, runbook", missing.Message, StringComparison.Ordinal);
        var running = Assert.Throws<FormatException>(() => KeptResponses.Read(Write("""
            [{"incident": 3, "opened": "2025-07-01T02:00:00+00:00", "fault_kind": "leak", "asset": "h1-c03", "runbook": "leak", "state": "running",
              "started": "2025-07-01T02:00:00+00:00", "changed": [], "released": [], "restored_at": [null]}]
            """)));
        Assert.Contains("entry 1: a running run needs step (0 or more) and step_text", running.Message, StringComparison.Ordinal);
        var notStarted = Assert.Throws<FormatException>(() => KeptResponses.Read(Write("""
            [{"incident": 3, "opened": "2025-07-01T02:00:00+00:00", "fault_kind": "leak", "asset": "h1-c03", "runbook": "leak", "state": "not-started",
              "started": "2025-07-01T02:00:00+00:00", "changed": [], "released": [], "restored_at": [null]}]
            """)));
        Assert.Contains("entry 1: state must be waiting-for-approval, running, succeeded or rolled-back, not NotStarted", notStarted.Message, StringComparison.Ordinal);
        Assert.Contains("not a list", Assert.Throws<FormatException>(() => KeptResponses.Read(Write("""[{"incident": 3, "state": "sideways"}]"""))).Message, StringComparison.Ordinal);

        // What a restore entry waits for: an action waiting for an approver, a write the envelope refused.
        string Restore(string field, string entries) => Write($$"""
            [{"incident": 3, "opened": "2025-07-01T02:00:00+00:00", "fault_kind": "leak", "asset": "h1-c03", "runbook": "leak", "state": "succeeded",
              "started": "2025-07-01T02:00:00+00:00", "changed": ["h1-c03/isolate"], "released": [], "restored_at": [null], "{{field}}": {{entries}}}]
            """);
        var waiting = Assert.Throws<FormatException>(() => KeptResponses.Read(Restore("restore_waiting", """[[{"id": "A7", "kind": "isolate_sideways", "asset": "h1-c03", "value": 0, "reason": "dry", "requested_by": "runbook:leak", "proposed_at": "2025-07-01T02:30:00+00:00"}]]""")));
        Assert.Contains("agent-responses.json: entry 1: restore_waiting 1: action 1: kind: unknown action 'isolate_sideways'", waiting.Message, StringComparison.Ordinal);
        var refused = Assert.Throws<FormatException>(() => KeptResponses.Read(Restore("restore_refused", """[[{"actuator": "h1-c03/isolate"}]]""")));
        Assert.Contains("entry 1: restore_refused 1: write 1: actuator and value (a number) are required", refused.Message, StringComparison.Ordinal);
        var entries = Assert.Throws<FormatException>(() => KeptResponses.Read(Restore("restore_refused", """[[], [{"actuator": "h1-c03/isolate", "value": 0}]]""")));
        Assert.Contains("entry 1: restore_waiting and restore_refused have one list per restore entry (1, as restored_at)", entries.Message, StringComparison.Ordinal);
        var kept = Assert.Single(KeptResponses.Read(Restore("restore_refused", """[[{"actuator": "h1-c03/isolate", "value": 0}]]""")));
        Assert.Equal(new RefusedWrite("h1-c03/isolate", 0), Assert.Single(Assert.Single(kept.Progress.RestoreRefused)));
    }

    [Fact]
    public void AResumeWithNothingToTakeUp_ChangesNothing_AndAnEarlierOpenExclusionNoLongerLyingIsClosed()
    {
        // A fresh directory: nothing taken up, nothing written. An open exclusion kept from an earlier run whose incident a
        // person resolved meanwhile (here: no incident at all) is closed at the restart: its reading counts from then.
        var scenario = ScenarioLoader.Load("reference");
        var sim = new Simulator(scenario, new SimulationOptions { Mode = OperatingMode.Agent, Duration = TimeSpan.FromMinutes(5) });
        using var store = new Tsdb(new TsdbOptions { Clock = sim.Clock, Retention = TimeSpan.FromDays(3650) });
        var dir = ScratchDir();
        using var incidents = new IncidentStore(Path.Combine(dir, "incidents.db"), sim.Clock);
        var runbooks = Runbook.LoadDirectory(BundledFiles.Shipped("runbooks"), scenario.Factory);
        PlantAgent Started() => new(sim.Plant, scenario.Factory, new EmbeddedQueryEngine(store), incidents, SafetyEnvelopeTests.Bundled, runbooks, sim.Clock);

        var fresh = Started();
        Assert.Empty(fresh.Resume([]));
        Assert.Empty(fresh.ReadingExclusions);
        Assert.Throws<InvalidOperationException>(() => fresh.Resume([]));

        var earlier = Aida.Reliability.Budgets.ReadingExclusion.Of("aida_rack_inlet_celsius{rack=\"h2-b04\"}", scenario.Start - TimeSpan.FromHours(1), null, "incident 3: sensor-noise on h2-b04");
        var changed = new List<IReadOnlyList<Aida.Reliability.Budgets.ReadingExclusion>>();
        var responses = new List<IReadOnlyList<KeptResponse>>();
        var restarted = new PlantAgent(sim.Plant, scenario.Factory, new EmbeddedQueryEngine(store), incidents, SafetyEnvelopeTests.Bundled, runbooks, sim.Clock)
        {
            ExclusionsChanged = changed.Add,
            ResponsesChanged = responses.Add,
        };
        // A kept response whose incident is not there (resolved, or the incidents gone) is not taken up, and the kept list
        // is written again, empty, at the first look.
        var stale = new KeptResponse(7, scenario.Start, "leak", "h1-c03", "leak",
            new RunbookProgress(RunbookState.Succeeded, scenario.Start, scenario.Start, ["h1-c03/isolate"], [], [null], new Dictionary<string, double>()));
        Assert.Empty(restarted.Resume([earlier], [stale]));
        Assert.Empty(restarted.Responses);
        var closed = earlier with { Until = sim.Clock.GetUtcNow() };
        Assert.Equal([closed], restarted.ReadingExclusions);
        Assert.Equal([[closed]], changed);
        restarted.Tick(sim.Clock.GetUtcNow());
        Assert.Equal([[]], responses);
    }

    [Fact]
    public void AFrozenReading_StaysDistrusted_PastTheProbation_UntilItMovesAgainForAllOfIt()
    {
        // cdu-h2-a's return freezes from 02:00 to 03:00. It is alerted once, at about 02:01, so by 02:50 no alert has
        // named it for the probation: only the reading's own frozen run keeps it out. It moves again at 03:00, and 30 min
        // of it bring it back (its incident resolves later, 2 h after its last alert, past this run's end).
        var bundled = ScenarioLoader.Load("faults/sensor-stuck");
        var stuck = bundled.Faults[0] with { End = bundled.Faults[0].Start + TimeSpan.FromMinutes(60) };
        var scenario = bundled with { Faults = [stuck] };
        var dir = ScratchDir();
        var auditPath = Path.Combine(dir, "audit.db");
        var whileFrozen = new HashSet<int>();
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(225), new PlantAgentOptions(), auditPath,
            pause: (TimeSpan.FromMinutes(170), (_, agent) => whileFrozen = [.. agent.DistrustedReadings]));

        var ret = agent.Plant.Points.Single(p => p.Name == "cdu-h2-a/return_temperature").Index;
        Assert.Equal([ret], whileFrozen);
        Assert.Empty(agent.DistrustedReadings);
        var response = Assert.Single(agent.Responses, r => r.FaultKind == "sensor-stuck");
        using var audit = new Aida.Automation.Audit.AuditLog(auditPath, TimeProvider.System);
        var trusted = Assert.Single(audit.Read(), e => e.Subject == $"incident {response.Incident}" && e.Detail.EndsWith("trusted again", StringComparison.Ordinal));
        // A frozen run is 12 readings (2 min) for a CDU temperature with its partner moving, so a window whose first
        // minute or so is still frozen holds none: trusted from 03:28.
        Assert.True(trusted.At >= scenario.Start + stuck.End + TimeSpan.FromMinutes(28), $"trusted again at {trusted.At:HH:mm:ss}");
    }

    [Fact]
    public void ADriftingReading_IsNotTrustedAgainByTheAgent_NorAreChecksDerivedFromItAnswered()
    {
        // cdu-h1-a's supply drifts 4 K/h from 02:00 to 04:00, then reads true. A drift is not judged on its readings
        // (a drifting supply opens its CDU's valve fully and is then not judged against its setpoint): the supply stays
        // out of the optimiser's view past the probation, for a person to resolve. At 04:40, after the drift ended and
        // while the supply is still left out, the cold plates' check fires on the CDU, as the step in its supply reading
        // made it do at 08:18 on the bundled scenario: derived from the lying supply, it is attached to the drift's
        // response instead of getting the cold-plate runbook (a colder setpoint and a plate cleaning asked of a person).
        var bundled = ScenarioLoader.Load("faults/sensor-drift");
        var drift = bundled.Faults[0] with { End = bundled.Faults[0].Start + TimeSpan.FromHours(2), Parameters = new Dictionary<string, double> { ["per_hour"] = 4 } };
        var scenario = bundled with { Faults = [drift] };
        var dir = ScratchDir();
        var incidentsPath = Path.Combine(dir, "incidents.db");
        var plates = HandedOnce(new Alert(Aida.Observability.Detection.AlertNames.ColdPlateDrift, AlertSource.Anomaly, "cdu-h1-a", scenario.Start + TimeSpan.FromMinutes(280),
            "cdu-h1-a: its racks' GPUs run 34.1 % hotter per kW over their coolant than at the start of the window, against the other CDUs of hall-1 (thermal resistance rising)")
        {
            Series = Aida.Telemetry.Series.Labels.Metric("aida_cdu_cold_plate_relative_resistance_ratio", ("asset", "cdu-h1-a")),
            Reads = ["aida_rack_gpu_max_temperature_celsius", "aida_rack_power_watts", "aida_cdu_supply_celsius"],
        });
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(300), new PlantAgentOptions(), burns: plates, incidentsPath: incidentsPath);

        var supply = agent.Plant.Points.Single(p => p.Name == "cdu-h1-a/supply_temperature").Index;
        var response = Assert.Single(agent.Responses);
        Assert.Equal(("sensor-drift", "cdu-h1-a"), (response.FaultKind, response.Asset));
        Assert.Equal([supply], agent.DistrustedReadings);
        using var incidents = new IncidentStore(incidentsPath, TimeProvider.System);
        var withPlates = incidents.List().Select(i => incidents.Get(i.Id)).Single(d => d.Timeline.Any(t => t.Kind == TimelineEntryKind.AlertFolded && t.Text.Contains("ColdPlateDrift", StringComparison.Ordinal)));
        Assert.Equal("cold-plate-fouling", withPlates.RootCause?.Top?.FaultKind);
        Assert.Equal(IncidentState.Acknowledged, withPlates.Incident.State);
        Assert.Contains(withPlates.Timeline, t => t.Text == $"attached to incident {response.Incident}'s response (sensor-drift on cdu-h1-a): its alerts read only a sensor answered as lying");
    }

    [Fact]
    public void ADriftFoundByTheEnergyBalanceAlone_NamesNoReading_WhileItsValveModulates()
    {
        // faults/sensor-drift in this harness (the efficiency envelope at full headroom): cdu-h1-a's valve modulates,
        // holding the drifting supply reading at its setpoint, so the supply does not read apart from its hall's others
        // and is not named at the finding (about 02:38); a supply held at its setpoint says nothing of its sensor. It is
        // named when it leaves its band (about 05:50). Where every valve of the hall is fully open, as under the
        // bundled SLO pack's budgets, it is named at the finding:
        // AgentModeTests.ADriftFoundByTheEnergyBalanceAlone_HasItsSupplyLeftOutAtTheFinding_WithEveryValveOpen.
        var scenario = ScenarioLoader.Load("faults/sensor-drift");
        var dir = ScratchDir();
        var auditPath = Path.Combine(dir, "audit.db");
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(200), new PlantAgentOptions(), auditPath);

        var response = Assert.Single(agent.Responses);
        Assert.Equal(("sensor-drift", "cdu-h1-a"), (response.FaultKind, response.Asset));
        Assert.Empty(agent.DistrustedReadings);
        Assert.Empty(agent.ReadingExclusions);
        using var audit = new Aida.Automation.Audit.AuditLog(auditPath, TimeProvider.System);
        Assert.DoesNotContain(audit.Read(), e => e.Detail.EndsWith("taken as the drifting reading", StringComparison.Ordinal));
    }

    [Fact]
    public void TheSameSensorFaultFoundAgain_BeforeItsReadingIsNamed_IsAttachedToItsResponse()
    {
        // faults/sensor-drift: cdu-h1-a's supply drifts 2 K/h from 02:00. The energy balance finds it again and again,
        // naming no reading (aida simulate: 02:38, 03:52, 04:41, 05:12; the supply named at about 05:50). Each finding
        // after the first is the same unresolved fault: attached to the first response, no runbook and no notification
        // of its own. Regression: in this harness the supply reads 3 K off its setpoint at 03:31 with its valve short
        // of fully open, in a new incident; read without the balance (alerted at 02:37, in the first) it was taken for a
        // stuck valve and the stuck-valve runbook ran on a healthy valve. The balance, still out, is now alerted again
        // with it: the same drift, attached.
        var scenario = ScenarioLoader.Load("faults/sensor-drift");
        var dir = ScratchDir();
        var incidentsPath = Path.Combine(dir, "incidents.db");
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(320), new PlantAgentOptions(), incidentsPath: incidentsPath);

        var response = Assert.Single(agent.Responses);
        Assert.Equal(("sensor-drift", "cdu-h1-a"), (response.FaultKind, response.Asset));
        using var incidents = new IncidentStore(incidentsPath, TimeProvider.System);
        var again = incidents.List().Select(i => incidents.Get(i.Id)).Where(d => d.Incident.Id != response.Incident && d.RootCause?.Top?.FaultKind == "sensor-drift").ToList();
        Assert.Contains(again, d => d.Timeline.Any(t => t.Kind == TimelineEntryKind.AlertFolded && t.Text.StartsWith("CduSupplyOffSetpoint", StringComparison.Ordinal)));
        Assert.All(again, d =>
        {
            Assert.Equal(IncidentState.Acknowledged, d.Incident.State);
            Assert.Contains(d.Timeline, t => t.Kind == TimelineEntryKind.StateChanged && t.Text.StartsWith($"attached to incident {response.Incident}'s response (sensor-drift on cdu-h1-a): ", StringComparison.Ordinal));
        });
        Assert.Equal(IncidentState.Mitigated, incidents.Get(response.Incident).Incident.State);
    }

    /// <summary>A runbook started between the optimiser's minutes (at an equipment-alarm look, 10 s after the minute) has
    /// the optimiser observe and plan at once, with the runbook's first writes, and keep observing a minute apart from
    /// there. Regressions (faults week, session 22): a plan at the next tick without an observation read the racks' mean
    /// power over the last observed minute beside temperatures of now, took the GPU readings at every training
    /// checkpoint for lying sensors and restored full pumps and fans, 150 times in the week; the fix then waited for
    /// the next observation, up to a minute after the runbook, and the water came down a minute late after two CRAHs
    /// failed.</summary>
    [Fact]
    public void ARunbookStartedBetweenObservations_HasTheOptimiserObserveAndPlanWithIt()
    {
        // The fans fail 15 s past the minute: the look at 20 s sees it, 10 s after the optimiser's observation at 10 s.
        var bundled = ScenarioLoader.Load("faults/crah-fan-failure");
        var late = TimeSpan.FromSeconds(15);
        var scenario = bundled with { Faults = [.. bundled.Faults.Select(f => f with { Start = f.Start + late, End = f.End + late })] };
        var dir = ScratchDir();
        var auditPath = Path.Combine(dir, "audit.db");
        var duration = scenario.Faults[0].Start + TimeSpan.FromSeconds(430); // ends 5 s past an observation of the new phase
        var agent = RunAgent(scenario, duration, new PlantAgentOptions(), auditPath);

        var response = Assert.Single(agent.Responses, r => r.FaultKind == "crah-fan-failure" && r.Asset == "crah-h1-1");
        var started = response.Run.Started;
        Assert.NotEqual(0, started.Second); // at a look, between the agent's minutes
        using var audit = new Aida.Automation.Audit.AuditLog(auditPath, TimeProvider.System);
        var plans = audit.Read().Where(e => e.Actor == "agent:optimiser").Select(e => e.At).ToList();
        Assert.Contains(started, plans);
        Assert.All(plans.Where(t => t >= started), t => Assert.Equal(started.Second, t.Second));
        // Observed a minute apart from 10 s into the run until the runbook, then at its start and a minute apart from
        // there: the plans above read observations of their own instant.
        var first = scenario.Start + TimeSpan.FromSeconds(10);
        Assert.Equal(20, started.Second);
        var before = (int)Math.Floor((started - first).TotalMinutes) + 1;
        var after = (int)Math.Ceiling((scenario.Start + duration - started).TotalMinutes);
        Assert.Equal(before + after, agent.OptimiserObservations);
    }

    [Fact]
    public void Optimiser_LearnsOnceAMinute_HoweverOftenTheAgentIsTicked()
    {
        // Regression: the agent once fed the optimiser every 10 s tick; its model forgets per observation (a few hours'
        // memory at one a minute), so it forgot six times too fast and overhead energy came out 24 points worse.
        var scenario = ScenarioLoader.Load("reference");
        var agent = RunAgent(scenario, TimeSpan.FromMinutes(20), new PlantAgentOptions());

        Assert.Equal(20, agent.OptimiserObservations);
        Assert.True(agent.OptimiserMoves > 0);
        Assert.Equal(0, agent.OptimiserRefusals);
    }
}
