using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Mqtt;
using Aida.Telemetry.Collectors.Nut;
using Aida.Telemetry.Collectors.Scrape;
using Aida.Telemetry.Series;
using Aida.Telemetry.Tests.Collectors;
using Aida.Telemetry.Tests.Collectors.Modbus;
using Aida.Twin.Simulation;
using Aida.Twin.Wire.Dcgm;
using Aida.Twin.Wire.Mqtt;
using Aida.Twin.Wire.Nut;
using Aida.Twin.Wire.Scheduler;

namespace Aida.Telemetry.Tests.Wire;

/// <summary>The text-protocol faces over the reference factory's real plant, collected with the site entries they describe.</summary>
public class TwinFacesTests
{
    [Fact]
    public async Task ReferencePlant_DcgmAndUpsdFaces_CollectedAsThePlantNamesThem()
    {
        var scenario = ScenarioLoader.Load("reference");
        var sim = new Simulator(scenario with { Duration = TimeSpan.FromMinutes(2) }, new SimulationOptions { NoOperator = true });
        await using var dcgm = new DcgmExporterFace(sim.GpuCatalog);
        sim.RecordTo(dcgm);
        // One UPS in eco mode: its ECO mode switch reads ECO, collected as aida_ups_eco_mode 1 (the other's 0).
        Assert.True(sim.Plant.Write(scenario.Factory.Power.Ups[0].Id + "/eco_mode", 1).Ok);
        sim.Run();
        await using var upsd = new UpsdFace(sim.Plant, scenario.Factory.Power.Ups);
        await dcgm.StartAsync(default);
        await upsd.StartAsync(default);

        using var rig = new CollectorRig(site: scenario.Factory.Site.Name);
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [ScrapeCollector.Type] = ScrapeCollector.Create, [NutCollector.Type] = NutCollector.Create }, rig.Clock);
        var site = loader.Parse($"site: {scenario.Factory.Site.Name}\ncollectors:\n" + dcgm.SiteCollectors() + upsd.SiteCollectors(), "twin-local.yaml");
        foreach (var c in site.Collectors)
        {
            if (c is ScrapeCollector scrape)
            {
                await scrape.ScrapeOnceAsync(rig.Sink, default);
                scrape.Dispose();
            }
            else
            {
                var (ok, client) = await ((NutCollector)c).PollOnceAsync(null, rig.Sink, default);
                Assert.True(ok, rig.Log.ToString());
                await client!.DisposeAsync();
            }
        }

        Assert.Equal(sim.GpuCatalog.Gpus.Count, rig.Series("DCGM_FI_DEV_GPU_TEMP").Count);
        Assert.Equal(sim.GpuCatalog.Gpus.Count, rig.Series("DCGM_FI_DEV_POWER_USAGE").Count(s => s.Samples[^1].Value > 0));
        Assert.All(site.Collectors, c => Assert.Equal((true, 0L, 0L), rig.Sink.HealthOf(c.Kind, c.Name)));

        foreach (var p in sim.Plant.Points.Where(p => p.Name.StartsWith("ups", StringComparison.Ordinal)))
        {
            var series = rig.Series(p.Metric).Single(s => s.Labels.Get("asset") == p.Asset);
            Assert.Equal(Labels.From(p.Labels.Select(kv => kv).Append(new(Labels.MetricNameLabel, p.Metric))), series.Labels); // exactly the point's name and labels
            Assert.Equal(sim.Plant.Read(p.Index).Value, series.Samples[^1].Value, 6);
        }

        Assert.Equal([1.0, 0.0], rig.Series("aida_ups_eco_mode").OrderBy(s => s.Labels.Get("asset"), StringComparer.Ordinal).Select(s => s.Samples[^1].Value));
    }

    [Fact]
    public async Task AUpsRestartedBehindUpsd_IsFoundByItsUptime_ItsEcoModeBackAsServed()
    {
        // upsd stays up and answers while a UPS's card restarts: no poll fails, its device.uptime starts again, and its
        // eco mode goes back to its own setting. The collector of the site entry the twin writes finds it by the uptime.
        var scenario = ScenarioLoader.Load("reference");
        var sim = new Simulator(scenario with { Duration = TimeSpan.FromHours(3) }, new SimulationOptions { NoOperator = true });
        var ups = scenario.Factory.Power.Ups[0].Id;
        using var rig = new CollectorRig(site: scenario.Factory.Site.Name);
        await using var upsd = new UpsdFace(sim.Plant, scenario.Factory.Power.Ups, clock: rig.Clock);
        await upsd.StartAsync(default);
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [NutCollector.Type] = NutCollector.Create }, rig.Clock);
        var collector = (NutCollector)loader.Parse($"site: {scenario.Factory.Site.Name}\ncollectors:\n" + upsd.SiteCollectors(), "twin-local.yaml").Collectors.Single();
        async Task Poll()
        {
            var (ok, client) = await collector.PollOnceAsync(null, rig.Sink, default);
            Assert.True(ok, rig.Log.ToString());
            await client!.DisposeAsync();
        }

        var eco = sim.Plant.Point(ups + "/eco_mode");
        var served = sim.Plant.Read(eco).Value;
        await Poll();
        Assert.True(sim.Plant.Write(ups + "/eco_mode", 1 - served).Ok); // Aida moves it
        sim.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1 - served, sim.Plant.Read(eco).Value);
        rig.Fake.Advance(TimeSpan.FromHours(1));
        await Poll();
        Assert.Null(rig.Sink.ReturnOf(NutCollector.Type, collector.Name));

        rig.Fake.Advance(TimeSpan.FromSeconds(10));
        upsd.Restart(ups);
        sim.Advance(TimeSpan.FromMinutes(1));
        rig.Fake.Advance(TimeSpan.FromSeconds(5));
        await Poll();
        var back = rig.Sink.ReturnOf(NutCollector.Type, collector.Name);
        Assert.NotNull(back);
        Assert.Contains($"UPS {ups}: its uptime read 5 s, 15 s after it read 3600 s", back.How, StringComparison.Ordinal);
        Assert.Equal(served, sim.Plant.Read(eco).Value);
        Assert.Throws<ArgumentException>(() => upsd.Restart("no-such-ups"));
    }

    [Fact]
    public async Task ReferencePlant_SchedulerFace_CollectedAsThePlantNamesIt_StallsIncluded()
    {
        // A rack of hall 1 isolated at 10 min: the training job restarts without it and every rack of the job reads 1.
        var scenario = ScenarioLoader.Load("reference");
        var sim = new Simulator(scenario with { Duration = TimeSpan.FromMinutes(15) }, new SimulationOptions { NoOperator = true });
        sim.AdvanceSteps((long)(600 / scenario.Step.TotalSeconds));
        Assert.True(sim.Plant.Write("h1-c03/isolate", 1).Ok);
        sim.Run();
        await using var face = new SchedulerExporterFace(sim.Plant);
        await face.StartAsync(default);

        using var rig = new CollectorRig(site: scenario.Factory.Site.Name);
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [ScrapeCollector.Type] = ScrapeCollector.Create }, rig.Clock);
        using var scrape = Assert.IsType<ScrapeCollector>(loader.Parse($"site: {scenario.Factory.Site.Name}\ncollectors:\n" + face.SiteCollectors(), "twin-local.yaml").Collectors.Single());
        await scrape.ScrapeOnceAsync(rig.Sink, default);

        var points = sim.Plant.Points.Where(p => p.Metric == "aida_rack_job_stalled").ToList();
        Assert.Equal(scenario.Factory.Racks.Count, points.Count);
        foreach (var p in points)
        {
            var series = rig.Series(p.Metric).Single(s => s.Labels.Get("rack") == p.Labels["rack"]);
            Assert.Equal(Labels.From(p.Labels.Select(kv => kv).Append(new(Labels.MetricNameLabel, p.Metric))), series.Labels);
            Assert.Equal(sim.Plant.Read(p.Index).Value, series.Samples[^1].Value);
        }

        Assert.Equal(scenario.Factory.Racks.Count(r => r.Hall == "hall-1"), rig.Series("aida_rack_job_stalled").Count(s => s.Samples[^1].Value == 1));
    }

    [Fact]
    public void ReferencePlant_MqttFace_DescribesAValidSiteEntry_ForEveryRoomSensorAndCrahSetting()
    {
        var scenario = ScenarioLoader.Load("reference");
        var sim = new Simulator(scenario with { Duration = TimeSpan.FromMinutes(1) }, new SimulationOptions { NoOperator = true });
        var face = new MqttSensorFace(sim.Plant, new MqttFaceOptions { BrokerHost = "127.0.0.1", TopicPrefix = "aida/leesburg-1" });
        var inlets = sim.Plant.Points.Count(p => p.Metric == "aida_rack_inlet_celsius");
        Assert.Equal(inlets, face.Topics.Count(t => t.Topic.EndsWith("/inlet_temperature", StringComparison.Ordinal)));
        Assert.All(face.CommandActuators, a => Assert.StartsWith("crah", a, StringComparison.Ordinal));
        Assert.Contains(face.CommandActuators, a => a.EndsWith("/supply_setpoint", StringComparison.Ordinal));
        // Every CRAH's controller says its uptime, judged for restarts.
        Assert.Equal(scenario.Factory.Cooling.Crahs.Select(c => c.Id).Order(StringComparer.Ordinal), face.Controllers);
        Assert.Contains("      - pattern: \"aida/leesburg-1/uptime/+\"\n        metric: aida_device_uptime_seconds\n        labels: {asset: \"{1}\", protocol: mqtt}\n        value: seconds\n        uptime: true\n", face.SiteCollectors(), StringComparison.Ordinal);

        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [MqttCollector.Type] = MqttCollector.Create }, TimeProvider.System);
        using var collector = Assert.IsType<MqttCollector>(loader.Parse("site: leesburg-1\ncollectors:\n" + face.SiteCollectors(), "twin-local.yaml").Collectors.Single());
        Assert.Equal(face.CommandActuators.Order(StringComparer.Ordinal), collector.Writers.Select(w => w.Actuator));
    }
}
