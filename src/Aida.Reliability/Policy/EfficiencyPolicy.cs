using System.Globalization;

namespace Aida.Reliability.Policy;

/// <summary>Turns error-budget state into an efficiency envelope: how far setpoints may move toward efficiency, which
/// action classes are allowed and how much predicted risk the optimiser may take. A pure function of its inputs.</summary>
/// <remarks>
/// <para>Freeze (safe envelope, no efficiency action, risk 0, page a human) when any SLO has a page-severity alert open,
/// a short-window burn rate at or above <see cref="EfficiencyPolicyOptions.FastBurnFreeze"/>, a long-window burn rate at
/// or above <see cref="EfficiencyPolicyOptions.SlowBurnFreeze"/>, or remaining budget at or below
/// <see cref="EfficiencyPolicyOptions.ThinBudget"/>.</para>
/// <para>Otherwise each SLO's headroom is the smaller of its budget headroom, rising linearly from 0 at the thin budget to
/// 1 at the plentiful one, and its burn headroom, 1 at or below the sustainable rate (1x) falling linearly to 0 at the slow
/// freeze rate. The plant's headroom is the smallest over SLOs: the tightest budget rules. Setpoint ceilings open from the
/// safe value toward the cap in proportion to it; staging needs <see cref="EfficiencyPolicyOptions.StagingHeadroom"/>;
/// the risk budget is the headroom times <see cref="EfficiencyPolicyOptions.MaxRiskBudget"/>.</para>
/// <para>No SLOs, or one whose budget or burn rates are unknown (NaN), hold the safe envelope without paging: no evidence
/// of headroom is no headroom.</para>
/// <para>Hence, tested as properties: less budget or faster burn never allows warmer setpoints; a fast burn always
/// freezes; the envelope always lies within the safe values and the caps, themselves within the plant's hard limits.</para>
/// </remarks>
public static class EfficiencyPolicy
{
    public static EfficiencyEnvelope Evaluate(BudgetState state, EfficiencyPolicyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var o = options ?? new EfficiencyPolicyOptions();
        o.Validate();

        foreach (var slo in state.Slos)
        {
            if (FreezeReason(slo, o) is { } why)
            {
                return new EfficiencyEnvelope(
                    EfficiencyRegime.Freeze, o.SafeFacilityWaterSupplyCelsius, o.SafeCduSupplyCelsius, EfficiencyActions.None,
                    RiskBudget: 0, Headroom: 0, PageHuman: true, slo.Name, $"{slo.Name}: {why}; back to the safe envelope, efficiency changes frozen");
            }
        }

        if (state.Slos.Count == 0)
        {
            return Hold(o, null, "no SLOs to weigh");
        }

        var headroom = double.PositiveInfinity;
        SloBudget? limiting = null;
        foreach (var slo in state.Slos)
        {
            if (double.IsNaN(slo.BudgetRemaining) || double.IsNaN(slo.FastBurnRate) || double.IsNaN(slo.SlowBurnRate))
            {
                return Hold(o, slo.Name, $"{slo.Name}: no data for its budget or burn rates");
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
            return Hold(o, limiting!.Name, $"{limiting.Name}: no headroom");
        }

        var allowed = EfficiencyActions.SetpointRaise | EfficiencyActions.PumpAndFanTrim;
        if (headroom >= o.StagingHeadroom)
        {
            allowed |= EfficiencyActions.Staging;
        }

        var fw = o.SafeFacilityWaterSupplyCelsius + (headroom * (o.CapFacilityWaterSupplyCelsius - o.SafeFacilityWaterSupplyCelsius));
        var cdu = o.SafeCduSupplyCelsius + (headroom * (o.CapCduSupplyCelsius - o.SafeCduSupplyCelsius));
        var reason = string.Create(
            CultureInfo.InvariantCulture,
            $"headroom {headroom:0.00} set by {limiting!.Name} ({limiting.BudgetRemaining:P1} budget left, slow burn {limiting.SlowBurnRate:0.##}x)");
        return new EfficiencyEnvelope(EfficiencyRegime.Expand, fw, cdu, allowed, headroom * o.MaxRiskBudget, headroom, PageHuman: false, limiting.Name, reason);
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

    private static EfficiencyEnvelope Hold(EfficiencyPolicyOptions o, string? slo, string why) =>
        new(EfficiencyRegime.Hold, o.SafeFacilityWaterSupplyCelsius, o.SafeCduSupplyCelsius, EfficiencyActions.None,
            RiskBudget: 0, Headroom: 0, PageHuman: false, slo, $"{why}; holding the safe envelope");
}
