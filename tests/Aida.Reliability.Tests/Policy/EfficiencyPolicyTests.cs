using Aida.Model.Scenarios;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Policy;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Reliability.Tests.Policy;

public class EfficiencyPolicyTests
{
    private static readonly EfficiencyPolicyOptions Defaults = new();

    // Budgets from overspent to untouched, burn rates from idle to far past a page, now and then a page firing.
    private static readonly Gen<SloBudget> Budgets =
        from name in Gen.Elements("rack-inlet-envelope", "gpu-throttle-free", "cdu-supply-class")
        from remaining in Gen.Choose(-200, 1000).Select(x => x / 1000.0)
        from fast in Gen.Choose(0, 3000).Select(x => x / 100.0)
        from slow in Gen.Choose(0, 1000).Select(x => x / 100.0)
        from page in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
        from domains in Gen.Elements(RiskDomains.All, RiskDomains.Cooling, RiskDomains.Power, RiskDomains.None)
        select new SloBudget(name, remaining, fast, slow, page, domains);

    private static readonly Gen<BudgetState> States =
        Gen.ListOf(Budgets).Where(l => l.Count is > 0 and < 6).Select(l => new BudgetState(l.ToList()));

    [Property(MaxTest = 1000, Replay = "1234567890123456789,987654321987654321")]
    public Property LessBudget_NeverAllowsWarmerSetpoints() =>
        Prop.ForAll(States.ToArbitrary(), Gen.Choose(0, 1000).ToArbitrary(), Gen.Choose(0, 100).ToArbitrary(), (state, cut, which) =>
        {
            var i = which % state.Slos.Count;
            var poorer = state with { Slos = state.Slos.Select((s, k) => k == i ? s with { BudgetRemaining = s.BudgetRemaining - (cut / 1000.0) } : s).ToList() };
            var before = EfficiencyPolicy.Evaluate(state);
            var after = EfficiencyPolicy.Evaluate(poorer);
            return after.MaxFacilityWaterSupplyCelsius <= before.MaxFacilityWaterSupplyCelsius
                && after.MaxCduSupplyCelsius <= before.MaxCduSupplyCelsius
                && after.RiskBudget <= before.RiskBudget
                && (after.Allowed & ~before.Allowed) == EfficiencyActions.None;
        });

    [Property(MaxTest = 1000, Replay = "1234567890123456789,987654321987654321")]
    public Property FasterBurn_NeverAllowsWarmerSetpoints() =>
        Prop.ForAll(States.ToArbitrary(), Gen.Choose(0, 2000).ToArbitrary(), Gen.Choose(0, 2000).ToArbitrary(), (state, fast, slow) =>
        {
            var hotter = state with { Slos = state.Slos.Select((s, k) => k == 0 ? s with { FastBurnRate = s.FastBurnRate + (fast / 100.0), SlowBurnRate = s.SlowBurnRate + (slow / 100.0) } : s).ToList() };
            var before = EfficiencyPolicy.Evaluate(state);
            var after = EfficiencyPolicy.Evaluate(hotter);
            return after.MaxFacilityWaterSupplyCelsius <= before.MaxFacilityWaterSupplyCelsius && after.MaxCduSupplyCelsius <= before.MaxCduSupplyCelsius;
        });

    /// <summary>Whatever the budgets, the envelope names the safe water, and its return needs no leave up to there and
    /// leave above: the water held colder than safe may always come back up to it, never past the envelope's ceiling.</summary>
    [Property(MaxTest = 1000, Replay = "1234567890123456789,987654321987654321")]
    public Property EveryEnvelope_NamesTheSafeWater_ReturnsNeedNoLeaveUpToItOnly() =>
        Prop.ForAll(States.ToArbitrary(), state =>
        {
            var e = EfficiencyPolicy.Evaluate(state);
            var safe = Defaults.SafeFacilityWaterSupplyCelsius;
            return e.SafeFacilityWaterSupplyCelsius == safe && !e.WaterRaiseNeedsLeave(safe) && !e.WaterRaiseNeedsLeave(safe - 3)
                && e.WaterRaiseNeedsLeave(safe + 0.01) && safe <= e.MaxFacilityWaterSupplyCelsius;
        });

