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
}
