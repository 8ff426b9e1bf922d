using Aida.Reliability.Alerting;
using Aida.Reliability.Budgets;
using Aida.Telemetry.Query;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Reliability.Tests.Alerting;

/// <summary>The multi-window alert state machine on a fake clock over synthetic telemetry.</summary>
public sealed class SloAlertMonitorTests
{
    private static readonly DateTimeOffset Start = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task AFastBurn_PagesOnceBothWindowsBurn_AndResolvesWhenTheShortWindowRecovers()
    {
        // GPU 0 throttled at 20x the budget from minute 60 to minute 120 of a 3-hour run.
        var plant = new SyntheticPlant(Start, Start.AddHours(3), Start.AddMinutes(60), Start.AddMinutes(120), FaultBurnRate: 20);
        var clock = new FakeTimeProvider(Start.AddMinutes(65));
        using var store = plant.Store(clock);
        var monitor = new SloAlertMonitor(new SloEvaluator(new EmbeddedQueryEngine(store)), [SyntheticPlant.Slos.Find("gpu-throttle-free")!], clock);
        var stream = monitor.Subscribe();

        // Five minutes in, the 5m window burns at 20x but the hour only at 20 x 5/60: no page yet (the ticket, 1x over
        // 3d and 6h, already holds: 5 of 65 minutes at 20x).
        var early = await monitor.EvaluateAsync();
        Assert.DoesNotContain(early, a => a.Severity == "page");
        Assert.Contains(early, a => a.Condition.Name == "ticket");

        clock.SetUtcNow(Start.AddMinutes(120));
        var fired = await monitor.EvaluateAsync();
        var page = Assert.Single(fired, a => a.Condition.Name == "page-fast-burn");
        Assert.Equal("SLOBurnRatePage", page.AlertName);
        Assert.Equal("page", page.Severity);
        Assert.Equal(Start.AddMinutes(120), page.StartsAt);
        Assert.Null(page.EndsAt);
        Assert.Equal(20, page.LongBurnRate, 6);
        var streamed = new List<SloAlert>();
        while (stream.TryRead(out var alert))
        {
            streamed.Add(alert);
        }

        Assert.Equal(early.Concat(fired), streamed);

        clock.SetUtcNow(Start.AddMinutes(130));
        var changes = await monitor.EvaluateAsync();
        var resolved = Assert.Single(changes, a => a.Condition.Name == "page-fast-burn");
        Assert.Equal(Start.AddMinutes(130), resolved.EndsAt);
        Assert.Equal(Start.AddMinutes(120), resolved.StartsAt);
        Assert.DoesNotContain(monitor.Firing, a => a.Condition.Name == "page-fast-burn");
        // The slow page (6x over 6h and 30m) still holds ten minutes after the fault: 10 of the last 30 minutes at 20x.
        Assert.Contains(monitor.Firing, a => a.Condition.Name == "page-slow-burn");
    }

    [Fact]
    public async Task AlertAfter_HoldsTheAlertPending_UntilTheConditionHasHeldThatLong()
    {
        // Rack r1 of four hot from minute 60: burn 25x at a 99 % objective; inlet-fast-burn has alertAfter: 2m.
        var plant = new SyntheticPlant(Start, Start.AddHours(3), Start.AddMinutes(60), Start.AddHours(3), FaultBurnRate: 0);
        var clock = new FakeTimeProvider(Start.AddMinutes(100));
        using var store = plant.Store(clock);
        var monitor = new SloAlertMonitor(new SloEvaluator(new EmbeddedQueryEngine(store)), [SyntheticPlant.Slos.Find("rack-inlet-recommended")!], clock);

        // The ticket (no alertAfter) fires at once; the fast page waits two minutes.
        Assert.DoesNotContain(await monitor.EvaluateAsync(), a => a.Condition.Name == "inlet-fast-burn");
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(await monitor.EvaluateAsync());
        clock.Advance(TimeSpan.FromMinutes(1));
        var fired = Assert.Single(await monitor.EvaluateAsync());

        Assert.Equal("inlet-fast-burn", fired.Condition.Name);
        Assert.Equal(["facility-oncall"], fired.NotificationTargets);
    }
}
