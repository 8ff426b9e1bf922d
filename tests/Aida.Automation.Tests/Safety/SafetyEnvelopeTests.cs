using Aida.Automation.Audit;
using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Reliability.Policy;
using Aida.Twin.Simulation;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Automation.Tests.Safety;

/// <summary>Every write to the plant passes the safety envelope: hard limits, steps and rates, blast radius,
/// interlocks and the efficiency envelope. A refused write never reaches the plant and is audited with its reason.</summary>
public sealed class SafetyEnvelopeTests
{
    private static readonly Scenario Reference = ScenarioLoader.Load("reference");

    internal static SafetyEnvelopeSpec Bundled => SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml"));

    internal static Factory Factory => Reference.Factory;

    [Fact]
    public void Setpoint_OutsideTheEnvelope_IsRefused_AndThePlantKeepsItsValue()
    {
        var sim = new Simulator(Reference, new SimulationOptions { Duration = TimeSpan.FromMinutes(5) });
        sim.AdvanceSteps(10);
        var clock = new FakeTimeProvider(Reference.Start);
        var guarded = new GuardedPlant(sim.Plant, new SafetyEnvelope(Bundled, Factory), clock, "agent:test");
        var before = sim.Plant.ReadValue("facility-water/supply_setpoint");

        var result = guarded.Write("facility-water/supply_setpoint", 40);
        Assert.Equal(WriteStatus.Refused, result.Status);
        Assert.Contains("above the envelope's maximum 32", result.Message, StringComparison.Ordinal);
        Assert.Contains("envelope.yaml:6 (facility-water/supply_setpoint)", result.Message, StringComparison.Ordinal);
        sim.AdvanceSteps(10);
        Assert.Equal(before, sim.Plant.ReadValue("facility-water/supply_setpoint"));
        Assert.Equal(WriteStatus.Refused, guarded.Write("facility-water/supply_setpoint", double.NaN).Status);
    }

    [Fact]
    public void Steps_AndRates_AreLimited()
    {
        var plant = new RecordingPlant();
        var clock = new FakeTimeProvider(Reference.Start);
        var guarded = new GuardedPlant(plant, new SafetyEnvelope(Bundled, Factory), clock, "agent:test");
        Assert.True(guarded.Write("cdu-h1-a/supply_setpoint", 30).Ok);

        var big = guarded.Write("cdu-h1-a/supply_setpoint", 32);
        Assert.Contains("a step of 2 celsius from 30 exceeds the envelope's 1 per write", big.Message, StringComparison.Ordinal);
        Assert.Equal(WriteStatus.Refused, big.Status); // too big a step stays too big
        Assert.True(guarded.Write("cdu-h1-a/supply_setpoint", 31).Ok);
        var fast = guarded.Write("cdu-h1-a/supply_setpoint", 31.5);
        Assert.Contains("within a minute exceeds the envelope's 1", fast.Message, StringComparison.Ordinal);
        Assert.Equal(WriteStatus.RateLimited, fast.Status); // too fast may pass once the minute has gone by
        Assert.Equal(HoldCause.ChangeRate, guarded.Judge("cdu-h1-a/supply_setpoint", 31.5).Hold); // the optimiser defers it

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(guarded.Write("cdu-h1-a/supply_setpoint", 31.5).Ok);
        Assert.Equal([30, 31, 31.5], plant.Writes.Select(w => w.Value));
    }

