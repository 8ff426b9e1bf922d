using Aida.Model.Scenarios;
using Aida.Twin.Simulation;

namespace Aida.Twin.Tests;

/// <summary>Scenarios and runs for twin tests.</summary>
internal static class TestPlants
{
    public static string TinyFactory => Path.Combine(AppContext.BaseDirectory, "TestData", "tiny.yaml");

    /// <summary>The tiny factory with cooling towers and water-cooled chillers (the towers on utility-b alone).</summary>
    public static string TinyTowerFactory => Path.Combine(AppContext.BaseDirectory, "TestData", "tiny-tower.yaml");

    /// <summary>The tiny factory at a constant utilisation and constant weather, with optional setpoints and faults.</summary>
    public static Scenario Tiny(double utilisation = 0.9, double? facilityWater = null, double? cduSupply = null,
        string faults = "", string duration = "4h", double ambient = 15, int seed = 1, string? factory = null, double dewPointDepression = 6)
    {
        var fw = facilityWater is { } f ? $"  facility_water_supply_celsius: {f.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n" : "";
        var cdu = cduSupply is { } c ? $"  cdu_supply_celsius: {c.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n" : "";
        var amb = ambient.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var dp = dewPointDepression.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var u = utilisation.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var yaml = $$"""
            name: tiny-test
            factory: {{factory ?? TinyFactory}}
            duration: {{duration}}
            seed: {{seed}}
            weather:
              synthetic: {mean_celsius: {{amb}}, seasonal_amplitude_celsius: 0, daily_amplitude_celsius: 0, dew_point_depression_celsius: {{dp}} }
            workload:
              training:
                - {name: steady, racks: [all], utilisation: {{u}}, sync_dip: 0, checkpoint_every: 0s, mean_time_between_failures: 0s}
            setpoints:
            {{fw}}{{cdu}}  maintenance: []
            {{faults}}
            """;
        return ScenarioLoader.Parse(yaml, "tiny-test.yaml", AppContext.BaseDirectory);
    }

    /// <summary>A bundled scenario, shortened.</summary>
    public static Scenario Bundled(string name, string? duration = null)
    {
        var s = ScenarioLoader.Load(name);
        return duration is null ? s : s with { Duration = Aida.Model.Config.PromDuration.Parse(duration) };
    }

    /// <summary>The truth behind a point, for evaluation (never what operators see).</summary>
    public static double Truth(this Simulator sim, string point)
    {
        var i = sim.Model.SensorBank.Find(point);
        Assert.True(i >= 0, $"no point {point}");
        return sim.Model.SensorBank.Truth(i);
    }

    /// <summary>Advances by <paramref name="seconds"/> of plant time.</summary>
    public static void Advance(this Simulator sim, double seconds) =>
        sim.AdvanceSteps((long)Math.Round(seconds / sim.Scenario.Step.TotalSeconds));

    /// <summary>Samples <paramref name="point"/>'s truth every <paramref name="every"/> seconds for <paramref name="seconds"/>.</summary>
    public static List<double> Trace(this Simulator sim, string point, double seconds, double every = 60)
    {
        var values = new List<double>();
        for (var t = 0.0; t < seconds; t += every)
        {
            sim.Advance(every);
            values.Add(sim.Truth(point));
        }

        return values;
    }
}
