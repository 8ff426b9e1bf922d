using Aida.Automation.Audit;
using Aida.Automation.Safety;
using Aida.Model.Plant;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Automation.Tests.Safety;

/// <summary>Lockout/tagout: an asset a person locked out gets no write through the guard, from anyone, until it is
/// released or its time ends; the lockouts survive a restart through <c>lockouts.json</c>.</summary>
public sealed class LockoutTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aida-lockout-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 7, 1, 2, 0, 0, TimeSpan.Zero));
    private readonly SafetyEnvelopeTests.RecordingPlant _plant = new();

    public LockoutTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
    }

    private GuardedPlant Guard(AuditLog? audit = null) =>
        new(_plant, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory), _clock, "agent:aida", audit);

    [Fact]
    public void ALockedOutAsset_GetsNoWrite_UntilReleased_WhileTheOthersAreWritten()
    {
        using var audit = new AuditLog(Path.Combine(_dir, "audit.db"), _clock);
        var guard = Guard(audit);
        guard.Lockouts.Add("cdu-h1-a", "api:alice", "pump 2 seal replacement", until: null);

        var refused = guard.Write("cdu-h1-a/supply_setpoint", 30);
        Assert.Equal(WriteStatus.Refused, refused.Status); // refused, not "for now": a runbook step fails and calls a person
        Assert.Equal("cdu-h1-a/supply_setpoint: cdu-h1-a is locked out by api:alice since 2025-07-01 02:00:00Z, until released (pump 2 seal replacement): not written until it is released", refused.Message);
        Assert.False(guard.Write("cdu-h1-a/pump_speed", 1).Ok);
        Assert.Empty(_plant.Writes);

        // Asked first (as the optimiser does), the guard says it holds only for now, and why.
        var verdict = guard.Judge("cdu-h1-a/supply_setpoint", 30);
        Assert.Equal(HoldCause.LockedOut, verdict.Hold);
        Assert.Equal("its asset locked out", verdict.Hold.Describe());

        // Another asset, and a name that only starts the same, are written.
        Assert.True(guard.Write("cdu-h1-b/supply_setpoint", 30).Ok);

        var released = guard.Lockouts.Release("cdu-h1-a", "api:alice", "seal replaced", overrides: false);
        Assert.Equal("pump 2 seal replacement", released.Reason);
        Assert.True(guard.Write("cdu-h1-a/supply_setpoint", 30).Ok);
        Assert.Equal([("cdu-h1-b/supply_setpoint", 30.0), ("cdu-h1-a/supply_setpoint", 30.0)], _plant.Writes);

        var said = audit.Read().Where(e => e.Subject == "lockouts").Select(e => (e.Actor, e.Detail)).ToList();
        Assert.Equal(
            [
                ("api:alice", "cdu-h1-a is locked out by api:alice since 2025-07-01 02:00:00Z, until released (pump 2 seal replacement): Aida writes none of its actuators until then"),
                ("api:alice", "cdu-h1-a released (seal replaced): locked out by api:alice since 2025-07-01 02:00:00Z; Aida writes its actuators again"),
            ], said);
        Assert.Contains(audit.Read(), e => e.Kind == AuditKind.Result && e.Subject == "cdu-h1-a/pump_speed" && e.Detail.StartsWith("refused: cdu-h1-a/pump_speed: cdu-h1-a is locked out", StringComparison.Ordinal));
    }

    [Fact]
    public void ALockoutWithAnEnd_EndsByItself_AndSaysSo()
    {
        using var audit = new AuditLog(Path.Combine(_dir, "audit.db"), _clock);
        var guard = Guard(audit);
        List<IReadOnlyList<Lockout>> changes = [];
        guard.Lockouts.Changed = changes.Add;
        guard.Lockouts.Add("chiller-2", "api:bob", "condenser tube cleaning", _clock.GetUtcNow().AddHours(2));

        _clock.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1));
        Assert.False(guard.Write("chiller-2/enable", 0).Ok);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(guard.Write("chiller-2/enable", 0).Ok);

        Assert.Empty(guard.Lockouts.Held);
        Assert.Equal([1, 0], changes.Select(c => c.Count));
        Assert.Contains(audit.Read(), e => e.Subject == "lockouts" && e.Detail == "chiller-2 is locked out by api:bob since 2025-07-01 02:00:00Z until 2025-07-01 04:00:00Z (condenser tube cleaning): ended at its time; Aida writes its actuators again");
    }

    [Fact]
    public void ATechnicianWhoNeedsLonger_MovesTheEnd_AndTheLockoutHoldsThroughout_OnlyTheyOrAnApproverMay()
    {
        // A release and a new lockout would leave a moment in which Aida may write the chiller under repair.
        using var audit = new AuditLog(Path.Combine(_dir, "audit.db"), _clock);
        var guard = Guard(audit);
        List<IReadOnlyList<Lockout>> changes = [];
        guard.Lockouts.Changed = changes.Add;
        var start = _clock.GetUtcNow();
        guard.Lockouts.Add("chiller-2", "api:bob", "condenser tube cleaning", start.AddHours(2));

        _clock.Advance(TimeSpan.FromMinutes(110));
        Assert.Contains("only api:bob or an approver changes its end", Assert.Throws<UnauthorizedAccessException>(() => guard.Lockouts.Extend("chiller-2", "api:carol", start.AddHours(4), overrides: false)).Message, StringComparison.Ordinal);
        Assert.Equal("until", Assert.Throws<ArgumentException>(() => guard.Lockouts.Extend("chiller-2", "api:bob", _clock.GetUtcNow(), overrides: false)).ParamName);
        Assert.Equal("chiller-1 is not locked out", Assert.Throws<KeyNotFoundException>(() => guard.Lockouts.Extend("chiller-1", "api:bob", start.AddHours(4), overrides: false)).Message);
        var moved = guard.Lockouts.Extend("chiller-2", "api:bob", start.AddHours(4), overrides: false);
        Assert.Equal((start, start.AddHours(4), "api:bob"), (moved.Since, moved.Until, moved.By));

        // Past its first end it still holds, to its new one; an approver may move anyone's.
        _clock.Advance(TimeSpan.FromMinutes(60));
        Assert.False(guard.Write("chiller-2/enable", 0).Ok);
        guard.Lockouts.Extend("chiller-2", "api:dana", start.AddHours(5), overrides: true);
        _clock.Advance(TimeSpan.FromMinutes(129));
        Assert.False(guard.Write("chiller-2/enable", 0).Ok);
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(guard.Write("chiller-2/enable", 0).Ok);

        Assert.Equal([1, 1, 1, 0], changes.Select(c => c.Count));
        Assert.Equal(start.AddHours(4), changes[1].Single().Until);
        Assert.Contains(audit.Read(), e => (e.Actor, e.Detail) == ("api:bob", "chiller-2's lockout by api:bob now ends at 2025-07-01 06:00:00Z (was 2025-07-01 04:00:00Z)"));
        Assert.Contains(audit.Read(), e => (e.Actor, e.Detail) == ("api:dana", "chiller-2's lockout by api:bob now ends at 2025-07-01 07:00:00Z (was 2025-07-01 06:00:00Z)"));
    }

    [Fact]
    public void ALockoutFor4h_Lasts4hFromItsStart_OnAClockThatMovesAtEveryRead()
    {
        // Regression: the API read the plant's now, added 4 h, and the lockout read now again to start; a twin at
        // --speed 60 had moved 6 s between, so "for 4h" held 3:59:54. The start and the end now come from one read.
        var clock = new FakeTimeProvider(_clock.GetUtcNow()) { AutoAdvanceAmount = TimeSpan.FromSeconds(6) };
        var lockouts = new GuardedPlant(_plant, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory), clock, "agent:aida").Lockouts;
        var held = lockouts.Add("chiller-2", "api:bob", "condenser tubes", TimeSpan.FromHours(4));
        Assert.Equal(TimeSpan.FromHours(4), held.Until - held.Since);

        var moved = lockouts.Extend("chiller-2", "api:bob", TimeSpan.FromHours(6), overrides: false);
        Assert.Equal(held.Since, moved.Since);
        Assert.InRange(moved.Until!.Value - held.Since, TimeSpan.FromHours(6), TimeSpan.FromHours(6.1)); // 6 h from the move
        Assert.Throws<ArgumentOutOfRangeException>(() => lockouts.Add("chiller-1", "api:bob", "work", TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => lockouts.Extend("chiller-2", "api:bob", TimeSpan.FromHours(-1), overrides: false));
    }

    [Fact]
    public void TheOthersOutOverALockoutsWindow_AreThoseHeldOrPlannedThatOverlapIt()
    {
        // 02:00 now. cdu-h1-a held until 05:00; chiller-1 planned 06:00-08:00; chiller-2 planned 09:00 on, no end.
        var lockouts = Guard().Lockouts;
        var now = _clock.GetUtcNow();
        lockouts.Add("cdu-h1-a", "api:ann", "pump seal", now.AddHours(3));
        lockouts.Add("chiller-1", "api:bob", "service", TimeSpan.FromHours(2), from: now.AddHours(4));
        lockouts.Add("chiller-2", "api:bob", "tubes", until: null, from: now.AddHours(7));

        // A window ending as chiller-1's starts does not overlap it; one starting as cdu-h1-a's ends does not either.
        Assert.Equal(["cdu-h1-a"], lockouts.OthersOutOver("chiller-3", now, now.AddHours(4)).Keys);
        Assert.Equal(["chiller-1"], lockouts.OthersOutOver("chiller-3", now.AddHours(3), now.AddHours(7)).Keys);
        Assert.Equal(
            new Dictionary<string, string> { ["cdu-h1-a"] = "locked out", ["chiller-1"] = "planned out from 2025-07-01 06:00Z", ["chiller-2"] = "planned out from 2025-07-01 09:00Z" },
            lockouts.OthersOutOver("chiller-3", now, until: null));
        // The asset itself is never among them.
        Assert.DoesNotContain("chiller-2", lockouts.OthersOutOver("chiller-2", now, until: null).Keys);
    }

    [Fact]
    public void BadLockouts_AreRefused_NamingWhatIsWrong()
    {
        var lockouts = Guard().Lockouts;
        var unknown = Assert.Throws<ArgumentException>(() => lockouts.Add("cdu-h9-z", "api:alice", "work", null));
        Assert.StartsWith("unknown asset 'cdu-h9-z': not one whose actuators Aida writes (", unknown.Message, StringComparison.Ordinal);
        Assert.Equal("asset", unknown.ParamName);
        var past = Assert.Throws<ArgumentException>(() => lockouts.Add("chiller-1", "api:alice", "work", _clock.GetUtcNow()));
        Assert.Equal("until", past.ParamName);
        Assert.Throws<ArgumentException>(() => lockouts.Add("chiller-1", "api:alice", " ", null));

        lockouts.Add("chiller-1", "api:alice", "work", null);
        Assert.Contains("already locked out", Assert.Throws<LockoutOverlapException>(() => lockouts.Add("chiller-1", "api:bob", "more work", null)).Message, StringComparison.Ordinal);

        // Only the person who locked it out, or one who may override (an approver), releases it.
        Assert.Contains("only api:alice or an approver releases it", Assert.Throws<UnauthorizedAccessException>(() => lockouts.Release("chiller-1", "api:bob", "done", overrides: false)).Message, StringComparison.Ordinal);
        Assert.Equal("cdu-h1-a is not locked out", Assert.Throws<KeyNotFoundException>(() => lockouts.Release("cdu-h1-a", "api:alice", "done", overrides: false)).Message);
        lockouts.Release("chiller-1", "api:bob", "alice went home; checked on site", overrides: true);
        Assert.Empty(lockouts.Held);
    }

    [Fact]
    public void KeptLockouts_HoldAgainAfterARestart_ExceptThoseWhoseTimePassed()
    {
        var path = Path.Combine(_dir, KeptLockouts.FileName);
        var before = Guard();
        KeptLockouts.Attach(before.Lockouts, path);
        before.Lockouts.Add("cdu-h1-a", "api:alice", "pump seal", null);
        before.Lockouts.Add("crah-h1-1", "api:bob", "filter change", _clock.GetUtcNow().AddHours(1));

        _clock.Advance(TimeSpan.FromHours(2));
        using var audit = new AuditLog(Path.Combine(_dir, "audit.db"), _clock);
        var after = Guard(audit);
        var held = KeptLockouts.Attach(after.Lockouts, path);

        Assert.Equal("cdu-h1-a", Assert.Single(held).Asset);
        Assert.False(after.Write("cdu-h1-a/supply_setpoint", 30).Ok);
        Assert.True(after.Write("crah-h1-1/supply_setpoint", 20).Ok);
        Assert.Contains(audit.Read(), e => e.Subject == "lockouts" && e.Detail.EndsWith("(filter change): ended while Aida was stopped", StringComparison.Ordinal));
        Assert.Equal("cdu-h1-a", Assert.Single(KeptLockouts.Read(path)).Asset); // the ended one is gone from the file too
    }

    [Fact]
    public void TheNextJobOnAnAsset_IsBookedWhileOneHolds_StartsAsItEnds_AndNeitherMayRunIntoTheOther()
    {
        // 02:00. chiller-2's tubes until 06:00 (held); its oil change booked 06:00-08:00, and a survey on Thursday.
        using var audit = new AuditLog(Path.Combine(_dir, "audit.db"), _clock);
        var guard = Guard(audit);
        var lockouts = guard.Lockouts;
        var now = _clock.GetUtcNow();
        lockouts.Add("chiller-2", "api:ann", "condenser tubes", now.AddHours(4));
        var oil = lockouts.Add("chiller-2", "api:bob", "oil change", TimeSpan.FromHours(2), from: now.AddHours(4));
        var survey = lockouts.Add("chiller-2", "api:bob", "vibration survey", TimeSpan.FromHours(1), from: now.AddDays(2));
        Assert.Equal([oil, survey], lockouts.Planned);

        // Neither may run into another: not a lockout over them, not the tubes' end past the oil change's start, not the
        // survey moved onto the oil change.
        var over = Assert.Throws<LockoutOverlapException>(() => lockouts.Add("chiller-2", "api:carol", "leak check", TimeSpan.FromHours(1), from: now.AddHours(5)));
        Assert.Equal((oil, true), (over.Other, over.Planned));
        Assert.Equal("chiller-2 is to be locked out by api:bob from 2025-07-01 06:00:00Z until 2025-07-01 08:00:00Z (oil change): already planned then (one asset's lockouts may not overlap: move its start or end, or call it off)", over.Message);
        Assert.Throws<LockoutOverlapException>(() => lockouts.Extend("chiller-2", "api:ann", now.AddHours(5), overrides: false));
        Assert.Throws<LockoutOverlapException>(() => lockouts.Reschedule("chiller-2", "api:bob", now.AddHours(5), overrides: false, since: survey.Since));
        // A job that fits between them is booked; the one named by its start is moved or called off, not the soonest.
        var check = lockouts.Add("chiller-2", "api:carol", "leak check", TimeSpan.FromHours(1), from: now.AddHours(9));
        Assert.Equal(now.AddDays(3), lockouts.Reschedule("chiller-2", "api:bob", now.AddDays(3), overrides: false, since: survey.Since.AddSeconds(0.4)).Since);
        Assert.Equal(check, lockouts.Release("chiller-2", "api:carol", "not needed", overrides: false, since: check.Since));
        Assert.Contains("chiller-2 has no lockout from 2025-07-01 11:00:00Z (", Assert.Throws<KeyNotFoundException>(() => lockouts.Release("chiller-2", "api:carol", "x", overrides: false, since: check.Since)).Message, StringComparison.Ordinal);

        // At 06:00 the tubes' lockout ends and the oil change's starts, the asset held throughout: the guard refuses at
        // 05:59:59 and at 06:00 alike, and the audit says the one ended before the other started.
        _clock.Advance(TimeSpan.FromHours(4) - TimeSpan.FromSeconds(1));
        Assert.Equal("condenser tubes", Assert.Single(lockouts.Held).Reason);
        Assert.False(guard.Write("chiller-2/enable", 1).Ok);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains("(oil change)", guard.Write("chiller-2/enable", 1).Message, StringComparison.Ordinal);
        Assert.Equal("oil change", Assert.Single(lockouts.Held).Reason);
        Assert.Equal("vibration survey", Assert.Single(lockouts.Planned).Reason);
        var said = audit.Read().Select(e => e.Detail).ToList();
        Assert.True(said.FindIndex(d => d.Contains("(condenser tubes): ended at its time", StringComparison.Ordinal)) < said.FindIndex(d => d.Contains("(oil change): started as planned", StringComparison.Ordinal)));
    }

    [Fact]
    public void APlannedLockout_LeavesTheAssetToAidaUntilItsStart_ThenHoldsItForItsTime_AndSurvivesARestart()
    {
        // Work booked ahead: chiller-2's tubes from 04:00 for 4 h. No one needs to be at a console at 04:00 to lock it.
        var path = Path.Combine(_dir, KeptLockouts.FileName);
        using var audit = new AuditLog(Path.Combine(_dir, "audit.db"), _clock);
        var guard = Guard(audit);
        KeptLockouts.Attach(guard.Lockouts, path);
        List<IReadOnlyList<Lockout>> changes = [];
        var keep = guard.Lockouts.Changed!;
        guard.Lockouts.Changed = held => { changes.Add(held); keep(held); };
        var start = _clock.GetUtcNow().AddHours(2);
        var planned = guard.Lockouts.Add("chiller-2", "api:bob", "condenser tubes", TimeSpan.FromHours(4), from: start);
        Assert.Equal((start, start.AddHours(4)), (planned.Since, planned.Until));
        Assert.Equal("chiller-2 is to be locked out by api:bob from 2025-07-01 04:00:00Z until 2025-07-01 08:00:00Z (condenser tubes)", planned.DescribePlanned());
        Assert.Empty(guard.Lockouts.Held);
        Assert.Equal(planned, Assert.Single(guard.Lockouts.Planned));
        Assert.Contains("already planned", Assert.Throws<LockoutOverlapException>(() => guard.Lockouts.Add("chiller-2", "api:carol", "other work", null)).Message, StringComparison.Ordinal);
        Assert.Contains("is not after its start (2025-07-01 04:00:00Z)", Assert.Throws<ArgumentException>(() => guard.Lockouts.Add("chiller-1", "api:bob", "x", start.AddHours(-1), from: start)).Message, StringComparison.Ordinal);

        // Until its start Aida still runs the chiller; from the second it starts, it writes nothing to it.
        _clock.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1));
        Assert.True(guard.Write("chiller-2/enable", 1).Ok);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var refused = guard.Write("chiller-2/enable", 0);
        Assert.Equal("chiller-2/enable: chiller-2 is locked out by api:bob since 2025-07-01 04:00:00Z until 2025-07-01 08:00:00Z (condenser tubes): not written until it is released", refused.Message);
        Assert.Equal("chiller-2", Assert.Single(guard.Lockouts.Held).Asset);
        Assert.Empty(guard.Lockouts.Planned);
        Assert.Contains(audit.Read(), e => (e.Actor, e.Detail) == ("api:bob", "chiller-2 is to be locked out by api:bob from 2025-07-01 04:00:00Z until 2025-07-01 08:00:00Z (condenser tubes): planned; Aida writes none of its actuators from then"));
        Assert.Contains(audit.Read(), e => (e.Actor, e.Detail) == ("aida", "chiller-2 is locked out by api:bob since 2025-07-01 04:00:00Z until 2025-07-01 08:00:00Z (condenser tubes): started as planned; Aida writes none of its actuators until then"));

        // Another booked for tomorrow: its end moves from its start, only its holder or an approver calls it off, and a
        // restart plans it again.
        var tomorrow = start.AddDays(1);
        guard.Lockouts.Add("cdu-h1-a", "api:bob", "strainer", until: null, from: tomorrow);
        Assert.Equal(tomorrow.AddHours(2), guard.Lockouts.Extend("cdu-h1-a", "api:bob", TimeSpan.FromHours(2), overrides: false).Until);
        Assert.Contains("only api:bob or an approver calls it off", Assert.Throws<UnauthorizedAccessException>(() => guard.Lockouts.Release("cdu-h1-a", "api:carol", "not needed", overrides: false)).Message, StringComparison.Ordinal);
        Assert.Equal([1, 1, 2, 2], changes.Select(c => c.Count)); // planned, started, planned, moved: each kept in the file
        var after = Guard();
        Assert.Equal("chiller-2", Assert.Single(KeptLockouts.Attach(after.Lockouts, path)).Asset);
        Assert.Equal(("cdu-h1-a", tomorrow), (Assert.Single(after.Lockouts.Planned).Asset, after.Lockouts.Planned[0].Since));
        Assert.True(after.Write("cdu-h1-a/pump_speed", 0.8).Ok);
        // The parts are late: the work moves a day on, its length kept; only its holder or an approver moves it, and a
        // lockout that has started keeps its start.
        Assert.Contains("only api:bob or an approver moves it", Assert.Throws<UnauthorizedAccessException>(() => guard.Lockouts.Reschedule("cdu-h1-a", "api:carol", tomorrow.AddDays(1), overrides: false)).Message, StringComparison.Ordinal);
        var put = guard.Lockouts.Reschedule("cdu-h1-a", "api:bob", tomorrow.AddDays(1), overrides: false);
        Assert.Equal((tomorrow.AddDays(1), tomorrow.AddDays(1).AddHours(2)), (put.Since, put.Until));
        Assert.Contains(audit.Read(), e => (e.Actor, e.Detail) == ("api:bob", "cdu-h1-a's lockout planned by api:bob now starts at 2025-07-03 04:00:00Z (was 2025-07-02 04:00:00Z), until 2025-07-03 06:00:00Z"));
        Assert.Contains("it has started; move its end instead", Assert.Throws<InvalidOperationException>(() => guard.Lockouts.Reschedule("chiller-2", "api:bob", tomorrow, overrides: false)).Message, StringComparison.Ordinal);
        guard.Lockouts.Release("cdu-h1-a", "api:bob", "parts late", overrides: false);
        Assert.Empty(guard.Lockouts.Planned);
        Assert.Contains(audit.Read(), e => (e.Actor, e.Detail) == ("api:bob", "cdu-h1-a's lockout planned by api:bob from 2025-07-03 04:00:00Z called off (parts late)"));
    }

    [Theory]
    [InlineData("[{\"asset\": \"cdu-h1-a\", \"by\": \"api:alice\"}]", "entry 1: asset, by, reason and since are required")]
    [InlineData("{\"asset\": \"cdu-h1-a\"}", "not a list of lockouts")]
    [InlineData("[{\"asset\": \"cdu-h1-a\", \"by\": \"a\", \"reason\": \"r\", \"since\": \"2025-07-01T02:00:00Z\", \"until\": \"2025-07-01T01:00:00Z\"}]", "until (if given) after since")]
    [InlineData("[{\"asset\": \"cdu-h9-z\", \"by\": \"a\", \"reason\": \"r\", \"since\": \"2025-07-01T02:00:00Z\"}]", "a kept lockout names 'cdu-h9-z', not an asset whose actuators Aida writes here")]
    // Two of one asset at once: a file edited by hand.
    [InlineData("[{\"asset\": \"chiller-2\", \"by\": \"a\", \"reason\": \"r\", \"since\": \"2025-07-01T04:00:00Z\", \"until\": \"2025-07-01T06:00:00Z\"}, {\"asset\": \"chiller-2\", \"by\": \"b\", \"reason\": \"s\", \"since\": \"2025-07-01T05:00:00Z\"}]", "two kept lockouts of chiller-2 overlap: chiller-2 is locked out by a since 2025-07-01 04:00:00Z until 2025-07-01 06:00:00Z (r); chiller-2 is locked out by b since 2025-07-01 05:00:00Z, until released (s)")]
    public void ABrokenLockoutsFile_IsAnErrorNamingTheFileAndWhatIsWrong(string text, string expected)
    {
        var path = Path.Combine(_dir, KeptLockouts.FileName);
        File.WriteAllText(path, text);
        var e = Assert.Throws<FormatException>(() => KeptLockouts.Attach(Guard().Lockouts, path));
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
