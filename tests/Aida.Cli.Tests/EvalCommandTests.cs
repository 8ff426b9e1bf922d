using System.Text.Json;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

public sealed class EvalCommandTests
{
    private static string Suite(params string[] scenarios)
    {
        var dir = TempDir();
        foreach (var s in scenarios)
        {
            File.Copy(Path.Combine(Root, "scenarios", "faults", s + ".yaml"), Path.Combine(dir, s + ".yaml"));
        }

        return dir;
    }

    /// <summary>Runs the suite of <paramref name="scenarios"/> with seed 1 and returns the table and eval.json.</summary>
    private static (string Stdout, JsonElement Root) Evaluate(string[] scenarios, string after, string faultFree)
    {
        var outDir = TempDir();
        var (code, stdout, stderr) = Invoke("eval", "rca", "--suite", Suite(scenarios), "--seeds", "1", "--after", after, "--fault-free-duration", faultFree, "--out", outDir);
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "eval.json")));
        return (stdout, json.RootElement.Clone());
    }

    [Fact]
    public void SmallSuite_WritesTheFigures_NamesThePumpsCdu_AndCallsAStuckSensorASensorFault()
    {
        var (stdout, root) = Evaluate(["cdu-pump-failure", "sensor-stuck"], "20m", "1h");

        Assert.Contains("cdu-pump-failure", stdout, StringComparison.Ordinal);
        foreach (var field in new[] { "detection_rate", "ac1", "ac3", "false_incidents_per_day", "compression" })
        {
            Assert.InRange(root.GetProperty(field).GetDouble(), 0, 1e6);
        }

        Assert.Equal(1.0, root.GetProperty("detection_rate").GetDouble());
        Assert.InRange(root.GetProperty("mttd_seconds").GetProperty("cdu-pump-failure").GetDouble(), 0, 60);
        var runs = root.GetProperty("runs").EnumerateArray().ToList();
        var pump = runs.Single(r => r.GetProperty("scenario").GetString() == "cdu-pump-failure").GetProperty("top")[0];
        Assert.Equal(("cdu-h1-a", "cdu-pump-failure"), (pump.GetProperty("asset").GetString(), pump.GetProperty("kind").GetString()));
        var stuck = runs.Single(r => r.GetProperty("scenario").GetString() == "sensor-stuck").GetProperty("top")[0];
        Assert.Equal(("cdu-h2-a", "sensor-stuck"), (stuck.GetProperty("asset").GetString(), stuck.GetProperty("kind").GetString()));
        Assert.Contains(runs, r => r.GetProperty("scenario").GetString()!.EndsWith("(fault-free)", StringComparison.Ordinal));
        var log = runs.Single(r => r.GetProperty("scenario").GetString() == "cdu-pump-failure").GetProperty("alert_log").EnumerateArray().ToList();
        Assert.Equal(runs.Single(r => r.GetProperty("scenario").GetString() == "cdu-pump-failure").GetProperty("alerts").GetInt32(), log.Count);
        Assert.All(log, a => Assert.InRange(a.GetProperty("incident").GetInt32(), 1, 100));

        // The bundled SLOs burn as the pumps fail (CDU supply, GPU throttling, training goodput): their burn-rate alerts
        // join the pumps' incident instead of paging apart, and are counted among the alerts.
        var burns = log.Where(a => a.GetProperty("source").GetString() == "slo-burn").ToList();
        Assert.NotEmpty(burns);
        Assert.All(burns, a => Assert.Equal(log[0].GetProperty("incident").GetInt32(), a.GetProperty("incident").GetInt32()));
        Assert.Equal(runs.Sum(r => r.GetProperty("alert_log").EnumerateArray().Count(a => a.GetProperty("source").GetString() == "slo-burn")), root.GetProperty("slo_alerts").GetInt32());
        Assert.Contains("SLO burn-rate", stdout, StringComparison.Ordinal);

        // Incidents after the onset that hold none of the injected faults are counted apart: none in these two runs.
        Assert.All(runs.Where(r => r.GetProperty("truth").GetString() != ""), r => Assert.Equal(0, r.GetProperty("unrelated_incidents").GetInt32()));
        Assert.Equal(0, root.GetProperty("unrelated_incidents_after_onset").GetInt32());
        Assert.InRange(root.GetProperty("fault_window_days").GetDouble(), 2 * 19.0 / 1440, 2 * 21.0 / 1440);
        Assert.Contains("0 more after fault onsets", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void SlosNone_FoldsTelemetryAlertsOnly()
    {
        var outDir = TempDir();
        var (code, stdout, stderr) = Invoke("eval", "rca", "--suite", Suite("cdu-pump-failure"), "--seeds", "1", "--after", "20m", "--fault-free-duration", "1h", "--slos", "none", "--out", outDir);

        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "eval.json")));
        Assert.Equal(0, json.RootElement.GetProperty("slo_alerts").GetInt32());
        Assert.Contains("(0 SLO burn-rate)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void ActuatorFailure_IsFoundAtTheFirstWriteItIgnores_AndNamedFirst_InAllButNotTheFaultTableRow()
    {
        // cdu-h1-a's setpoint actuator fails at 01:00 and ignores the planned write of 02:00: timed from the write.
        var (stdout, root) = Evaluate(["actuator-failure", "leak"], "10m", "40m");

        Assert.Contains("TWIN.md fault table", stdout, StringComparison.Ordinal);
        Assert.Equal(1.0, root.GetProperty("detection_rate").GetDouble());
        Assert.Equal(1.0, root.GetProperty("ac1").GetDouble());
        Assert.InRange(root.GetProperty("mttd_seconds").GetProperty("actuator-failure").GetDouble(), 0, 60);
        var run = root.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("scenario").GetString() == "actuator-failure");
        var top = run.GetProperty("top")[0];
        Assert.Equal(("cdu-h1-a", "actuator-failure"), (top.GetProperty("asset").GetString(), top.GetProperty("kind").GetString()));
        Assert.Equal(1, root.GetProperty("fault_table").GetProperty("runs").GetInt32());
    }

    [Fact]
    public void SuiteWithABadYaml_IsBadInput_NamingTheFile()
    {
        var suite = Suite("leak");
        var bad = Path.Combine(suite, "broken.yaml");
        File.WriteAllText(bad, "name: broken\nfactory: [ref-10mw\nduration: 1h\n");

        var (code, _, stderr) = Invoke("eval", "rca", "--suite", suite, "--seeds", "1");

        Assert.Equal(2, code);
        Assert.Contains(bad, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptySuite_IsBadInput()
    {
        var suite = TempDir();

        var (code, _, stderr) = Invoke("eval", "rca", "--suite", suite);

        Assert.Equal(2, code);
        Assert.Contains("holds no scenario", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ScenarioNamingAMissingAsset_IsBadInput_NamingTheAsset()
    {
        var suite = TempDir();
        var path = Path.Combine(suite, "ghost.yaml");
        File.WriteAllText(path, "name: ghost\nfactory: ref-10mw\nduration: 1h\nfaults:\n  - {kind: cdu-pump-failure, asset: cdu-h9-z, start: 10m}\n");

        var (code, _, stderr) = Invoke("eval", "rca", "--suite", suite, "--seeds", "1");

        Assert.Equal(2, code);
        Assert.Contains("cdu-h9-z", stderr, StringComparison.Ordinal);
        Assert.Contains(path, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--seeds", "1,x", "--seeds")] // a seed that is not a number
    [InlineData("--after", "soon", "--after")] // not a duration
    [InlineData("--fault-free-duration", "30m", "--fault-free-duration")] // no longer than the warm-up: nothing to judge (was an internal error)
    public void BadOptions_AreBadInput(string option, string value, string named)
    {
        var (code, _, stderr) = Invoke("eval", "rca", "--suite", Suite("leak"), option, value);

        Assert.Equal(2, code);
        Assert.Contains(named, stderr, StringComparison.Ordinal);
    }
}
