using System.Text.Json;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida simulate judges the run by the facility SLO pack when it keeps telemetry.</summary>
public class SimulateSloTests
{
    [Fact]
    public void CduPumpFailure_SpendsCoolingAndGoodputBudgets_NotPower()
    {
        var dir = TempDir();
        var (code, output, err) = Invoke("simulate", "--scenario", "faults/cdu-pump-failure", "--mode", "digital", "--duration", "3h", "--out", dir);
        Assert.True(code == 0, err);
        Assert.Contains("SLO training-goodput", output, StringComparison.Ordinal);

        var slos = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement.GetProperty("slos")
            .EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal(["cdu-supply-class", "gpu-throttle-free", "it-power-availability", "power-redundancy", "rack-inlet-envelope", "training-goodput", "training-thermal-goodput"], slos.Keys);

        // The pumps fail at 2 h: GPUs throttle, the CDU's racks are isolated, hall 1's training stalls.
        var goodput = slos["training-goodput"];
        Assert.True(goodput.GetProperty("budget_consumed").GetDouble() > 0.05);
        Assert.True(goodput.GetProperty("alerts_fired").GetInt32() >= 1);
        Assert.True(slos["gpu-throttle-free"].GetProperty("attained").GetDouble() < 1);
        // The thermal part of goodput: the throttling, without the isolations.
        var thermal = slos["training-thermal-goodput"].GetProperty("budget_consumed").GetDouble();
        Assert.InRange(thermal, 1e-9, goodput.GetProperty("budget_consumed").GetDouble());
        Assert.Equal(1, slos["power-redundancy"].GetProperty("attained").GetDouble());
        Assert.Equal(1, slos["it-power-availability"].GetProperty("budget_remaining").GetDouble());
        foreach (var field in new[] { "objective", "attained", "budget_consumed", "budget_remaining", "alerts_fired" })
        {
            Assert.True(goodput.TryGetProperty(field, out _), field);
        }
    }

    [Fact]
    public void SlosNone_OrNoTelemetry_LeaveSlosOut()
    {
        var a = TempDir();
        var b = TempDir();
        Assert.Equal(0, Invoke("simulate", "--scenario", "reference", "--duration", "30m", "--out", a, "--slos", "none").Code);
        Assert.Equal(0, Invoke("simulate", "--scenario", "reference", "--duration", "30m", "--out", b, "--no-telemetry").Code);
        Assert.DoesNotContain("\"slos\"", File.ReadAllText(Path.Combine(a, "summary.json")), StringComparison.Ordinal);
        Assert.DoesNotContain("\"slos\"", File.ReadAllText(Path.Combine(b, "summary.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingSloPath_ExitsTwo()
    {
        var (code, _, err) = Invoke("simulate", "--scenario", "reference", "--duration", "30m", "--out", TempDir(), "--slos", "/nonexistent/slos");
        Assert.Equal(2, code);
        Assert.Contains("--slos: '/nonexistent/slos': no such file or directory", err, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedSloFile_ExitsTwoNamingTheFile()
    {
        var path = Scratch("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\nspec:\n  service: nowhere\n", "bad.yaml");
        var (code, _, err) = Invoke("simulate", "--scenario", "reference", "--duration", "30m", "--out", TempDir(), "--slos", path);
        Assert.Equal(2, code);
        Assert.Contains(path, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }
}
