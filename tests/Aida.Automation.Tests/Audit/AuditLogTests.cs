using Aida.Automation.Audit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Automation.Tests.Audit;

/// <summary>The audit log is append-only and hash-chained: verification catches an edited, removed or reordered entry.</summary>
public sealed class AuditLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aida-audit-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero));

    private string DbPath => Path.Combine(_dir, "audit.db");

    [SkippableFact]
    public void OnAFullDisk_EntriesAreSealedAndHeldInOrder_NotThrown_AndWrittenOnceTheDiskIsFreed()
    {
        // Before, the agent's next observation threw SQLite's "database or disk is full" out of aida run's control loop.
        using var disk = Aida.Telemetry.Tests.Storage.SmallDisk.Mount(1024);
        var path = Path.Combine(disk.Path, "audit.db");
        using (var log = new AuditLog(path, _clock))
        {
            log.Append("agent:aida", AuditKind.Observation, "optimiser", "before the disk filled");
            var filler = disk.FillUp();
            var held = Enumerable.Range(1, 40).Select(i => log.Append("agent:aida", AuditKind.Decision, "optimiser", $"decision {i}: " + new string('x', 4000))).ToList();
            Assert.Equal(40, log.Held.Entries);
            Assert.Contains("full", log.Held.Why, StringComparison.Ordinal);
            Assert.Equal(_clock.GetUtcNow(), log.Held.Since);
            Assert.Equal(41, log.Count);
            Assert.Equal(held[0].Hash, held[1].PreviousHash);

            // Read back with the written ones, newest last, filtered as those on disk are; WrittenThrough tells them apart.
            Assert.Equal(1, log.WrittenThrough);
            Assert.Equal(held.TakeLast(4).Select(e => e.Sequence), log.Last(4).Select(e => e.Sequence));
            Assert.Equal([1L, .. held.Select(e => e.Sequence)], log.Last(100, subject: "optimiser").Select(e => e.Sequence));
            Assert.Equal(held.TakeLast(2).Select(e => e.Hash), log.Last(2, actor: "agent:aida").Select(e => e.Hash));
            Assert.Empty(log.Last(10, subject: "optimiser-2"));

            File.Delete(filler);
            log.Append("agent:aida", AuditKind.Observation, "optimiser", "after the disk was freed");
            Assert.Equal((0, (DateTimeOffset?)null), (log.Held.Entries, log.Held.Since));
            Assert.Equal(held.Select(e => e.Hash), log.Read(2, 40).Select(e => e.Hash));
            Assert.Equal(42, log.WrittenThrough);
        }

        using var reopened = new AuditLog(path, _clock);
        Assert.Equal((true, 42L), (reopened.Verify().Intact, reopened.Verify().Entries));
    }

    [Fact]
    public void Appends_ChainAndVerify()
    {
        using var log = Filled(5);
        var entries = log.Read();
        Assert.Equal([1L, 2, 3, 4, 5], entries.Select(e => e.Sequence));
        Assert.Equal(AuditLog.Genesis, entries[0].PreviousHash);
        for (var i = 1; i < entries.Count; i++)
        {
            Assert.Equal(entries[i - 1].Hash, entries[i].PreviousHash);
        }

        Assert.True(log.Verify().Intact);
        Assert.Equal(5, log.Verify().Entries);
    }

    [Fact]
    public void Scan_HandsOverTheKindsAskedFor_AndOfOthersOnlyThoseWhoseDetailMatches_InOrder()
    {
        using var log = new AuditLog(DbPath, _clock);
        log.Append("agent:aida", AuditKind.Observation, "optimiser", "plan: facility 1.2 MW predicted");
        log.Append("agent:aida", AuditKind.Action, "cdu-h1-a/supply_setpoint", "25");
        log.Append("agent:aida", AuditKind.Observation, "cdu-h1-a/supply_setpoint", "the plant reads it back at 20 (read at …)");
        log.Append("agent:aida", AuditKind.Result, "cdu-h1-a/supply_setpoint", "accepted");
        log.Append("api:approver-1", AuditKind.Decision, "cdu-h1-a/supply_setpoint", "the plant reads it back at 20, said a decision");
        var seen = new List<long>();
        log.Scan([AuditKind.Action, AuditKind.Result], e => seen.Add(e.Sequence), [(AuditKind.Observation, "the plant reads it back at *")]);
        Assert.Equal([2L, 3, 4], seen);
    }

    [Fact]
    public void EditedEntry_IsNamed()
    {
        Filled(5).Dispose();
        Sql("UPDATE audit SET detail = 'pump speed 0.2' WHERE seq = 3");
        var v = Reopen().Verify();
        Assert.False(v.Intact);
        Assert.Equal(3, v.FirstBadSequence);
        Assert.Contains("entry 3 was altered", v.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void RemovedEntry_IsNamed()
    {
        Filled(5).Dispose();
        Sql("DELETE FROM audit WHERE seq = 2");
        var v = Reopen().Verify();
        Assert.Equal(2, v.FirstBadSequence);
        Assert.Contains("entry 2 is missing", v.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ReorderedEntries_AreCaught()
    {
        Filled(5).Dispose();

        // Swap entries 2 and 3, renumbering them so the sequence still counts 1..5.
        Sql("UPDATE audit SET seq = 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 100");
        var v = Reopen().Verify();
        Assert.Equal(2, v.FirstBadSequence);
    }

    [Fact]
    public void RemovedTail_IsCaughtAgainstTheHeadFile()
    {
        Filled(5).Dispose();
        Sql("DELETE FROM audit WHERE seq >= 4");
        var v = Reopen().Verify();
        Assert.Equal(4, v.FirstBadSequence);
        Assert.Contains("entries 4 to 5 are missing", v.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AChainRebuiltWithItsHeadFile_PassesAlone_ButNotAgainstAnEntryAnchoredElsewhere()
    {
        var anchored = new Dictionary<long, string>();
        using (var log = Filled(5))
        {
            var third = log.Read(3, 1).Single();
            anchored[third.Sequence] = third.Hash;
            Assert.Equal($"3 {third.Hash} 2025-07-01T00:00:30Z", AuditAnchors.Line(third));
        }

        // Whoever can write the database and the head file edits entry 2 and rebuilds every hash after it.
        Rebuild(2, "{\"value\": 40}");
        using var reopened = Reopen();
        Assert.True(reopened.Verify().Intact);
        var v = reopened.Verify(anchored);
        Assert.Equal(3, v.FirstBadSequence);
        Assert.Contains("entry 3's hash", v.Problem, StringComparison.Ordinal);
        Assert.Contains("rewritten at or before entry 3", v.Problem, StringComparison.Ordinal);

        // An anchor that still matches passes; one of an entry past the log's end is a tail cut off, head file and all.
        Assert.True(reopened.Verify(new Dictionary<long, string> { [1] = reopened.Read(1, 1).Single().Hash }).Intact);
        var cut = reopened.Verify(new Dictionary<long, string> { [7] = new string('a', 64) });
        Assert.Equal(6, cut.FirstBadSequence);
        Assert.Contains("entries 6 to 7 are missing (anchored up to entry 7)", cut.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3 abc", "anchors.txt:2: 'abc' is not a SHA-256 hash")]
    [InlineData("three 0000000000000000000000000000000000000000000000000000000000000000", "anchors.txt:2: 'three 0000")]
    [InlineData("0 0000000000000000000000000000000000000000000000000000000000000000", "is not SEQ HASH")]
    [InlineData("1 1111111111111111111111111111111111111111111111111111111111111111", "anchors.txt:2: entry 1 is anchored with two hashes")]
    public void MalformedAnchors_AreErrorsNamingTheLine(string line, string error)
    {
        var text = new StringReader($"1 {new string('0', 64)} 2025-07-01T00:00:10Z\n{line}\n");
        var e = Assert.Throws<InvalidDataException>(() => AuditAnchors.Read(text, "anchors.txt"));
        Assert.Contains(error, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Anchors_SkipBlankAndCommentLines_AndTakeWhatFollowsTheHashAsComment()
    {
        var hash = new string('A', 64);
        var anchors = AuditAnchors.Read(new StringReader($"# anchored hourly by cron\n\n  12 {hash} 2025-07-01T01:00:00Z from host-b\n"), "a");
        Assert.Equal(new string('a', 64), Assert.Single(anchors).Value);
        Assert.Equal(12, anchors.Single().Key);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    public void HeadOneEntryBehind_IsTheCrashWindow_NotTampering(int behind, bool intact)
    {
        // Regression (RunRestartTests under load): a kill -9 after an entry's commit and before its head file was
        // written left the head one entry behind, and verify called the intact log tampered. Two behind is not a crash.
        Filled(5).Dispose();
        var head = Path.Combine(_dir, "audit.db.head");
        var entry = Reopen().Read(5 - behind, 1)[0];
        File.WriteAllText(head, $"{entry.Sequence} {entry.Hash}\n");
        var v = Reopen().Verify();
        Assert.Equal(intact, v.Intact);
    }

    [Fact]
    public void Reopened_ContinuesTheChain_LosingNothing()
    {
        Filled(3).Dispose();
        using var log = Reopen();
        Assert.Equal(3, log.Count);
        var fourth = log.Append("user:alice", AuditKind.Approval, "action-7", "approved");
        Assert.Equal(4, fourth.Sequence);
        Assert.Equal(log.Read(3, 1)[0].Hash, fourth.PreviousHash);
        Assert.True(log.Verify().Intact);
    }

    [Fact]
    public void ConcurrentAppends_StayOneChain()
    {
        using var log = new AuditLog(DbPath, _clock);
        Parallel.For(0, 200, i => log.Append($"agent:{i % 4}", AuditKind.Decision, $"s{i}", "{}"));
        Assert.Equal(200, log.Count);
        Assert.True(log.Verify().Intact);
    }

    [Fact]
    public void NotAnAuditLog_IsAClearError()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(DbPath, "this is not a database, just text that is long enough to look like a header of some kind");
        var e = Assert.Throws<InvalidDataException>(() => new AuditLog(DbPath, _clock));
        Assert.Contains("not an Aida audit log", e.Message, StringComparison.Ordinal);
        Assert.Contains(DbPath, e.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private AuditLog Filled(int n)
    {
        var log = new AuditLog(DbPath, _clock);
        for (var i = 1; i <= n; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(10));
            log.Append("agent:cooling-optimiser", i % 2 == 0 ? AuditKind.Action : AuditKind.Decision, $"cdu-h1-a/supply_setpoint", $"{{\"value\": {30 + i}}}");
        }

        return log;
    }

    private AuditLog Reopen() => new(DbPath, _clock);

    /// <summary>Edits entry <paramref name="seq"/>'s detail and rebuilds the chain from it on, head file included: a
    /// consistent forgery.</summary>
    private void Rebuild(long seq, string detail)
    {
        List<AuditEntry> entries;
        using (var log = Reopen())
        {
            entries = [.. log.Read()];
        }

        var previous = entries[(int)seq - 2].Hash;
        foreach (var e in entries.Where(e => e.Sequence >= seq))
        {
            var text = e.Sequence == seq ? detail : e.Detail;
            var hash = AuditLog.HashOf(e.Sequence, e.At, e.Actor, e.Kind, e.Subject, text, previous);
            Sql($"UPDATE audit SET detail = '{text}', prev_hash = '{previous}', hash = '{hash}' WHERE seq = {e.Sequence}");
            previous = hash;
        }

        File.WriteAllText(DbPath + ".head", $"{entries[^1].Sequence} {previous}\n");
    }

    private void Sql(string sql)
    {
        using var c = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
