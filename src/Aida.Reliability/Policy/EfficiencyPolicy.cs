using System.Globalization;
using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Policy;

/// <summary>Turns error-budget state into an efficiency envelope: how far setpoints may move toward efficiency, which
/// action classes are allowed and how much predicted risk the optimiser may take. A pure function of its inputs.</summary>
/// <remarks>
/// <para>Each kind of move is weighed only against the SLOs its risk can reach (<see cref="RiskDomains"/>): cooling moves
/// (warmer setpoints, trims, staging) against the cooling domain's SLOs, UPS eco mode against the power domain's. A budget
/// spent by something no such move causes (a leak's rack isolation, charged to training goodput) does not stop them, as the
/// SRE Workbook's "Example Error Budget Policy" lets a team keep changing when its budget was spent by a cause outside what
/// it changes. An SLO that names no domain carries both.</para>
/// <para>A domain freezes (safe envelope, none of its moves, risk 0, page a human) when any of its SLOs has a page-severity
/// alert open, a short-window burn rate at or above <see cref="EfficiencyPolicyOptions.FastBurnFreeze"/>, a long-window
/// burn rate at or above <see cref="EfficiencyPolicyOptions.SlowBurnFreeze"/>, or remaining budget at or below
/// <see cref="EfficiencyPolicyOptions.ThinBudget"/>.</para>
/// <para>Otherwise each SLO's headroom is the smaller of its budget headroom, rising linearly from 0 at the thin budget to
/// 1 at the plentiful one, and its burn headroom, 1 at or below the sustainable rate (1x) falling linearly to 0 at the slow
/// freeze rate. A domain's headroom is the smallest over its SLOs: the tightest budget rules. Setpoint ceilings open from
/// the safe value toward the cap in proportion to the cooling headroom; staging needs
/// <see cref="EfficiencyPolicyOptions.StagingHeadroom"/> of cooling headroom, eco mode as much of power headroom; the risk
/// budget is the cooling headroom times <see cref="EfficiencyPolicyOptions.MaxRiskBudget"/>.</para>
/// <para>A domain with no SLOs, or with one whose budget or burn rates are unknown (NaN), holds its safe envelope without
/// paging: no evidence of headroom is no headroom.</para>
/// <para>Hence, tested as properties: less budget or faster burn never allows warmer setpoints; a fast burn on an SLO a
/// move's risk reaches always freezes that move; the envelope always lies within the safe values and the caps, themselves
/// within the plant's hard limits; an SLO outside a domain never changes that domain's verdict.</para>
/// </remarks>
public static class EfficiencyPolicy
{
    public static EfficiencyEnvelope Evaluate(BudgetState state, EfficiencyPolicyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var o = options ?? new EfficiencyPolicyOptions();
        o.Validate();

        var cooling = Judge(state, RiskDomains.Cooling, o);
        var power = Judge(state, RiskDomains.Power, o);
        var allowed = EfficiencyActions.None;
        if (cooling.Regime == EfficiencyRegime.Expand)
        {
            allowed |= EfficiencyActions.SetpointRaise | EfficiencyActions.PumpAndFanTrim;
            if (cooling.Headroom >= o.StagingHeadroom)
            {
                allowed |= EfficiencyActions.Staging;
            }
        }

        if (power.Regime == EfficiencyRegime.Expand && power.Headroom >= o.StagingHeadroom)
        {
            allowed |= EfficiencyActions.UpsEco;
        }

        var h = cooling.Regime == EfficiencyRegime.Expand ? cooling.Headroom : 0;
        var fw = o.SafeFacilityWaterSupplyCelsius + (h * (o.CapFacilityWaterSupplyCelsius - o.SafeFacilityWaterSupplyCelsius));
        var cdu = o.SafeCduSupplyCelsius + (h * (o.CapCduSupplyCelsius - o.SafeCduSupplyCelsius));
        var page = cooling.Regime == EfficiencyRegime.Freeze || power.Regime == EfficiencyRegime.Freeze;
        return new EfficiencyEnvelope(cooling.Regime, fw, cdu, allowed, h * o.MaxRiskBudget, h, page, cooling.LimitingSlo, cooling.Reason) { Power = power, SafeFacilityWaterSupplyCelsius = o.SafeFacilityWaterSupplyCelsius };
    }

