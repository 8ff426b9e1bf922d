using System.Diagnostics;
using Aida.Model.Scenarios;
using Aida.Reliability.Alerting;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Aida.Reliability.Tests.Peers;

/// <summary>The twin's own telemetry, not synthetic series, pages a real Alertmanager through the facility SLO pack.</summary>
public sealed class TwinFaultPageTests(ITestOutputHelper output)
{
    /// <summary>Fifteen simulated minutes into the CDU pump failure (02:00): cdu-supply-class burns at about 23x over 1h
    /// and 100x over 5m then, well past the fast page's 14.4x. (The pack's gpu-throttle-free only tickets on this
    /// scenario: its 1h burn peaks near 7.5x and its 6h near 3.3x.)</summary>
    private static readonly TimeSpan RunLength = TimeSpan.FromMinutes(135);

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [SkippableFact]
    public async Task CduPumpFailure_PagesARealAlertmanager_AndTheReferenceRunDoesNot()
    {
        using var alertmanager = await LocalPeer.StartAlertmanagerAsync();
        var files = Directory.GetFiles(Path.Combine(Aida.Model.Config.BundledFiles.Root!, "slos"), "*.yaml");
        Array.Sort(files, StringComparer.Ordinal);
        var pack = SloLoader.Load(files);

        // The fault-free run of the same length fires nothing, so nothing reaches Alertmanager.
        var quiet = await EvaluateAfterAsync("reference", pack, alertmanager);
        Assert.Empty(quiet);
        Assert.Empty(await RulePeerTests.AlertsAsync(alertmanager.BaseUrl));

        var fired = await EvaluateAfterAsync("faults/cdu-pump-failure", pack, alertmanager);
        Assert.Contains(fired, a => a.Slo == "cdu-supply-class" && a.Condition.Name == "page-fast-burn");

        var page = await RulePeerTests.PollAsync(async () =>
        {
            var alerts = await RulePeerTests.AlertsAsync(alertmanager.BaseUrl);
            return alerts.FirstOrDefault(a => a["slo"] == "cdu-supply-class" && a["condition"] == "page-fast-burn");
        }, "the cdu-supply-class fast-burn page in Alertmanager", alertmanager.Output);
        Assert.Equal("page", page["severity"]);
        Assert.Equal("facility-cooling", page["service"]);
        Assert.Equal("SLOBurnRatePage", page["alertname"]);
    }

    /// <summary>Runs <paramref name="scenarioName"/> for <see cref="RunLength"/> into an embedded store, then evaluates the
    /// pack once at the run's last simulated instant with an <see cref="AlertmanagerClient"/> on the real Alertmanager.</summary>
    private async Task<IReadOnlyList<SloAlert>> EvaluateAfterAsync(string scenarioName, SloSet pack, LocalPeer alertmanager)
    {
        var watch = Stopwatch.StartNew();
        var scenario = ScenarioLoader.Load(scenarioName);
        var sim = new Simulator(scenario, new SimulationOptions { Duration = RunLength });
        using var store = new Tsdb(new TsdbOptions { Clock = sim.Clock, Retention = TimeSpan.FromDays(3650) });
        var recorder = new PlantTelemetryRecorder(store, sim.Plant, sim.GpuCatalog, scenario.Factory.Site.Name);
        sim.RecordTo(recorder);
        sim.Run();
        Assert.Equal(0, recorder.Rejected);

        var end = scenario.Start + RunLength;
        Assert.Equal(end, sim.Clock.GetUtcNow());
        var clock = new FakeTimeProvider(end);

        // Alertmanager keeps an alert active until its endsAt on the wall clock: a firing alert posted at simulated
        // time is made valid until an hour past the real now, or it would arrive already expired.
        var validity = TimeProvider.System.GetUtcNow() - end + TimeSpan.FromHours(1);
        var client = new AlertmanagerClient(Http, alertmanager.BaseUrl, firingValidity: validity);
        var monitor = new SloAlertMonitor(new SloEvaluator(new EmbeddedQueryEngine(store)), pack.Slos, clock, client);
        var fired = await monitor.EvaluateAsync();
        output.WriteLine($"{scenarioName}: {RunLength} simulated in {watch.Elapsed.TotalSeconds:F1} s, fired at {end:O}: "
            + string.Join(", ", fired.Select(a => $"{a.Slo}/{a.Condition.Name} ({a.Severity}, {a.LongBurnRate:F1}x/{a.ShortBurnRate:F1}x)")));
        return fired;
    }
}
