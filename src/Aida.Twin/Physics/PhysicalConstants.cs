namespace Aida.Twin.Physics;

/// <summary>Properties of the working fluids. Sources beside each value; see docs/twin.md.</summary>
internal static class PhysicalConstants
{
    /// <summary>Specific heat of liquid water near 300 K, J/(kg K) (Incropera et al., Fundamentals of Heat and Mass Transfer, 7th ed., Table A.6: 4.179 kJ/kg K).</summary>
    public const double WaterSpecificHeat = 4180;

    /// <summary>Density of water near 300 K, kg/m3 (same table: 997).</summary>
    public const double WaterDensity = 997;

    /// <summary>Density of air at 20-25 °C and sea level, kg/m3 (ASHRAE Fundamentals 2021, ch. 1; standard air 1.2).</summary>
    public const double AirDensity = 1.2;

    /// <summary>Specific heat of air, J/(kg K) (ASHRAE Fundamentals 2021, ch. 1: 1.006 kJ/kg K).</summary>
    public const double AirSpecificHeat = 1006;

    /// <summary>Latent heat of vaporisation of water near 30 °C, J/kg (Incropera et al., 7th ed., Table A.6: 2,430 kJ/kg at
    /// 303 K). A cooling tower evaporates about heat / this: ASHRAE's rule of 1 % of the flow per 10 °F of range is the same figure.</summary>
    public const double WaterLatentHeat = 2.43e6;

    public const double KelvinOffset = 273.15;

    /// <summary>Exponent of the coolant-side heat-transfer coefficient on flow in turbulent flow: h ~ Re^0.8 (Dittus-Boelter, Incropera eq. 8.60).</summary>
    public const double ConvectionFlowExponent = 0.8;
}
