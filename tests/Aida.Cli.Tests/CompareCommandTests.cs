using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>One short comparison (20 min of the reference, every mode, seeds 1 and 2), shared by the tests that read it.</summary>
public sealed class ShortComparison
{
    public static readonly string[] Args = ["compare", "--scenario", "reference", "--modes", "human,digital,agent", "--seeds", "1,2", "--duration", "20m"];

    public ShortComparison()
    {
        Directory = TempDir();
        (Code, Output, Error) = Invoke([.. Args, "--out", Directory]);
        Json = Code == 0 ? JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "compare.json"))).RootElement : default;
    }

    public string Directory { get; }
    public int Code { get; }
    public string Output { get; }
    public string Error { get; }
    public JsonElement Json { get; }

    public JsonElement Climate => Json.GetProperty("climates")[0];

    /// <summary>A figure of one run as its summary says it.</summary>
    public double Figure(string mode, int seed, Func<JsonElement, double> figure) =>
        figure(Climate.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("mode").GetString() == mode && r.GetProperty("seed").GetInt32() == seed).GetProperty("summary"));
}

public class CompareCommandTests(ShortComparison run) : IClassFixture<ShortComparison>
{
    private static double Overhead(JsonElement s) => s.GetProperty("facility_energy_kwh").GetDouble() - s.GetProperty("it_energy_kwh").GetDouble();

    private static double Pue(JsonElement s) => s.GetProperty("pue").GetDouble();

