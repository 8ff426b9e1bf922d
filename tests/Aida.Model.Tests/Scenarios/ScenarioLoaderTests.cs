using Aida.Model.Config;
using Aida.Model.Scenarios;

namespace Aida.Model.Tests.Scenarios;

public class ScenarioLoaderTests
{
    private static string ScenarioText(string extra, string duration = "1h") => $"""
        name: t
        factory: {Repo.Factory("ref-10mw")}
        duration: {duration}
        {extra}
        """;

    [Fact]
    public void Load_Reference_ByBundledName()
    {
        var s = ScenarioLoader.Load("reference");
        Assert.Equal("reference", s.Name);
        Assert.Equal(TimeSpan.FromDays(7), s.Duration);
        Assert.Equal("ref-10mw", s.Factory.Name);
        Assert.Empty(s.Faults);
        Assert.NotEmpty(s.Workload.Training);
        Assert.NotEmpty(s.Workload.Inference);
        Assert.NotNull(s.Weather.EpwPath);
    }

    public static TheoryData<string> FaultScenarios() =>
        new(Directory.GetFiles(Path.Combine(Repo.Root, "scenarios", "faults"), "*.yaml").Select(Path.GetFileNameWithoutExtension)!);

    [Theory]
    [MemberData(nameof(FaultScenarios))]
    public void Load_EveryFaultScenario_HasAFaultOfItsKind(string name)
    {
        var s = ScenarioLoader.Load($"faults/{name}");
        Assert.NotEmpty(s.Faults);
        // Named by its kind, or by a variant of it (fan-speed-actuator-failure: an actuator failure on a fan speed).
        Assert.Contains(s.Faults, f => f.KindName == name || name.EndsWith("-" + f.KindName, StringComparison.Ordinal)
            || (name == "generator-fail-to-start" && f.Kind == FaultKind.GeneratorFailToStart));
    }

    [Fact]
    public void Every_FaultKind_HasABundledScenario()
    {
        foreach (var e in FaultCatalog.All)
        {
            Assert.True(File.Exists(Path.Combine(Repo.Root, "scenarios", "faults", e.Name + ".yaml")), $"no scenario for {e.Name}");
        }
    }

    [Fact]
    public void UnknownAsset_IsNamed()
    {
        var path = Repo.Scratch(ScenarioText("faults:\n  - {kind: chiller-trip, asset: chiller-9, start: 10m}"));
        var e = Assert.Throws<ConfigException>(() => ScenarioLoader.Load(path));
        Assert.Equal($"{path}:5: faults[0].asset: unknown asset 'chiller-9'", e.Message);
    }

