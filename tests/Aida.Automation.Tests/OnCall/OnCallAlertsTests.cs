using System.Text.Json;
using Aida.Automation.OnCall;
using Aida.Model.Plant;
using Aida.Reliability.Alerting;
using static Aida.Automation.Tests.Agents.PlantAgentTests;

namespace Aida.Automation.Tests.OnCall;

public sealed class OnCallAlertsTests
{
    private static Dictionary<string, string> Labels(FiringAlert a) => a.Labels.ToDictionary(l => l.Key, l => l.Value);

    private static string Annotation(FiringAlert a, string name) => a.Annotations.Single(x => x.Key == name).Value;

    private static FiringAlert Only(IReadOnlyList<FiringAlert> alerts, string name) => Assert.Single(alerts, a => Labels(a)["alertname"] == name);

    [Fact]
    public void WhatTheRunCannotWriteToItsDisk_IsOneCriticalPage_ListingEach_AndNoneOnceAllIsWritten()
    {
        IReadOnlyList<string> unwritten = ["the audit log: 40 entries held since 2025-07-01T00:20:00Z (SQLite Error 13: 'database or disk is full'.)", "/data/lockouts.json: a restart would read it as it was"];
        var alerts = new OnCallAlerts("ref-10mw", null, [], null, null, new Uri("http://127.0.0.1:8080/"), new Microsoft.Extensions.Time.Testing.FakeTimeProvider())
        {
            DataNotWritten = () => unwritten,
        };

        var page = Only(alerts.Now(), "AidaDataNotWritten");
        Assert.Equal(("ref-10mw", "critical"), (Labels(page)["factory"], Labels(page)["severity"]));
        Assert.StartsWith("Aida cannot write to its data directory's disk: it goes on operating the plant", Annotation(page, "summary"), StringComparison.Ordinal);
        Assert.StartsWith(unwritten[0] + "; " + unwritten[1] + ". Free space", Annotation(page, "description"), StringComparison.Ordinal);

        unwritten = [];
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaDataNotWritten");
    }