    [Fact]
    public void Help_NamesEveryOption()
    {
        var (code, output, _) = Invoke("compare", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--scenario", "--modes", "--seeds", "--out", "--duration", "--weather", "--climates", "--jobs", "--keep-telemetry", "--slos" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Table_ShowsEachModeAndTheSavings()
    {
        Assert.True(run.Code == 0, run.Error);
        foreach (var line in new[] { "human: median", "digital: median", "agent: median", "agent vs human:", "agent vs digital:", "overhead energy (facility - IT)", "SLO rack-inlet-envelope budget left" })
        {
            Assert.Contains(line, run.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Json_HoldsEveryRunsSummary_AsItsSummaryFile()
    {
        Assert.True(run.Code == 0, run.Error);
        var runs = run.Climate.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(6, runs.Count);
        foreach (var r in runs)
        {
            var file = Path.Combine(run.Directory, "runs", run.Climate.GetProperty("name").GetString()!, $"{r.GetProperty("mode").GetString()}-seed{r.GetProperty("seed").GetInt32()}", "summary.json");
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(file)), JsonNode.Parse(r.GetProperty("summary").GetRawText())), file);
            Assert.False(System.IO.Directory.Exists(Path.Combine(Path.GetDirectoryName(file)!, "tsdb")), "telemetry is removed unless --keep-telemetry");

            // 20 min: one (partial) hour of PUE from the run's meters, close to the run's PUE.
            var hourly = r.GetProperty("pue_hourly").EnumerateArray().Select(p => p.GetDouble()).ToList();
            Assert.Single(hourly);
            Assert.Equal(Pue(r.GetProperty("summary")), hourly[0], 0.01);
        }
    }

    [Fact]
    public void EachRun_IsTheRunAidaSimulateMakes()
    {
        Assert.True(run.Code == 0, run.Error);
        // An --out that does not exist yet (regression: the agent's reset of its files threw DirectoryNotFound).
        var dir = Path.Combine(TempDir(), "new");
        var (code, _, err) = Invoke("simulate", "--scenario", "reference", "--mode", "agent", "--seed", "2", "--duration", "20m", "--out", dir);
        Assert.True(code == 0, err);
        var compared = Path.Combine(run.Directory, "runs", run.Climate.GetProperty("name").GetString()!, "agent-seed2", "summary.json");
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "summary.json")), File.ReadAllText(compared));
    }

    [Theory]
    // Each figure's median, min and max per mode are those of the runs' summaries.
    [InlineData("facility_energy_kwh")]
    [InlineData("pue")]
    [InlineData("overhead_energy_kwh")]
    [InlineData("cooling_energy_kwh")]
    [InlineData("gpu_throttled_seconds")]
    public void Aggregates_AreTheSummariesMedianMinAndMax(string key)
    {
        Assert.True(run.Code == 0, run.Error);
        foreach (var mode in new[] { "human", "digital", "agent" })
        {
            var values = new[] { 1, 2 }.Select(seed => run.Figure(mode, seed, s => key == "overhead_energy_kwh" ? Overhead(s) : s.GetProperty(key).GetDouble())).ToArray();
            var spread = run.Climate.GetProperty("aggregates").GetProperty(mode).GetProperty(key);
            Assert.Equal(values.Average(), spread.GetProperty("median").GetDouble(), 0.002);
            Assert.Equal(values.Min(), spread.GetProperty("min").GetDouble(), 0.002);
            Assert.Equal(values.Max(), spread.GetProperty("max").GetDouble(), 0.002);
            Assert.Equal(values[1], spread.GetProperty("per_seed").GetProperty("2").GetDouble(), 0.002);
        }
    }

    [Theory]
    [InlineData("human")]
    [InlineData("digital")]
    public void Savings_AreTakenSeedBySeed_OnTheSameSeed(string baseline)
    {
        Assert.True(run.Code == 0, run.Error);
        var savings = run.Climate.GetProperty("savings").GetProperty($"agent_vs_{baseline}");
        foreach (var seed in new[] { 1, 2 })
        {
            var key = seed.ToString(System.Globalization.CultureInfo.InvariantCulture);

            // Energy: per cent less than the baseline; PUE: points lower; SLO budget: points more left.
            var b = run.Figure(baseline, seed, Overhead);
            var a = run.Figure("agent", seed, Overhead);
            Assert.Equal((b - a) / b * 100, savings.GetProperty("overhead_energy_kwh").GetProperty("per_seed").GetProperty(key).GetDouble(), 0.01);
            Assert.Equal(run.Figure(baseline, seed, Pue) - run.Figure("agent", seed, Pue), savings.GetProperty("pue").GetProperty("per_seed").GetProperty(key).GetDouble(), 0.0002);
            Assert.Equal(0, savings.GetProperty("slo:rack-inlet-envelope:budget_remaining").GetProperty("per_seed").GetProperty(key).GetDouble(), 0.0001);
        }

        // The baselines have no safety auditor: no saving is claimed on what they do not measure.
        Assert.Equal(JsonValueKind.Null, savings.GetProperty("safety_violations").ValueKind);
        var perSeed = savings.GetProperty("overhead_energy_kwh").GetProperty("per_seed").EnumerateObject().Select(p => p.Value.GetDouble()).ToList();
        Assert.Equal(perSeed.Average(), savings.GetProperty("overhead_energy_kwh").GetProperty("median").GetDouble(), 1e-6);
    }

    [Fact]
    public void SameSeeds_OneRunAtATime_GiveByteIdenticalJsonAndReport()
    {
        Assert.True(run.Code == 0, run.Error);
        var again = TempDir();
        var (code, _, err) = Invoke([.. ShortComparison.Args, "--out", again, "--jobs", "1"]);
        Assert.True(code == 0, err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(run.Directory, "compare.json")), File.ReadAllBytes(Path.Combine(again, "compare.json")));
        Assert.Equal(File.ReadAllText(Path.Combine(run.Directory, "report.html")), File.ReadAllText(Path.Combine(again, "report.html")));
    }

    [Fact]
    public void Report_IsSelfContained_WithAnSvgPerChart()
    {
        Assert.True(run.Code == 0, run.Error);
        var html = File.ReadAllText(Path.Combine(run.Directory, "report.html"));
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(new Regex("<(script|link|img|iframe)\\b", RegexOptions.IgnoreCase), html);

        // Energy, PUE over time, overhead, cooling, SLO attainment, budget left, throttling, incidents, actions, safety.
        var figures = Regex.Count(html, "<figure>\\s*<svg ");
        Assert.Equal(10, figures);
        Assert.Equal(figures, Regex.Count(html, "</svg>"));

        // Each chart is drawn, title included (a layout ScottPlot cannot do renders an empty SVG, not an error).
        Assert.All(Regex.Matches(html, "<svg .*?</svg>", RegexOptions.Singleline), svg => Assert.Contains("<text", svg.Value, StringComparison.Ordinal));
        foreach (var title in new[] { "PUE over time", "Overhead energy", "Cooling energy", "SLO attainment", "Error budget left", "Throttled GPU-seconds", "mean time to detect", "Safety violations" })
        {
            Assert.Contains(title, html, StringComparison.Ordinal);
        }
    }
}

