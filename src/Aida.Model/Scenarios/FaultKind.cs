namespace Aida.Model.Scenarios;

/// <summary>The faults the twin can inject (TWIN.md, "Redundancy and faults").</summary>
public enum FaultKind
{
    ChillerTrip,
    CduPumpFailure,
    CrahFanFailure,
    ColdPlateFouling,
    DryCoolerFouling,
    ValveStuck,
    UtilityOutage,
    GeneratorFailToStart,
    Leak,
    PowerSwing,
    HeatWave,
    SensorStuck,
    SensorDrift,
    SensorNoise,
    SensorDropout,
    ActuatorFailure,
    CoolingTowerFouling,
}

/// <summary>What each fault kind is called in YAML, which asset kinds it may hit, and which parameters it takes.</summary>
public static class FaultCatalog
{
    public sealed record Entry(FaultKind Kind, string Name, string[] AssetKinds, IReadOnlyDictionary<string, (double Min, double Max, double Default)> Parameters, string Effect);

    private static readonly Dictionary<string, (double, double, double)> None = new(StringComparer.Ordinal);

    public static IReadOnlyList<Entry> All { get; } =
    [
        new(FaultKind.ChillerTrip, "chiller-trip", ["chiller"], None,
            "the chiller stops; facility water warms until a standby starts"),
        new(FaultKind.CduPumpFailure, "cdu-pump-failure", ["cdu"], P(("pumps", 1, 16, 1)),
            "that many CDU pumps fail; flow falls and GPU temperatures climb in the CDU's racks"),
        new(FaultKind.CrahFanFailure, "crah-fan-failure", ["crah"], None,
            "the CRAH's fans stop; airflow falls short and rack inlets warm through recirculation"),
        new(FaultKind.ColdPlateFouling, "cold-plate-fouling", ["rack", "cdu"], P(("rate_per_day", 0, 5, 0.2)),
            "cold-plate thermal resistance rises by rate_per_day (fraction of clean) each day"),
        new(FaultKind.DryCoolerFouling, "dry-cooler-fouling", ["dry-cooler"], P(("rate_per_day", 0, 5, 0.25)),
            "the dry cooler's approach rises by rate_per_day (fraction of clean) each day"),
        new(FaultKind.ValveStuck, "valve-stuck", ["cdu"], P(("position", 0, 1, 0.3)),
            "the CDU's facility-water valve sticks at position (0-1); it cannot hold its supply setpoint"),
        new(FaultKind.UtilityOutage, "utility-outage", ["utility-feed"], None,
            "the feed is lost; its UPS runs on battery until the generator takes the load"),
        new(FaultKind.GeneratorFailToStart, "generator-fail-to-start", ["generator"], None,
            "the generator does not start when its feed is lost; battery runtime is finite"),
        new(FaultKind.Leak, "leak", ["rack"], P(("litres_per_minute", 0.1, 100, 2)),
            "coolant leaks at the rack; the leak sensor trips and the CDU loses coolant until the rack is isolated"),
        new(FaultKind.PowerSwing, "power-swing", ["hall", "rack", "site"], P(("utilisation", 0, 1, 1), ("period_seconds", 0, 86400, 0)),
            "GPUs in scope run at utilisation (or swing between idle and it every period_seconds)"),
        new(FaultKind.HeatWave, "heat-wave", ["site"], P(("delta_celsius", 0, 20, 8)),
            "ambient dry-bulb rises by delta_celsius (dew point by half of it) for the fault's duration"),
        new(FaultKind.SensorStuck, "sensor-stuck", ["point"], None,
            "the reading freezes at its value when the fault starts"),
        new(FaultKind.SensorDrift, "sensor-drift", ["point"], P(("per_hour", -100, 100, 0.5)),
            "the reading drifts by per_hour units each hour"),
        new(FaultKind.SensorNoise, "sensor-noise", ["point"], P(("sigma", 0, 1000, 2)),
            "gaussian noise of sigma units is added to the reading"),
        new(FaultKind.SensorDropout, "sensor-dropout", ["point"], None,
            "the sensor stops reporting (readings are missing)"),
        new(FaultKind.ActuatorFailure, "actuator-failure", ["actuator"], None,
            "writes to the actuator are accepted but do nothing"),
        new(FaultKind.CoolingTowerFouling, "cooling-tower-fouling", ["cooling-tower"], P(("rate_per_day", 0, 5, 0.25)),
            "the cooling tower's approach rises (scale on its fill and plate exchanger) by rate_per_day (fraction of clean) each day"),
    ];

    public static Entry Of(FaultKind kind) => All[(int)kind];

    public static bool TryParse(string name, out Entry entry)
    {
        foreach (var e in All)
        {
            if (e.Name == name)
            {
                entry = e;
                return true;
            }
        }

        entry = All[0];
        return false;
    }

    private static Dictionary<string, (double, double, double)> P(params (string Name, double Min, double Max, double Default)[] ps) =>
        ps.ToDictionary(p => p.Name, p => (p.Min, p.Max, p.Default), StringComparer.Ordinal);
}
