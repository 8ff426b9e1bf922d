using Aida.Automation.Audit;
using Aida.Automation.Safety;
using Aida.Model.Plant;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Automation.Tests.Safety;

/// <summary>A restart of Aida does not reset the safety envelope: a guard built on the audit log of the run before takes
/// up its writes, so the racks isolated, the units stopped and the changes of the last minute still count.</summary>
public sealed class GuardRestartTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aida-guard-restart-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SafetyEnvelopeTests.RecordingPlant _plant = new();

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void AfterARestart_TheRacksIsolatedAndTheChillerStoppedBefore_StillCountAgainstTheInterlocks()
    {
        var racks = SafetyEnvelopeTests.Factory.Racks.Take(5).Select(r => r.Id).ToList();
        using (var audit = Audit())
        {
            var before = Guard(audit);
            Assert.True(before.TakenUp.Nothing);
            foreach (var r in racks.Take(4))
            {
                Assert.True(before.Write(r + "/isolate", 1).Ok);
            }

            Assert.True(before.Write("economiser/enable", 0).Ok);
            Assert.True(before.Write("chiller-1/enable", 0).Ok);
        }

        // A guard that forgot them (none of these actuators reads back) would let both through.
        var forgetful = new GuardedPlant(_plant, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory), _clock, "agent:test");
        Assert.True(forgetful.Write(racks[4] + "/isolate", 1).Ok);
        Assert.True(forgetful.Write("chiller-2/enable", 0).Ok);

        _clock.Advance(TimeSpan.FromHours(3));
        using var reopened = Audit();
        var after = Guard(reopened);
        Assert.Equal(racks.Take(4).Select(r => r + "/isolate").Append("chiller-1/enable").Append("economiser/enable").Order(StringComparer.Ordinal), after.TakenUp.MayBeAt.Select(m => m.Actuator));
        Assert.Contains("would isolate 5 racks at once", after.Write(racks[4] + "/isolate", 1).Message, StringComparison.Ordinal);
        Assert.Contains("would leave 0 chiller(s) enabled with the economiser off", after.Write("chiller-2/enable", 0).Message, StringComparison.Ordinal);
        var taken = Assert.Single(reopened.Read(), e => e.Kind == AuditKind.Observation);
        Assert.Equal("safety-envelope", taken.Subject);
        Assert.StartsWith("taken up after a restart: 6 actuator(s) may still be at the values last written before the restart, 6 of them not read back (chiller-1/enable 0, economiser/enable 0, ", taken.Detail, StringComparison.Ordinal);

        // A confirmed write is known again: a rack released lets another be isolated.
        Assert.True(after.Write(racks[0] + "/isolate", 0).Ok);
        Assert.True(after.Write(racks[4] + "/isolate", 1).Ok);
    }

    [Fact]
    public void AfterARestart_ARackIsolatedBefore_ThatThePlantReportsPowered_NoLongerCounts_OnceItReports()
    {
        // Regression: a rack's isolation did not read back, so one isolated before the restart and powered at the panel
        // while Aida was down counted as isolated until Aida wrote it again. Its isolated point reads it back.
        var racks = SafetyEnvelopeTests.Factory.Racks.Take(5).Select(r => r.Id).ToList();
        var reports = racks.ToDictionary(r => r + "/isolated", _ => double.NaN, StringComparer.Ordinal);
        var (after, reopened) = RestartedAfter(new SafetyEnvelopeTests.RecordingPlant(reports: reports), before =>
        {
            foreach (var r in racks.Take(4))
            {
                Assert.True(before.Write(r + "/isolate", 1).Ok);
            }
        });
        using var _ = reopened;
        Assert.Contains("4 actuator(s) may still be at the values last written before the restart, 0 of them not read back", reopened.Read().Single(e => e.Kind == AuditKind.Observation).Detail, StringComparison.Ordinal);

        // No reading yet: the four isolated before still count.
        Assert.Contains("would isolate 5 racks at once", after.Write(racks[4] + "/isolate", 1).Message, StringComparison.Ordinal);

        // The plant reports them: three isolated, the first powered again at the panel. A fifth rack may be isolated.
        reports[racks[0] + "/isolated"] = 0;
        foreach (var r in racks.Skip(1).Take(3))
        {
            reports[r + "/isolated"] = 1;
        }

        reports[racks[4] + "/isolated"] = 0;
        Assert.True(after.Write(racks[4] + "/isolate", 1).Ok);
    }

    [Fact]
    public void AfterARestart_AUnitStoppedBefore_ThatThePlantReadsBackEnabled_CountsAsOn_OnceItReads()
    {
        // Regression: a unit's enable did not read back (its running point is a report, not the command), so a CRAH
        // stopped before the restart and started again while Aida was down (by the BMS's schedule, or at the panel) counted
        // as stopped until Aida wrote it. Its enable_command point, the start/stop output as the BMS reads it back, does.
        var hall = SafetyEnvelopeTests.Factory.Cooling.Crahs[0].Hall;
        var crahs = SafetyEnvelopeTests.Factory.Cooling.Crahs.Where(c => c.Hall == hall && !c.Standby).Select(c => c.Id).ToList();
        Assert.True(crahs.Count >= 2, $"the reference factory's {hall} has at least two CRAHs in service");
        var reports = crahs.ToDictionary(c => c + "/enable_command", _ => double.NaN, StringComparer.Ordinal);
        var (after, reopened) = RestartedAfter(new SafetyEnvelopeTests.RecordingPlant(reports: reports), before =>
        {
            foreach (var c in crahs.Skip(1))
            {
                Assert.True(before.Write(c + "/enable", 0).Ok);
            }
        });
        using var _ = reopened;
        Assert.Contains($"{crahs.Count - 1} actuator(s) may still be at the values last written before the restart, 0 of them not read back", reopened.Read().Single(e => e.Kind == AuditKind.Observation).Detail, StringComparison.Ordinal);

        // No reading yet: the CRAHs stopped before still count as stopped, and the last one in service may not stop.
        Assert.Contains($"would leave 0 CRAH(s) enabled in {hall}", after.Write(crahs[0] + "/enable", 0).Message, StringComparison.Ordinal);

        // The plant reads back the last of them enabled again (and the first still enabled): the first may stop.
        reports[crahs[0] + "/enable_command"] = 1;
        foreach (var c in crahs.Skip(1))
        {
            reports[c + "/enable_command"] = 0;
        }

        reports[crahs[^1] + "/enable_command"] = 1;
        Assert.True(after.Write(crahs[0] + "/enable", 0).Ok);
    }

    [Fact]
    public void AfterARestart_TheLastMinutesChanges_StillCountAgainstTheRate_AndTheStepIsJudgedFromTheValueWrittenBefore()
    {
        using (var audit = Audit())
        {
            var before = Guard(audit);
            Assert.True(before.Write("cdu-h1-a/supply_setpoint", 30).Ok);
            _clock.Advance(TimeSpan.FromSeconds(70));
            Assert.True(before.Write("cdu-h1-a/supply_setpoint", 30.5).Ok);
            Assert.True(before.Write("cdu-h1-a/supply_setpoint", 31).Ok);
        }

        _clock.Advance(TimeSpan.FromSeconds(20));
        using var reopened = Audit();
        var after = Guard(reopened);
        Assert.Equal(2, after.TakenUp.Changes);
        Assert.Equal(2, after.TakenUp.Writes);
        var fast = after.Write("cdu-h1-a/supply_setpoint", 31.5);
        Assert.Equal(WriteStatus.RateLimited, fast.Status);
        Assert.Contains("1.5 celsius of change within a minute exceeds the envelope's 1", fast.Message, StringComparison.Ordinal);
        Assert.Contains("a step of 2 celsius from 31 exceeds the envelope's 1 per write", after.Write("cdu-h1-a/supply_setpoint", 33).Message, StringComparison.Ordinal);

        _clock.Advance(TimeSpan.FromSeconds(40));
        Assert.True(after.Write("cdu-h1-a/supply_setpoint", 31.5).Ok);
        Assert.Equal([30, 30.5, 31, 31.5], _plant.Writes.Select(w => w.Value));
    }

    [Fact]
    public void AfterARestart_AFirstChangeOfTheLastMinute_WhoseValueBeforeIsNotOnRecord_CountsAsTheWholeRate()
    {
        using (var audit = Audit())
        {
            Assert.True(Guard(audit).Write("cdu-h1-a/supply_setpoint", 30).Ok);
        }

        _clock.Advance(TimeSpan.FromSeconds(30));
        using var reopened = Audit();
        var after = Guard(reopened);
        Assert.Equal(WriteStatus.RateLimited, after.Write("cdu-h1-a/supply_setpoint", 30.1).Status);
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(after.Write("cdu-h1-a/supply_setpoint", 30.1).Ok);
    }

    [Fact]
    public void AfterARestart_AConfirmedWriteOfWhatAnUnconfirmedOneAskedFor_WithNothingConfirmedBefore_CountsAsTheWholeRate()
    {
        // Regression (found by the moves property): counted from the unconfirmed write alone (a minute before, and not
        // taken effect), its change was 0, and after the restart the set point moved 25 -> 24.5 -> 23.7 within a minute,
        // 1.3 K against 1 K.
        var reports = new Dictionary<string, double>(StringComparer.Ordinal) { ["cdu-h1-a/supply_setpoint_command"] = 25 };
        var answers = new Queue<WriteStatus>([WriteStatus.Unconfirmed, WriteStatus.Accepted]);
        var plant = new SafetyEnvelopeTests.RecordingPlant((_, _) => new WriteResult(answers.Dequeue(), ""), reports, _clock);
        using (var audit = Audit())
        {
            var before = On(plant, audit);
            Assert.Equal(WriteStatus.Unconfirmed, before.Write("cdu-h1-a/supply_setpoint", 24.5).Status);
            _clock.Advance(TimeSpan.FromSeconds(70));
            Assert.True(before.Write("cdu-h1-a/supply_setpoint", 24.5).Ok);
        }

        reports["cdu-h1-a/supply_setpoint_command"] = 24.5;
        _clock.Advance(TimeSpan.FromSeconds(10));
        using var reopened = Audit();
        var after = On(plant, reopened);
        Assert.Equal(WriteStatus.RateLimited, after.Write("cdu-h1-a/supply_setpoint", 23.7).Status);
    }

    [Fact]
    public void AfterARestart_AWriteJudgedFromAReadBackInDispute_CountsItsChangeFromTheReadBack()
    {
        var (reports, plant) = ReadingBack(25);
        var (after, reopened) = RestartedAfter(plant, before =>
        {
            Assert.True(before.Write("cdu-h1-a/supply_setpoint", 25).Ok);
            _clock.Advance(TimeSpan.FromSeconds(70));
            reports["cdu-h1-a/supply_setpoint_command"] = 24; // moved at the panel
            Assert.True(before.Write("cdu-h1-a/supply_setpoint", 24.6).Ok); // 0.4 from Aida's 25, 0.6 from the plant's 24
            reports["cdu-h1-a/supply_setpoint_command"] = 24.6;
        }, down: TimeSpan.FromSeconds(10));
        using var _ = reopened;
        Assert.Equal(WriteStatus.RateLimited, after.Write("cdu-h1-a/supply_setpoint", 24.1).Status); // 0.6 + 0.5 > 1
        Assert.True(after.Write("cdu-h1-a/supply_setpoint", 24.3).Ok); // 0.6 + 0.3
    }

    [Fact]
    public void AfterARestart_AReadBackDismissedAsLying_CountsBesideTheValueWrittenBefore_NotAlone()
    {
        // After a restart an actuator that reads back is judged from its reading alone once one comes; a reading a person
        // dismissed as lying counts beside the value written before instead.
        var (after, reopened) = RestartedAfter(ReadingBack(25).Plant, before =>
        {
            Assert.True(before.Write("cdu-h1-a/supply_setpoint", 24).Ok);
            _clock.Advance(TimeSpan.FromSeconds(70));
            Assert.NotNull(before.DismissReadBack("cdu-h1-a/supply_setpoint", "api:approver-1", "stuck BMS point", out _));
            Assert.True(before.Write("cdu-h1-a/supply_setpoint", 23).Ok);
        });
        using var log = reopened;
        Assert.Contains("a step of 2 celsius from 25", after.Write("cdu-h1-a/supply_setpoint", 23).Message, StringComparison.Ordinal);
        Assert.Contains("a step of 2.5 celsius from 23", after.Write("cdu-h1-a/supply_setpoint", 25.5).Message, StringComparison.Ordinal);
        Assert.True(after.Write("cdu-h1-a/supply_setpoint", 24).Ok);
    }

    [Fact]
    public void AfterTwoRestarts_TheFirstWriteAfterTheFirst_JudgedFromItsReadBack_CountsAsTheWholeRate()
    {
        // Regression (found by the moves property): after a restart a set point is judged from its reading, which the log
        // does not keep; the next restart counted that write's change from the value written before the first, 0.2 where
        // the plant moved 0.7 (the set point had been put back to 25 while Aida was down).
        var (reports, plant) = ReadingBack(25);
        using (var audit = Audit())
        {
            Assert.True(On(plant, audit).Write("cdu-h1-a/supply_setpoint", 24.5).Ok);
        }

        _clock.Advance(TimeSpan.FromMinutes(10));
        using (var audit = Audit())
        {
            Assert.True(On(plant, audit).Write("cdu-h1-a/supply_setpoint", 24.3).Ok);
        }

        reports["cdu-h1-a/supply_setpoint_command"] = 24.3;
        _clock.Advance(TimeSpan.FromSeconds(10));
        using var reopened = Audit();
        Assert.Equal(WriteStatus.RateLimited, On(plant, reopened).Write("cdu-h1-a/supply_setpoint", 23.8).Status);
    }

    [Fact]
    public void AfterARestart_TheLastMinutesWrites_StillCountAgainstTheWritesPerMinute_ButRefusedOnesDoNot()
    {
        var spec = SafetyEnvelopeSpec.Parse("limits:\n  - {actuator: \"cdu-*/pump_speed\", min: 0.3}\nmax_writes_per_minute: 3\n");
        using (var audit = Audit())
        {
            var before = new GuardedPlant(_plant, new SafetyEnvelope(spec, SafetyEnvelopeTests.Factory), _clock, "agent:test", audit);
            Assert.True(before.Write("cdu-h1-a/pump_speed", 1).Ok);
            Assert.True(before.Write("cdu-h1-a/pump_speed", 0.9).Ok);
            Assert.Equal(WriteStatus.Refused, before.Write("cdu-h1-a/pump_speed", 0.1).Status);
        }

        using var reopened = Audit();
        var after = new GuardedPlant(_plant, new SafetyEnvelope(spec, SafetyEnvelopeTests.Factory), _clock, "api", reopened);
        Assert.True(after.Write("cdu-h1-a/pump_speed", 0.8).Ok);
        Assert.Contains("3 writes within a minute already", after.Write("cdu-h1-a/pump_speed", 0.7).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AfterARestart_AWriteThePlantDidNotConfirm_MayHaveTakenEffect()
    {
        var confirm = true;
        var plant = new SafetyEnvelopeTests.RecordingPlant((_, _) => confirm ? new WriteResult(WriteStatus.Accepted, "") : new WriteResult(WriteStatus.Unconfirmed, "no answer"));
        var racks = SafetyEnvelopeTests.Factory.Racks.Take(5).Select(r => r.Id).ToList();
        using (var audit = Audit())
        {
            var before = On(plant, audit);
            foreach (var r in racks.Take(3))
            {
                Assert.True(before.Write(r + "/isolate", 1).Ok);
            }

            confirm = false;
            Assert.Equal(WriteStatus.Unconfirmed, before.Write(racks[3] + "/isolate", 1).Status);
        }

        confirm = true;
        using var reopened = Audit();
        var after = On(plant, reopened);
        Assert.Contains("would isolate 5 racks at once", after.Write(racks[4] + "/isolate", 1).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AfterARestart_AWriteDatedAfterNow_TheClockGoneBack_CountsAsWrittenNow_NotForAsLongAsTheClockWentBack()
    {
        // The run before wrote with a clock an hour fast; NTP has set it right since. Dated as written, its change would
        // count against the rate for an hour.
        var fast = new FakeTimeProvider(_clock.GetUtcNow() + TimeSpan.FromHours(1));
        using (var audit = new AuditLog(Path.Combine(_dir, "audit.db"), fast))
        {
            Assert.True(new GuardedPlant(_plant, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory), fast, "agent:aida", audit).Write("cdu-h1-a/supply_setpoint", 30).Ok);
        }

        using var reopened = Audit();
        var after = Guard(reopened);
        Assert.Equal(WriteStatus.RateLimited, after.Write("cdu-h1-a/supply_setpoint", 30.5).Status);
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(after.Write("cdu-h1-a/supply_setpoint", 30.5).Ok);
        Assert.Equal((1, 1, 1), (after.TakenUp.Changes, after.TakenUp.Writes, after.TakenUp.FutureDated));
        Assert.EndsWith("; 1 write(s) on record are dated after now (the clock went back?) and count as written now", after.TakenUp.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void AfterARestart_AnActuatorThatReadsBack_IsJudgedFromItsReadingOnceThePlantReportsOne_NotStuckBetweenItAndTheValueWrittenBefore()
    {
        // Regression (session 38): the CDU set point taken down 4 K before the restart, then found at its design value
        // again (the embedded twin starts afresh; on a site, a controller back at its defaults or a change at the panel).
        // The value written before counted until a write was confirmed, and no write was within 1 K of both it and the
        // read-back: every write of the set point was refused for good ("a step of 5.605 celsius from 23.395" on aida
        // run). Now the value written before counts only until the plant reports a reading.
        const string cdu = "cdu-h1-a/supply_setpoint";
        var scenario = Aida.Model.Scenarios.ScenarioLoader.Load("reference");
        SimulatedPlant Twin() => new(new Aida.Twin.Simulation.Simulator(scenario, new Aida.Twin.Simulation.SimulationOptions { NoOperator = true, Duration = TimeSpan.FromHours(1) }).Plant);
        var first = Twin();
        var design = PlantLookup.ReadValue(first, cdu);
        using (var audit = Audit())
        {
            var before = new GuardedPlant(first, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory), _clock, "agent:aida", audit);
            for (var k = 1; k <= 4; k++)
            {
                Assert.True(before.Write(cdu, design - k).Ok);
                _clock.Advance(TimeSpan.FromMinutes(1));
            }
        }

        _clock.Advance(TimeSpan.FromMinutes(1));
        var second = Twin();
        second.Dark = true; // the collectors have not read it yet
        using var reopened = Audit();
        var after = new GuardedPlant(second, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory), _clock, "agent:aida", reopened);
        Assert.Equal([design - 4], after.Unconfirmed(cdu));
        var blind = after.Write(cdu, design - 1);
        Assert.Equal(WriteStatus.Refused, blind.Status);
        Assert.Contains($"a step of 3 celsius from {design - 4}", blind.Message, StringComparison.Ordinal);

        second.Dark = false; // read: at its design value
        Assert.True(after.Judge(cdu, design - 1).Allowed);
        Assert.Empty(after.Unconfirmed(cdu));
        Assert.True(after.Write(cdu, design - 1).Ok);
    }

    /// <summary>The twin's plant, whose readings can go dark (missing) as before the collectors first read a site.</summary>
    private sealed class SimulatedPlant(IPlant inner) : IPlant
    {
        public bool Dark { get; set; }

        public IReadOnlyList<PointInfo> Points => inner.Points;

        public IReadOnlyList<ActuatorInfo> Actuators => inner.Actuators;

        public PointReading Read(int point) => Dark ? new PointReading(double.NaN, default) : inner.Read(point);

        public WriteResult Write(int actuator, double value) => inner.Write(actuator, value);
    }

    private AuditLog Audit() => new(Path.Combine(_dir, "audit.db"), _clock);

    /// <summary>A plant whose cdu-h1-a set point command reads back <paramref name="at"/> (dated now), and its readings.</summary>
    private (Dictionary<string, double> Reports, SafetyEnvelopeTests.RecordingPlant Plant) ReadingBack(double at)
    {
        var reports = new Dictionary<string, double>(StringComparer.Ordinal) { ["cdu-h1-a/supply_setpoint_command"] = at };
        return (reports, new SafetyEnvelopeTests.RecordingPlant(reports: reports, clock: _clock));
    }

    /// <summary>A guard on <paramref name="plant"/> and <paramref name="audit"/> (built again: a restart).</summary>
    private GuardedPlant On(SafetyEnvelopeTests.RecordingPlant plant, AuditLog audit) =>
        new(plant, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory), _clock, "agent:test", audit);

    /// <summary>A guard on <paramref name="plant"/> that does <paramref name="before"/>, then, <paramref name="down"/> later
    /// (10 minutes by default), another built on the same audit log (a restart), with that log (the caller disposes it).</summary>
    private (GuardedPlant After, AuditLog Reopened) RestartedAfter(SafetyEnvelopeTests.RecordingPlant plant, Action<GuardedPlant> before, TimeSpan? down = null)
    {
        using (var audit = Audit())
        {
            before(On(plant, audit));
        }

        _clock.Advance(down ?? TimeSpan.FromMinutes(10));
        var reopened = Audit();
        return (On(plant, reopened), reopened);
    }

    private GuardedPlant Guard(AuditLog audit) => new(_plant, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory), _clock, "agent:aida", audit);
}