public class CompareClimateTests
{
    [Fact]
    public void Weather_RunsEachClimate_AndPhoenixCoolsHarderThanSeattle()
    {
        var dir = TempDir();
        var (code, output, err) = Invoke("compare", "--scenario", "reference", "--modes", "digital,agent", "--seeds", "1", "--duration", "10m", "--out", dir,
            "--weather", "USA_AZ_Phoenix-Sky.Harbor.epw,USA_WA_Seattle-Tacoma.epw", "--slos", "none");
        Assert.True(code == 0, err);
        Assert.Contains("climate USA_AZ_Phoenix-Sky.Harbor", output, StringComparison.Ordinal);
        Assert.Contains("climate USA_WA_Seattle-Tacoma", output, StringComparison.Ordinal);

        var climates = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "compare.json"))).RootElement.GetProperty("climates").EnumerateArray().ToList();
        Assert.Equal(["USA_AZ_Phoenix-Sky.Harbor.epw", "USA_WA_Seattle-Tacoma.epw"], climates.Select(c => c.GetProperty("weather").GetString()));
        double Cooling(JsonElement c) => c.GetProperty("aggregates").GetProperty("digital").GetProperty("cooling_energy_kwh").GetProperty("median").GetDouble();
        Assert.True(Cooling(climates[0]) > Cooling(climates[1]), $"Phoenix {Cooling(climates[0])} kWh, Seattle {Cooling(climates[1])} kWh");
        Assert.True(climates.All(c => c.GetProperty("savings").TryGetProperty("agent_vs_digital", out _)));

        // With several climates the report opens with the agent's overhead saving per climate.
        var html = File.ReadAllText(Path.Combine(dir, "report.html"));
        Assert.Contains("Across climates", html, StringComparison.Ordinal);
        Assert.Equal(1 + 2 * 10, Regex.Count(html, "<figure>\\s*<svg "));
    }

    [Fact]
    public void TowerPlant_ShowsItsWater_BesideItsEnergy_AndADryPlantDoesNot()
    {
        var dir = TempDir();
        var (code, output, err) = Invoke("compare", "--scenario", "reference-tower", "--modes", "human,agent", "--seeds", "1", "--duration", "10m", "--out", dir,
            "--weather", "USA_AZ_Phoenix-Sky.Harbor.epw", "--slos", "none");
        Assert.True(code == 0, err);
        Assert.Contains("site water (cooling towers)", output, StringComparison.Ordinal);
        Assert.Contains("WUE (water / IT energy)", output, StringComparison.Ordinal);
        var climate = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "compare.json"))).RootElement.GetProperty("climates")[0];
        foreach (var mode in new[] { "human", "agent" })
        {
            var wue = climate.GetProperty("aggregates").GetProperty(mode).GetProperty("wue").GetProperty("median").GetDouble();
            var summary = climate.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("mode").GetString() == mode).GetProperty("summary");
            Assert.Equal(summary.GetProperty("wue_litres_per_kwh").GetDouble(), wue, 1e-3);

            // Evaporation and blowdown at 4 cycles: 1.98 L per kWh of heat, and the heat is a little more than the IT.
            Assert.InRange(wue, 1.9, 2.6);
        }

        var (dryCode, dryOutput, dryErr) = Invoke("compare", "--scenario", "reference", "--modes", "agent", "--seeds", "1", "--duration", "10m", "--out", TempDir(), "--slos", "none");
        Assert.True(dryCode == 0, dryErr);
        Assert.DoesNotContain("site water", dryOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void ComparingAgainIntoTheSameDirectory_StartsEachRunAfresh()
    {
        var dir = TempDir();
        string[] args = ["compare", "--scenario", "reference", "--modes", "digital,agent", "--seeds", "1", "--duration", "10m", "--out", dir, "--slos", "none"];
        var agentRun = Path.Combine(dir, "runs", "USA_VA_Leesburg.Exec", "agent-seed1");
        Assert.Equal(0, Invoke(args).Code);
        var first = File.ReadAllText(Path.Combine(dir, "compare.json"));
        var audit = Invoke("audit", "show", "--data", agentRun, "--limit", "1000000").Out;
        var (code, _, err) = Invoke(args);
        Assert.True(code == 0, err);
        Assert.Equal(first, File.ReadAllText(Path.Combine(dir, "compare.json")));

        // The agent's audit log holds the second run alone, not the first one's entries before it.
        Assert.Equal(audit.Split('\n').Length, Invoke("audit", "show", "--data", agentRun, "--limit", "1000000").Out.Split('\n').Length);
    }

    [Theory]
    // An unknown mode, no mode, no seed, a seed that is not a number or given twice, a zero or malformed duration,
    // no scenario, a scenario that does not exist, an unknown climate set, a missing weather file, both weather options.
    [InlineData("--modes: unknown mode 'robot'", "--modes", "human,robot")]
    [InlineData("--modes: no mode given", "--modes", ",")]
    [InlineData("--seeds: no seed given", "--seeds", "")]
    [InlineData("--seeds: 'x' is not an integer", "--seeds", "1,x")]
    [InlineData("--seeds: a seed is given twice", "--seeds", "1,1")]
    [InlineData("--duration: must be longer than zero", "--duration", "0s")]
    [InlineData("--duration:", "--duration", "ten")]
    [InlineData("--climates: 'mars' is not known", "--climates", "mars")]
    [InlineData("--weather: no such file 'nowhere.epw'", "--weather", "nowhere.epw")]
    [InlineData("--climates: give either --weather or --climates", "--weather", "USA_VA_Leesburg.Exec.epw", "--climates", "all")]
    public void BadInput_ExitsTwo_NamingTheOption(string expected, params string[] args)
    {
        var (code, _, err) = Invoke(["compare", "--scenario", "reference", "--out", TempDir(), .. args]);
        Assert.Equal(2, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void MissingScenario_ExitsTwo_NamingIt()
    {
        var (code, _, err) = Invoke("compare", "--out", TempDir());
        Assert.Equal(2, code);
        Assert.Contains("--scenario", err, StringComparison.Ordinal);

        (code, _, err) = Invoke("compare", "--scenario", "no-such-scenario.yaml", "--out", TempDir());
        Assert.Equal(2, code);
        Assert.Contains("no-such-scenario.yaml", err, StringComparison.Ordinal);
    }
}
