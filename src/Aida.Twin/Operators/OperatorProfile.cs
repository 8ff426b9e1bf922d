namespace Aida.Twin.Operators;

/// <summary>How a baseline operating mode behaves: its setpoints and how fast and how well its people respond.</summary>
/// <remarks>TWIN.md, "Baseline operators". Delays are drawn uniformly between the bounds from the run's seeded source.</remarks>
internal sealed record OperatorProfile(
    string Mode,
    Func<int, Setpoints> SetpointsFor,
    (double Min, double Max) NoticeDelaySeconds,
    (double Min, double Max) FixDelaySeconds,
    double WrongFixProbability,
    (double Min, double Max) RestoreDelaySeconds,
    bool EnableStandbyCrahs,
    bool SeasonalEconomiser)
{
    /// <summary>Facility-first operation: fixed conservative setpoints, everything on, alarms noticed on rounds.</summary>
    public static OperatorProfile Human { get; } = new(
        "human",
        _ => new Setpoints(FacilityWater: 18, CduSupply: 25, CrahSupply: 20, CrahFanSpeed: 1.0, PumpSpeed: 1.0, FacilityPumpSpeed: 1.0, Economiser: false),
        NoticeDelaySeconds: (10 * 60, 45 * 60),
        FixDelaySeconds: (10 * 60, 30 * 60),
        WrongFixProbability: 0.25,
        RestoreDelaySeconds: (30 * 60, 120 * 60),
        EnableStandbyCrahs: true,
        SeasonalEconomiser: false);

    /// <summary>Dashboards and paging: alarms seen at once, fixes in minutes, seasonal setpoints, economiser with a conservative changeover.</summary>
    public static OperatorProfile Digital { get; } = new(
        "digital",
        // The air side bounds the water: supply air = water + coil approach must stay low enough for a 27 °C inlet.
        month => month is >= 5 and <= 9
            ? new Setpoints(FacilityWater: 20, CduSupply: 30, CrahSupply: 23, CrahFanSpeed: 0.9, PumpSpeed: 0.9, FacilityPumpSpeed: 0.9, Economiser: true)
            : new Setpoints(FacilityWater: 21, CduSupply: 32, CrahSupply: 24, CrahFanSpeed: 0.9, PumpSpeed: 0.9, FacilityPumpSpeed: 0.9, Economiser: true),
        NoticeDelaySeconds: (0, 60),
        FixDelaySeconds: (2 * 60, 8 * 60),
        WrongFixProbability: 0.1,
        RestoreDelaySeconds: (10 * 60, 20 * 60),
        EnableStandbyCrahs: false,
        SeasonalEconomiser: true);

    /// <summary>This profile with some of its standing setpoints replaced for every month.</summary>
    public OperatorProfile Holding(Simulation.StandingSetpoints pinned) => this with
    {
        SetpointsFor = month =>
        {
            var s = SetpointsFor(month);
            return s with
            {
                FacilityWater = pinned.FacilityWaterSupplyCelsius ?? s.FacilityWater,
                CduSupply = pinned.CduSupplyCelsius ?? s.CduSupply,
                CrahSupply = pinned.CrahSupplyCelsius ?? s.CrahSupply,
            };
        },
    };
}

internal readonly record struct Setpoints(
    double FacilityWater,
    double CduSupply,
    double CrahSupply,
    double CrahFanSpeed,
    double PumpSpeed,
    double FacilityPumpSpeed,
    bool Economiser);
