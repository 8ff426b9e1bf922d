using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Aida.Model.Scenarios;
using Aida.Twin.Simulation;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

public class CommandTests
{
    [Theory]
    [InlineData("simulate")]
    [InlineData("run")]
    [InlineData("bench")]
    [InlineData("bench", "twin")]
    [InlineData("validate")]
    [InlineData("query")]
    [InlineData("serve")]
    [InlineData("twin")]
    [InlineData("twin", "serve")]
    public void EveryVerb_HasHelp(params string[] verb)
    {
        var (code, output, _) = Invoke([.. verb, "--help"]);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Contains(verb[^1], output, StringComparison.Ordinal);
    }

    [Fact]
    public void RootHelp_ListsTheVerbs()
    {
        var (code, output, _) = Invoke("--help");
        Assert.Equal(0, code);
        foreach (var verb in new[] { "simulate", "run", "bench", "validate", "query", "serve", "twin" })
        {
            Assert.Contains(verb, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Simulate_WritesSummaryJson_ByteIdenticalForTheSameSeed()
    {
        var a = TempDir();
        var b = TempDir();
        var r1 = Invoke("simulate", "--scenario", "faults/chiller-trip", "--duration", "3h", "--seed", "5", "--out", a);
        var r2 = Invoke("simulate", "--scenario", "faults/chiller-trip", "--duration", "3h", "--seed", "5", "--out", b);
        Assert.Equal(0, r1.Code);
        Assert.Equal(0, r2.Code);
        Assert.Contains("PUE", r1.Out, StringComparison.Ordinal);
        var json1 = File.ReadAllBytes(Path.Combine(a, "summary.json"));
        Assert.Equal(json1, File.ReadAllBytes(Path.Combine(b, "summary.json")));
        var doc = JsonDocument.Parse(json1).RootElement;
        Assert.Equal("chiller-trip", doc.GetProperty("scenario").GetString());
        Assert.Equal("human", doc.GetProperty("mode").GetString());
        Assert.Equal(5, doc.GetProperty("seed").GetInt32());
        Assert.Equal(10_800, doc.GetProperty("duration_seconds").GetDouble());
    }

    [Fact]
    public void Validate_AcceptsEveryBundledFile()
    {
        var files = Directory.GetFiles(Path.Combine(Root, "factories"), "*.yaml")
            .Concat(Directory.GetFiles(Path.Combine(Root, "scenarios"), "*.yaml", SearchOption.AllDirectories)).ToArray();
        var (code, output, err) = Invoke(["validate", .. files]);
        Assert.True(code == 0, err);
        Assert.Equal(files.Length, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void BenchTwin_ReportsAMedianRate()
    {
        var (code, output, _) = Invoke("bench", "twin", "--duration", "10m", "--repeat", "1");
        Assert.Equal(0, code);
        Assert.Matches(@"median: \d+ simulated seconds per wall second", output);
    }

    [Fact]
    public async Task Run_KeepsPlantTimeAtSpeedTimesWallTime()
    {
        var scenario = ScenarioLoader.Load("reference");
        var sim = new Simulator(scenario, new SimulationOptions { Duration = TimeSpan.FromMinutes(30) });
        var wall = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var output = new StringWriter();
        using var cts = new CancellationTokenSource();
        var driving = RunCommand.Drive(sim, wall, speed: 60, TimeSpan.FromMinutes(5), output, cts.Token);

        // Ten wall seconds at 60x is ten plant minutes: the opening status line and one every five minutes.
        for (var i = 0; i < 100; i++)
        {
            wall.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Yield();
        }

        await WaitUntil(() => sim.StepsDone >= 600);
        Assert.InRange(sim.StepsDone, 600, 606);
        cts.Cancel();
        wall.Advance(TimeSpan.FromSeconds(1));
        await driving;
        Assert.Equal(3, output.ToString().Split('\n').Count(l => l.StartsWith("2025-07-01 00:", StringComparison.Ordinal)));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Yield();
        }
    }

    [Fact]
    public void Simulate_KeepsTelemetry_AndQueryAnswersOffline()
    {
        var dir = TempDir();
        var sim = Invoke("simulate", "--scenario", "faults/chiller-trip", "--duration", "3h", "--out", dir);
        Assert.Equal(0, sim.Code);
        Assert.Matches(@"telemetry: [\d,]+ samples in [\d,]+ series", sim.Out);

        // The chiller trip at 2 h warms the facility water: the stored readings show it.
        var at = Invoke("query", "--data", dir, "max_over_time(aida_facility_water_supply_celsius[50m]) - min_over_time(aida_facility_water_supply_celsius[50m])", "--at", "2025-07-01T02:50:00Z");
        Assert.Equal(0, at.Code);
        var rise = double.Parse(at.Out.Split('\n')[0].Split("  ")[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(rise > 0.5, at.Out);

        var range = Invoke("query", "--data", dir, "sum(DCGM_FI_DEV_POWER_USAGE) / 1e6", "--range", "2025-07-01T01:00:00Z", "2025-07-01T02:00:00Z", "30m", "--json");
        Assert.Equal(0, range.Code);
        var json = JsonDocument.Parse(range.Out).RootElement.GetProperty("data");
        Assert.Equal("matrix", json.GetProperty("resultType").GetString());
        Assert.Equal(3, json.GetProperty("result")[0].GetProperty("values").GetArrayLength());

        var bad = Invoke("query", "--data", dir, "rate(aida_it_power_watts[5m]");
        Assert.Equal(2, bad.Code);
        Assert.StartsWith("aida: query: 1:", bad.Err, StringComparison.Ordinal);
    }
}
