using Aida.Reliability.Alerting;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Rules;
using Aida.Reliability.Runs;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Reliability.Tests.Runs;

/// <summary>OpenSLO's <c>alertWhenNoData</c>: an SLO whose SLI gives no events over its condition's short window (a
/// collector down, a scrape broken) alerts <c>SLONoData</c>, live and in the exported rules, so a budget that looks
/// untouched because nothing is counted is not mistaken for a healthy one.</summary>
public sealed class NoDataAlertTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "aida-nodata-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, true);
        }
    }

    /// <summary>The synthetic SLOs with the inlet SLO's policy asking for no-data alerts (and, with
    /// <paramref name="hold"/> false, its fast condition firing without <c>alertAfter</c>).</summary>
    internal static string NoDataSloText(bool hold = true)
    {
        var text = File.ReadAllText(SyntheticPlant.SloFile);
        Assert.Contains("  alertWhenResolved: true\n", text, StringComparison.Ordinal);
        text = text.Replace("  alertWhenResolved: true\n", "  alertWhenNoData: true\n  alertWhenResolved: true\n", StringComparison.Ordinal);
        return hold ? text : text.Replace("    alertAfter: 2m\n", "", StringComparison.Ordinal);
    }

    private SloSet NoDataSlos(bool hold = true)
    {
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, "slos.yaml");
        File.WriteAllText(path, NoDataSloText(hold));
        return SloLoader.Load([path]);
    }

    [Fact]
    public void ThePolicysFlag_GivesTheConditionWithTheShortestShortWindow_AndNoneWithoutIt()
    {
        Assert.All(SyntheticPlant.Slos.Slos, s => Assert.Null(s.NoDataCondition));
        var slos = NoDataSlos();
        // inlet-fast-burn (1h, so 5m) before inlet-slow-burn (3d, so 6h); the GPU SLO names no policy.
        Assert.Equal("inlet-fast-burn", slos.Find("rack-inlet-recommended")!.NoDataCondition!.Name);
        Assert.Null(slos.Find("gpu-throttle-free")!.NoDataCondition);
    }

    [Fact]
    public void TheTrack_FiresAfterTheShortWindowAndAlertAfterWithoutEvents_AndResolvesAtTheFirstEvent()
    {
        var track = new NoDataTrack(new BurnRateCondition("c", "page", 14.4, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(2)));
        Assert.All(Enumerable.Range(0, 30), _ => Assert.Null(track.Add(3)));
        // 5 minutes of the short window and 2 of alertAfter: the 7th empty minute fires. NaN is no events too.
        double[] empty = [0, double.NaN, 0, 0, 0, 0];
        Assert.All(empty, total => Assert.Null(track.Add(total)));
        Assert.True(track.Add(0));
        Assert.Null(track.Add(double.NaN));
        Assert.False(track.Add(0.5));
        Assert.False(track.Firing);

        // An event inside the window starts the count again.
        Assert.All(new double[] { 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, total => Assert.Null(track.Add(total)));
        Assert.True(track.Add(0));
    }

    [Fact]
    public async Task LiveAlerts_ASliThatStopsGivingEvents_FiresNoDataUntilItsReadingsComeBack_AndOnlyForThePolicyThatAsks()
    {
        // Every series ends at 02:00; the inlet readings come back at 03:00.
        var end = Start + TimeSpan.FromHours(2);
        var plant = new SyntheticPlant(Start, end, end, end, FaultBurnRate: 0);
        using var store = plant.Store(new FakeTimeProvider(Start + TimeSpan.FromHours(4)));
        var live = new LiveSloAlerts(new EmbeddedQueryEngine(store), NoDataSlos(), Start);

        var returned = new List<SloAlert>();
        returned.AddRange(await live.StepAsync(end));
        Assert.Empty(live.Firing);

        // The last readings at 02:00 are the inlet slices ending 02:00 and 02:01 (max over a minute); 02:02 is the first
        // minute without one, 02:06 the fifth, and alertAfter (2 min) holds until 02:08.
        returned.AddRange(await live.StepAsync(end + TimeSpan.FromMinutes(7)));
        Assert.Empty(live.Firing);
        returned.AddRange(await live.StepAsync(end + TimeSpan.FromMinutes(8)));
        var blind = Assert.Single(live.Firing);
        Assert.Equal((AlertNames.NoData, "rack-inlet-recommended", "inlet-fast-burn", end + TimeSpan.FromMinutes(8)), (blind.AlertName, blind.Slo, blind.Condition.Name, blind.StartsAt));
        Assert.True(blind.NoData);
        Assert.Contains("has had no data for 5m", blind.Summary, StringComparison.Ordinal);
        var posted = AlertmanagerAlert.From(blind);
        Assert.Equal(["summary", "notification_targets"], posted.Annotations.Select(a => a.Key));

        var back = end + TimeSpan.FromHours(1);
        foreach (var rack in Enumerable.Range(0, 4))
        {
            var id = store.GetOrCreateSeries(Labels.From(("__name__", "slo_test_rack_inlet_celsius"), ("rack", $"r{rack}")));
            Assert.Equal(AppendStatus.Ok, store.Append(id, back.ToUnixTimeMilliseconds(), 24));
        }

        returned.AddRange(await live.StepAsync(back - TimeSpan.FromMinutes(1)));
        Assert.Single(live.Firing);
        returned.AddRange(await live.StepAsync(back));
        Assert.Empty(live.Firing);
        Assert.Empty(returned); // nothing burned, and no-data alerts are not handed to incidents
    }

    [Fact]
    public async Task TheMonitor_ASliThatStopsGivingEvents_FiresNoDataAfterAlertAfter_AndResolvesWhenItsReadingsComeBack()
    {
        // SloAlertMonitor (evaluated on a clock, posting to Alertmanager) judges it as the exported rule does: the 5m
        // window's ratio absent or NaN for alertAfter (2m). Before session 51 only the live run and the rules did.
        var end = Start + TimeSpan.FromHours(2);
        var plant = new SyntheticPlant(Start, end, end, end, FaultBurnRate: 0);
        var clock = new FakeTimeProvider(end);
        using var store = plant.Store(clock);
        var monitor = new SloAlertMonitor(new SloEvaluator(new EmbeddedQueryEngine(store)), NoDataSlos().Slos, clock);
        var stream = monitor.Subscribe();

        // Evaluated once a minute: the SLI's query over the 5m window ending 02:07 is the first to give no events (the
        // readings end at 02:00), and two minutes on, at 02:09, it fires, as a Prometheus evaluating the exported rule
        // each minute would (the live run steps whole minutes of its own and fires at 02:08). The GPU SLO's readings stop
        // too; its policy does not ask.
        var fired = new List<(DateTimeOffset At, SloAlert Alert)>();
        for (var minute = 0; minute <= 12; minute++)
        {
            clock.SetUtcNow(end + TimeSpan.FromMinutes(minute));
            fired.AddRange((await monitor.EvaluateAsync()).Select(a => (clock.GetUtcNow(), a)));
        }

        var (at, blind) = Assert.Single(fired);
        Assert.Equal(end + TimeSpan.FromMinutes(9), at);
        Assert.Equal((AlertNames.NoData, "rack-inlet-recommended", "inlet-fast-burn", at, true), (blind.AlertName, blind.Slo, blind.Condition.Name, blind.StartsAt, blind.NoData));
        Assert.Equal([blind], monitor.Firing);
        Assert.True(stream.TryRead(out var streamed) && streamed == blind);

        var back = end + TimeSpan.FromHours(1);
        foreach (var rack in Enumerable.Range(0, 4))
        {
            var id = store.GetOrCreateSeries(Labels.From(("__name__", "slo_test_rack_inlet_celsius"), ("rack", $"r{rack}")));
            Assert.Equal(AppendStatus.Ok, store.Append(id, back.ToUnixTimeMilliseconds(), 24));
        }

        clock.SetUtcNow(back + TimeSpan.FromMinutes(1));
        var resolved = Assert.Single(await monitor.EvaluateAsync());
        Assert.Equal((AlertNames.NoData, back + TimeSpan.FromMinutes(1), blind.StartsAt), (resolved.AlertName, resolved.EndsAt, resolved.StartsAt));
        Assert.Empty(monitor.Firing);
    }

    [Fact]
    public void ExportedRules_AlertNoData_OnTheShortWindowsRatio_ForThePolicyThatAsks()
    {
        var rules = PrometheusRuleExporter.Export(NoDataSlos());
        var ratio = "slo:sli_error:ratio_rate5m{slo=\\\"rack-inlet-recommended\\\"}";
        Assert.Contains($"expr: \"absent({ratio}) or ({ratio} != {ratio})\"", rules, StringComparison.Ordinal);
        Assert.Single(rules.Split('\n'), l => l.Contains("alert: \"SLONoData\"", StringComparison.Ordinal));
        Assert.DoesNotContain("SLONoData", PrometheusRuleExporter.Export(SyntheticPlant.Slos), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APolicyWithAlertWhenResolvedFalse_IsPostedAndResolvedAsAny_LabelledForAReceiverThatSendsNoResolutions()
    {
        // Alertmanager sends resolutions per receiver (send_resolved), not per alert, and an alert never resolved there
        // stays active until it expires: so the alert is labelled notify_resolved="false" for a site to route it to a
        // receiver with send_resolved: false. Before session 48 alertWhenResolved was read and not used.
        var slos = InletPolicyWith("  alertWhenResolved: false\n");
        var inlet = slos.Find("rack-inlet-recommended")!;
        Assert.All(inlet.AlertConditions, c => Assert.False(inlet.ResolutionNotified(c)));
        Assert.All(SyntheticPlant.Slos.Find("rack-inlet-recommended")!.AlertConditions, c => Assert.True(SyntheticPlant.Slos.Find("rack-inlet-recommended")!.ResolutionNotified(c)));

        var (_, live) = await RackHotFrom10To12(slos);
        var quiet = live.Firing.First(a => a.Slo == "rack-inlet-recommended");
        var told = live.Firing.First(a => a.Slo == "gpu-throttle-free"); // no policy: the Workbook's, resolutions told
        Assert.Contains(new KeyValuePair<string, string>(SloAlert.NotifyResolvedLabel, "false"), AlertmanagerAlert.From(quiet).Labels);
        Assert.DoesNotContain(AlertmanagerAlert.From(told).Labels, l => l.Key == SloAlert.NotifyResolvedLabel);

        // The exported rules label the same alerts, so a Prometheus evaluating them routes alike.
        var rules = PrometheusRuleExporter.Export(slos);
        Assert.Equal(inlet.BreachConditions.Count, rules.Split('\n').Count(l => l.Contains("notify_resolved: \"false\"", StringComparison.Ordinal)));
        Assert.DoesNotContain("notify_resolved", PrometheusRuleExporter.Export(SyntheticPlant.Slos), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APolicyWithAlertWhenBreachingFalse_IsJudged_ButNotPostedNorExported()
    {
        // The inlet policy told not to alert on a breach: its conditions still fire (they join incidents and hold back
        // the efficiency policy), but people are not told and no alerting rule is written for them.
        var slos = InletPolicyWith("  alertWhenBreaching: false\n  alertWhenResolved: true\n");
        var inlet = slos.Find("rack-inlet-recommended")!;
        Assert.Equal(2, inlet.AlertConditions.Count);
        Assert.Empty(inlet.BreachConditions);

        // The inlet conditions fire, the GPU SLO's (no policy: the Workbook's, told) too.
        var (fired, live) = await RackHotFrom10To12(slos);
        Assert.Contains(fired, a => a.Slo == "rack-inlet-recommended");
        Assert.Contains(live.Firing, a => a.Slo == "gpu-throttle-free");
        Assert.DoesNotContain(live.Firing, a => a.Slo == "rack-inlet-recommended");

        var rules = PrometheusRuleExporter.Export(slos);
        Assert.Contains("aida-slo-rack-inlet-recommended-sli", rules, StringComparison.Ordinal);
        Assert.DoesNotContain("aida-slo-rack-inlet-recommended-alerts", rules, StringComparison.Ordinal);
        Assert.Contains("aida-slo-gpu-throttle-free-alerts", rules, StringComparison.Ordinal);
    }

    /// <summary>The synthetic SLOs with the inlet SLO's policy flags <paramref name="flags"/> in place of its
    /// <c>alertWhenResolved: true</c> line.</summary>
    private SloSet InletPolicyWith(string flags)
    {
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, File.ReadAllText(SyntheticPlant.SloFile).Replace("  alertWhenResolved: true\n", flags, StringComparison.Ordinal));
        return SloLoader.Load([path]);
    }

    /// <summary>Live SLO alerts over the synthetic plant with rack r1 hot from 10:00 to 12:00, stepped to 11:00: what
    /// fired, and the alerts.</summary>
    private static async Task<(IReadOnlyList<SloAlert> Fired, LiveSloAlerts Live)> RackHotFrom10To12(SloSet slos)
    {
        var end = Start + TimeSpan.FromHours(14);
        var plant = new SyntheticPlant(Start, end, Start + TimeSpan.FromHours(10), Start + TimeSpan.FromHours(12), FaultBurnRate: 20);
        using var store = plant.Store(new FakeTimeProvider(end));
        var live = new LiveSloAlerts(new EmbeddedQueryEngine(store), slos, Start);
        return (await live.StepAsync(Start + TimeSpan.FromHours(11)), live);
    }
}
