using System.Net;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Protocols.Modbus;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Modbus;
using Aida.Telemetry.PromQL;
using Aida.Telemetry.Series;
using Aida.Twin.Simulation;
using Aida.Twin.Wire.Modbus;

namespace Aida.Telemetry.Tests.Collectors.Modbus;

/// <summary>The twin's Modbus face collected by the site entries it describes, over real sockets on loopback.</summary>
public class TwinModbusFaceEndToEndTests
{
    [Fact]
    public async Task SiteCollectors_CollectEveryServedPoint_NamedAndLabelledAsThePlantNamesIt()
    {
        var sim = new Simulator(ScenarioLoader.Load("reference") with { Duration = TimeSpan.FromHours(2) }, new SimulationOptions { NoOperator = true });
        await using var face = new ModbusWireFace(sim.Plant, IPAddress.Loopback, basePort: 0);
        await face.StartAsync(CancellationToken.None);
        using var site = new ModbusTestSite();
        var collectors = Load(face, site);
        Assert.Equal(face.Devices.Count, collectors.Count);

        await PollAll(collectors, site);

        var engine = new PromQLEngine(site.Store);
        var at = site.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        var points = 0;
        foreach (var p in face.Devices.SelectMany(d => d.Inputs))
        {
            var expected = sim.Plant.Read(p.Point.Index).Value;
            var labels = Labels.From(p.Point.Labels).With(Labels.MetricNameLabel, p.Point.Metric);
            var selector = "{" + string.Join(",", labels.Pairs().Select(l => $"{l.Key}=\"{l.Value}\"")) + "}";
            var found = engine.Instant(selector, at).Series;
            if (double.IsNaN(expected))
            {
                Assert.Empty(found);
                continue;
            }

            var series = Assert.Single(found);
            Assert.Equal(labels, series.Labels);
            Assert.Equal(p.Format.Type == ModbusDataType.Float32 ? (float)expected : expected, series.Samples[0].Value);
            points++;
        }

        Assert.True(points > 100, $"only {points} points collected");
        var actuators = collectors.SelectMany(c => c.Writers).Select(w => w.Actuator).ToHashSet();
        Assert.Equal(face.Devices.SelectMany(d => d.Holding).Select(s => s.Actuator.Name).ToHashSet(), actuators);
    }

    [Fact]
    public async Task CduSetpointWrittenOverModbus_TheCollectedSupplyTemperatureFollows()
    {
        var sim = new Simulator(ScenarioLoader.Load("reference") with { Duration = TimeSpan.FromHours(3) }, new SimulationOptions { NoOperator = true });
        var plant = sim.Plant;
        await using var face = new ModbusWireFace(plant, IPAddress.Loopback, basePort: 0);
        await face.StartAsync(CancellationToken.None);
        using var site = new ModbusTestSite();
        var collectors = Load(face, site);
        var cdu = face.Devices.First(d => d.Asset.StartsWith("cdu", StringComparison.Ordinal)).Asset;
        var collector = collectors.Single(c => c.Name == "modbus-" + cdu);
        var supply = $"aida_cdu_supply_celsius{{asset=\"{cdu}\"}}";

        sim.Advance(TimeSpan.FromMinutes(30));
        await PollAll([collector], site);
        var before = site.Value(supply);
        var target = Math.Round(before) - 3;

        var outcome = await collector.Writers.Single(w => w.Actuator == cdu + "/supply_setpoint").WriteAsync(target, CancellationToken.None);
        Assert.True(outcome.Confirmed, outcome.Problem);
        Assert.Equal(target, outcome.ReadBack);

        sim.Advance(TimeSpan.FromMinutes(60));
        site.Clock.Advance(TimeSpan.FromSeconds(10));
        await PollAll([collector], site);
        Assert.InRange(site.Value(supply), target - 0.7, target + 0.7);
        Assert.Equal(target, site.Value($"aida_setpoint_celsius{{asset=\"{cdu}\"}}"), 1);
    }

