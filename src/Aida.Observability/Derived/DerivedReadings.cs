namespace Aida.Observability.Derived;

/// <summary>ISO/IEC 30134-2 PUE categories: where the IT energy is metered.</summary>
public enum PueCategory
{
    /// <summary>PUE1: IT energy at the UPS output.</summary>
    Pue1 = 1,

    /// <summary>PUE2: IT energy at the PDU output.</summary>
    Pue2 = 2,

    /// <summary>PUE3: IT energy at the IT equipment input (the rack).</summary>
    Pue3 = 3,
}

/// <summary>A PUE over [<see cref="Start"/>, <see cref="End"/>]: facility energy over IT energy (ISO/IEC 30134-2);
/// an instantaneous reading has Start = End and uses power instead of energy.</summary>
public readonly record struct PueReading(DateTimeOffset Start, DateTimeOffset End, double FacilityKwh, double ItKwh, double Pue, PueCategory Category);

/// <summary>A hall's partial PUE over a range: (its IT + its own cooling + its IT share of the shared plant and
/// losses) / its IT.</summary>
public readonly record struct HallPue(string Hall, double ItKwh, double OverheadKwh, double PartialPue);

/// <summary>Cooling and power load factors over a range (The Green Grid): cooling energy / IT energy and electrical
/// loss energy / IT energy, with the energies behind them.</summary>
public readonly record struct LoadFactors(double ItKwh, double CoolingKwh, double ElectricalLossKwh, double MiscKwh, double Clf, double Plf);

/// <summary>How far one measured quantity is from its limit at an instant.</summary>
/// <param name="Asset">Rack, GPU (<c>rack/gpu</c>), UPS, feed or transformer id.</param>
/// <param name="Quantity">What is compared, e.g. <c>gpu_max_temperature</c>, <c>output_power</c>.</param>
/// <param name="Measured">The reading, or null when the telemetry has none for this asset (it is still listed).</param>
/// <param name="Margin">Limit minus reading (°C or W; negative: over the limit), or null with no reading.</param>
public sealed record Headroom(string Asset, string Quantity, double? Measured, double Limit, double? Margin);

/// <summary>Carbon over a range: facility energy x the grid's hourly intensity.</summary>
/// <param name="Cue">Carbon usage effectiveness (The Green Grid): kgCO2 per IT kWh.</param>
public readonly record struct CarbonReading(DateTimeOffset Start, DateTimeOffset End, double FacilityKwh, double ItKwh, double KgCo2, double Cue);

/// <summary>Site water over a range (the cooling towers' make-up, litres) and WUE = litres / IT kWh (The Green Grid;
/// ISO/IEC 30134-9).</summary>
public readonly record struct WaterReading(DateTimeOffset Start, DateTimeOffset End, double Litres, double ItKwh, double Wue);
