using System.Text.Json;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida simulate derives PUE, load factors and carbon from the run's telemetry alone, and keeps them as series.</summary>
public class SimulateObservedTests
{
    [Fact]
    public void Observed_MatchesTheTwinsTruth_AndTheDerivedSeriesAreQueryable()
    {
        var dir = TempDir();
        var (code, output, err) = Invoke("simulate", "--scenario", "reference", "--duration", "2h", "--out", dir, "--slos", "none");
        Assert.True(code == 0, err);
        Assert.Contains("PUE from telemetry", output, StringComparison.Ordinal);

        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement;
        var observed = summary.GetProperty("observed");
        Assert.Equal(summary.GetProperty("pue").GetDouble(), observed.GetProperty("pue").GetDouble(), 0.003);
        Assert.Equal("PUE3", observed.GetProperty("pue_category").GetString());
        Assert.Equal(["hall-1", "hall-2"], observed.GetProperty("partial_pue").EnumerateObject().Select(p => p.Name));
        Assert.InRange(observed.GetProperty("clf").GetDouble(), 0.01, 1);
        Assert.InRange(observed.GetProperty("cue_kg_per_kwh").GetDouble(), 0.1, 1.5);
        Assert.False(observed.TryGetProperty("wue_litres_per_kwh", out _), "a dry plant meters no water");

        // PUE every 5 simulated minutes, as a series aida query answers offline.
        var (qcode, series, qerr) = Invoke("query", "--data", dir, "count_over_time(aida_pue[2h])", "--at", "2025-07-01T02:00:00Z");
        Assert.True(qcode == 0, qerr);
        Assert.Matches(@"(?m)\}\s+24\s*$", series);
    }

    [Fact]
    public void OnATowerPlant_ObservedWue_MatchesTheTwinsWater()
    {
        var dir = TempDir();
        var (code, _, err) = Invoke("simulate", "--scenario", "reference-tower", "--duration", "1h", "--out", dir, "--slos", "none");
        Assert.True(code == 0, err);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement;
        var observed = summary.GetProperty("observed");
        var truth = summary.GetProperty("water_m3").GetDouble();
        Assert.True(truth > 0);
        Assert.Equal(truth, observed.GetProperty("water_m3").GetDouble(), truth * 0.005);
        Assert.Equal(summary.GetProperty("wue_litres_per_kwh").GetDouble(), observed.GetProperty("wue_litres_per_kwh").GetDouble(), 0.01);
    }

    [Fact]
    public void GridCarbonFileMissing_ExitsTwoNamingTheField()
    {
        var factory = File.ReadAllText(Path.Combine(Root, "factories", "ref-10mw.yaml")).Replace("grid_carbon: VA_hourly_2022.csv", "grid_carbon: nowhere.csv", StringComparison.Ordinal);
        var factoryPath = Scratch(factory, "site.yaml");
        var scenario = Path.Combine(Path.GetDirectoryName(factoryPath)!, "scenario.yaml");
        File.WriteAllText(scenario, "name: x\nfactory: site.yaml\nduration: 1h\n");
        var (code, _, err) = Invoke("simulate", "--scenario", scenario, "--duration", "10m", "--out", TempDir(), "--slos", "none");
        Assert.Equal(2, code);
        Assert.Contains("site.grid_carbon", err, StringComparison.Ordinal);
        Assert.Contains("nowhere.csv", err, StringComparison.Ordinal);
    }
}
