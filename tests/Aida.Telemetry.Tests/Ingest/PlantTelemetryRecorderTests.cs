using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Series;
using Aida.Telemetry.Tests.RemoteWrite;
using Aida.Twin.Simulation;

namespace Aida.Telemetry.Tests.Ingest;

public class PlantTelemetryRecorderTests
{
    private static IReadOnlyList<Sample> Of(InMemoryAppender store, string metric, string label, string value) =>
        store.SamplesOf(store.Series.First(l => l.MetricName == metric && l.Get(label) == value));

    private static (InMemoryAppender Store, PlantTelemetryRecorder Recorder) Run(string scenario, string duration)
    {
        var s = ScenarioLoader.Load(scenario);
        var sim = new Simulator(s with { Duration = Aida.Model.Config.PromDuration.Parse(duration) }, new SimulationOptions { NoOperator = true });
        var store = new InMemoryAppender();
        var recorder = new PlantTelemetryRecorder(store, sim.Plant, sim.GpuCatalog, s.Factory.Site.Name);
        sim.RecordTo(recorder);
        sim.Run();
        return (store, recorder);
    }

    [Fact]
    public void EveryPointAndGpu_IsRecorded_AtItsOwnInterval_WithNothingRejected()
    {
        var (store, recorder) = Run("reference", "10m");
        Assert.Equal(0, recorder.Rejected);

        // Facility points every 10 s: 0, 10, ..., 600 s.
        var fw = Of(store, "aida_facility_water_supply_celsius", "asset", "facility-water");
        Assert.Equal(61, fw.Count);
        Assert.Equal(10_000, fw[1].TimestampMs - fw[0].TimestampMs);

        // GPUs under DCGM exporter names every 30 s, with DCGM's labels.
        var temps = store.Series.Where(l => l.MetricName == PlantTelemetryRecorder.GpuTemperature).ToList();
        Assert.Equal(80 * 72, temps.Count);
        Assert.All(new[] { "gpu", "UUID", "Hostname", "modelName", "rack" }, label => Assert.NotNull(temps[0].Get(label)));
        var one = Of(store, PlantTelemetryRecorder.GpuTemperature, "UUID", temps[0].Get("UUID")!);
        Assert.Equal(21, one.Count);
        Assert.All(one, s => Assert.Equal(Math.Round(s.Value), s.Value));

        // Utilisation, like temperature, is a whole percentage in DCGM.
        var util = Of(store, PlantTelemetryRecorder.GpuUtilisation, "UUID", temps[0].Get("UUID")!);
        Assert.All(util, s => Assert.Equal(Math.Round(s.Value), s.Value));
    }

    [Fact]
    public void GpuSamples_LandInTheirOwnSeries_AndARepeatedSamplingIsCountedAsRejected()
    {
        var s = ScenarioLoader.Load("reference");
        var sim = new Simulator(s, new SimulationOptions { NoOperator = true });
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions());
        var recorder = new PlantTelemetryRecorder(store, sim.Plant, sim.GpuCatalog, s.Factory.Site.Name);
        var gpus = sim.GpuCatalog.Gpus.Count;
        double Only(string metric, string uuid) => store.Select(0, 10_000, [new(Labels.MetricNameLabel, MatcherType.Equal, metric), new("UUID", MatcherType.Equal, uuid)])
            .Single().Samples.Single().Value;
        float[] Ramp(float from) => [.. Enumerable.Range(0, gpus).Select(g => from + g)];

        recorder.GpusSampled(1_000, Ramp(40), Ramp(300), Ramp(10), []);
        Assert.Equal(3 * gpus, recorder.Written);
        Assert.Equal(0, recorder.Rejected);
        var uuid = sim.GpuCatalog.Gpus[7].Uuid;
        Assert.Equal(47, Only(PlantTelemetryRecorder.GpuTemperature, uuid));
        Assert.Equal(307, Only(PlantTelemetryRecorder.GpuPower, uuid));
        Assert.Equal(17, Only(PlantTelemetryRecorder.GpuUtilisation, uuid));

        // The same instant again with other readings: duplicates the store refuses, counted, nothing overwritten.
        recorder.GpusSampled(1_000, Ramp(50), Ramp(400), Ramp(20), []);
        Assert.Equal(3 * gpus, recorder.Written);
        Assert.Equal(3 * gpus, recorder.Rejected);
        Assert.Equal(307, Only(PlantTelemetryRecorder.GpuPower, uuid));
    }

    [Fact]
    public void ADroppedOutSensor_GetsOneStalenessMarker()
    {
        var (store, _) = Run("faults/sensor-dropout", "3h");
        var samples = Of(store, "aida_cdu_supply_celsius", "asset", "cdu-h2-c");
        var stale = samples.Where(s => StaleMarker.Is(s.Value)).ToList();
        Assert.Single(stale);
        Assert.Equal(samples.First(s => s.TimestampMs >= stale[0].TimestampMs).TimestampMs, stale[0].TimestampMs);
        Assert.InRange(stale[0].TimestampMs - samples[0].TimestampMs, 7_200_000, 7_210_000);
        Assert.DoesNotContain(samples, s => double.IsNaN(s.Value) && !StaleMarker.Is(s.Value));
    }

    [Fact]
    public void GpuLabels_AreTheSameInEveryProcess()
    {
        // Regression: UUIDs built from string.GetHashCode changed from one process to the next.
        var sim = new Simulator(ScenarioLoader.Load("reference"), new SimulationOptions { NoOperator = true });
        var first = sim.GpuCatalog.Gpus[0];
        Assert.Equal("GPU-21c45837-ref-10mw-h1-a01-00", first.Uuid);
        Assert.Equal("h1-a01-tray01", first.Hostname);
        Assert.Equal(sim.GpuCatalog.Gpus.Count, sim.GpuCatalog.Gpus.Select(g => g.Uuid).Distinct().Count());
    }
}
