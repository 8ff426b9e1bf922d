using Aida.Reliability.Budgets;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Reliability.Tests.Budgets;

/// <summary>Budget arithmetic against the SRE Workbook's worked numbers ("Alerting on SLOs", table 5-x) and its invariants.</summary>
public sealed class ErrorBudgetTests
{
    private static readonly TimeSpan ThirtyDays = TimeSpan.FromDays(30);

    [Fact]
    public void BurnRate1000_At999Over30Days_ExhaustsTheBudgetIn43Minutes()
    {
        var exhaustion = ErrorBudget.TimeToExhaustion(remaining: 1, ThirtyDays, burnRate: 1000);

        Assert.NotNull(exhaustion);
        Assert.Equal(43.2, exhaustion.Value.TotalMinutes, 9);
        Assert.Equal(43, (int)exhaustion.Value.TotalMinutes);
    }

    [Theory]
    [InlineData(14.4, 1, 0.02)] // the fast page: 2 % of a 30-day budget in an hour
    [InlineData(6, 6, 0.05)] // the slow page: 5 % in six hours
    [InlineData(1, 72, 0.10)] // the ticket: 10 % in three days
    public void WorkbookAlertThresholds_ConsumeTheWorkbookShareOfA30DayBudget(double burnRate, double hours, double consumed)
    {
        Assert.Equal(consumed, ErrorBudget.ConsumedBy(burnRate, TimeSpan.FromHours(hours), ThirtyDays), 12);
    }

    [Fact]
    public void ErrorRatio0144_At999_IsABurnRateOf14_4()
    {
        Assert.Equal(14.4, ErrorBudget.BurnRate(0.0144, 0.999), 9);
    }

    [Fact]
    public void HalfTheAllowedErrors_ConsumeHalfTheBudget()
    {
        var budget = ErrorBudget.FromEvents(bad: 5, total: 10_000, objective: 0.999);

        Assert.Equal(0.5, budget.Consumed, 12);
        Assert.Equal(0.5, budget.Remaining, 12);
        Assert.Equal(0.9995, budget.Attained, 12);
    }

    [Fact]
    public void NoEvents_SpendNothing_AndNothingBurns()
    {
        var budget = ErrorBudget.FromEvents(bad: 0, total: 0, objective: 0.99);

        Assert.True(double.IsNaN(budget.ErrorRatio));
        Assert.Equal(1, budget.Remaining);
        Assert.Equal(0, ErrorBudget.BurnRate(budget.ErrorRatio, 0.99));
        Assert.Null(ErrorBudget.TimeToExhaustion(budget.Remaining, ThirtyDays, 0));
    }

    [Fact]
    public void AnOverspentBudget_IsNegative_AndAlreadyExhausted()
    {
        var budget = ErrorBudget.FromEvents(bad: 30, total: 10_000, objective: 0.999);

        Assert.Equal(-2, budget.Remaining, 12);
        Assert.Equal(TimeSpan.Zero, ErrorBudget.TimeToExhaustion(budget.Remaining, ThirtyDays, 3));
    }

    private static Arbitrary<(long Bad, long MoreBad, long Total, double Objective)> Cases() =>
        (from total in Gen.Choose(0, 1_000_000)
         from bad in Gen.Choose(0, 1_000_000)
         from more in Gen.Choose(0, 1_000_000)
         from nines in Gen.Choose(1, 99_999)
         select ((long)Math.Min(bad, total), (long)Math.Min(bad + (long)more, total), (long)total, nines / 100_000.0)).ToArbitrary();

    [Property(Replay = "1234567890123456789,987654321987654321")]
    public Property RemainingBudget_IsNeverAbove100Percent() =>
        Prop.ForAll(Cases(), c => ErrorBudget.FromEvents(c.Bad, c.Total, c.Objective).Remaining <= 1);

    [Property(Replay = "1234567890123456789,987654321987654321")]
    public Property RemainingBudget_NeverGrowsWithMoreBadEvents() =>
        Prop.ForAll(Cases(), c =>
            ErrorBudget.FromEvents(c.MoreBad, c.Total, c.Objective).Remaining <= ErrorBudget.FromEvents(c.Bad, c.Total, c.Objective).Remaining);

    [Property(Replay = "1234567890123456789,987654321987654321")]
    public Property ConsumedAndRemaining_AddUpToTheWholeBudget() =>
        Prop.ForAll(Cases(), c =>
        {
            var b = ErrorBudget.FromEvents(c.Bad, c.Total, c.Objective);
            return Math.Abs(b.Consumed + b.Remaining - 1) < 1e-9;
        });
}
