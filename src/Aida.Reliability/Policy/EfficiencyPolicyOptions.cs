using Aida.Model.Scenarios;

namespace Aida.Reliability.Policy;

/// <summary>The settings of the efficiency policy; defaults and their sources are in docs/slos.md.</summary>
public sealed record EfficiencyPolicyOptions
{
    /// <summary>Facility-water supply setpoint of the safe envelope: 20 °C, the digital baseline's summer value, which keeps
    /// supply air (water + 3 K coil approach) well under the 27 °C inlet limit.</summary>
    public double SafeFacilityWaterSupplyCelsius { get; init; } = 20;

    /// <summary>The most the facility water may be raised to with full headroom: 32 °C, the top of ASHRAE class W32.</summary>
    public double CapFacilityWaterSupplyCelsius { get; init; } = 32;

    /// <summary>CDU secondary supply setpoint of the safe envelope: 28 °C, 4 K under the W32 class limit the pack holds it to.</summary>
    public double SafeCduSupplyCelsius { get; init; } = 28;

    /// <summary>The most the CDU supply may be raised to with full headroom: 32 °C, the class limit itself.</summary>
    public double CapCduSupplyCelsius { get; init; } = 32;

    /// <summary>Remaining budget at or above which an SLO leaves the full headroom: 50 %.</summary>
    public double PlentifulBudget { get; init; } = 0.5;

    /// <summary>Remaining budget at or below which the policy freezes and pages: 25 %.</summary>
    public double ThinBudget { get; init; } = 0.25;

    /// <summary>Short-window burn rate that freezes and pages: 14.4, the SRE Workbook's fast page (2 % of a 30-day budget in 1 h).</summary>
    public double FastBurnFreeze { get; init; } = 14.4;

    /// <summary>Long-window burn rate that freezes and pages: 6, the SRE Workbook's slower page (5 % of a 30-day budget in 6 h).</summary>
    public double SlowBurnFreeze { get; init; } = 6;

    /// <summary>Headroom needed before units may be staged off (which removes redundancy): 0.5.</summary>
    public double StagingHeadroom { get; init; } = 0.5;

    /// <summary>Risk budget at full headroom: 2 % of a window's budget per decision, what one hour at the fast-page rate spends.</summary>
    public double MaxRiskBudget { get; init; } = 0.02;

    /// <summary>Checks the options against the plant's hard setpoint limits and each other.</summary>
    /// <exception cref="ArgumentException">An option is out of range or the options contradict each other.</exception>
    public void Validate()
    {
        static void Within(string name, double value, double min, double max)
        {
            if (!(value >= min && value <= max))
            {
                throw new ArgumentException($"{name} must be within {min} to {max}, not {value}");
            }
        }

        Within(nameof(SafeFacilityWaterSupplyCelsius), SafeFacilityWaterSupplyCelsius, SetpointLimits.FacilityWaterMin, SetpointLimits.FacilityWaterMax);
        Within(nameof(CapFacilityWaterSupplyCelsius), CapFacilityWaterSupplyCelsius, SafeFacilityWaterSupplyCelsius, SetpointLimits.FacilityWaterMax);
        Within(nameof(SafeCduSupplyCelsius), SafeCduSupplyCelsius, SetpointLimits.CduSupplyMin, SetpointLimits.CduSupplyMax);
        Within(nameof(CapCduSupplyCelsius), CapCduSupplyCelsius, SafeCduSupplyCelsius, SetpointLimits.CduSupplyMax);
        Within(nameof(ThinBudget), ThinBudget, 0, 1);
        if (!(PlentifulBudget > ThinBudget && PlentifulBudget <= 1))
        {
            throw new ArgumentException($"{nameof(PlentifulBudget)} must be above {nameof(ThinBudget)} ({ThinBudget}) and at most 1, not {PlentifulBudget}");
        }

        if (!(SlowBurnFreeze > 1))
        {
            throw new ArgumentException($"{nameof(SlowBurnFreeze)} must be above 1 (the sustainable rate), not {SlowBurnFreeze}");
        }

        if (!(FastBurnFreeze > 1))
        {
            throw new ArgumentException($"{nameof(FastBurnFreeze)} must be above 1 (the sustainable rate), not {FastBurnFreeze}");
        }

        Within(nameof(StagingHeadroom), StagingHeadroom, 0, 1);
        Within(nameof(MaxRiskBudget), MaxRiskBudget, 0, 1);
    }
}
