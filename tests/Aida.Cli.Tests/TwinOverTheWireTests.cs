using System.Net;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Cli.Tests;

/// <summary><c>aida twin serve</c> and <c>aida run --plant network</c> on loopback: the twin's points arrive through the
/// collectors, and a write through the network plant reaches the twin.</summary>
public sealed class TwinOverTheWireTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly string[] RackQuantities = ["power", "inlet_temperature", "gpu_max_temperature", "gpu_power_limit"];

    [Fact]
    public async Task NetworkPlant_ReadsEveryServedPointAsTheTwin_AndAWriteReachesTheTwin()
    {
        var simulator = new Simulator(ScenarioLoader.Load("reference"), new SimulationOptions { NoOperator = true });
        await using var twin = await TwinServer.StartAsync(simulator, IPAddress.Loopback, basePort: 0, speed: 100, CancellationToken.None);
        var site = new SiteLoader(CollectorCatalog.Types, TimeProvider.System).Parse(twin.SiteFile(), "twin-local.yaml");
        using var store = new Tsdb(new TsdbOptions { Clock = TimeProvider.System });
        var log = new StringWriter();
        await using var network = new NetworkSite(site, twin.Plant, store, store, TimeProvider.System, log);
        var plant = network.Plant;

        // The twin is not stepped here, so each point the network plant reads must equal the twin's own reading.
        var served = twin.Plant.Points.Where(p => p.Labels.ContainsKey("rack") && RackQuantities.Contains(p.Name.Split('/')[1])).ToList();
        Assert.NotEmpty(served);
        await Until(() => served.All(p => !plant.Read(p.Index).IsMissing));
        foreach (var p in served)
        {
            Assert.Equal(twin.Plant.Read(p.Index).Value, plant.Read(p.Index).Value);
        }

        // A point no face serves reads as missing, as a silent sensor does.
        Assert.True(plant.Read(plant.Point("site/facility_power")).IsMissing);

        // Every rack's GPU power limit is an actuator of the network plant, with the twin's range.
        var limit = served.First(p => p.Name.EndsWith("/gpu_power_limit", StringComparison.Ordinal)).Name;
        var actuator = plant.Actuator(limit);
        Assert.True(actuator >= 0);
        Assert.Equal(twin.Plant.Actuators[twin.Plant.Actuator(limit)].Max, plant.Actuators[actuator].Max);
        Assert.Equal(WriteStatus.OutOfRange, plant.Write(actuator, plant.Actuators[actuator].Max + 1).Status);

        var target = plant.Actuators[actuator].Min + 100;
        var written = plant.Write(actuator, target);
        Assert.True(written.Ok, written.Message);
        twin.Advance(20); // past the limit point's next sample
        Assert.Equal(target, twin.Plant.ReadValue(limit));
        await Until(() => plant.ReadValue(limit) == target);
    }

    [Fact]
    public async Task TwinServe_WritesASiteFile_ThatRunPlantNetworkCollectsAndOperates()
    {
        var dir = CliRun.TempDir();
        var siteFile = Path.Combine(dir, "twin.yaml");
        using var stop = new CancellationTokenSource();
        var serveOut = new StringWriter();
        var serving = AidaCommand.RunAsync(
            ["twin", "serve", "--base-port", "0", "--speed", "60", "--status-every", "1h", "--write-site", siteFile], TextWriter.Synchronized(serveOut), TextWriter.Null, stop.Token);
        try
        {
            await Until(() => File.Exists(siteFile) && new FileInfo(siteFile).Length > 0 || serving.IsCompleted);
            Assert.False(serving.IsCompleted, serveOut.ToString());

            var runOut = new StringWriter();
            var code = await AidaCommand.RunAsync(["run", "--plant", "network", "--site", siteFile, "--duration", "3s", "--status-every", "1s"], runOut, TextWriter.Null, CancellationToken.None);
            var text = runOut.ToString();
            Assert.True(code == AidaCommand.Ok, text);
            Assert.Contains("80 collectors, 80 actuators", text, StringComparison.Ordinal);
            var samples = long.Parse(text.Split("writes confirmed; ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(samples > 0, text);
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Equal(AidaCommand.Ok, await serving);
        Assert.Contains("redfish 80 rack chassis http://127.0.0.1:", serveOut.ToString(), StringComparison.Ordinal);
        Assert.Contains("aida twin serve: stopped", serveOut.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("run", "--plant", "network")] // no site file
    [InlineData("run", "--plant", "network", "--site", "no-such-site.yaml")] // missing file
    [InlineData("run", "--plant", "network", "--site", "twin-local", "--speed", "10")] // the network runs in real time
    [InlineData("run", "--plant", "elsewhere")] // unknown plant
    [InlineData("run", "--site", "twin-local")] // a site without the network plant
    [InlineData("twin", "serve", "--scenario", "reference", "--factory", "ref-10mw")] // one or the other
    [InlineData("twin", "serve", "--host", "localhost-ish")] // not an address
    [InlineData("twin", "serve", "--base-port", "70000")] // not a port
    [InlineData("twin", "serve", "--speed", "0")] // stopped time
    public void BadInput_ExitsTwo_WithOneLine(params string[] args)
    {
        var (code, _, err) = CliRun.Invoke(args);
        Assert.Equal(AidaCommand.BadInput, code);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void SiteFile_WithAnUnknownCollectorType_NamesFileAndLine()
    {
        var file = CliRun.Scratch("site: s\ncollectors:\n  - type: carrier-pigeon\n    name: p1\n", "site.yaml");
        var (code, _, err) = CliRun.Invoke("run", "--plant", "network", "--site", file);
        Assert.Equal(AidaCommand.BadInput, code);
        Assert.Contains("site.yaml:3", err, StringComparison.Ordinal);
        Assert.Contains("unknown collector type 'carrier-pigeon'", err, StringComparison.Ordinal);
    }

    [Fact]
    public void BundledTwinLocalSite_LoadsWithEveryCollectorType()
    {
        var site = CollectorCatalog.Load(Path.Combine(CliRun.Root, "sites", "twin-local.yaml"), TimeProvider.System);
        Assert.NotEmpty(site.Collectors);
        Assert.All(site.Collectors, c => Assert.Contains(c.Kind, CollectorCatalog.Types.Keys));
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(50);
        }
    }
}