    [Property(MaxTest = 1000, Replay = "1234567890123456789,987654321987654321")]
    public Property FastBurn_AlwaysFreezesAndPages() =>
        Prop.ForAll(States.ToArbitrary(), Gen.Choose(1440, 100_000).ToArbitrary(), (state, rate) =>
        {
            var burning = state with { Slos = [.. state.Slos, new SloBudget("burning", 0.9, rate / 100.0, 0.5, false)] };
            var e = EfficiencyPolicy.Evaluate(burning);
            return e.Regime == EfficiencyRegime.Freeze && e.Allowed == EfficiencyActions.None && e.PageHuman && e.RiskBudget == 0
                && e.PowerVerdict.Regime == EfficiencyRegime.Freeze
                && e.MaxFacilityWaterSupplyCelsius == Defaults.SafeFacilityWaterSupplyCelsius && e.MaxCduSupplyCelsius == Defaults.SafeCduSupplyCelsius;
        });

    [Property(MaxTest = 1000, Replay = "1234567890123456789,987654321987654321")]
    public Property FastBurnInOneDomain_FreezesItsMovesAndPages() =>
        Prop.ForAll(States.ToArbitrary(), Gen.Choose(1440, 100_000).ToArbitrary(), Gen.Elements(RiskDomains.Cooling, RiskDomains.Power).ToArbitrary(), (state, rate, domain) =>
        {
            var e = EfficiencyPolicy.Evaluate(state with { Slos = [.. state.Slos, new SloBudget("burning", 0.9, rate / 100.0, 0.5, false, domain)] });
            var frozen = domain == RiskDomains.Cooling
                ? e.Regime == EfficiencyRegime.Freeze && (e.Allowed & ~EfficiencyActions.UpsEco) == EfficiencyActions.None && e.RiskBudget == 0
                    && e.MaxFacilityWaterSupplyCelsius == Defaults.SafeFacilityWaterSupplyCelsius
                : e.PowerVerdict.Regime == EfficiencyRegime.Freeze && !e.Allowed.HasFlag(EfficiencyActions.UpsEco);
            return frozen && e.PageHuman;
        });

    [Property(MaxTest = 1000, Replay = "1234567890123456789,987654321987654321")]
    public Property AnSloOutsideADomain_NeverChangesThatDomainsVerdict() =>
        Prop.ForAll(States.ToArbitrary(), Budgets.ToArbitrary(), (state, extra) =>
        {
            var before = EfficiencyPolicy.Evaluate(state);
            var powerOnly = EfficiencyPolicy.Evaluate(state with { Slos = [.. state.Slos, extra with { Name = "extra", Domains = RiskDomains.Power }] });
            var coolingOnly = EfficiencyPolicy.Evaluate(state with { Slos = [.. state.Slos, extra with { Name = "extra", Domains = RiskDomains.Cooling }] });
            var neither = EfficiencyPolicy.Evaluate(state with { Slos = [.. state.Slos, extra with { Name = "extra", Domains = RiskDomains.None }] });
            const EfficiencyActions coolingMoves = EfficiencyActions.SetpointRaise | EfficiencyActions.PumpAndFanTrim | EfficiencyActions.Staging;
            return CoolingPart(powerOnly) == CoolingPart(before)
                && (powerOnly.Allowed & coolingMoves) == (before.Allowed & coolingMoves)
                && coolingOnly.Allowed.HasFlag(EfficiencyActions.UpsEco) == before.Allowed.HasFlag(EfficiencyActions.UpsEco)
                && coolingOnly.PowerVerdict.Regime == before.PowerVerdict.Regime
                && neither.Allowed == before.Allowed && CoolingPart(neither) == CoolingPart(before);
        });

    private static (EfficiencyRegime, double, double, double) CoolingPart(EfficiencyEnvelope e) =>
        (e.Regime, e.MaxFacilityWaterSupplyCelsius, e.MaxCduSupplyCelsius, e.RiskBudget);

    [Fact]
    public void GoodputSpentByAnIsolation_StopsNeitherWarmWaterNorEcoMode()
    {
        // The faults week's day 3: a leak's rack isolation has spent training goodput (risk domain none); the cooling and
        // power SLOs have their budgets. Before the domains, the goodput budget held every efficiency move for the week.
        var e = EfficiencyPolicy.Evaluate(new BudgetState([
            new SloBudget("training-goodput", 0.05, 0.5, 2, false, RiskDomains.None),
            new SloBudget("training-thermal-goodput", 1, 0, 0, false, RiskDomains.Cooling),
            new SloBudget("cdu-supply-class", 0.9, 0, 0.2, false, RiskDomains.Cooling),
            new SloBudget("power-redundancy", 0.99, 0, 0, false, RiskDomains.Power),
        ]));
        Assert.Equal(EfficiencyRegime.Expand, e.Regime);
        Assert.Equal(32, e.MaxFacilityWaterSupplyCelsius);
        Assert.True(e.Allowed.HasFlag(EfficiencyActions.UpsEco));
        Assert.False(e.PageHuman);
        Assert.Equal("power-redundancy", e.PowerVerdict.LimitingSlo);
    }

