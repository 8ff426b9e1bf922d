using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida run --data keeps incidents as they happen: alerts folded, stored, a root cause attached.</summary>
public class LiveIncidentsTests
{
    [Fact]
    public void CduPumpFailure_RunLive_OpensAnIncidentNamingTheCdu_WithTheSlosBurnRateAlertsInIt()
    {
        // aida run's agent keeps the incidents; the SLOs burning as the pumps fail join its incident (regression: under
        // the agent they were left out, so the main job's incidents never showed a budget burning).
        var dir = TempDir();
        var (code, _, err) = Invoke("run", "--scenario", "faults/cdu-pump-failure", "--speed", "3600", "--duration", "2h15m", "--status-every", "1h", "--data", dir, "--urls", "none");
        Assert.True(code == 0, err);

        var db = Path.Combine(dir, "incidents.db");
        var (listCode, list, listErr) = Invoke("incidents", "list", "--db", db);
        Assert.True(listCode == 0, listErr);
        Assert.Contains("on cdu-h1-a", list, StringComparison.Ordinal);
        var (_, show, _) = Invoke("incidents", "show", "--db", db, "1");
        Assert.Contains("1. cdu-pump-failure on cdu-h1-a", show, StringComparison.Ordinal);
        Assert.Contains("SLOBurnRatePage (critical)", show, StringComparison.Ordinal);
    }

    [Fact]
    public void UnderABaselineOperator_TheSlosBurnRateAlertsJoinTheIncident_AsTheyFire()
    {
        // Without the agent the run keeps its own incidents; the bundled SLOs burn as the pumps fail (CDU supply, GPU
        // throttling, training goodput) and their burn-rate alerts fold into the pumps' incident, not incidents of their own.
        var dir = TempDir();
        var (code, _, err) = Invoke("run", "--scenario", "faults/cdu-pump-failure", "--mode", "digital", "--speed", "3600", "--duration", "2h15m", "--status-every", "1h", "--data", dir, "--urls", "none");
        Assert.True(code == 0, err);

        var db = Path.Combine(dir, "incidents.db");
        var (_, list, _) = Invoke("incidents", "list", "--db", db);
        var (_, show, _) = Invoke("incidents", "show", "--db", db, "1");
        Assert.Contains("CduPumpFault on cdu-h1-a", list, StringComparison.Ordinal);
        Assert.Contains("(1 incident)", list, StringComparison.Ordinal);
        Assert.Contains("SLOBurnRatePage (critical)", show, StringComparison.Ordinal);
        Assert.Contains("SLOBurnRateTicket (warning)", show, StringComparison.Ordinal);
        Assert.Contains("1. cdu-pump-failure on cdu-h1-a", show, StringComparison.Ordinal);
    }
}
