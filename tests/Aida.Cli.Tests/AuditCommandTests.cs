using Aida.Automation.Audit;
using Microsoft.Data.Sqlite;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida audit verify says whether a run's audit log is intact, and names the first tampered entry.</summary>
public class AuditCommandTests
{
    /// <summary>A data directory whose audit log holds <paramref name="entries"/>, in order.</summary>
    private static string Logged(params (string Actor, AuditKind Kind, string Subject, string Detail)[] entries)
    {
        var dir = TempDir();
        using var log = new AuditLog(Path.Combine(dir, "audit.db"), TimeProvider.System);
        foreach (var (actor, kind, subject, detail) in entries)
        {
            log.Append(actor, kind, subject, detail);
        }

        return dir;
    }

    [Fact]
    public void Verify_Intact_ThenTampered()
    {
        var dir = Logged(
            ("agent:cooling-optimiser", AuditKind.Decision, "facility-water/supply_setpoint", "raise 0.5 K: budget 80 % left"),
            ("agent:cooling-optimiser", AuditKind.Action, "facility-water/supply_setpoint", "24.5"),
            ("agent:cooling-optimiser", AuditKind.Result, "facility-water/supply_setpoint", "accepted"));

        var (code, output, _) = Invoke("audit", "verify", "--data", dir);
        Assert.Equal(0, code);
        Assert.Contains("intact, 3 entries", output, StringComparison.Ordinal);
        Assert.Contains("Action", Invoke("audit", "show", "--data", dir).Out, StringComparison.Ordinal);

        using (var c = new SqliteConnection($"Data Source={Path.Combine(dir, "audit.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE audit SET detail = '30' WHERE seq = 2";
            cmd.ExecuteNonQuery();
        }

        (code, output, _) = Invoke("audit", "verify", "--data", dir);
        Assert.Equal(1, code);
        Assert.Contains("TAMPERED at entry 2: entry 2 was altered", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Show_AnAssetsHistory_BySubjectAndActor()
    {
        // What happened to cdu-h1-a today, and what alice did: its own entries and its actuators', not cdu-h1-aa's.
        var dir = Logged(
            ("api:alice", AuditKind.Decision, "lockouts", "cdu-h1-a is locked out by api:alice"),
            ("agent:aida", AuditKind.Action, "cdu-h1-a/supply_setpoint", "24"),
            ("agent:aida", AuditKind.Action, "cdu-h1-aa/supply_setpoint", "25"),
            ("api:alice", AuditKind.Decision, "cdu-h1-a", "adopted the read-back"),
            ("agent:aida", AuditKind.Action, "cdu-h1-b/pump_speed", "0.8"));

        string[] Sequences(params string[] filter) =>
            [.. Invoke(["audit", "show", "--data", dir, .. filter]).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(' ')[0])];

        Assert.Equal(["2", "4"], Sequences("--subject", "cdu-h1-a"));
        Assert.Equal(["1", "4"], Sequences("--actor", "api:alice"));
        Assert.Equal(["2"], Sequences("--subject", "cdu-h1-a", "--actor", "agent:aida"));
        Assert.Equal(["4"], Sequences("--subject", "cdu-h1-a", "--from", "3"));
        Assert.Equal(["1"], Sequences("--subject", "lockouts"));
        Assert.Empty(Sequences("--subject", "cdu-h1"));
        Assert.Equal(["2", "3"], Sequences("--actor", "agent:aida", "--limit", "2"));
    }

    [Fact]
    public void Head_AnchorsTheLog_AndVerifyAgainstTheAnchors_CatchesAChainRebuiltWithItsHeadFile()
    {
        var dir = TempDir();
        var db = Path.Combine(dir, "audit.db");
        using (var log = new AuditLog(db, TimeProvider.System))
        {
            Assert.Equal((0, ""), (Invoke("audit", "head", "--data", dir).Code, Invoke("audit", "head", "--data", dir).Out)); // nothing to anchor yet
            log.Append("agent:cooling-optimiser", AuditKind.Action, "facility-water/supply_setpoint", "24.5");
            log.Append("agent:cooling-optimiser", AuditKind.Result, "facility-water/supply_setpoint", "accepted");
        }

        // Anchored elsewhere, as cron would: aida audit head >> FILE.
        var anchors = Path.Combine(TempDir(), "anchors.txt");
        var (code, head, _) = Invoke("audit", "head", "--data", dir);
        Assert.Equal(0, code);
        Assert.Matches(@"^2 [0-9a-f]{64} \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$", head.Replace("\r", "", StringComparison.Ordinal));
        File.WriteAllText(anchors, "# anchors of the site's audit log\n" + head);
        (code, var output, _) = Invoke("audit", "verify", "--data", dir, "--anchor", anchors);
        Assert.Equal(0, code);
        Assert.Contains("intact, 2 entries, 1 anchors matched", output, StringComparison.Ordinal);

        // The action's value edited and the chain rebuilt, head file and all: intact alone, tampered against the anchor.
        var entries = new List<AuditEntry>();
        using (var log = new AuditLog(db, TimeProvider.System))
        {
            entries.AddRange(log.Read());
        }

        var first = AuditLog.HashOf(1, entries[0].At, entries[0].Actor, entries[0].Kind, entries[0].Subject, "30", AuditLog.Genesis);
        var second = AuditLog.HashOf(2, entries[1].At, entries[1].Actor, entries[1].Kind, entries[1].Subject, entries[1].Detail, first);
        using (var c = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"UPDATE audit SET detail = '30', hash = '{first}' WHERE seq = 1; UPDATE audit SET prev_hash = '{first}', hash = '{second}' WHERE seq = 2";
            cmd.ExecuteNonQuery();
        }

        File.WriteAllText(db + ".head", $"2 {second}\n");
        Assert.Equal(0, Invoke("audit", "verify", "--data", dir).Code);
        (code, output, _) = Invoke("audit", "verify", "--data", dir, "--anchor", anchors);
        Assert.Equal(1, code);
        Assert.Contains("TAMPERED at entry 2: entry 2's hash", output, StringComparison.Ordinal);

        // A bad anchor file is bad input, naming the file and line.
        File.AppendAllText(anchors, "3 not-a-hash\n");
        var (bad, _, err) = Invoke("audit", "verify", "--data", dir, "--anchor", anchors);
        Assert.Equal(2, bad);
        Assert.Contains("anchors.txt:3: 'not-a-hash' is not a SHA-256 hash", err, StringComparison.Ordinal);
        Assert.Contains("no such file", Invoke("audit", "verify", "--data", dir, "--anchor", anchors + ".missing").Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_NoLog_ExitsTwo()
    {
        var (code, _, err) = Invoke("audit", "verify", "--data", TempDir());
        Assert.Equal(2, code);
        Assert.Contains("no audit log", err, StringComparison.Ordinal);
    }
}
