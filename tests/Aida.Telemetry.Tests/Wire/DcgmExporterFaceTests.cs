using Aida.Model.Plant;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Scrape;
using Aida.Telemetry.Tests.Collectors;
using Aida.Twin.Wire.Dcgm;

namespace Aida.Telemetry.Tests.Wire;

/// <summary>The twin's DCGM-exporter face scraped by the scrape collector over a real loopback socket.</summary>
public class DcgmExporterFaceTests
{
    [Fact]
    public async Task PerHallEndpoints_ServeDcgmNamesAndLabels_ThatTheScrapeCollectorStores()
    {
        using var rig = new CollectorRig();
        var catalog = new Catalog();
        await using var face = new DcgmExporterFace(catalog);
        await face.StartAsync(default);
        Assert.Equal(["dcgm-h1", "dcgm-h2"], face.Groups.Select(g => g.Name));

        face.GpusSampled(1000, [61, 62, 70], [700.5f, 710, 650], [90, 91, 0], [0, 0, 0]);
        face.GpusSampled(3000, [61, 62, 70], [700.5f, 710, 650], [90, 91, 0], [GpuClockEvents.SwThermalSlowdown, GpuClockEvents.SwPowerCap, 0]);
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [ScrapeCollector.Type] = ScrapeCollector.Create }, rig.Clock);
        var site = loader.Parse("site: s1\ncollectors:\n" + face.SiteCollectors(), "twin-site.yaml");
        foreach (var c in site.Collectors.Cast<ScrapeCollector>())
        {
            await c.ScrapeOnceAsync(rig.Sink, default);
            c.Dispose();
        }

        Assert.Equal(0, rig.Sink.HealthOf("scrape", "dcgm-h1").Malformed);
        var temp = rig.Series("DCGM_FI_DEV_GPU_TEMP").Single(s => s.Labels.Get("Hostname") == "r1-tray01" && s.Labels.Get("gpu") == "1");
        Assert.Equal(62, temp.Samples[^1].Value);
        Assert.Equal("GPU-b", temp.Labels.Get("UUID"));
        Assert.Equal("nvidia1", temp.Labels.Get("device"));
        Assert.Equal("NVIDIA GB200", temp.Labels.Get("modelName"));
        Assert.Equal("h1", temp.Labels.Get("hall"));
        Assert.Equal("r1", temp.Labels.Get("rack"));
        Assert.Equal("s1", temp.Labels.Get("site"));
        Assert.Equal(700.5, rig.Last("DCGM_FI_DEV_POWER_USAGE", ("UUID", "GPU-a")));
        Assert.Equal(0, rig.Last("DCGM_FI_DEV_GPU_UTIL", ("UUID", "GPU-c"), ("hall", "h2")));
        Assert.Equal(1_401_000, rig.Last("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", ("UUID", "GPU-a"))); // 700.5 W x 2 s in mJ
        Assert.Equal(0x20, rig.Last(GpuClockEvents.Metric, ("UUID", "GPU-a"))); // the bitmask as the GPU's latest sample has it
        Assert.Equal(0x4, rig.Last(GpuClockEvents.Metric, ("UUID", "GPU-b")));
        Assert.Equal(2, rig.Series("DCGM_FI_DEV_GPU_TEMP").Count(s => s.Labels.Get("hall") == "h1"));
        Assert.Equal(1, rig.Last("up", ("job", "dcgm-h2")));
    }

    [Fact]
    public async Task GivenThePlantsPoints_EachGpuServesItsRacksEnforcedPowerLimit()
    {
        using var rig = new CollectorRig();
        var labels = new Dictionary<string, string>();
        PointInfo Point(int index, string name, string asset) => new(index, name, asset, "m", labels, "watts", TimeSpan.FromSeconds(10));
        await using var face = new DcgmExporterFace(new Catalog(), null, [Point(0, "r1/power", "r1"), Point(1, "r1/gpu_power_limit", "r1"), Point(2, "r2/gpu_power_limit", "r2")]);
        await using var without = new DcgmExporterFace(new Catalog());
        await face.StartAsync(default);
        await without.StartAsync(default);
        foreach (var f in new[] { face, without })
        {
            f.GpusSampled(1000, [61, 62, 70], [700, 710, 650], [90, 91, 0], []);
            f.PointSampled(1, 1000, 900);
            f.PointSampled(0, 1000, 5000);
        }

        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [ScrapeCollector.Type] = ScrapeCollector.Create }, rig.Clock);
        var site = loader.Parse("site: s1\ncollectors:\n" + face.SiteCollectors(), "twin-site.yaml");
        foreach (var c in site.Collectors.Cast<ScrapeCollector>())
        {
            await c.ScrapeOnceAsync(rig.Sink, default);
            c.Dispose();
        }

        // Both of r1's GPUs enforce its 900 W; r2's limit was never sampled, so it has no line.
        Assert.Equal([900.0, 900.0], rig.Series("DCGM_FI_DEV_POWER_MGMT_LIMIT").Select(s => s.Samples[^1].Value));
        Assert.All(rig.Series("DCGM_FI_DEV_POWER_MGMT_LIMIT"), s => Assert.Equal("r1", s.Labels.Get("rack")));
        using var http = new HttpClient();
        Assert.DoesNotContain("DCGM_FI_DEV_POWER_MGMT_LIMIT", await http.GetStringAsync(without.Urls[0]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Endpoint_NegotiatesOpenMetrics_AndAnswers404ElsewhereAndBadRequests()
    {
        await using var face = new DcgmExporterFace(new Catalog(), new DcgmFaceOptions { RacksPerGroup = 1 });
        await face.StartAsync(default);
        Assert.Equal(["dcgm-r1", "dcgm-r2"], face.Groups.Select(g => g.Name));
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, face.Urls[0]);
        request.Headers.TryAddWithoutValidation("Accept", Aida.Protocols.Exposition.ExpositionContentType.ScrapeAccept);
        using var response = await http.SendAsync(request);
        Assert.StartsWith("application/openmetrics-text", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var body = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("# EOF\n", body, StringComparison.Ordinal);
        Assert.Contains("# TYPE DCGM_FI_DEV_GPU_TEMP gauge", body, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(new Uri(face.Urls[0], "/other"))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, (await http.PostAsync(face.Urls[0], new StringContent(""))).StatusCode);
    }

    private sealed class Catalog : IGpuCatalog
    {
        public IReadOnlyList<GpuInfo> Gpus { get; } =
        [
            new("r1", "h1", "row1", "r1-tray01", 0, "GPU-a", "NVIDIA GB200"),
            new("r1", "h1", "row1", "r1-tray01", 1, "GPU-b", "NVIDIA GB200"),
            new("r2", "h2", "row1", "r2-tray01", 0, "GPU-c", "NVIDIA GB200"),
        ];
    }
}