    [Fact]
    public void PowerBudgetSpent_StopsEcoModeButNotWarmWater()
    {
        var e = EfficiencyPolicy.Evaluate(new BudgetState([
            new SloBudget("rack-inlet-envelope", 0.95, 0.2, 0.3, false, RiskDomains.Cooling),
            new SloBudget("power-redundancy", 0.2, 0.1, 0.1, false, RiskDomains.Power),
        ]));
        Assert.Equal(EfficiencyRegime.Expand, e.Regime);
        Assert.Equal(EfficiencyActions.SetpointRaise | EfficiencyActions.PumpAndFanTrim | EfficiencyActions.Staging, e.Allowed);
        Assert.Equal(EfficiencyRegime.Freeze, e.PowerVerdict.Regime);
        Assert.True(e.PageHuman);
        Assert.Contains("power-redundancy", e.PowerVerdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NoSloCarriesTheRisk_HoldsThatDomainWithoutPaging()
    {
        var e = EfficiencyPolicy.Evaluate(new BudgetState([new SloBudget("rack-inlet-envelope", 0.95, 0.2, 0.3, false, RiskDomains.Cooling)]));
        Assert.Equal(EfficiencyRegime.Expand, e.Regime);
        Assert.Equal(EfficiencyRegime.Hold, e.PowerVerdict.Regime);
        Assert.False(e.Allowed.HasFlag(EfficiencyActions.UpsEco));
        Assert.False(e.PageHuman);
        Assert.Contains("no SLO carries the power risk", e.PowerVerdict.Reason, StringComparison.Ordinal);
    }

    [Property(MaxTest = 1000, Replay = "1234567890123456789,987654321987654321")]
    public Property Envelope_AlwaysWithinTheHardLimits() =>
        Prop.ForAll(States.ToArbitrary(), state =>
        {
            var e = EfficiencyPolicy.Evaluate(state);
            return e.MaxFacilityWaterSupplyCelsius >= Defaults.SafeFacilityWaterSupplyCelsius
                && e.MaxFacilityWaterSupplyCelsius <= Defaults.CapFacilityWaterSupplyCelsius
                && e.MaxFacilityWaterSupplyCelsius >= SetpointLimits.FacilityWaterMin && e.MaxFacilityWaterSupplyCelsius <= SetpointLimits.FacilityWaterMax
                && e.MaxCduSupplyCelsius >= Defaults.SafeCduSupplyCelsius && e.MaxCduSupplyCelsius <= Defaults.CapCduSupplyCelsius
                && e.MaxCduSupplyCelsius >= SetpointLimits.CduSupplyMin && e.MaxCduSupplyCelsius <= SetpointLimits.CduSupplyMax
                && e.RiskBudget >= 0 && e.RiskBudget <= Defaults.MaxRiskBudget
                && e.Headroom is >= 0 and <= 1;
        });

    [Fact]
    public void PlentyOfBudgetAndSlowBurn_RunsAtTheCapWithEveryActionClass()
    {
        var e = EfficiencyPolicy.Evaluate(new BudgetState([new SloBudget("rack-inlet-envelope", 0.95, 0.2, 0.3, false)]));
        Assert.Equal(EfficiencyRegime.Expand, e.Regime);
        Assert.Equal(32, e.MaxFacilityWaterSupplyCelsius);
        Assert.Equal(32, e.MaxCduSupplyCelsius);
        Assert.Equal(EfficiencyActions.SetpointRaise | EfficiencyActions.PumpAndFanTrim | EfficiencyActions.Staging | EfficiencyActions.UpsEco, e.Allowed);
        Assert.Equal(0.02, e.RiskBudget, 12);
        Assert.False(e.PageHuman);
    }

    [Fact]
    public void HalfwayBudget_OpensHalfwayAndForbidsStagingBelowTheStagingHeadroom()
    {
        // 0.3 left: (0.3 - 0.25) / (0.5 - 0.25) = 0.2 headroom, so 20 + 0.2 x 12 = 22.4 °C and 28 + 0.2 x 4 = 28.8 °C.
        var e = EfficiencyPolicy.Evaluate(new BudgetState([
            new SloBudget("rack-inlet-envelope", 0.9, 0.5, 0.5, false),
            new SloBudget("gpu-throttle-free", 0.3, 0.5, 0.5, false),
        ]));
        Assert.Equal(EfficiencyRegime.Expand, e.Regime);
        Assert.Equal("gpu-throttle-free", e.LimitingSlo);
        Assert.Equal(22.4, e.MaxFacilityWaterSupplyCelsius, 9);
        Assert.Equal(28.8, e.MaxCduSupplyCelsius, 9);
        Assert.Equal(EfficiencyActions.SetpointRaise | EfficiencyActions.PumpAndFanTrim, e.Allowed);
    }

    [Theory]
    // A page firing, whatever the budget.
    [InlineData(0.9, 0.1, 0.1, true)]
    // Budget thin.
    [InlineData(0.25, 0.1, 0.1, false)]
    // Overspent.
    [InlineData(-0.1, 0.1, 0.1, false)]
    // The SRE Workbook's slower page rate over the long window.
    [InlineData(0.9, 0.1, 6, false)]
    public void ThinBudgetOrPage_FreezesAndPages(double remaining, double fast, double slow, bool page)
    {
        var e = EfficiencyPolicy.Evaluate(new BudgetState([new SloBudget("training-goodput", remaining, fast, slow, page)]));
        Assert.Equal(EfficiencyRegime.Freeze, e.Regime);
        Assert.True(e.PageHuman);
        Assert.Equal(EfficiencyActions.None, e.Allowed);
        Assert.Equal(20, e.MaxFacilityWaterSupplyCelsius);
        Assert.Contains("training-goodput", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownBudget_HoldsTheSafeEnvelopeWithoutPaging()
    {
        var e = EfficiencyPolicy.Evaluate(new BudgetState([new SloBudget("power-redundancy", double.NaN, 0, 0, false)]));
        Assert.Equal(EfficiencyRegime.Hold, e.Regime);
        Assert.False(e.PageHuman);
        Assert.Equal(EfficiencyActions.None, e.Allowed);
        Assert.Equal(20, e.MaxFacilityWaterSupplyCelsius);
    }

    [Fact]
    public void OptionsOutsideTheHardLimits_AreRefused()
    {
        var state = new BudgetState([new SloBudget("x", 1, 0, 0, false)]);
        Assert.Throws<ArgumentException>(() => EfficiencyPolicy.Evaluate(state, new EfficiencyPolicyOptions { CapFacilityWaterSupplyCelsius = 50 }));
        Assert.Throws<ArgumentException>(() => EfficiencyPolicy.Evaluate(state, new EfficiencyPolicyOptions { SafeCduSupplyCelsius = 33 }));
        Assert.Throws<ArgumentException>(() => EfficiencyPolicy.Evaluate(state, new EfficiencyPolicyOptions { ThinBudget = 0.6 }));
    }
}

public class SloBudgetTests
{
    private static Aida.Reliability.Budgets.SloStatus Status(double errorRatio, double fast, double slow, params Aida.Reliability.OpenSlo.BurnRateCondition[] firing) =>
        new("rack-inlet-envelope", "facility-cooling", DateTimeOffset.UnixEpoch, 0.999, TimeSpan.FromDays(28),
            new Aida.Reliability.Budgets.ErrorBudget(0.999, errorRatio),
            new Dictionary<TimeSpan, double> { [TimeSpan.FromHours(1)] = fast, [TimeSpan.FromHours(6)] = slow },
            null, firing);

    [Fact]
    public void From_ReadsRemainingBudgetBurnRatesAndPages()
    {
        var page = Aida.Reliability.OpenSlo.BurnRateCondition.Workbook[0];
        var b = SloBudget.From(Status(0.0004, 15, 3, page));
        Assert.Equal(0.6, b.BudgetRemaining, 9);
        Assert.Equal(15, b.FastBurnRate);
        Assert.Equal(3, b.SlowBurnRate);
        Assert.True(b.PageAlertOpen);
        Assert.Equal(EfficiencyRegime.Freeze, EfficiencyPolicy.Evaluate(BudgetState.From([Status(0.0004, 15, 3, page)])).Regime);
    }

    [Fact]
    public void From_NoDataIsUnknown_AndATicketIsNoPage()
    {
        var ticket = Aida.Reliability.OpenSlo.BurnRateCondition.Workbook[2];
        var b = SloBudget.From(Status(double.NaN, 0, 0, ticket));
        Assert.True(double.IsNaN(b.BudgetRemaining));
        Assert.False(b.PageAlertOpen);
        Assert.Equal(EfficiencyRegime.Hold, EfficiencyPolicy.Evaluate(BudgetState.From([Status(double.NaN, 0, 0, ticket)])).Regime);
    }
}