    [Fact]
    public void Interlocks_KeepAChillerWithoutTheEconomiser_ACrahPerHall_AndFewIsolatedRacks()
    {
        var guarded = new GuardedPlant(new RecordingPlant(), new SafetyEnvelope(Bundled, Factory), new FakeTimeProvider(Reference.Start), "agent:test");
        Assert.True(guarded.Write("economiser/enable", 0).Ok);
        Assert.True(guarded.Write("chiller-1/enable", 0).Ok);
        var last = guarded.Write("chiller-2/enable", 0);
        Assert.Contains("would leave 0 chiller(s) enabled with the economiser off", last.Message, StringComparison.Ordinal);

        var crahs = Factory.Cooling.Crahs.Where(c => c.Hall == "hall-1" && !c.Standby).Select(c => c.Id).ToList();
        foreach (var c in crahs.SkipLast(1))
        {
            Assert.True(guarded.Write(c + "/enable", 0).Ok);
        }

        Assert.Contains("CRAH(s) enabled in hall-1", guarded.Write(crahs[^1] + "/enable", 0).Message, StringComparison.Ordinal);

        var racks = Factory.Racks.Take(5).Select(r => r.Id).ToList();
        foreach (var r in racks.Take(4))
        {
            Assert.True(guarded.Write(r + "/isolate", 1).Ok);
        }

        Assert.Contains("would isolate 5 racks at once", guarded.Write(racks[4] + "/isolate", 1).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Interlocks_CountWhatThePlantReports_AChillerTrippedOrStartingAndARackIsolatedByOthers()
    {
        // Regression: the interlocks were judged from Aida's own writes alone. A chiller that tripped, or a standby
        // still starting, counted as carrying load because Aida had last written it enabled; a rack isolated at the
        // panel did not count against the racks isolated at once.
        var reports = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["chiller-1/running"] = 0, ["chiller-2/running"] = 1, ["chiller-3/running"] = double.NaN, ["economiser/enabled"] = 1,
        };
        var racks = Factory.Racks.Take(5).Select(r => r.Id).ToList();
        foreach (var r in racks)
        {
            reports[r + "/isolated"] = 0;
        }

        var plant = new RecordingPlant(reports: reports);
        var guarded = new GuardedPlant(plant, new SafetyEnvelope(Bundled, Factory), new FakeTimeProvider(Reference.Start), "agent:test");
        Assert.True(guarded.Write("economiser/enable", 0).Ok);
        reports["economiser/enabled"] = 0;

        // chiller-1 enabled by the record, tripped by its report: stopping chiller-2 would leave none carrying load.
        var second = guarded.Write("chiller-2/enable", 0);
        Assert.Equal(WriteStatus.RateLimited, second.Status);
        Assert.Contains("would leave 0 chiller(s) enabled with the economiser off (at least 1 required), counting what the plant reports", second.Message, StringComparison.Ordinal);

        // The standby started: it counts once it reports running, not before.
        Assert.True(guarded.Write("chiller-3/enable", 1).Ok);
        reports["chiller-3/running"] = 0;
        Assert.Equal(WriteStatus.RateLimited, guarded.Write("chiller-2/enable", 0).Status);
        reports["chiller-3/running"] = 1;
        Assert.True(guarded.Write("chiller-2/enable", 0).Ok);

        // Two racks isolated by others (a rack's isolation reads back through its isolated point), two by Aida: a fifth
        // is refused; once one of the others' reports powered, it passes.
        reports[racks[0] + "/isolated"] = 1;
        reports[racks[1] + "/isolated"] = 1;
        Assert.True(guarded.Write(racks[2] + "/isolate", 1).Ok);
        Assert.True(guarded.Write(racks[3] + "/isolate", 1).Ok);
        Assert.Contains("would isolate 5 racks at once (at most 4)", guarded.Write(racks[4] + "/isolate", 1).Message, StringComparison.Ordinal);
        reports[racks[1] + "/isolated"] = 0;
        Assert.True(guarded.Write(racks[4] + "/isolate", 1).Ok);

        // A report that a rack Aida isolated is powered does not take it off the count: it may still be isolated.
        reports[racks[2] + "/isolated"] = 0;
        Assert.Contains("would isolate 5 racks at once", guarded.Write(Factory.Racks[5].Id + "/isolate", 1).Message, StringComparison.Ordinal);
        Assert.Equal(["economiser/enable", "chiller-3/enable", "chiller-2/enable", racks[2] + "/isolate", racks[3] + "/isolate", racks[4] + "/isolate"], plant.Writes.Select(w => w.Name));
    }

    [Fact]
    public void AnActuatorWhoseReadBackReportsNothing_AndNoWriteOnRecord_IsJudgedFromTheFarthestEndOfItsRange()
    {
        // Regression (found by the read-back property): with its reading missing and nothing written, a set point's
        // step was judged 0, so any value within the limits passed: cdu-h1-a's set point 25 -> 23.73 in one write.
        var reports = new Dictionary<string, double>(StringComparer.Ordinal) { ["cdu-h1-a/supply_setpoint"] = double.NaN, ["h1-a01/gpu_power_limit"] = double.NaN };
        var plant = new RecordingPlant(reports: reports);
        var guarded = new GuardedPlant(plant, new SafetyEnvelope(Bundled, Factory), new FakeTimeProvider(Reference.Start), "agent:test");

        var blind = guarded.Write("cdu-h1-a/supply_setpoint", 24);
        Assert.Equal(WriteStatus.RateLimited, blind.Status);
        Assert.Contains("its read-back reports nothing and no write of it is on record, so it may be anywhere in [", blind.Message, StringComparison.Ordinal);

        // A GPU power limit's whole range lies within one step of 1,000 W: that write is safe wherever the limit is.
        Assert.True(guarded.Write("h1-a01/gpu_power_limit", 1000).Ok);

        // The reading back: judged from it.
        reports["cdu-h1-a/supply_setpoint"] = 25;
        Assert.Contains("a step of 2 celsius from 25", guarded.Write("cdu-h1-a/supply_setpoint", 23).Message, StringComparison.Ordinal);
        Assert.True(guarded.Write("cdu-h1-a/supply_setpoint", 24).Ok);
        Assert.Equal([("h1-a01/gpu_power_limit", 1000.0), ("cdu-h1-a/supply_setpoint", 24.0)], plant.Writes);
    }

    [Fact]
    public void ASetPointMovedBehindAidasBack_IsJudgedFromWhereThePlantReadsItBack_AsWellAsFromAidasWrite()
    {
        // Regression: after its first write, a set point's step was judged from Aida's record alone, so one moved at the
        // panel (or by another BMS client) from 25 to 20 while Aida ran was then written 26: a step of 6 against 1.
        const string Setpoint = "cdu-h1-a/supply_setpoint";
        var clock = new FakeTimeProvider(Reference.Start);
        var reports = new Dictionary<string, double>(StringComparer.Ordinal) { [Setpoint + "_command"] = 25 };
        var plant = new RecordingPlant(reports: reports, clock: clock);
        using var audit = new AuditLog(Path.Combine(Path.GetTempPath(), "aida-dispute-" + Guid.NewGuid().ToString("N"), "audit.db"), clock);
        var guarded = new GuardedPlant(plant, new SafetyEnvelope(Bundled, Factory), clock, "agent:test", audit);
        Assert.True(guarded.Write(Setpoint, 25).Ok);

        // Moved a little: a write one step from Aida's 25 but more than one from the plant's 24.5 is refused; one within a
        // step of both passes.
        clock.Advance(TimeSpan.FromSeconds(30));
        reports[Setpoint + "_command"] = 24.5;
        var refused = guarded.Write(Setpoint, 25.75);
        Assert.Equal(WriteStatus.Refused, refused.Status);
        Assert.Contains("a step of 1.25 celsius from 24.5 (where the plant reads it back; Aida last wrote 25: moved by another writer, or a read-back that lies.", refused.Message, StringComparison.Ordinal);
        Assert.Equal([(Setpoint, 25.0, 24.5, clock.GetUtcNow())], guarded.Disputes());
        Assert.True(guarded.Write(Setpoint, 25.5).Ok);
        Assert.Empty(guarded.Disputes()); // a confirmed write: it is where Aida wrote it

        // Moved far, to 20: no write is within one step of both, until an operator adopts the read-back.
        clock.Advance(TimeSpan.FromSeconds(60));
        reports[Setpoint + "_command"] = 20;
        Assert.Contains("a step of 6 celsius from 20", guarded.Write(Setpoint, 26).Message, StringComparison.Ordinal);
        Assert.Contains("a step of 3.5 celsius from 25.5 (the plant reads it back at 20, where Aida last wrote 25.5: a step is judged from both)", guarded.Write(Setpoint, 22).Message, StringComparison.Ordinal);
        Assert.Null(guarded.AdoptReadBack("cdu-h1-a/pump_speed", "api:operator", "moved at the panel", out var noPoint));
        Assert.Equal("cdu-h1-a/pump_speed has no read-back point", noPoint);
        Assert.NotNull(guarded.AdoptReadBack(Setpoint, "api:operator", "moved at the panel for a valve test", out _));
        Assert.Null(guarded.AdoptReadBack(Setpoint, "api:operator", "again", out var notDisputed));
        Assert.Contains("does not disagree with what Aida wrote", notDisputed, StringComparison.Ordinal);
        Assert.True(guarded.Write(Setpoint, 21).Ok);

        // The read-back lagging a poll behind Aida's write is not a move; still showing the value before it a poll later is.
        clock.Advance(TimeSpan.FromSeconds(60));
        reports[Setpoint + "_command"] = 21;
        Assert.True(guarded.Write(Setpoint, 22).Ok);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(guarded.Disputes());
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(21, Assert.Single(guarded.Disputes()).ReadBack);

        // Reading back what Aida wrote again ends it.
        reports[Setpoint + "_command"] = 22;
        Assert.Empty(guarded.Disputes());
        var observed = audit.Read().Where(e => e.Kind == AuditKind.Observation && e.Subject == Setpoint).Select(e => e.Detail).ToList();
        Assert.Equal(3, observed.Count(d => d.StartsWith("the plant reads it back at ", StringComparison.Ordinal)));
        Assert.Single(observed, d => d.StartsWith("the read-back 22 agrees again", StringComparison.Ordinal));
        Assert.Single(audit.Read(), e => e.Kind == AuditKind.Decision && e.Actor == "api:operator" && e.Detail.StartsWith(Setpoint + ": adopted the read-back 20", StringComparison.Ordinal));
        Assert.Equal([25.0, 25.5, 21, 22], plant.Writes.Select(w => w.Value));
    }

    [Fact]
    public void ASetPointOfADeviceBackFromAnOutage_IsWhereItReadsBack_NotWhereAidaLastWroteIt()
    {
        // Regression (session 46): the twin served again over the wire started from its default set points, 30 °C where
        // Aida had written 28. Judged in dispute from both, with raises frozen by the error budget, every move the
        // optimiser planned was refused (29 a raise over Aida's 28, 27 a step of 3 from the reading) until a person
        // adopted the read-back.
        const string Setpoint = "cdu-h1-a/supply_setpoint";
        var rack = Factory.Racks[0].Id;
        var clock = new FakeTimeProvider(Reference.Start);
        var reports = new Dictionary<string, double>(StringComparer.Ordinal) { [Setpoint + "_command"] = 28, [rack + "/isolated"] = 0 };
        DeviceReturn? back = null;
        var down = false;
        var answer = new WriteResult(WriteStatus.Accepted, "");
        var plant = new RecordingPlant(answer: (_, _) => answer, reports: reports, clock: clock, returned: () => back, heldBack: () => down);
        var frozen = new EfficiencyEnvelope(EfficiencyRegime.Freeze, 20, 30, EfficiencyActions.None, 0, 0, true, "rack-inlet-envelope", "fast burn");
        using var audit = new AuditLog(Path.Combine(Path.GetTempPath(), "aida-back-" + Guid.NewGuid().ToString("N"), "audit.db"), clock);
        var guarded = new GuardedPlant(plant, new SafetyEnvelope(Bundled, Factory), clock, "agent:test", audit, () => frozen);
        Assert.True(guarded.Write(Setpoint, 28).Ok);
        Assert.True(guarded.Write(rack + "/isolate", 1).Ok);
        reports[rack + "/isolated"] = 1;

        // Lost: its read-back goes stale; a write sent and not confirmed may have taken effect (27.5), one not sent did
        // not (27: not a value it may be at).
        clock.Advance(TimeSpan.FromMinutes(1));
        reports[Setpoint + "_command"] = double.NaN;
        reports[rack + "/isolated"] = double.NaN;
        answer = new WriteResult(WriteStatus.Unconfirmed, "connection refused");
        Assert.Equal(WriteStatus.Unconfirmed, guarded.Write(Setpoint, 27.5).Status);
        clock.Advance(TimeSpan.FromMinutes(1));
        answer = new WriteResult(WriteStatus.NotSent, "not sent: its device is down");
        Assert.Equal(WriteStatus.NotSent, guarded.Write(Setpoint, 27).Status);
        Assert.Equal([27.5], guarded.Unconfirmed(Setpoint));

        // Known down with its last write failed, a write is not handed to the plant at all: refused for now, so the
        // optimiser defers it (Judge) and a runbook waits for the device.
        down = true;
        var sent = plant.Sent;
        var held = guarded.Write(Setpoint, 27);
        Assert.Equal(WriteStatus.RateLimited, held.Status);
        Assert.Contains("not written while its device is down", held.Message, StringComparison.Ordinal);
        Assert.Equal(HoldCause.DeviceDown, guarded.Judge(Setpoint, 27).Hold); // the optimiser defers it, saying why
        Assert.Equal(sent, plant.Sent);
        down = false;

        // Answering again, before a reading from after its return (none, then one stamped before it): not written,
        // wherever it may be, and no dispute with a value Aida no longer takes as known (over the wire a dispute read
        // "where Aida last wrote NaN" when the poll's readings were stamped a millisecond before the device's return).
        clock.Advance(TimeSpan.FromMinutes(2));
        back = DeviceReturn.ReachedAgain(clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        answer = new WriteResult(WriteStatus.Accepted, "");
        var waiting = guarded.Write(Setpoint, 28);
        Assert.Equal(WriteStatus.RateLimited, waiting.Status);
        Assert.Contains("has not read it back since: it may be back at its own settings", waiting.Message, StringComparison.Ordinal);
        reports[Setpoint + "_command"] = 30;
        Assert.Equal(HoldCause.DeviceBackUnread, guarded.Judge(Setpoint, 28).Hold);
        Assert.Empty(guarded.Disputes());

        // It reads back its default: that is where it is. No dispute; a step from 30 passes (29, colder), one from what
        // Aida wrote before does not (27 is 3 from 30), and the adoption is audited as Aida's decision. The rack Aida
        // isolated reads back powered: not adopted, a dispute (paged as switched behind Aida's back).
        clock.Advance(TimeSpan.FromSeconds(10));
        reports[Setpoint + "_command"] = 30;
        reports[rack + "/isolated"] = 0;
        Assert.True(guarded.TryGetWritten(Setpoint, out var planFrom)); // where the optimiser's next plan starts
        Assert.Equal(30, planFrom);
        Assert.Contains("a step of 3 celsius from 30", guarded.Write(Setpoint, 27).Message, StringComparison.Ordinal);
        Assert.Equal(rack + "/isolate", Assert.Single(guarded.Disputes()).Actuator);

        // A guard started again on this log takes the adopted value up as the last on record.
        var again = new GuardedPlant(plant, new SafetyEnvelope(Bundled, Factory), clock, "agent:test", audit);
        Assert.Equal([30.0], again.TakenUp.MayBeAt.Single(m => m.Actuator == Setpoint).Values);
        Assert.True(guarded.Write(Setpoint, 29).Ok);
        Assert.Equal([28.0, 1, 29], plant.Writes.Select(w => w.Value));
        var entries = audit.Read().Where(e => e.Subject == Setpoint).ToList();
        Assert.Single(entries, e => e.Kind == AuditKind.Observation && e.Detail.StartsWith("its device answered again at ", StringComparison.Ordinal) && e.Detail.EndsWith("(Aida last wrote 28 or 27.5)", StringComparison.Ordinal));
        Assert.Single(entries, e => e.Kind == AuditKind.Decision && e.Actor == "agent:test" && e.Detail.StartsWith(Setpoint + ": adopted the read-back 30 (read at ", StringComparison.Ordinal) && e.Detail.Contains("in place of 28 or 27.5 as written by Aida", StringComparison.Ordinal));
    }

    [Fact]
    public void ASetPointOfADeviceFoundRestarted_WithNoPollFailing_IsWhereItReadsBack_Too()
    {
        // A device behind a gateway restarts without a failed poll; its collector finds it by its uptime. Same rule as
        // after an outage: not written until it reads back from after the restart, then where it reads.
        const string Setpoint = "cdu-h1-a/supply_setpoint";
        var clock = new FakeTimeProvider(Reference.Start);
        var reports = new Dictionary<string, double>(StringComparer.Ordinal) { [Setpoint + "_command"] = 28 };
        DeviceReturn? back = null;
        var plant = new RecordingPlant(reports: reports, clock: clock, returned: () => back);
        using var audit = new AuditLog(Path.Combine(Path.GetTempPath(), "aida-restarted-" + Guid.NewGuid().ToString("N"), "audit.db"), clock);
        var guarded = new GuardedPlant(plant, new SafetyEnvelope(Bundled, Factory), clock, "agent:test", audit);
        Assert.True(guarded.Write(Setpoint, 28).Ok);

        clock.Advance(TimeSpan.FromMinutes(1));
        back = DeviceReturn.Restarted(clock.GetUtcNow() + TimeSpan.FromSeconds(1), "its uptime read 4 s, 10 s after it read 86400 s");
        var held = guarded.Write(Setpoint, 27);
        Assert.Equal(WriteStatus.RateLimited, held.Status);
        Assert.Contains($"its device was found restarted at {back.At:O} (its uptime read 4 s, 10 s after it read 86400 s), and has not read it back since", held.Message, StringComparison.Ordinal);
        Assert.Equal(HoldCause.DeviceBackUnread, guarded.Judge(Setpoint, 27).Hold);

        // Its controller's default, read after the restart: adopted; a step of 1 from it passes.
        clock.Advance(TimeSpan.FromSeconds(10));
        reports[Setpoint + "_command"] = 30;
        Assert.True(guarded.Write(Setpoint, 29).Ok);
        var entries = audit.Read().Where(e => e.Subject == Setpoint).ToList();
        Assert.Single(entries, e => e.Kind == AuditKind.Observation && e.Detail.StartsWith("its device was found restarted at ", StringComparison.Ordinal) && e.Detail.Contains("it may be back at its own settings", StringComparison.Ordinal));
        Assert.Single(entries, e => e.Kind == AuditKind.Decision && e.Detail.StartsWith(Setpoint + ": adopted the read-back 30 (read at ", StringComparison.Ordinal) && e.Detail.EndsWith("(its uptime read 4 s, 10 s after it read 86400 s), and is where it reads", StringComparison.Ordinal));
    }

    [Fact]
    public void AUnitOrRackSwitchedBehindAidasBack_IsADispute_ListedAndAudited_UntilItAgreesOrAPersonAdoptsIt()
    {
        // Regression (session 42): only actuators with a max_step rule were compared with their read-back, so a standby
        // chiller Aida started and a person stopped at the panel, or a leaking rack Aida isolated and someone powered on
        // again, went unseen (the interlocks counted the chiller's running report; nobody was told).
        var chiller = Factory.Cooling.Chillers.First(c => c.Standby).Id + "/enable";
        var rack = Factory.Racks[0].Id;
        var clock = new FakeTimeProvider(Reference.Start);
        var reports = new Dictionary<string, double>(StringComparer.Ordinal) { [chiller + "_command"] = 0, [rack + "/isolated"] = 0 };
        using var audit = new AuditLog(Path.Combine(Path.GetTempPath(), "aida-switch-" + Guid.NewGuid().ToString("N"), "audit.db"), clock);
        var guarded = new GuardedPlant(new RecordingPlant(reports: reports, clock: clock), new SafetyEnvelope(Bundled, Factory), clock, "agent:test", audit);
        Assert.True(guarded.Write(chiller, 1).Ok);
        Assert.True(guarded.Write(rack + "/isolate", 1).Ok);

        // Within a poll the read-backs still show the state before: lagging, no dispute; then they follow.
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(guarded.Disputes());
        reports[chiller + "_command"] = 1;
        reports[rack + "/isolated"] = 1;
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(guarded.Disputes());

        // Stopped at the panel, powered on again: both in dispute, each audited once.
        reports[chiller + "_command"] = 0;
        reports[rack + "/isolated"] = 0;
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal([(chiller, 1.0, 0.0, clock.GetUtcNow()), (rack + "/isolate", 1.0, 0.0, clock.GetUtcNow())],
            guarded.Disputes().OrderBy(d => d.Actuator == chiller ? 0 : 1));
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(2, guarded.Disputes().Count);
        var noted = audit.Read().Where(e => e.Kind == AuditKind.Observation && e.Detail.StartsWith("the plant reads it back at 0", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, noted.Count);
        Assert.All(noted, e => Assert.Contains("where Aida last wrote 1: switched by another writer (a person at the panel, another controller), or a read-back that lies", e.Detail, StringComparison.Ordinal));

        // A person who stopped the chiller on purpose adopts its read-back; the rack reads isolated again, which ends its.
        Assert.NotNull(guarded.AdoptReadBack(chiller, "api:operator", "stopped for a bearing inspection", out _));
        Assert.Equal(0, guarded.Commanded(chiller));
        reports[rack + "/isolated"] = 1;
        Assert.Empty(guarded.Disputes());
        Assert.Single(audit.Read(), e => e.Subject == rack + "/isolate" && e.Detail.StartsWith("the read-back 1 agrees again", StringComparison.Ordinal));
    }

    [Fact]
    public void AReadBackDismissedAsLying_IsNoDisputeWhileItReadsSo_AndOneThatReadsOtherwiseIsJudgedAgain()
    {
        const string Setpoint = "cdu-h1-a/supply_setpoint";
        var clock = new FakeTimeProvider(Reference.Start);
        var reports = new Dictionary<string, double>(StringComparer.Ordinal) { [Setpoint + "_command"] = 25 };
        var guarded = new GuardedPlant(new RecordingPlant(reports: reports, clock: clock), new SafetyEnvelope(Bundled, Factory), clock, "agent:test");
        Assert.True(guarded.Write(Setpoint, 24).Ok);

        // The BMS point is stuck at 25: a dispute, and 23 (one step from Aida's 24) is two from the reading.
        clock.Advance(TimeSpan.FromSeconds(70));
        Assert.Contains("a step of 2 celsius from 25", guarded.Write(Setpoint, 23).Message, StringComparison.Ordinal);
        Assert.NotNull(guarded.DismissReadBack(Setpoint, "api:approver-1", "BMS point stuck since the controller's firmware update", out _));
        Assert.Empty(guarded.Disputes());
        Assert.True(guarded.Write(Setpoint, 23).Ok);
        clock.Advance(TimeSpan.FromSeconds(70));
        Assert.True(guarded.Write(Setpoint, 22).Ok);

        // Reading something else than the dismissed value: judged again.
        clock.Advance(TimeSpan.FromSeconds(70));
        reports[Setpoint + "_command"] = 30;
        Assert.Contains("a step of 9 celsius from 30", guarded.Write(Setpoint, 21).Message, StringComparison.Ordinal);
        Assert.Null(guarded.DismissReadBack("cdu-h1-a/pump_speed", "api:approver-1", "x", out var error));
        Assert.Equal("cdu-h1-a/pump_speed has no read-back point", error);
    }

    [Fact]
    public void EfficiencyEnvelope_FreezesRaises_ButAlwaysAllowsMovesBackToSafety()
    {
        var frozen = new EfficiencyEnvelope(EfficiencyRegime.Freeze, 20, 30, EfficiencyActions.None, 0, 0, true, "rack-inlet-envelope", "fast burn");
        var guarded = new GuardedPlant(new RecordingPlant(), new SafetyEnvelope(Bundled, Factory), new FakeTimeProvider(Reference.Start), "agent:test", efficiency: () => frozen);
        Assert.True(guarded.Write("facility-water/supply_setpoint", 20).Ok);
        Assert.Contains("above the efficiency envelope's 20 °C (Freeze: fast burn)", guarded.Write("facility-water/supply_setpoint", 21).Message, StringComparison.Ordinal);
        Assert.True(guarded.Write("facility-water/supply_setpoint", 19).Ok);
        Assert.True(guarded.Write("cdu-h1-a/pump_speed", 1).Ok);
        Assert.Contains("trimming pumps and fans is not allowed now", guarded.Write("cdu-h1-a/pump_speed", 0.9).Message, StringComparison.Ordinal);
        Assert.Contains("stopping units is not allowed now", guarded.Write("chiller-1/enable", 0).Message, StringComparison.Ordinal);

        // Air too: a warmer CRAH supply waits for budget; a colder one does not.
        Assert.True(guarded.Write("crah-h1-1/supply_setpoint", 22).Ok);
        Assert.Contains("raising setpoints is not allowed now", guarded.Write("crah-h1-1/supply_setpoint", 23).Message, StringComparison.Ordinal);
        Assert.True(guarded.Write("crah-h1-1/supply_setpoint", 21).Ok);
    }

    [Fact]
    public void EfficiencyEnvelope_LetsColdWaterComeBackUpToTheSafeValue_InAnyRegime_ButNoHigher()
    {
        var clock = new FakeTimeProvider(Reference.Start);
        var envelope = new EfficiencyEnvelope(EfficiencyRegime.Freeze, 20, 28, EfficiencyActions.None, 0, 0, true, "rack-inlet-envelope", "slow burn") { SafeFacilityWaterSupplyCelsius = 20 };
        var guarded = new GuardedPlant(new RecordingPlant(), new SafetyEnvelope(Bundled, Factory), clock, "agent:test", efficiency: () => envelope);
        foreach (var sp in new[] { 19.0, 18, 17, 16.5 })
        {
            Assert.True(guarded.Write("facility-water/supply_setpoint", sp).Ok);
            clock.Advance(TimeSpan.FromMinutes(1));
        }

        foreach (var sp in new[] { 17.5, 18.5, 19.5, 20 })
        {
            var back = guarded.Write("facility-water/supply_setpoint", sp);
            Assert.True(back.Ok, back.Message);
            clock.Advance(TimeSpan.FromMinutes(1));
        }

        // Above the safe value a raise needs leave, in a hold as in a freeze; and the CDUs' setpoints have no such return.
        envelope = envelope with { Regime = EfficiencyRegime.Hold, MaxFacilityWaterSupplyCelsius = 24 };
        Assert.Contains("raising setpoints is not allowed now (Hold", guarded.Write("facility-water/supply_setpoint", 20.5).Message, StringComparison.Ordinal);
        Assert.True(guarded.Write("cdu-h1-a/supply_setpoint", 26).Ok);
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Contains("raising setpoints is not allowed now", guarded.Write("cdu-h1-a/supply_setpoint", 27).Message, StringComparison.Ordinal);

        // An envelope that does not name its safe value allows no return.
        envelope = envelope with { SafeFacilityWaterSupplyCelsius = double.NaN };
        Assert.True(guarded.Write("facility-water/supply_setpoint", 19).Ok);
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Contains("raising setpoints is not allowed now", guarded.Write("facility-water/supply_setpoint", 19.5).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APumpTrimmedStepByStep_CanBeBroughtBackToFullInOneWrite()
    {
        // Regression: the optimiser trims pumps 0.1 at a time; the CDU pump failure runbook must be able to bring one
        // back to full speed at once (a 0.2 step limit once refused it and the runbook rolled back).
        var clock = new FakeTimeProvider(Reference.Start);
        var guarded = new GuardedPlant(new RecordingPlant(), new SafetyEnvelope(Bundled, Factory), clock, "agent:test");
        foreach (var speed in new[] { 1.0, 0.9, 0.8, 0.7 })
        {
            Assert.True(guarded.Write("cdu-h1-a/pump_speed", speed).Ok);
            clock.Advance(TimeSpan.FromMinutes(2));
        }

        Assert.True(guarded.Write("cdu-h1-a/pump_speed", 1.0).Ok);
    }

    [Fact]
    public void WritesPerMinute_AreCapped()
    {
        var spec = SafetyEnvelopeSpec.Parse("limits: []\nmax_writes_per_minute: 3\n");
        var guarded = new GuardedPlant(new RecordingPlant(), new SafetyEnvelope(spec, Factory), new FakeTimeProvider(Reference.Start), "agent:test");
        for (var i = 0; i < 3; i++)
        {
            Assert.True(guarded.Write("cdu-h1-a/pump_speed", 1).Ok);
        }

        Assert.Contains("3 writes within a minute already", guarded.Write("cdu-h1-a/pump_speed", 1).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryWrite_IsAudited_WithTheRefusalReason()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aida-safety-tests", Guid.NewGuid().ToString("N"));
        using var audit = new AuditLog(Path.Combine(dir, "audit.db"), new FakeTimeProvider(Reference.Start));
        var guarded = new GuardedPlant(new RecordingPlant(), new SafetyEnvelope(Bundled, Factory), new FakeTimeProvider(Reference.Start), "agent:cooling-optimiser", audit);
        guarded.Write("facility-water/supply_setpoint", 24);
        guarded.Write("facility-water/supply_setpoint", 50);
        var entries = audit.Read();
        Assert.Equal([AuditKind.Action, AuditKind.Result, AuditKind.Action, AuditKind.Result], entries.Select(e => e.Kind));
        Assert.Equal("accepted", entries[1].Detail);
        Assert.StartsWith("refused: facility-water/supply_setpoint: 50 celsius is outside the actuator's range", entries[3].Detail, StringComparison.Ordinal);
        Assert.All(entries, e => Assert.Equal("agent:cooling-optimiser", e.Actor));
    }

    [Theory]
    [InlineData("limits:\n  - {actuator: x/y, min: 30, max: 20}\n", "envelope.yaml:2: limits[0].min: min 30 is above max 20")]
    [InlineData("limits:\n  - {actuator: x/y, max_step: -1}\n", "limits[0].max_step")]
    [InlineData("limits:\n  - {actuator: x/y, colour: red}\n", "colour")]
    [InlineData("limits:\n  - {actuator: x/y, min: warm}\n", "limits[0].min")]
    [InlineData("interlocks: {}\n", "limits")]
    public void BadEnvelope_NamesFileLineAndField(string yaml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => SafetyEnvelopeSpec.Parse(yaml));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("limits:\n  - {actuator: \"cdu-*/supply_setpont\", max: 40}\n", "envelope.yaml:2: limits[0].actuator: 'cdu-*/supply_setpont' matches no actuator of the plant")]
    [InlineData("limits:\n  - {actuator: \"*/pump_speed\", min: 0.5}\n  - {actuator: facility-water/pump_speed, min: 0.4}\n", "envelope.yaml:3: limits[1].actuator: 'facility-water/pump_speed' governs nothing")]
    public void ARuleThatGovernsNoActuatorOfThePlant_IsAMistake(string yaml, string expected)
    {
        // A typo leaves the actuators the rule meant with their own ranges only; a rule after a broader one never applies.
        var plant = new Simulator(ScenarioLoader.Load("reference"), new SimulationOptions { Duration = TimeSpan.FromSeconds(1) }).Plant;
        var actuators = plant.Actuators.Select(a => a.Name).ToList();
        var e = Assert.Throws<ConfigException>(() => SafetyEnvelopeSpec.Parse(yaml).CheckAgainst(actuators));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Bundled.CheckAgainst(actuators);
    }

    /// <summary>A plant with the twin's actuators that records the writes it takes. It reports the points named in
    /// <paramref name="reports"/> (a unit's <c>running</c>, a rack's <c>isolated</c>) at the values the test sets there
    /// (NaN: missing), and no other point.</summary>
    /// <summary>A plant of the twin's actuators that records the writes that reach it, answers them as told, and reports
    /// <paramref name="reports"/>' values as its points, read at <paramref name="clock"/>'s now (else undated).</summary>
    internal sealed class RecordingPlant(Func<int, double, WriteResult>? answer = null, Dictionary<string, double>? reports = null, TimeProvider? clock = null, Func<DeviceReturn?>? returned = null, Func<bool>? heldBack = null) : IPlant, IDeviceAvailability
    {
        private static readonly IReadOnlyList<ActuatorInfo> TwinActuators = new Simulator(Reference, new SimulationOptions { Duration = TimeSpan.FromMinutes(1) }).Plant.Actuators;

        private readonly IReadOnlyList<PointInfo> _points = [.. (reports?.Keys ?? Enumerable.Empty<string>()).Order(StringComparer.Ordinal)
            .Select((name, i) => new PointInfo(i, name, name[..name.IndexOf('/', StringComparison.Ordinal)], "aida_status", new Dictionary<string, string>(), "bool", TimeSpan.FromSeconds(10)))];

        public List<(string Name, double Value)> Writes { get; } = [];

        public IReadOnlyList<PointInfo> Points => _points;

        public IReadOnlyList<ActuatorInfo> Actuators => TwinActuators;

        public PointReading Read(int point) => new(reports![_points[point].Name], clock?.GetUtcNow() ?? default);

        /// <summary>When every device of the plant came back after an outage or a restart (null: never).</summary>
        public DeviceReturn? ReturnOf(int actuator) => returned?.Invoke();

        /// <summary>Whether every device of the plant is down with a write to it failed.</summary>
        public bool WritesHeldBack(int actuator) => heldBack?.Invoke() ?? false;

        /// <summary>Every write that reached this plant, whatever it answered.</summary>
        public int Sent { get; private set; }

        public WriteResult Write(int actuator, double value)
        {
            Sent++;
            var result = answer?.Invoke(actuator, value) ?? new WriteResult(WriteStatus.Accepted, "");
            if (result.Ok)
            {
                Writes.Add((Actuators[actuator].Name, value));
            }

            return result;
        }
    }
}
