using Aida.Automation.Audit;
using Microsoft.Data.Sqlite;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida audit verify says whether a run's audit log is intact, and names the first tampered entry.</summary>
public class AuditCommandTests
{
    [Fact]
    public void Verify_Intact_ThenTampered()
    {
        var dir = TempDir();
        using (var log = new AuditLog(Path.Combine(dir, "audit.db"), TimeProvider.System))
        {
            log.Append("agent:cooling-optimiser", AuditKind.Decision, "facility-water/supply_setpoint", "raise 0.5 K: budget 80 % left");
            log.Append("agent:cooling-optimiser", AuditKind.Action, "facility-water/supply_setpoint", "24.5");
            log.Append("agent:cooling-optimiser", AuditKind.Result, "facility-water/supply_setpoint", "accepted");
        }

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
    public void Verify_NoLog_ExitsTwo()
    {
        var (code, _, err) = Invoke("audit", "verify", "--data", TempDir());
        Assert.Equal(2, code);
        Assert.Contains("no audit log", err, StringComparison.Ordinal);
    }
}