    [Fact]
    public async Task ACduControllerRestartedBehindAGateway_IsFoundByItsUptime_ItsSetPointBackAtItsDefault()
    {
        // The twin's device restarts as a controller behind a gateway does: no poll fails, its uptime starts again and
        // its set point goes back to its own. The collector of the site entry the twin writes finds it by the uptime.
        var sim = new Simulator(ScenarioLoader.Load("reference") with { Duration = TimeSpan.FromHours(3) }, new SimulationOptions { NoOperator = true });
        using var site = new ModbusTestSite();
        await using var face = new ModbusWireFace(sim.Plant, IPAddress.Loopback, basePort: 0, clock: site.Clock);
        await face.StartAsync(CancellationToken.None);
        var collectors = Load(face, site);
        var cdu = face.Devices.First(d => d.Asset.StartsWith("cdu", StringComparison.Ordinal)).Asset;
        var collector = collectors.Single(c => c.Name == "modbus-" + cdu);
        Assert.NotNull(collector.Map.Uptime);
        var setpoint = $"aida_setpoint_celsius{{asset=\"{cdu}\"}}";
        await PollAll([collector], site);
        var own = site.Value(setpoint);
        Assert.Equal(0, site.Value($"aida_device_uptime_seconds{{asset=\"{cdu}\"}}"));

        var outcome = await collector.Writers.Single(w => w.Actuator == cdu + "/supply_setpoint").WriteAsync(own - 2, CancellationToken.None);
        Assert.True(outcome.Confirmed, outcome.Problem);
        sim.Advance(TimeSpan.FromMinutes(1));
        site.Clock.Advance(TimeSpan.FromHours(1));
        await PollAll([collector], site);
        Assert.Equal(3600, site.Value($"aida_device_uptime_seconds{{asset=\"{cdu}\"}}"));
        Assert.Equal(own - 2, site.Value(setpoint), 3);
        Assert.Null(site.Sink.ReturnOf(ModbusCollector.Type, collector.Name));

        site.Clock.Advance(TimeSpan.FromSeconds(10));
        face.Restart(cdu);
        sim.Advance(TimeSpan.FromMinutes(1));
        site.Clock.Advance(TimeSpan.FromSeconds(5));
        await PollAll([collector], site);
        var back = site.Sink.ReturnOf(ModbusCollector.Type, collector.Name);
        Assert.NotNull(back);
        Assert.Equal(site.Clock.GetUtcNow(), back.At);
        Assert.EndsWith("(its uptime read 5 s, 15 s after it read 3600 s)", back.How, StringComparison.Ordinal);
        Assert.Equal(own, site.Value(setpoint), 3);
        Assert.Equal(own, sim.Plant.Read(sim.Plant.Point(cdu + "/supply_setpoint")).Value, 3);
        Assert.Throws<ArgumentException>(() => face.Restart("no-such-asset"));
    }

    private static List<ModbusCollector> Load(ModbusWireFace face, ModbusTestSite site)
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [ModbusCollector.Type] = ModbusCollector.Factory }, site.Clock);
        return loader.Parse("site: twin-local\ncollectors:\n" + face.SiteCollectors(), "twin-local.yaml").Collectors.Cast<ModbusCollector>().ToList();
    }

    private static async Task PollAll(IReadOnlyList<ModbusCollector> collectors, ModbusTestSite site)
    {
        foreach (var c in collectors)
        {
            await using var client = await ModbusTcpClient.ConnectAsync(c.Map.Endpoint);
            Assert.True(await c.PollAsync(client, site.Sink, CancellationToken.None).WaitAsync(ModbusTestSite.Guard), site.Log.ToString());
        }
    }
}

internal static class SimulatorTime
{
    public static void Advance(this Simulator sim, TimeSpan time) =>
        sim.AdvanceSteps((long)Math.Round(time.TotalSeconds / sim.Scenario.Step.TotalSeconds));
}
