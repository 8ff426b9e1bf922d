namespace Aida.Twin.Physics;

/// <summary>Chiller efficiency as a fraction of the Carnot limit.</summary>
internal static class ChillerPhysics
{
    /// <summary>Evaporating temperature sits this far below the chilled-water supply (flooded or plate evaporators: 1-2 K; ASHRAE HVAC Systems and Equipment 2020, ch. 43).</summary>
    public const double EvaporatorApproach = 1.5;

    /// <summary>Lift below which the model stops believing Carnot: compressors need a minimum pressure ratio.</summary>
    public const double MinimumLift = 5;

    /// <summary>COP = eta * T_evap / (T_cond - T_evap) in kelvin (TWIN.md; Gordon and Ng, Cool Thermodynamics, 2000).</summary>
    /// <param name="carnotFraction">eta, ~0.5 for air-cooled screw/scroll chillers, 0.55-0.6 for water-cooled centrifugals.</param>
    /// <param name="chilledWaterCelsius">Leaving chilled (facility) water temperature.</param>
    /// <param name="ambientCelsius">Dry bulb for air-cooled condensers.</param>
    /// <param name="condenserApproach">Condensing temperature above ambient at full load.</param>
    /// <param name="minCondensingCelsius">Head-pressure control floor for the condensing temperature.</param>
    public static double Cop(double carnotFraction, double chilledWaterCelsius, double ambientCelsius, double condenserApproach, double minCondensingCelsius)
    {
        var tEvap = chilledWaterCelsius - EvaporatorApproach + PhysicalConstants.KelvinOffset;
        var tCond = Math.Max(ambientCelsius + condenserApproach, minCondensingCelsius) + PhysicalConstants.KelvinOffset;
        var lift = Math.Max(tCond - tEvap, MinimumLift);
        return carnotFraction * tEvap / lift;
    }
}
