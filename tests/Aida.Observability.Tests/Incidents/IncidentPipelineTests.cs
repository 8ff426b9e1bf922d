using Aida.Observability.Incidents;

namespace Aida.Observability.Tests.Incidents;

/// <summary>The live path: alerts found step by step become stored incidents with a root cause attached.</summary>
public sealed class IncidentPipelineTests
{
    [Fact]
    public async Task CduPumpFailure_SteppedLive_BecomesAStoredIncidentNamingTheCdu()
    {
        var run = TwinTelemetry.Of("faults/cdu-pump-failure", TimeSpan.FromHours(2.5));
        var dir = Path.Combine(Path.GetTempPath(), "aida-pipeline-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        using var store = new IncidentStore(Path.Combine(dir, "incidents.db"));
        var pipeline = new IncidentPipeline(run.Query, run.Factory, store, run.Start + TimeSpan.FromMinutes(30));
        for (var t = run.Start + TimeSpan.FromMinutes(35); t <= run.End; t += TimeSpan.FromMinutes(5))
        {
            await pipeline.StepAsync(t);
        }

        Assert.True(pipeline.Alerts > 0);
        var incidents = store.List();
        Assert.Equal(pipeline.Incidents, incidents.Count);
        var fault = run.Start + TimeSpan.FromHours(2);
        var hit = incidents.Where(i => i.Opened >= fault).Select(i => store.Get(i.Id)).Single(d => d.RootCause?.Top?.FaultKind == "cdu-pump-failure");
        Assert.Equal("cdu-h1-a", hit.RootCause!.Top!.Asset);
        Assert.True(hit.Incident.AlertCount >= 2);

        // Nothing before the fault: the warm-up and the quiet two hours open no incident.
        Assert.DoesNotContain(incidents, i => i.Opened < fault);
    }

    [Fact]
    public void AnAlertAfterTheOperatorResolvedItsIncident_OpensANewOne_InsteadOfFailing()
    {
        // Regression: an operator resolves an incident (aida incidents resolve) while the condition comes back within the
        // grouping's quiet period; the fold puts the new alert in the same group, and the store refused it (a resolved
        // incident takes no alert), so the live pipeline threw.
        var run = TwinTelemetry.Of("reference", TimeSpan.FromHours(1));
        var dir = Path.Combine(Path.GetTempPath(), "aida-pipeline-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        using var store = new IncidentStore(Path.Combine(dir, "incidents.db"));
        var pipeline = new IncidentPipeline(run.Query, run.Factory, store, run.Start);
        var t0 = run.Start + TimeSpan.FromMinutes(10);
        pipeline.Add(new Alert("RackInletHigh", AlertSource.Threshold, "h1-a01", t0, "inlet 27.4 °C"));
        var first = Assert.Single(store.List()).Id;
        store.Transition(first, IncidentState.Resolved, "operator");

        pipeline.Add(new Alert("RackInletHigh", AlertSource.Threshold, "h1-a01", t0 + TimeSpan.FromMinutes(5), "inlet 27.3 °C"));
        pipeline.Add(new Alert("RackInletHigh", AlertSource.Threshold, "h1-a02", t0 + TimeSpan.FromMinutes(6), "inlet 27.2 °C"));

        var incidents = store.List().OrderBy(i => i.Id).ToList();
        Assert.Equal(2, incidents.Count);
        Assert.Equal((IncidentState.Resolved, 1), (incidents[0].State, incidents[0].AlertCount));
        Assert.Equal((IncidentState.Open, 2), (incidents[1].State, incidents[1].AlertCount));

        // The group went on in the second incident: the first takes no more of its alerts, the second does until the
        // grouping window (30 min) has passed since its last alert, and an SLO alert may reopen it for 2 h.
        var last = t0 + TimeSpan.FromMinutes(6);
        Assert.True(pipeline.IsQuiet(incidents[0].Id, last));
        Assert.False(pipeline.IsQuiet(incidents[1].Id, last + TimeSpan.FromMinutes(29)));
        Assert.False(pipeline.IsQuiet(incidents[1].Id, last + TimeSpan.FromHours(2)));
        Assert.True(pipeline.IsQuiet(incidents[1].Id, last + TimeSpan.FromHours(2) + TimeSpan.FromSeconds(1)));
        Assert.True(pipeline.IsQuiet(42, last), "an incident the pipeline did not open");
    }
}