    [Fact]
    public void ASupervisedLeak_PagesItsIncident_ThenItsRunbooksApproval_ThenWhatTheRunbookSays_AndTheRestoresApproval()
    {
        // Supervised, only people approve; h1-c03 leaks from 00:35 to 00:50. What the on-call person must be told, in
        // order: the incident and that its runbook waits for a go-ahead (15 min at most), then what the runbook said once
        // approved (send a technician), then that powering the rack again waits for an approver.
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(80));
        var agent = site.Start(SupervisedByPeople);
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, new Uri("http://127.0.0.1:8080/"), site.Sim.Clock);
        site.Advance(TimeSpan.FromMinutes(30));
        Assert.Empty(alerts.Now());

        site.Advance(TimeSpan.FromMinutes(8));
        var now = alerts.Now();
        var waiting = Assert.Single(agent.WaitingForApproval);
        var incident = Only(now, "AidaIncident");
        Assert.Equal(waiting.Incident.ToString(System.Globalization.CultureInfo.InvariantCulture), Labels(incident)["incident"]);
        Assert.Equal(site.Scenario.Factory.Name, Labels(incident)["factory"]);
        Assert.Contains("LeakDetected on h1-c03", Annotation(incident, "summary"), StringComparison.Ordinal);
        Assert.Contains("runbook leak: WaitingForApproval", Annotation(incident, "description"), StringComparison.Ordinal);
        Assert.Contains("root cause: leak on h1-c03", Annotation(incident, "description"), StringComparison.Ordinal);
        Assert.Equal($"http://127.0.0.1:8080/#incidents/{waiting.Incident}", incident.GeneratorUrl);
        Assert.Equal(site.Incidents.List().Single(i => i.Id == waiting.Incident).Opened, incident.Since); // its startsAt: when it opened, not when posted
        var approval = Only(now, "AidaRunbookApproval");
        Assert.Equal(("leak", "critical"), (Labels(approval)["runbook"], Labels(approval)["severity"]));
        Assert.Contains($"waits for an approver's go-ahead until {waiting.Run.WaitingUntil!.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z", Annotation(approval, "summary"), StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:8080/#agent", approval.GeneratorUrl);

        // Approved, it isolates the rack at once and says so at the next tick.
        agent.ApproveRunbook(waiting.Incident, "alice");
        site.Advance(TimeSpan.FromMinutes(1));
        now = alerts.Now();
        Assert.DoesNotContain(now, a => Labels(a)["alertname"] == "AidaRunbookApproval");
        var notice = Only(now, "AidaRunbookNotice");
        Assert.Equal("rack h1-c03: leak detected and rack isolated; send a technician with spill kit", Annotation(notice, "summary"));
        Assert.Equal(Assert.Single(Assert.Single(agent.Responses).Run.Notices).At, notice.Since);
        Assert.Equal(Labels(incident)["incident"], Labels(notice)["incident"]);

        // Dry from 00:50: 15 min later the restore asks to power the rack again, high risk.
        site.Advance(TimeSpan.FromMinutes(27));
        var restore = Only(alerts.Now(), "AidaApprovalNeeded");
        Assert.Equal(("h1-c03", "critical"), (Labels(restore)["asset"], Labels(restore)["severity"]));
        Assert.Contains("isolate_rack h1-c03 to 0 (high risk", Annotation(restore, "summary"), StringComparison.Ordinal);
        Assert.Equal(Assert.Single(agent.Executor.Pending).ProposedAt, restore.Since);
        agent.Executor.Approve(Assert.Single(agent.Executor.Pending).Action.Id, "bob");
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaApprovalNeeded");
    }

    [Fact]
    public void ALockedOutRack_IsToldAsALockout_AndItsLeakIsPagedWithItsAsset_NamingTheLockout()
    {
        // A technician drains h1-c03's manifold under lockout; its leak sensor trips at 00:35. The lockout is told (info),
        // and every page about the rack carries asset="h1-c03", which an inhibit rule matches (next test).
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(40));
        var agent = site.Start(SupervisedByPeople);
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, new Uri("http://127.0.0.1:8080/"), site.Sim.Clock);
        var lockout = agent.Plant.Lockouts.Add("h1-c03", "api:tech", "manifold drain", until: null);

        var told = Only(alerts.Now(), "AidaAssetLockedOut");
        Assert.Equal(
            new Dictionary<string, string> { ["alertname"] = "AidaAssetLockedOut", ["factory"] = "ref-10mw", ["asset"] = "h1-c03", ["severity"] = "info" },
            Labels(told));
        Assert.Equal(lockout.Describe(), Annotation(told, "summary"));
        Assert.EndsWith("api:tech or an approver releases it on the dashboard's Agent page or with POST /api/lockouts/h1-c03/release", Annotation(told, "description"), StringComparison.Ordinal);
        Assert.Equal(lockout.Since, told.Since);

        site.Advance(TimeSpan.FromMinutes(38));
        var now = alerts.Now();
        var incident = Only(now, "AidaIncident");
        Assert.Equal("h1-c03", Labels(incident)["asset"]);
        Assert.Contains("root cause: leak on h1-c03", Annotation(incident, "description"), StringComparison.Ordinal);
        Assert.EndsWith("; " + lockout.Describe(), Annotation(incident, "description"), StringComparison.Ordinal);
        Assert.Equal("h1-c03", Labels(Only(now, "AidaRunbookApproval"))["asset"]);

        // Released, the lockout is no longer told, and the incident, the same alert, no longer names it.
        agent.Plant.Lockouts.Release("h1-c03", "api:tech", "drain done", overrides: false);
        now = alerts.Now();
        Assert.DoesNotContain(now, a => Labels(a)["alertname"] == "AidaAssetLockedOut");
        Assert.Equal(Labels(incident), Labels(Only(now, "AidaIncident")));
        Assert.DoesNotContain("locked out", Annotation(Only(now, "AidaIncident"), "description"), StringComparison.Ordinal);
    }

    [Fact]
    public void ALockoutAboutToEndByItself_WarnsItsHolder_AQuarterOfAnHourBefore_UntilItsEndMoves()
    {
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(30));
        var agent = site.Start(SupervisedByPeople);
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, null, site.Sim.Clock);
        var end = site.Sim.Clock.GetUtcNow().AddMinutes(20);
        agent.Plant.Lockouts.Add("chiller-2", "api:bob", "condenser tubes", end);

        site.Advance(TimeSpan.FromMinutes(4));
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaLockoutEnding");
        site.Advance(TimeSpan.FromMinutes(1));
        var ending = Only(alerts.Now(), "AidaLockoutEnding");
        Assert.Equal(
            new Dictionary<string, string> { ["alertname"] = "AidaLockoutEnding", ["factory"] = "ref-10mw", ["asset"] = "chiller-2", ["severity"] = "warning" },
            Labels(ending));
        Assert.Equal($"chiller-2's lockout by api:bob ends by itself at {end.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z (condenser tubes): Aida may write it again then", Annotation(ending, "summary"));
        Assert.Equal(end - OnCallAlerts.LockoutEndingNotice, ending.Since);

        // The work goes on: its end moves, and the warning goes until the new end nears.
        agent.Plant.Lockouts.Extend("chiller-2", "api:bob", end.AddHours(2), overrides: false);
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaLockoutEnding");
    }

    [Fact]
    public void APlannedLockout_IsToldAQuarterOfAnHourBeforeItStarts_WithTheRunbookStepsItWillRefuse_ThenAsALockout()
    {
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(30));
        var agent = site.Start(SupervisedByPeople);
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, null, site.Sim.Clock);
        var start = site.Sim.Clock.GetUtcNow().AddMinutes(20);
        agent.Plant.Lockouts.Add("chiller-3", "api:bob", "compressor overhaul", TimeSpan.FromHours(4), from: start);

        site.Advance(TimeSpan.FromMinutes(4));
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaLockoutStarting");
        site.Advance(TimeSpan.FromMinutes(1));
        var starting = Only(alerts.Now(), "AidaLockoutStarting");
        Assert.Equal(
            new Dictionary<string, string> { ["alertname"] = "AidaLockoutStarting", ["factory"] = "ref-10mw", ["asset"] = "chiller-3", ["severity"] = "info" },
            Labels(starting));
        Assert.Equal($"chiller-3 is to be locked out by api:bob from {start.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z until {start.AddHours(4).UtcDateTime:yyyy-MM-dd HH:mm:ss}Z (compressor overhaul): Aida writes none of its actuators from then", Annotation(starting, "summary"));
        Assert.Contains("runbook chiller-trip would start_standby it on a chiller-trip of chiller-1 or chiller-2", Annotation(starting, "description"), StringComparison.Ordinal);
        Assert.Equal(start - OnCallAlerts.LockoutStartingNotice, starting.Since);

        // Started, it is a lockout like any other, and the notice is gone.
        site.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal("chiller-3", Labels(Only(alerts.Now(), "AidaAssetLockedOut"))["asset"]);
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaLockoutStarting");
    }

    [Fact]
    public async Task APlannedLockout_ThatWouldLeaveItsGroupShortOfTheDaysPeak_IsAWarning_SayingWhatIsLeft()
    {
        // chiller-1 is held out for its service; chiller-3's overhaul is booked to start in 20 min. Both out, one 5 MW
        // chiller is left for a plant whose facility water carried more heat than that: on-call is warned before it starts.
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(30));
        var agent = site.Start(SupervisedByPeople);
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, null, site.Sim.Clock)
        {
            Capacity = new Aida.Observability.Derived.SpareCapacity(new Aida.Telemetry.Query.EmbeddedQueryEngine(site.Store), site.Scenario.Factory),
        };
        var start = site.Sim.Clock.GetUtcNow().AddMinutes(20);
        agent.Plant.Lockouts.Add("chiller-3", "api:bob", "compressor overhaul", TimeSpan.FromHours(4), from: start);
        agent.Plant.Lockouts.Add("chiller-1", "api:ann", "annual service", until: null);
        site.Advance(TimeSpan.FromMinutes(5));

        await alerts.ReadCapacityAsync();
        var starting = Only(alerts.Now(), "AidaLockoutStarting");
        Assert.Equal("warning", Labels(starting)["severity"]);
        var description = Annotation(starting, "description");
        Assert.Contains("; capacity: chillers: 5.0 MW left of 15.0 MW without chiller-3 and chiller-1 (locked out) already out, against a peak of ", description, StringComparison.Ordinal);
        Assert.Contains(" short at that peak (N now, short without it); before it starts make up the shortfall", description, StringComparison.Ordinal);
        Assert.EndsWith("api:bob or an approver moves its start (POST /api/lockouts/chiller-3/reschedule)", description, StringComparison.Ordinal);
        // And now, with chiller-1 held out, the chillers have none to spare: on-call is warned of that too, once it has
        // held for 5 min (a moment at the threshold is not a page).
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaRedundancyLost");
        var since = site.Sim.Clock.GetUtcNow();
        site.Advance(OnCallAlerts.RedundancyHold);
        await alerts.ReadCapacityAsync();
        var lost = Only(alerts.Now(), "AidaRedundancyLost");
        Assert.Equal(since, lost.Since);
        Assert.Equal(
            new Dictionary<string, string> { ["alertname"] = "AidaRedundancyLost", ["factory"] = "ref-10mw", ["kind"] = "chiller", ["scope"] = "site", ["severity"] = "warning" },
            Labels(lost));
        Assert.StartsWith("chillers at N: 10.0 MW in service (of 15.0 MW; chiller-1 (locked out) out) for ", Annotation(lost, "summary"), StringComparison.Ordinal);
        Assert.EndsWith(" of heat on facility water", Annotation(lost, "summary"), StringComparison.Ordinal);

        // chiller-1 back in service: two chillers are left, the notice is told as info again.
        agent.Plant.Lockouts.Release("chiller-1", "api:ann", "service done", overrides: false);
        await alerts.ReadCapacityAsync();
        starting = Only(alerts.Now(), "AidaLockoutStarting");
        Assert.Equal("info", Labels(starting)["severity"]);
        // The chillers have a unit to spare again: told so, and the warning stops once that has held 5 min.
        var back = site.Sim.Clock.GetUtcNow();
        Assert.EndsWith($"; back with a unit to spare since {back.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, told until that has held 5 min", Annotation(Only(alerts.Now(), "AidaRedundancyLost"), "summary"), StringComparison.Ordinal);
        site.Advance(OnCallAlerts.RedundancyHold);
        await alerts.ReadCapacityAsync();
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaRedundancyLost");
        Assert.Contains("; capacity: chillers: 10.0 MW left of 15.0 MW without chiller-3, against a peak of ", Annotation(starting, "description"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEconomiserShortOnAHotAfternoon_IsNotAPage_TheChillersMakeItUp()
    {
        // Facility water carries 8.78 MW and returns 3 K over a 24 °C dry bulb: the six dry coolers, rated 2.5 MW at
        // 15 K, reject 3 MW; the chillers carry the rest with one to spare. The economiser is short for as long as the
        // afternoon lasts, which costs energy, not cooling: the redundancy series says so, on-call is not paged.
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        var day = new DateTimeOffset(2025, 7, 1, 12, 0, 0, TimeSpan.Zero);
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        foreach (var (metric, value) in new[] { ("aida_facility_water_flow_kg_per_second", 300.0), ("aida_facility_water_supply_celsius", 20), ("aida_facility_water_return_celsius", 27) })
        {
            Write(store, Aida.Telemetry.Series.Labels.Metric(metric, ("asset", "facility-water")), value);
        }

        Write(store, Aida.Telemetry.Series.Labels.Metric("aida_ambient_dry_bulb_celsius"), 24);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(day.AddMinutes(30));
        var capacity = new Aida.Observability.Derived.SpareCapacity(new Aida.Telemetry.Query.EmbeddedQueryEngine(store), factory);
        var alerts = new OnCallAlerts(factory.Name, null, [], null, null, null, clock) { Capacity = capacity };

        await alerts.ReadCapacityAsync();
        clock.Advance(OnCallAlerts.RedundancyHold);
        await alerts.ReadCapacityAsync();

        var economiser = (await capacity.NowAsync(clock.GetUtcNow())).Single(r => r.Kind == "dry-cooler");
        Assert.Equal((-1, "the chillers"), (economiser.Spare, economiser.MadeUpBy));
        Assert.EndsWith("5.78 MW not carried (which the chillers make up)", economiser.Describe(), StringComparison.Ordinal);
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaRedundancyLost");

        static void Write(Aida.Telemetry.Storage.Tsdb store, Aida.Telemetry.Series.Labels labels, double value)
        {
            var id = store.GetOrCreateSeries(labels);
            for (var t = 0; t <= 60; t++)
            {
                store.Append(id, new DateTimeOffset(2025, 7, 1, 12, 0, 0, TimeSpan.Zero).AddMinutes(t).ToUnixTimeMilliseconds(), value);
            }
        }
    }

    [SkippableFact]
    public async Task ALockedOutRacksLeak_IsInhibitedInARealAlertmanager_ByTheExampleConfig_UntilTheLockoutIsReleased()
    {
        // Debian's Alertmanager with docs/examples/alertmanager.yml as shipped: while h1-c03 is locked out its leak's
        // incident and runbook approval are suppressed (inhibited by AidaAssetLockedOut), and page again once released,
        // though cdu-h2-e stays locked out: a lockout keeps quiet its own asset's pages only.
        var config = File.ReadAllText(Path.Combine(Aida.Model.Config.BundledFiles.Root!, "docs", "examples", "alertmanager.yml"));
        using var alertmanager = await Aida.Reliability.Tests.Peers.LocalPeer.StartAlertmanagerAsync(config);
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(40));
        var agent = site.Start(SupervisedByPeople);
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, null, site.Sim.Clock);
        var feed = new AlertmanagerFeed([new AlertmanagerClient(Http, alertmanager.BaseUrl)], TimeProvider.System);
        agent.Plant.Lockouts.Add("h1-c03", "api:tech", "manifold drain", until: null);
        agent.Plant.Lockouts.Add("cdu-h2-e", "api:tech", "pump 2 seal", until: site.Sim.Clock.GetUtcNow().AddMinutes(45));
        site.Advance(TimeSpan.FromMinutes(38));

        await feed.UpdateAsync(alerts.Now());
        // cdu-h2-e's lockout ends by itself 7 min on: that warning is for its holder, and is not inhibited.
        var states = await UntilStates(alertmanager.BaseUrl, s => s.Count == 5 && s.GetValueOrDefault("AidaIncident/h1-c03") == "suppressed");
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["AidaAssetLockedOut/h1-c03"] = "active", ["AidaAssetLockedOut/cdu-h2-e"] = "active", ["AidaLockoutEnding/cdu-h2-e"] = "active",
                ["AidaIncident/h1-c03"] = "suppressed", ["AidaRunbookApproval/h1-c03"] = "suppressed",
            },
            states);

        agent.Plant.Lockouts.Release("h1-c03", "api:tech", "drain done", overrides: false);
        await feed.UpdateAsync(alerts.Now());
        states = await UntilStates(alertmanager.BaseUrl, s => s.Count == 4 && s.GetValueOrDefault("AidaIncident/h1-c03") == "active");
        Assert.Equal(
            new Dictionary<string, string> { ["AidaAssetLockedOut/cdu-h2-e"] = "active", ["AidaLockoutEnding/cdu-h2-e"] = "active", ["AidaIncident/h1-c03"] = "active", ["AidaRunbookApproval/h1-c03"] = "active" },
            states);
    }

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Polls Alertmanager's unresolved alerts (at most 30 s) until each alert name's state satisfies
    /// <paramref name="done"/>, each keyed by its name and asset (<c>AidaIncident/h1-c03</c>): <c>active</c>, or
    /// <c>suppressed</c> (inhibited or silenced).</summary>
    private static async Task<Dictionary<string, string>> UntilStates(Uri alertmanager, Func<Dictionary<string, string>, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var states = new Dictionary<string, string>();
        while (DateTime.UtcNow < deadline)
        {
            using var page = JsonDocument.Parse(await Http.GetStringAsync(new Uri(alertmanager, "api/v2/alerts")));
            states = page.RootElement.EnumerateArray().ToDictionary(
                a => a.GetProperty("labels").GetProperty("alertname").GetString()! + (a.GetProperty("labels").TryGetProperty("asset", out var asset) ? "/" + asset.GetString() : ""),
                a => a.GetProperty("status").GetProperty("state").GetString()!);
            if (done(states))
            {
                return states;
            }

            await Task.Delay(100);
        }

        Assert.Fail("Alertmanager's alerts never came to the state expected: " + string.Join(", ", states.Select(s => $"{s.Key}={s.Value}")));
        return states;
    }

    [Fact]
    public void AnAgentPutInADryRun_IsAWarningUntilItIsHandedTheControlsAgain()
    {
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(5));
        var agent = site.Start(SupervisedByPeople);
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, null, site.Sim.Clock);
        Assert.Empty(alerts.Now());

        agent.ChangeMode(Aida.Automation.Actions.AutomationMode.DryRun, "api:alice", "chiller maintenance");
        var dry = Only(alerts.Now(), "AidaAgentDryRun");
        Assert.Equal("warning", Labels(dry)["severity"]);
        Assert.Contains("set by api:alice: chiller maintenance", Annotation(dry, "description"), StringComparison.Ordinal);

        agent.ChangeMode(Aida.Automation.Actions.AutomationMode.Supervised, "api:bob", "maintenance done");
        Assert.Empty(alerts.Now());
    }

    [Fact]
    public void AnSloBurningItsBudget_IsPostedAsTheExportedAlertingRulesNameIt()
    {
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(5));
        var burning = new List<SloAlert>();
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [], null, null, new Uri("http://127.0.0.1:8080/"), site.Sim.Clock)
        {
            SloAlerts = () => burning,
        };
        Assert.Empty(alerts.Now());

        burning.Add(new SloAlert("SLOBurnRatePage", "gpu-throttle-free", "compute", Aida.Reliability.OpenSlo.BurnRateCondition.Workbook[0], site.Scenario.Start, null, 20, 21, ["facility-on-call"])
        {
            Worst = Aida.Telemetry.Series.Labels.From(("rack", "h1-c03")),
        });
        var page = Only(alerts.Now(), "SLOBurnRatePage");

        Assert.Equal(
            new Dictionary<string, string> { ["alertname"] = "SLOBurnRatePage", ["factory"] = "ref-10mw", ["slo"] = "gpu-throttle-free", ["service"] = "compute", ["severity"] = "page", ["condition"] = "page-fast-burn" },
            Labels(page));
        Assert.StartsWith("SLO gpu-throttle-free (compute) burns its error budget at 20x", Annotation(page, "summary"), StringComparison.Ordinal);
        Assert.Equal("facility-on-call", Annotation(page, "notification_targets"));
        Assert.Contains("h1-c03", Annotation(page, "description"), StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:8080/#budgets", page.GeneratorUrl);

        // An SLO whose SLI gave no events (alertWhenNoData) is posted as blind, with no burn rates.
        burning.Add(new SloAlert("SLONoData", "rack-inlet-envelope", "facility-cooling", Aida.Reliability.OpenSlo.BurnRateCondition.Workbook[0], site.Scenario.Start, null, double.NaN, double.NaN, ["facility-on-call"]) { NoData = true });
        var blind = Only(alerts.Now(), "SLONoData");
        Assert.Equal(("rack-inlet-envelope", "page"), (Labels(blind)["slo"], Labels(blind)["severity"]));
        Assert.Equal("SLO rack-inlet-envelope (facility-cooling) has had no data for 5m: its SLI gave no events, so its budget and burn-rate alerts are blind", Annotation(blind, "summary"));
        Assert.StartsWith("no events in the 5m before 2025-", Annotation(blind, "description"), StringComparison.Ordinal);
        Assert.DoesNotContain(blind.Annotations, a => a.Key.StartsWith("burn_rate", StringComparison.Ordinal));
    }

    [Fact]
    public void ADeviceFoundRestarted_IsToldForAQuarterOfAnHour_NamingItAndWhatAidaDoes()
    {
        // A restart with no poll failing raises no CollectorDown and no incident: this alert is how a person hears of it.
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(20));
        var restarts = new List<(string, string, DeviceReturn)>();
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [], null, null, new Uri("http://127.0.0.1:8080/"), site.Sim.Clock)
        {
            DeviceRestarts = () => restarts,
            DeviceAsset = (kind, device) => (kind, device) == ("modbus", "modbus-cdu-h1-a") ? "cdu-h1-a" : null,
        };
        Assert.Empty(alerts.Now());

        var at = site.Sim.Clock.GetUtcNow();
        restarts.Add(("modbus", "modbus-cdu-h1-a", DeviceReturn.Restarted(at, "its uptime read 0 s, 10 s after it read 86400 s")));
        var told = Only(alerts.Now(), "AidaDeviceRestarted");
        Assert.Equal(
            new Dictionary<string, string> { ["alertname"] = "AidaDeviceRestarted", ["factory"] = "ref-10mw", ["collector"] = "modbus", ["device"] = "modbus-cdu-h1-a", ["asset"] = "cdu-h1-a", ["severity"] = "warning" },
            Labels(told));
        Assert.Equal($"modbus device modbus-cdu-h1-a was found restarted at {at:O} (its uptime read 0 s, 10 s after it read 86400 s): it may be back at its own settings", Annotation(told, "summary"));
        Assert.StartsWith("the safety guard writes its settings again only once they read back", Annotation(told, "description"), StringComparison.Ordinal);
        Assert.Equal(at, told.Since);

        site.Advance(OnCallAlerts.NoticeHold);
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaDeviceRestarted");
    }

    [Fact]
    public void WhatARunbookSaid_IsStillPaged_AfterAidaRestarts_WhileItsIncidentIsOpen()
    {
        // Regression: a runbook's notices lived in memory only, so "send a technician with spill kit" left Alertmanager
        // five minutes after a restart (its last post's validity) while the leak's incident was still open.
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(60));
        var first = site.StartKeeping(SupervisedByPeople);
        site.Advance(TimeSpan.FromMinutes(38));
        first.ApproveRunbook(Assert.Single(first.WaitingForApproval).Incident, "alice");
        site.Advance(TimeSpan.FromMinutes(1));
        var said = Assert.Single(Assert.Single(first.Responses).Run.Notices);

        site.Seat.Agent = null;
        site.Advance(TimeSpan.FromMinutes(1));
        var second = site.StartKeeping(SupervisedByPeople with { DetectFrom = site.Sim.Clock.GetUtcNow() });
        second.Resume([], site.Kept);
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [second.Executor], second, second.Plant, null, site.Sim.Clock);

        var notice = Only(alerts.Now(), "AidaRunbookNotice");
        Assert.Equal(said.Message, Annotation(notice, "summary"));
        Assert.Equal(said, Assert.Single(Assert.Single(second.Responses).Run.Notices));
    }

    [Fact]
    public void ASetPointMovedBehindAidasBack_IsAWarningUntilSomeoneSettlesIt()
    {
        const string Setpoint = "cdu-h2-e/supply_setpoint";
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(20));
        var agent = site.Start(SupervisedByPeople);
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, null, site.Sim.Clock);
        site.Advance(TimeSpan.FromMinutes(1));
        var was = PlantLookup.ReadValue(site.Sim.Plant, Setpoint + "_command");
        Assert.True(agent.Plant.Write(Setpoint, was + 0.5).Ok);
        site.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(alerts.Now());

        // Another writer (a person at the CDU's panel) sets it to 21.
        Assert.True(site.Sim.Plant.Write(Setpoint, 21).Ok);
        site.Advance(TimeSpan.FromMinutes(1));

        var dispute = Only(alerts.Now(), "AidaActuatorDisputed");
        Assert.Equal((Setpoint, "warning"), (Labels(dispute)["actuator"], Labels(dispute)["severity"]));
        Assert.StartsWith($"{Setpoint} reads back 21 where Aida wrote {was + 0.5:0.###}", Annotation(dispute, "summary"), StringComparison.Ordinal);
        Assert.Null(dispute.GeneratorUrl);
        Assert.NotNull(agent.Plant.AdoptReadBack(Setpoint, "api:alice", "a flow test", out _));
        Assert.Empty(alerts.Now());
    }

    [Fact]
    public void ALeakingRackPoweredOnAgainBehindAidasBack_IsAWarning_SwitchedNotMoved()
    {
        // Regression (session 42): a rack Aida isolated for its leak and someone powered on again at the panel was no
        // dispute (only set points and speeds were compared with their read-back); nobody was told.
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(45));
        var agent = site.Start(new() { Optimise = false });
        var alerts = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, null, site.Sim.Clock);
        site.Advance(TimeSpan.FromMinutes(40));
        var rack = site.Scenario.Faults[0].Asset;
        Assert.Equal(1, PlantLookup.ReadValue(site.Sim.Plant, rack + "/isolated"));
        Assert.DoesNotContain(alerts.Now(), a => Labels(a)["alertname"] == "AidaActuatorDisputed");

        Assert.True(site.Sim.Plant.Write(rack + "/isolate", 0).Ok);
        site.Advance(TimeSpan.FromSeconds(30));
        var dispute = Only(alerts.Now(), "AidaActuatorDisputed");
        Assert.Equal(rack + "/isolate", Labels(dispute)["actuator"]);
        Assert.StartsWith($"{rack}/isolate reads back 0 where Aida wrote 1", Annotation(dispute, "summary"), StringComparison.Ordinal);
        Assert.Contains("switched behind Aida's back", Annotation(dispute, "summary"), StringComparison.Ordinal);
        Assert.Contains("the interlocks count what the plant reports", Annotation(dispute, "description"), StringComparison.Ordinal);
    }

    [Fact]
    public void ANotice_HoldsWhileItsIncidentIsNotResolved_ElseFifteenMinutes()
    {
        // Unattended (the simulated approver): the leak's runbook isolates the rack and says so, and its restore powers the
        // rack again 15 min after the leak sensor reads dry (about 01:05) and says so; the agent then holds the incident
        // mitigated until it has been quiet long enough to resolve.
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(200));
        var agent = site.Start(new() { Optimise = false });
        var withIncidents = new OnCallAlerts(site.Scenario.Factory.Name, site.Incidents, [agent.Executor], agent, agent.Plant, null, site.Sim.Clock);
        var without = new OnCallAlerts(site.Scenario.Factory.Name, null, [agent.Executor], agent, agent.Plant, null, site.Sim.Clock);
        IEnumerable<string> Notices(OnCallAlerts alerts) => alerts.Now().Where(a => Labels(a)["alertname"] == "AidaRunbookNotice").Select(a => Annotation(a, "summary"));
        site.Advance(TimeSpan.FromMinutes(70));

        var response = Assert.Single(agent.Responses);
        var (isolated, restored) = (response.Run.Notices[0], response.Run.Notices[^1]);
        Assert.Contains("back in service", restored.Message, StringComparison.Ordinal);
        Assert.True(site.Sim.Clock.GetUtcNow() - restored.At < OnCallAlerts.NoticeHold);
        Assert.Equal(Aida.Observability.Incidents.IncidentState.Mitigated, site.Incidents.Get(response.Incident).Incident.State);
        // The incident not resolved: both notices hold; without an incident store, the one said within 15 min alone. The
        // step's notice is as severe as its incident; the restore's is for information.
        Assert.Equal([isolated.Message, restored.Message], Notices(withIncidents));
        Assert.Equal(["critical", "info"], withIncidents.Now().Where(a => Labels(a)["alertname"] == "AidaRunbookNotice").Select(a => Labels(a)["severity"]));
        Assert.Equal([restored.Message], Notices(without));

        site.Advance(OnCallAlerts.NoticeHold);
        Assert.Equal(2, Notices(withIncidents).Count());
        Assert.Empty(Notices(without));

        // Resolved (at about 02:40): nothing holds.
        site.Advance(TimeSpan.FromMinutes(100));
        Assert.Equal(Aida.Observability.Incidents.IncidentState.Resolved, site.Incidents.Get(response.Incident).Incident.State);
        Assert.Empty(withIncidents.Now());
    }
}