    /// <summary>The verdict of one risk domain over the SLOs whose budget its moves can spend.</summary>
    private static DomainVerdict Judge(BudgetState state, RiskDomains domain, EfficiencyPolicyOptions o)
    {
        var slos = state.Slos.Where(s => (s.Domains & domain) != 0).ToList();
        foreach (var slo in slos)
        {
            if (FreezeReason(slo, o) is { } why)
            {
                return new DomainVerdict(EfficiencyRegime.Freeze, 0, slo.Name, $"{slo.Name}: {why}; back to the safe envelope, efficiency changes frozen");
            }
        }

        if (slos.Count == 0)
        {
            return Hold(null, state.Slos.Count == 0 ? "no SLOs to weigh" : $"no SLO carries the {RiskDomainText.Format(domain)} risk");
        }

        var headroom = double.PositiveInfinity;
        SloBudget? limiting = null;
        foreach (var slo in slos)
        {
            if (double.IsNaN(slo.BudgetRemaining) || double.IsNaN(slo.FastBurnRate) || double.IsNaN(slo.SlowBurnRate))
            {
                return Hold(slo.Name, $"{slo.Name}: no data for its budget or burn rates");
            }

            var h = Headroom(slo, o);
            if (h < headroom)
            {
                headroom = h;
                limiting = slo;
            }
        }

        if (headroom <= 0)
        {
            return Hold(limiting!.Name, $"{limiting.Name}: no headroom");
        }

        var reason = string.Create(
            CultureInfo.InvariantCulture,
            $"headroom {headroom:0.00} set by {limiting!.Name} ({limiting.BudgetRemaining:P1} budget left, slow burn {limiting.SlowBurnRate:0.##}x)");
        return new DomainVerdict(EfficiencyRegime.Expand, headroom, limiting.Name, reason);
    }

    /// <summary>Headroom of one SLO in [0, 1]: the smaller of its budget headroom and its burn headroom.</summary>
    internal static double Headroom(SloBudget slo, EfficiencyPolicyOptions o)
    {
        var budget = Math.Clamp((slo.BudgetRemaining - o.ThinBudget) / (o.PlentifulBudget - o.ThinBudget), 0, 1);
        var burn = slo.SlowBurnRate <= 1 ? 1 : Math.Clamp((o.SlowBurnFreeze - slo.SlowBurnRate) / (o.SlowBurnFreeze - 1), 0, 1);
        return Math.Min(budget, burn);
    }

    private static string? FreezeReason(SloBudget slo, EfficiencyPolicyOptions o)
    {
        var c = CultureInfo.InvariantCulture;
        if (slo.PageAlertOpen)
        {
            return "a page-level burn-rate alert is firing";
        }

        if (slo.FastBurnRate >= o.FastBurnFreeze)
        {
            return string.Create(c, $"fast burn {slo.FastBurnRate:0.##}x (freeze at {o.FastBurnFreeze}x)");
        }

        if (slo.SlowBurnRate >= o.SlowBurnFreeze)
        {
            return string.Create(c, $"slow burn {slo.SlowBurnRate:0.##}x (freeze at {o.SlowBurnFreeze}x)");
        }

        if (slo.BudgetRemaining <= o.ThinBudget)
        {
            return string.Create(c, $"{slo.BudgetRemaining:P1} of the budget left (freeze at {o.ThinBudget:P0})");
        }

        return null;
    }

    private static DomainVerdict Hold(string? slo, string why) => new(EfficiencyRegime.Hold, 0, slo, $"{why}; holding the safe envelope");
}
