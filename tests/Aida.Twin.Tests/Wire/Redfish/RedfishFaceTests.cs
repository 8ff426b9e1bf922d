using System.Net;
using System.Text;
using System.Text.Json;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Twin.Simulation;
using Aida.Twin.Wire;
using Aida.Twin.Wire.Redfish;

namespace Aida.Twin.Tests.Wire.Redfish;

public sealed class RedfishFaceTests : IAsyncLifetime
{
    private readonly Simulator _simulator = new(ScenarioLoader.Load("reference"), new SimulationOptions { NoOperator = true });
    private SynchronizedPlant _plant = null!;
    private RedfishFace _face = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _simulator.AdvanceSteps(1);
        _plant = new SynchronizedPlant(_simulator.Plant);
        _face = new RedfishFace(_plant, new IPEndPoint(IPAddress.Loopback, 0));
        await _face.StartAsync(CancellationToken.None);
        _http = new HttpClient { BaseAddress = _face.Url };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _face.DisposeAsync();
    }

    private string FirstRack => _plant.Points.First(p => p.Name.EndsWith("/power", StringComparison.Ordinal) && p.Labels.ContainsKey("rack")).Asset;

    [Fact]
    public async Task EachRackHasItsBmc_LinkedFromItsChassis_WhoseLastResetTimeARestartMovesToNow()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2027-01-15T08:00:00.700Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var face = new RedfishFace(_plant, new IPEndPoint(IPAddress.Loopback, 0), clock: clock);
        await face.StartAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = face.Url };
        var rack = FirstRack;
        using (var chassis = JsonDocument.Parse(await http.GetStringAsync($"/redfish/v1/Chassis/{rack}")))
        {
            Assert.Equal($"/redfish/v1/Managers/{rack}", chassis.RootElement.GetProperty("Links").GetProperty("ManagedBy")[0].GetProperty("@odata.id").GetString());
        }

        using (var managers = JsonDocument.Parse(await http.GetStringAsync("/redfish/v1/Managers")))
        {
            Assert.Equal(_plant.Points.Count(p => p.Name.EndsWith("/gpu_power_limit", StringComparison.Ordinal)), managers.RootElement.GetProperty("Members").GetArrayLength());
        }

        async Task<(string DateTime, string LastReset)> Clock()
        {
            using var manager = JsonDocument.Parse(await http.GetStringAsync($"/redfish/v1/Managers/{rack}"));
            Assert.Equal("BMC", manager.RootElement.GetProperty("ManagerType").GetString());
            return (manager.RootElement.GetProperty("DateTime").GetString()!, manager.RootElement.GetProperty("LastResetTime").GetString()!);
        }

        // To the second, on the face's clock: up since it was served, then since its restart.
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(("2027-01-15T08:05:00+00:00", "2027-01-15T08:00:00+00:00"), await Clock());
        face.Restart(rack);
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(("2027-01-15T08:05:03+00:00", "2027-01-15T08:05:00+00:00"), await Clock());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/redfish/v1/Managers/no-such-rack")).StatusCode);
        Assert.Throws<ArgumentException>(() => face.Restart("no-such-rack"));
    }

    [Fact]
    public async Task ServesAChassisPerRack_WithThePlantsReadings()
    {
        var racks = _plant.Points.Count(p => p.Name.EndsWith("/gpu_power_limit", StringComparison.Ordinal));
        using var collection = JsonDocument.Parse(await _http.GetStringAsync("/redfish/v1/Chassis"));
        Assert.Equal(racks, collection.RootElement.GetProperty("Members").GetArrayLength());
        Assert.Contains(_face.Endpoints, e => e.Contains($"{racks} rack chassis", StringComparison.Ordinal));

        var rack = FirstRack;
        using var power = JsonDocument.Parse(await _http.GetStringAsync($"/redfish/v1/Chassis/{rack}/Power"));
        var controls = power.RootElement.GetProperty("PowerControl");
        Assert.Equal(_plant.ReadValue($"{rack}/power"), controls[0].GetProperty("PowerConsumedWatts").GetDouble());
        Assert.Equal(_plant.ReadValue($"{rack}/gpu_power_limit"), controls[1].GetProperty("PowerLimit").GetProperty("LimitInWatts").GetDouble());
        using var thermal = JsonDocument.Parse(await _http.GetStringAsync($"/redfish/v1/Chassis/{rack}/Thermal"));
        var temperatures = thermal.RootElement.GetProperty("Temperatures");
        Assert.Equal(_plant.ReadValue($"{rack}/inlet_temperature"), temperatures[0].GetProperty("ReadingCelsius").GetDouble());
        Assert.Equal(_plant.ReadValue($"{rack}/gpu_max_temperature"), temperatures[1].GetProperty("ReadingCelsius").GetDouble());

        // The service root answers with or without the trailing slash; an unknown chassis is a Redfish 404.
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/redfish/v1/")).StatusCode);
        var missing = await _http.GetAsync("/redfish/v1/Chassis/no-such-rack/Power");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("ResourceNotFound", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Patch_SetsTheGpuPowerLimit_ReadBackAtOnce_AndThePlantFollows()
    {
        var rack = FirstRack;
        var response = await Patch(rack, """{"PowerControl":[{},{"PowerLimit":{"LimitInWatts":900}}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            Assert.Equal(900, body.RootElement.GetProperty("PowerControl")[1].GetProperty("PowerLimit").GetProperty("LimitInWatts").GetDouble());
        }

        // The plant's own limit point shows it once sampled (facility points every 10 s).
        lock (_plant.Gate)
        {
            _simulator.AdvanceSteps(20);
        }

        Assert.Equal(900, _plant.ReadValue($"{rack}/gpu_power_limit"));
    }

    [Fact]
    public async Task LimitInWatts_IsTheLimitSet_NotTheOneTheGpusEnforce()
    {
        // A BMC reports its setting; a cap the GPUs never took (the actuator fails) still reads as set here, and only the
        // GPUs' own limit (DCGM) shows it was not applied.
        var simulator = new Simulator(ScenarioLoader.Load("faults/power-cap-actuator-failure"), new SimulationOptions { NoOperator = true });
        simulator.AdvanceSteps(3700);
        var plant = new SynchronizedPlant(simulator.Plant);
        await using var face = new RedfishFace(plant, new IPEndPoint(IPAddress.Loopback, 0));
        await face.StartAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = face.Url };
        using var content = new StringContent("""{"PowerControl":[{},{"PowerLimit":{"LimitInWatts":900}}]}""", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.OK, (await http.PatchAsync("/redfish/v1/Chassis/h1-a01/Power", content)).StatusCode);
        lock (plant.Gate)
        {
            simulator.AdvanceSteps(20);
        }

        using var power = JsonDocument.Parse(await http.GetStringAsync("/redfish/v1/Chassis/h1-a01/Power"));
        Assert.Equal(900, power.RootElement.GetProperty("PowerControl")[1].GetProperty("PowerLimit").GetProperty("LimitInWatts").GetDouble());
        Assert.Equal(1200, plant.ReadValue("h1-a01/gpu_power_limit"));
        Assert.Contains("limit: aida_gpu_power_limit_command_watts", face.SiteCollectors(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"PowerControl\":[{},{\"PowerLimit\":{\"LimitInWatts\":", "MalformedJSON")] // truncated
    [InlineData("{\"PowerControl\":[{},{\"PowerLimit\":{\"LimitInWatts\":\"900\"}}]}", "PropertyValueTypeError")] // a string
    [InlineData("{\"PowerControl\":[{},{\"PowerLimit\":{\"LimitInWatts\":5000}}]}", "PropertyValueOutOfRange")] // above the GPU's maximum
    [InlineData("{\"PowerControl\":[{\"PowerConsumedWatts\":1}]}", "PropertyNotWritable")] // a reading
    [InlineData("{\"PowerControl\":{}}", "PropertyValueTypeError")] // not an array
    [InlineData("{\"Id\":\"x\"}", "PropertyNotWritable")] // another property
    [InlineData("[1,2]", "MalformedJSON")] // not an object
    public async Task Patch_BadInput_Is400WithARedfishError_AndChangesNothing(string body, string messageId)
    {
        var rack = FirstRack;
        var before = _plant.ReadValue($"{rack}/gpu_power_limit");
        var response = await Patch(rack, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var id = error.RootElement.GetProperty("error").GetProperty("@Message.ExtendedInfo")[0].GetProperty("MessageId").GetString();
        Assert.EndsWith("." + messageId, id, StringComparison.Ordinal);
        lock (_plant.Gate)
        {
            _simulator.AdvanceSteps(20);
        }

        Assert.Equal(before, _plant.ReadValue($"{rack}/gpu_power_limit"));
    }

    [Fact]
    public async Task ChassisReset_ForceOffIsolatesTheRack_OnRestoresIt()
    {
        var rack = FirstRack;
        Assert.Equal("On", await PowerState(rack));
        Assert.Equal(HttpStatusCode.NoContent, (await Reset(rack, """{"ResetType":"ForceOff"}""")).StatusCode);
        Assert.Equal("Off", await PowerState(rack)); // as written, at once
        lock (_plant.Gate)
        {
            _simulator.AdvanceSteps(20);
        }

        Assert.Equal(1, _plant.ReadValue($"{rack}/isolated"));
        Assert.Equal("Off", await PowerState(rack)); // and now as the plant reports it

        Assert.Equal(HttpStatusCode.NoContent, (await Reset(rack, """{"ResetType":"On"}""")).StatusCode);
        lock (_plant.Gate)
        {
            _simulator.AdvanceSteps(20);
        }

        Assert.Equal(0, _plant.ReadValue($"{rack}/isolated"));

        // A reset type the rack does not offer, or none, is a Redfish 400.
        var bad = await Reset(rack, """{"ResetType":"GracefulRestart"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("ActionParameterValueNotInList", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("ActionParameterMissing", await (await Reset(rack, "{}")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<string?> PowerState(string rack)
    {
        using var chassis = JsonDocument.Parse(await _http.GetStringAsync($"/redfish/v1/Chassis/{rack}"));
        return chassis.RootElement.GetProperty("PowerState").GetString();
    }

    private Task<HttpResponseMessage> Reset(string rack, string body) =>
        _http.PostAsync($"/redfish/v1/Chassis/{rack}/Actions/Chassis.Reset", new StringContent(body, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task Patch_WithAStaleETag_IsRefused412()
    {
        var rack = FirstRack;
        var first = await _http.GetAsync($"/redfish/v1/Chassis/{rack}/Power");
        var etag = first.Headers.ETag!.ToString();
        Assert.Equal(HttpStatusCode.OK, (await Patch(rack, """{"PowerControl":[{},{"PowerLimit":{"LimitInWatts":1000}}]}""", etag)).StatusCode);

        // The limit changed since that ETag was read: a second writer holding it is refused.
        var stale = await Patch(rack, """{"PowerControl":[{},{"PowerLimit":{"LimitInWatts":800}}]}""", etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        using var body = JsonDocument.Parse(await (await _http.GetAsync($"/redfish/v1/Chassis/{rack}/Power")).Content.ReadAsStringAsync());
        Assert.Equal(1000, body.RootElement.GetProperty("PowerControl")[1].GetProperty("PowerLimit").GetProperty("LimitInWatts").GetDouble());
    }

    [Fact]
    public async Task EachRack_HasALeakDetector_CriticalWhileItsLeakCableSensesLiquid()
    {
        // faults/leak's leak at h1-c03 moved to 10 s in: before, the rack's leak sensor was not served over the wire at
        // all, so a site run over the network never saw a leak until the coolant level fell.
        var leak = ScenarioLoader.Load("faults/leak");
        var simulator = new Simulator(leak with { Faults = [leak.Faults[0] with { Start = TimeSpan.FromSeconds(10) }] }, new SimulationOptions { NoOperator = true });
        var plant = new SynchronizedPlant(simulator.Plant);
        await using var face = new RedfishFace(plant, new IPEndPoint(IPAddress.Loopback, 0));
        await face.StartAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = face.Url };
        async Task<string> State(string rack)
        {
            using var chassis = JsonDocument.Parse(await http.GetStringAsync($"/redfish/v1/Chassis/{rack}"));
            using var subsystem = JsonDocument.Parse(await http.GetStringAsync(chassis.RootElement.GetProperty("ThermalSubsystem").GetProperty("@odata.id").GetString()));
            using var detection = JsonDocument.Parse(await http.GetStringAsync(subsystem.RootElement.GetProperty("LeakDetection").GetProperty("@odata.id").GetString()));
            using var detectors = JsonDocument.Parse(await http.GetStringAsync(detection.RootElement.GetProperty("LeakDetectors").GetProperty("@odata.id").GetString()));
            using var detector = JsonDocument.Parse(await http.GetStringAsync(detectors.RootElement.GetProperty("Members")[0].GetProperty("@odata.id").GetString()));
            Assert.Equal(("Manifold", "Moisture"), (detector.RootElement.GetProperty("Id").GetString(), detector.RootElement.GetProperty("LeakDetectorType").GetString()));
            return detector.RootElement.GetProperty("DetectorState").GetString()!;
        }

        lock (plant.Gate)
        {
            simulator.AdvanceSteps(5);
        }

        Assert.Equal("OK", await State("h1-c03"));
        lock (plant.Gate)
        {
            simulator.AdvanceSteps(30);
        }

        Assert.Equal(1, plant.ReadValue("h1-c03/leak"));
        Assert.Equal(("Critical", "OK"), (await State("h1-c03"), await State("h1-c04")));
        var unknown = await http.GetAsync("/redfish/v1/Chassis/h1-c03/ThermalSubsystem/LeakDetection/LeakDetectors/Sump");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("LeakDetector named 'Sump'", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void SiteCollectors_NameEveryRackPoint_AsThePlantDoes()
    {
        var yaml = _face.SiteCollectors();
        var rack = FirstRack;
        var power = _plant.Points[_plant.Point($"{rack}/power")];
        Assert.Contains($"chassis: \"{rack}\"", yaml, StringComparison.Ordinal);
        Assert.Contains($"consumed: {power.Metric}", yaml, StringComparison.Ordinal);
        Assert.Contains($"actuator: \"{rack}/gpu_power_limit\"", yaml, StringComparison.Ordinal);
        Assert.Contains("leak_detectors:\n      Manifold: aida_rack_leak_detected\n", yaml, StringComparison.Ordinal);
        Assert.Contains($"labels: {SiteEntryYaml.Labels(power.Labels, "site")}", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("site:", yaml, StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> Patch(string rack, string body, string? etag = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/redfish/v1/Chassis/{rack}/Power") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (etag is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", etag);
        }

        return await _http.SendAsync(request);
    }
}