    [Fact]
    public void AssetOfTheWrongKind_IsNamed()
    {
        var path = Repo.Scratch(ScenarioText("faults:\n  - {kind: chiller-trip, asset: cdu-h1-a, start: 10m}"));
        var e = Assert.Throws<ConfigException>(() => ScenarioLoader.Load(path));
        Assert.Contains("faults[0].asset: 'cdu-h1-a' is a cdu; chiller-trip applies to: chiller", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownFaultKind_ListsTheKnownOnes()
    {
        var path = Repo.Scratch(ScenarioText("faults:\n  - {kind: meteor, asset: cdu-h1-a}"));
        var e = Assert.Throws<ConfigException>(() => ScenarioLoader.Load(path));
        Assert.Contains("faults[0].kind: unknown fault kind 'meteor' (expected one of: chiller-trip,", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NegativeDuration_IsRejected()
    {
        var path = Repo.Scratch(ScenarioText("", duration: "-2h"));
        var e = Assert.Throws<ConfigException>(() => ScenarioLoader.Load(path));
        Assert.Contains("duration: duration '-2h' is negative", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FaultAfterTheEnd_IsRejected()
    {
        var path = Repo.Scratch(ScenarioText("faults:\n  - {kind: chiller-trip, asset: chiller-1, start: 2h}"));
        var e = Assert.Throws<ConfigException>(() => ScenarioLoader.Load(path));
        Assert.Contains("faults[0].start: 2h is not within the scenario's duration 1h", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OutOfRangeSetpoint_IsRejected()
    {
        var path = Repo.Scratch(ScenarioText("setpoints:\n  cdu_supply_celsius: 70"));
        var e = Assert.Throws<ConfigException>(() => ScenarioLoader.Load(path));
        Assert.Equal($"{path}:5: setpoints.cdu_supply_celsius: 70 is out of range [15, 50]", e.Message);
    }

    [Fact]
    public void OutOfRangeFaultParameter_IsRejected()
    {
        var path = Repo.Scratch(ScenarioText("faults:\n  - {kind: cdu-pump-failure, asset: cdu-h1-a, pumps: 5}"));
        var e = Assert.Throws<ConfigException>(() => ScenarioLoader.Load(path));
        Assert.Contains("faults[0].pumps: 5 is more than the 3 pumps of cdu-h1-a", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RackRunningTwoJobs_IsRejected()
    {
        var path = Repo.Scratch(ScenarioText("workload:\n  training:\n    - {name: a, racks: [hall-1]}\n    - {name: b, racks: [h1-a01]}"));
        var e = Assert.Throws<ConfigException>(() => ScenarioLoader.Load(path));
        Assert.Contains("workload.training[1].racks[0]: rack 'h1-a01' already runs 'a'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DesignDryBulb_ComesFromTheWeatherFile_AndFollowsAnotherClimate_UnlessTheFactorySetsIt()
    {
        // The EPW headers' 0.4 % cooling dry bulbs (ASHRAE Fundamentals 2021 ch. 14): Leesburg 35.0 °C, Phoenix 43.6 °C.
        var s = ScenarioLoader.Load("reference");
        Assert.Equal(35.0, s.Factory.Site.DesignDryBulbCelsius);
        Assert.Contains("USA_VA_Leesburg.Exec.epw", s.Factory.Site.DesignDryBulbSource, StringComparison.Ordinal);

        var phoenix = ScenarioLoader.WithWeatherFile(s, Path.Combine(Repo.Root, "weather", "USA_AZ_Phoenix-Sky.Harbor.epw"));
        Assert.Equal(43.6, phoenix.Factory.Site.DesignDryBulbCelsius);
        Assert.EndsWith("USA_AZ_Phoenix-Sky.Harbor.epw", phoenix.Weather.EpwPath, StringComparison.Ordinal);

        var factory = Repo.FactoryWith("  latitude: 39.08\n", "  latitude: 39.08\n  design_dry_bulb_celsius: 38\n");
        var own = ScenarioLoader.Load(Repo.Scratch($"name: t\nfactory: {factory}\nduration: 1h\n"));
        Assert.Equal(38, own.Factory.Site.DesignDryBulbCelsius);
        Assert.Equal(38, ScenarioLoader.WithWeatherFile(own, phoenix.Weather.EpwPath!).Factory.Site.DesignDryBulbCelsius);

        var synthetic = ScenarioLoader.Load(Repo.Scratch(ScenarioText("weather:\n  synthetic: {mean_celsius: 20}")));
        Assert.Null(synthetic.Factory.Site.DesignDryBulbCelsius);
    }

    [Theory]
    [InlineData("DESIGN CONDITIONS,1,2021 ASHRAE Handbook -- Fundamentals - Chapter 14 Climatic Design Information,,Heating,12,4.0,5.5,Cooling,7,11.4,43.6,20.7", 43.6)]
    [InlineData("DESIGN CONDITIONS,0", null)]
    [InlineData("DESIGN CONDITIONS,1,x,,Cooling,7,11.4", null)]
    [InlineData("DESIGN CONDITIONS,1,x,,Cooling,7,11.4,hot", null)]
    [InlineData("DESIGN CONDITIONS,1,x,,Cooling,7,11.4,430", null)]
    public void DesignConditionsHeader_GivesTheCoolingDryBulb_OrNothing(string line, double? expected)
    {
        Assert.Equal(expected, EpwDesignConditions.FromHeader(line));
    }

    [Fact]
    public void MissingFactoryFile_IsNamed()
    {
        var path = Repo.Scratch("name: t\nfactory: nowhere.yaml\nduration: 1h\n");
        var e = Assert.Throws<ConfigException>(() => ScenarioLoader.Load(path));
        Assert.Equal($"{path}:2: factory: factory file 'nowhere.yaml' not found", e.Message);
    }
}
