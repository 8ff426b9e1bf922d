using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Aida.Model.Plant;
using Aida.Protocols.Redfish;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aida.Twin.Wire.Redfish;

/// <summary>The plant's racks as a Redfish service (DSP0266): one chassis per rack, its power and GPU power limit in
/// <c>Power</c>, its inlet and hottest-GPU temperatures in <c>Thermal</c>; PATCH on <c>Power</c> sets the GPU power limit.</summary>
/// <remarks>
/// <para>Resources: <c>/redfish/v1</c> (service root), <c>/redfish/v1/Chassis</c>, <c>/redfish/v1/Chassis/{rack}</c>
/// (<c>ChassisType: Rack</c>), <c>.../Power</c> with <c>PowerControl</c> member <c>0</c> (the rack:
/// <c>PowerConsumedWatts</c> from the <c>rack/power</c> point) and member <c>1</c> (each GPU:
/// <c>PowerLimit.LimitInWatts</c>, writable: the limit the BMC was last set to, from the <c>rack/gpu_power_limit_command</c>
/// point, as a BMC reports its setting; the limit the GPUs enforce is the DCGM exporters' <c>DCGM_FI_DEV_POWER_MGMT_LIMIT</c>,
/// so a cap the GPUs never took shows as the two apart), and <c>.../Thermal</c> with
/// <c>Temperatures</c> <c>Inlet</c> (<c>rack/inlet_temperature</c>) and <c>GPU Max</c> (<c>rack/gpu_max_temperature</c>).
/// The chassis' <c>PowerState</c> is <c>Off</c> while the rack is isolated (<c>rack/isolated</c>), and its
/// <c>#Chassis.Reset</c> action isolates it (<c>ForceOff</c>) or restores it (<c>On</c>) through <c>rack/isolate</c>.
/// <c>.../ThermalSubsystem/LeakDetection/LeakDetectors/Manifold</c> is the rack's leak cable (<c>rack/leak</c>):
/// <c>DetectorState</c> <c>Critical</c> while it senses liquid, <c>OK</c> while dry.
/// <c>Power</c>'s <c>PowerSupplies</c> member <c>0</c> is the rack's PDU input (<c>rack/powered</c>): <c>LineInputVoltage</c>
/// <see cref="RackFeedVolts"/> and <c>Status.State</c> <c>Enabled</c> while a live busway reaches it, 0 and
/// <c>UnavailableOffline</c> while none does.
/// Each rack has its own manager, the rack's BMC (<c>/redfish/v1/Managers/{rack}</c>, the chassis'
/// <c>Links.ManagedBy</c>), with its <c>DateTime</c> and <c>LastResetTime</c> on the face's clock, to the second;
/// <see cref="Restart"/> restarts it.
/// A reading the sensor does not report is <c>null</c>.</para>
/// <para>A limit or power state that was written reads back as written until its point is next sampled, as a BMC returns a setting at
/// once while the measured limit follows. <c>@odata.etag</c> (and the <c>ETag</c> header) versions the limit only, so
/// <c>If-Match</c> guards against a concurrent change of the setting, not of a reading; a mismatch is 412. Bad input is
/// 400 with a Redfish error body naming a Base registry message.</para>
/// </remarks>
public sealed class RedfishFace : IWireFace
{
    /// <summary>The line voltage a powered rack's PDU input reads: 415 V three-phase, the feed of Open Rack V3 power
    /// shelves and of the liquid-cooled GPU racks built on them (OCP Open Rack V3 Base Specification, power shelf input).</summary>
    public const double RackFeedVolts = 415;

    private const string Root = RedfishClient.ServiceRootPath;

    private readonly IPlant _plant;
    private readonly IPEndPoint _endpoint;
    private readonly double _speed;
    private readonly Dictionary<string, Rack> _racks = new(StringComparer.Ordinal);
    private readonly List<Rack> _order = [];
    private readonly TimeProvider _clock;
    private WebApplication? _app;
    private string? _url;

    /// <param name="plant">The plant, safe to call from several threads (<see cref="SynchronizedPlant"/>).</param>
    /// <param name="endpoint">Where to listen; port 0 takes a free port.</param>
    /// <param name="speed">Plant seconds per wall second: the site entries poll at the points' sampling interval divided
    /// by it (<see cref="SiteEntryYaml.PollInterval"/>).</param>
    /// <param name="clock">The BMCs' own clock, of their <c>DateTime</c> and <c>LastResetTime</c> (default the system's).</param>
    public RedfishFace(IPlant plant, IPEndPoint endpoint, double speed = 1, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(plant);
        ArgumentNullException.ThrowIfNull(endpoint);
        _plant = plant;
        _endpoint = endpoint;
        _clock = clock ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(speed, 0);
        _speed = speed;
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in plant.Points)
        {
            byName[p.Name] = p.Index;
        }

        foreach (var p in plant.Points)
        {
            if (!p.Name.EndsWith("/power", StringComparison.Ordinal) || !p.Labels.TryGetValue("rack", out var id) || p.Asset != id)
            {
                continue;
            }

            int Find(string quantity) => byName.TryGetValue($"{id}/{quantity}", out var i) ? i : -1;
            var limit = Find("gpu_power_limit_command") is var command and >= 0 ? command : Find("gpu_power_limit");
            var rack = new Rack(id, p.Index, Find("inlet_temperature"), Find("gpu_max_temperature"), limit, plant.Actuator($"{id}/gpu_power_limit"),
                Find("isolated"), plant.Actuator($"{id}/isolate"))
            {
                Leak = Find("leak"),
                Powered = Find("powered"),
                StartedSeconds = _clock.GetUtcNow().ToUnixTimeSeconds(),
                InitialLimit = plant.Point($"{id}/gpu_power_limit") is var own and >= 0 ? plant.Read(own).Value : double.NaN,
            };
            _racks[id] = rack;
            _order.Add(rack);
        }
    }

    public IReadOnlyList<string> Endpoints => _url is null ? [] : [$"redfish {_order.Count} rack chassis {_url}{Root}"];

    public async Task StartAsync(CancellationToken ct)
    {
        // Rooted at the binary, with no configuration reloaded on change: by default the host watches the directory it
        // was started from and every directory under it (an inotify watch each: 14,007 from /tmp), for an appsettings
        // file Aida does not use.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders(); // a failure to bind is thrown to the caller; requests are not logged
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, SilentHostLifetime>();
        builder.WebHost.ConfigureKestrel(k => k.Listen(_endpoint));
        var app = builder.Build();
        app.MapGet(Root, () => Json(ServiceRoot()));
        app.MapGet($"{Root}/Chassis", () => Json(RackCollection("Chassis", "Chassis")));
        app.MapGet($"{Root}/Managers", () => Json(RackCollection("Managers", "Manager")));
        app.MapGet($"{Root}/Managers/{{id}}", (string id) => _racks.TryGetValue(id, out var r) ? Json(Manager(r)) : NotFound(id, "Manager"));
        app.MapGet($"{Root}/Chassis/{{id}}", (string id) => _racks.TryGetValue(id, out var r) ? Json(Chassis(r)) : NotFound(id));
        app.MapPost($"{Root}/Chassis/{{id}}/Actions/Chassis.Reset", (string id, HttpContext http) => _racks.TryGetValue(id, out var r) ? ResetAsync(r, http) : Task.FromResult(NotFound(id)));
        app.MapGet($"{Root}/Chassis/{{id}}/Power", (string id, HttpContext http) => _racks.TryGetValue(id, out var r) ? PowerResult(r, http) : NotFound(id));
        app.MapMethods($"{Root}/Chassis/{{id}}/Power", ["PATCH"], (string id, HttpContext http) => _racks.TryGetValue(id, out var r) ? PatchAsync(r, http) : Task.FromResult(NotFound(id)));
        app.MapGet($"{Root}/Chassis/{{id}}/Thermal", (string id) => _racks.TryGetValue(id, out var r) ? Json(Thermal(r)) : NotFound(id));
        app.MapGet($"{Root}/Chassis/{{id}}/ThermalSubsystem", (string id) => _racks.TryGetValue(id, out var r) && r.Leak >= 0 ? Json(ThermalSubsystem(r)) : NotFound(id));
        app.MapGet($"{Root}/Chassis/{{id}}/ThermalSubsystem/LeakDetection", (string id) => _racks.TryGetValue(id, out var r) && r.Leak >= 0 ? Json(LeakDetection(r)) : NotFound(id));
        app.MapGet($"{Root}/Chassis/{{id}}/ThermalSubsystem/LeakDetection/LeakDetectors", (string id) => _racks.TryGetValue(id, out var r) && r.Leak >= 0 ? Json(LeakDetectors(r)) : NotFound(id));
        app.MapGet($"{Root}/Chassis/{{id}}/ThermalSubsystem/LeakDetection/LeakDetectors/{{detector}}", (string id, string detector) =>
            !_racks.TryGetValue(id, out var r) || r.Leak < 0 ? NotFound(id)
            : detector == LeakDetectorId ? Json(LeakDetector(r))
            : NotFound(detector, "LeakDetector"));
        app.MapFallback((HttpContext http) => Results.Text(RedfishError.Body("ResourceMissingAtURI", $"The resource at the URI {http.Request.Path} was not found."), "application/json", statusCode: 404));
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        _url = address ?? $"http://{_endpoint}";
    }

    /// <summary>The racks served, a chassis and a BMC each, by their <c>Id</c>.</summary>
    public IReadOnlyList<string> Racks => [.. _order.Select(r => r.Id)];

    /// <summary>Restarts the BMC of <paramref name="rack"/>, as a BMC restarts by its watchdog or a firmware update
    /// faster than a collector polls: its <c>LastResetTime</c> becomes now and the GPU power limit goes back to the
    /// plant's at the start (the BMC applies its own stored limit), written to the plant. The service stays up.</summary>
    public void Restart(string rack)
    {
        if (!_racks.TryGetValue(rack, out var r))
        {
            throw new ArgumentException($"no rack chassis {rack} is served", nameof(rack));
        }

        Interlocked.Exchange(ref r.StartedSeconds, _clock.GetUtcNow().ToUnixTimeSeconds());
        if (r.LimitActuator >= 0 && r.Limit >= 0 && !double.IsNaN(r.InitialLimit))
        {
            var sampledAt = _plant.Read(r.Limit).Timestamp;
            if (_plant.Write(r.LimitActuator, r.InitialLimit).Ok)
            {
                r.LimitWritten.Record(r.InitialLimit, sampledAt);
            }
        }
    }

    /// <summary>The base URL once started (<c>http://127.0.0.1:PORT</c>).</summary>
    public Uri Url => new(_url ?? throw new InvalidOperationException("the face has not started"));

    public string SiteCollectors()
    {
        var url = _url ?? throw new InvalidOperationException("the face has not started");
        var b = new StringBuilder();
        foreach (var r in _order)
        {
            var power = _plant.Points[r.Power];
            var interval = SiteEntryYaml.PollInterval(power.Interval, _speed);
            b.Append(CultureInfo.InvariantCulture, $"  - type: redfish\n    name: {SiteEntryYaml.Quote($"redfish-{r.Id}")}\n    url: {SiteEntryYaml.Quote(url)}\n");
            b.Append(CultureInfo.InvariantCulture, $"    chassis: {SiteEntryYaml.Quote(r.Id)}\n    interval: {SiteEntryYaml.Duration(interval)}\n");
            b.Append(CultureInfo.InvariantCulture, $"    labels: {SiteEntryYaml.Labels(power.Labels, "site")}\n");
            b.Append(CultureInfo.InvariantCulture, $"    power:\n      - member: \"0\"\n        consumed: {power.Metric}\n");
            if (r.Limit >= 0)
            {
                b.Append(CultureInfo.InvariantCulture, $"      - member: \"1\"\n        limit: {_plant.Points[r.Limit].Metric}\n");
                if (r.LimitActuator >= 0)
                {
                    b.Append(CultureInfo.InvariantCulture, $"        actuator: {SiteEntryYaml.Quote(_plant.Actuators[r.LimitActuator].Name)}\n");
                }
            }

            if (r.Isolated >= 0)
            {
                b.Append(CultureInfo.InvariantCulture, $"    power_state:\n      metric: {_plant.Points[r.Isolated].Metric}\n      on: 0\n      off: 1\n");
                if (r.Isolate >= 0)
                {
                    b.Append(CultureInfo.InvariantCulture, $"      actuator: {SiteEntryYaml.Quote(_plant.Actuators[r.Isolate].Name)}\n");
                }
            }

            if (r.Leak >= 0)
            {
                b.Append(CultureInfo.InvariantCulture, $"    leak_detectors:\n      {LeakDetectorId}: {_plant.Points[r.Leak].Metric}\n");
            }

            if (r.Powered >= 0)
            {
                b.Append(CultureInfo.InvariantCulture, $"    power_input:\n      metric: {_plant.Points[r.Powered].Metric}\n");
            }

            b.Append("    manager_uptime: true\n");

            if (r.Inlet >= 0 || r.GpuMax >= 0)
            {
                b.Append("    temperatures:\n");
                if (r.Inlet >= 0)
                {
                    b.Append(CultureInfo.InvariantCulture, $"      Inlet: {_plant.Points[r.Inlet].Metric}\n");
                }

                if (r.GpuMax >= 0)
                {
                    b.Append(CultureInfo.InvariantCulture, $"      GPU Max: {_plant.Points[r.GpuMax].Metric}\n");
                }
            }
        }

        return b.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }
    }

    private static IResult Json(string body) => Results.Text(body, "application/json");

    private static IResult NotFound(string id, string type = "Chassis") =>
        Results.Text(RedfishError.Body("ResourceNotFound", $"The requested resource of type {type} named '{id}' was not found."), "application/json", statusCode: 404);

    private static IResult BadRequest(string messageId, string message, string? property = null) =>
        Results.Text(RedfishError.Body(messageId, message, property), "application/json", statusCode: 400);

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Link(Utf8JsonWriter json, string property, string path)
    {
        json.WriteStartObject(property);
        json.WriteString("@odata.id", path);
        json.WriteEndObject();
    }

    private static void Reading(Utf8JsonWriter json, string property, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(property, value);
        }
        else
        {
            json.WriteNull(property);
        }
    }

    private static string ServiceRoot() => Write(json =>
    {
        json.WriteString("@odata.id", Root);
        json.WriteString("@odata.type", "#ServiceRoot.v1_15_0.ServiceRoot");
        json.WriteString("Id", "RootService");
        json.WriteString("Name", "Aida twin Redfish service");
        json.WriteString("RedfishVersion", "1.17.0");
        Link(json, "Chassis", $"{Root}/Chassis");
        Link(json, "Managers", $"{Root}/Managers");
    });

    /// <summary>A collection with a member per rack: <c>Chassis</c> or <c>Managers</c> (of <paramref name="type"/>).</summary>
    private string RackCollection(string segment, string type) => Write(json =>
    {
        json.WriteString("@odata.id", $"{Root}/{segment}");
        json.WriteString("@odata.type", $"#{type}Collection.{type}Collection");
        json.WriteString("Name", $"{type} Collection");
        json.WriteNumber("Members@odata.count", _order.Count);
        json.WriteStartArray("Members");
        foreach (var r in _order)
        {
            json.WriteStartObject();
            json.WriteString("@odata.id", $"{Root}/{segment}/{r.Id}");
            json.WriteEndObject();
        }

        json.WriteEndArray();
    });

    /// <summary><c>"Links": {"<paramref name="property"/>": [{"@odata.id": <paramref name="path"/>}]}</c>.</summary>
    private static void Links(Utf8JsonWriter json, string property, string path)
    {
        json.WriteStartObject("Links");
        json.WriteStartArray(property);
        json.WriteStartObject();
        json.WriteString("@odata.id", path);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private string Manager(Rack r) => Write(json =>
    {
        json.WriteString("@odata.id", $"{Root}/Managers/{r.Id}");
        json.WriteString("@odata.type", "#Manager.v1_19_0.Manager");
        json.WriteString("Id", r.Id);
        json.WriteString("Name", $"BMC of rack {r.Id}");
        json.WriteString("ManagerType", "BMC");
        json.WriteString("DateTime", Seconds(_clock.GetUtcNow()).ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture));
        json.WriteString("LastResetTime", DateTimeOffset.FromUnixTimeSeconds(Interlocked.Read(ref r.StartedSeconds)).ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture));
        Links(json, "ManagerForChassis", $"{Root}/Chassis/{r.Id}");
    });

    /// <summary>A time to the whole second, as BMCs report theirs.</summary>
    private static DateTimeOffset Seconds(DateTimeOffset time) => DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());

    private string Chassis(Rack r)
    {
        var isolated = r.Isolated >= 0 ? r.IsolationWritten.Serve(_plant.Read(r.Isolated)) : double.NaN;
        return Write(json =>
        {
            json.WriteString("@odata.id", $"{Root}/Chassis/{r.Id}");
            json.WriteString("@odata.type", "#Chassis.v1_21_0.Chassis");
            json.WriteString("Id", r.Id);
            json.WriteString("Name", $"Rack {r.Id}");
            json.WriteString("ChassisType", "Rack");
            if (double.IsNaN(isolated))
            {
                json.WriteNull("PowerState");
            }
            else
            {
                json.WriteString("PowerState", isolated >= 0.5 ? "Off" : "On");
            }

            if (r.Isolate >= 0)
            {
                json.WriteStartObject("Actions");
                json.WriteStartObject("#Chassis.Reset");
                json.WriteString("target", $"{Root}/Chassis/{r.Id}/Actions/Chassis.Reset");
                json.WriteStartArray("ResetType@Redfish.AllowableValues");
                json.WriteStringValue("On");
                json.WriteStringValue("ForceOff");
                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndObject();
            }

            Link(json, "Power", $"{Root}/Chassis/{r.Id}/Power");
            Link(json, "Thermal", $"{Root}/Chassis/{r.Id}/Thermal");
            Links(json, "ManagedBy", $"{Root}/Managers/{r.Id}");
            if (r.Leak >= 0)
            {
                Link(json, "ThermalSubsystem", $"{Root}/Chassis/{r.Id}/ThermalSubsystem");
            }
        });
    }

    /// <summary>The one leak detector of a rack: the leak-sensing cable along its cold-plate manifold.</summary>
    private const string LeakDetectorId = "Manifold";

    private static string ThermalSubsystem(Rack r) =>
        Linking($"{Root}/Chassis/{r.Id}/ThermalSubsystem", "#ThermalSubsystem.v1_3_0.ThermalSubsystem", "ThermalSubsystem", "Thermal Subsystem", "LeakDetection");

    private static string LeakDetection(Rack r) =>
        Linking($"{Root}/Chassis/{r.Id}/ThermalSubsystem/LeakDetection", "#LeakDetection.v1_1_0.LeakDetection", "LeakDetection", "Leak Detection", "LeakDetectors");

    /// <summary>A resource that only links on: to <c>{path}/{link}</c> as its property <paramref name="link"/>.</summary>
    private static string Linking(string path, string type, string id, string name, string link) => Write(json =>
    {
        json.WriteString("@odata.id", path);
        json.WriteString("@odata.type", type);
        json.WriteString("Id", id);
        json.WriteString("Name", name);
        Link(json, link, $"{path}/{link}");
    });

    private static string LeakDetectors(Rack r) => Write(json =>
    {
        var path = $"{Root}/Chassis/{r.Id}/ThermalSubsystem/LeakDetection/LeakDetectors";
        json.WriteString("@odata.id", path);
        json.WriteString("@odata.type", "#LeakDetectorCollection.LeakDetectorCollection");
        json.WriteString("Name", "Leak Detector Collection");
        json.WriteNumber("Members@odata.count", 1);
        json.WriteStartArray("Members");
        json.WriteStartObject();
        json.WriteString("@odata.id", $"{path}/{LeakDetectorId}");
        json.WriteEndObject();
        json.WriteEndArray();
    });

    /// <summary>The rack's leak detector: <c>DetectorState</c> <c>Critical</c> while the <c>rack/leak</c> point reads 1,
    /// <c>OK</c> while 0, <c>Unavailable</c> while it reports nothing.</summary>
    private string LeakDetector(Rack r)
    {
        var wet = _plant.Read(r.Leak).Value;
        var state = double.IsNaN(wet) ? "Unavailable" : wet >= 0.5 ? "Critical" : "OK";
        return Write(json =>
        {
            json.WriteString("@odata.id", $"{Root}/Chassis/{r.Id}/ThermalSubsystem/LeakDetection/LeakDetectors/{LeakDetectorId}");
            json.WriteString("@odata.type", "#LeakDetector.v1_3_0.LeakDetector");
            json.WriteString("Id", LeakDetectorId);
            json.WriteString("Name", LeakDetectorId);
            json.WriteString("LeakDetectorType", "Moisture");
            json.WriteString("DetectorState", state);
            json.WriteStartObject("Status");
            json.WriteString("State", state == "Unavailable" ? "UnavailableOffline" : "Enabled");
            if (state != "Unavailable")
            {
                json.WriteString("Health", state);
            }

            json.WriteEndObject();
        });
    }

    /// <summary><c>#Chassis.Reset</c>: <c>ForceOff</c> isolates the rack (<c>rack/isolate</c> 1), <c>On</c> restores it (0).</summary>
    private async Task<IResult> ResetAsync(Rack r, HttpContext http)
    {
        if (r.Isolate < 0)
        {
            return Results.Text(RedfishError.Body("ActionNotSupported", $"The action Chassis.Reset is not supported by the resource {r.Id}."), "application/json", statusCode: 400);
        }

        var (doc, malformed) = await ReadBodyAsync(http).ConfigureAwait(false);
        if (doc is null)
        {
            return malformed!;
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("ResetType", out var type))
            {
                return BadRequest("ActionParameterMissing", "The action Chassis.Reset requires the parameter ResetType to be present in the request body.", "/ResetType");
            }

            double value = type.ValueKind == JsonValueKind.String ? type.GetString() switch
            {
                "ForceOff" => 1,
                "On" => 0,
                _ => double.NaN,
            } : double.NaN;
            if (double.IsNaN(value))
            {
                return BadRequest("ActionParameterValueNotInList", $"The value '{type.GetRawText()}' for the parameter ResetType in the action Chassis.Reset is not in the list of acceptable values (On, ForceOff).", "/ResetType");
            }

            var sampledAt = r.Isolated >= 0 ? _plant.Read(r.Isolated).Timestamp : default;
            var result = _plant.Write(r.Isolate, value);
            if (!result.Ok)
            {
                return BadRequest("ActionParameterValueError", $"The value for the parameter ResetType in the action Chassis.Reset is invalid: {result.Message}", "/ResetType");
            }

            r.IsolationWritten.Record(value, sampledAt);
            return Results.NoContent();
        }
    }

    private IResult PowerResult(Rack r, HttpContext http)
    {
        var (body, etag) = Power(r);
        http.Response.Headers.ETag = etag;
        return Json(body);
    }

    private (string Body, string ETag) Power(Rack r)
    {
        var consumed = _plant.Read(r.Power).Value;
        var limit = Limit(r);
        var etag = ETag(limit);
        var body = Write(json =>
        {
            var path = $"{Root}/Chassis/{r.Id}/Power";
            json.WriteString("@odata.id", path);
            json.WriteString("@odata.type", "#Power.v1_7_1.Power");
            json.WriteString("@odata.etag", etag);
            json.WriteString("Id", "Power");
            json.WriteString("Name", "Power");
            json.WriteStartArray("PowerControl");
            json.WriteStartObject();
            json.WriteString("@odata.id", $"{path}#/PowerControl/0");
            json.WriteString("MemberId", "0");
            json.WriteString("Name", "Rack power");
            json.WriteString("PhysicalContext", "Chassis");
            Reading(json, "PowerConsumedWatts", consumed);
            json.WriteEndObject();
            if (r.Limit >= 0)
            {
                json.WriteStartObject();
                json.WriteString("@odata.id", $"{path}#/PowerControl/1");
                json.WriteString("MemberId", "1");
                json.WriteString("Name", "GPU power limit (each GPU)");
                json.WriteString("PhysicalContext", "GPU");
                json.WriteStartObject("PowerLimit");
                Reading(json, "LimitInWatts", limit);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (r.Powered >= 0)
            {
                // The rack's PDU input as its power shelf reports it: the line voltage while a live busway reaches it.
                var powered = _plant.Read(r.Powered).Value;
                json.WriteStartArray("PowerSupplies");
                json.WriteStartObject();
                json.WriteString("@odata.id", $"{path}#/PowerSupplies/0");
                json.WriteString("MemberId", "0");
                json.WriteString("Name", "Rack PDU input");
                Reading(json, "LineInputVoltage", double.IsNaN(powered) ? double.NaN : powered >= 0.5 ? RackFeedVolts : 0);
                json.WriteStartObject("Status");
                json.WriteString("State", double.IsNaN(powered) ? "Unknown" : powered >= 0.5 ? "Enabled" : "UnavailableOffline");
                json.WriteString("Health", double.IsNaN(powered) || powered >= 0.5 ? "OK" : "Critical");
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndArray();
            }
        });
        return (body, etag);
    }

    /// <summary>The limit as served: the value written, until the point's next sample shows the plant's own.</summary>
    private double Limit(Rack r) => r.Limit < 0 ? double.NaN : r.LimitWritten.Serve(_plant.Read(r.Limit));

    private static string ETag(double limit) =>
        string.Create(CultureInfo.InvariantCulture, $"W/\"{(double.IsFinite(limit) ? BitConverter.DoubleToInt64Bits(limit) : 0):x}\"");

    private string Thermal(Rack r)
    {
        var inlet = r.Inlet >= 0 ? _plant.Read(r.Inlet).Value : double.NaN;
        var gpu = r.GpuMax >= 0 ? _plant.Read(r.GpuMax).Value : double.NaN;
        return Write(json =>
        {
            var path = $"{Root}/Chassis/{r.Id}/Thermal";
            json.WriteString("@odata.id", path);
            json.WriteString("@odata.type", "#Thermal.v1_7_1.Thermal");
            json.WriteString("Id", "Thermal");
            json.WriteString("Name", "Thermal");
            json.WriteStartArray("Temperatures");
            Sensor(json, path, "0", "Inlet", "Intake", inlet);
            Sensor(json, path, "1", "GPU Max", "GPU", gpu);
            json.WriteEndArray();
        });
    }

    private static void Sensor(Utf8JsonWriter json, string path, string member, string name, string context, double value)
    {
        json.WriteStartObject();
        json.WriteString("@odata.id", $"{path}#/Temperatures/{member}");
        json.WriteString("MemberId", member);
        json.WriteString("Name", name);
        json.WriteString("PhysicalContext", context);
        Reading(json, "ReadingCelsius", value);
        json.WriteEndObject();
    }

    /// <summary>The request's JSON body, or the 400 <c>MalformedJSON</c> to answer.</summary>
    private static async Task<(JsonDocument? Body, IResult? Problem)> ReadBodyAsync(HttpContext http)
    {
        try
        {
            return (await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted).ConfigureAwait(false), null);
        }
        catch (JsonException e)
        {
            return (null, BadRequest("MalformedJSON", $"The request body submitted was malformed JSON: {e.Message}"));
        }
    }

    private async Task<IResult> PatchAsync(Rack r, HttpContext http)
    {
        var (doc, malformed) = await ReadBodyAsync(http).ConfigureAwait(false);
        if (doc is null)
        {
            return malformed!;
        }

        using (doc)
        {
            var problem = ParseLimit(doc.RootElement, out var watts);
            if (problem is not null)
            {
                return problem;
            }

            if (r.Limit < 0 || r.LimitActuator < 0)
            {
                return BadRequest("PropertyNotWritable", "The property PowerLimit is a read only property and cannot be assigned a value.", "/PowerControl/1/PowerLimit");
            }

            if (watts is not { } value)
            {
                return PowerResult(r, http); // only empty objects: nothing to change
            }

            var ifMatch = http.Request.Headers.IfMatch.ToString();
            if (ifMatch.Length > 0 && ifMatch != "*" && ifMatch != ETag(Limit(r)))
            {
                return Results.Text(RedfishError.Body("PreconditionFailed", "The ETag supplied did not match the ETag required to change this resource."), "application/json", statusCode: 412);
            }

            var sampledAt = _plant.Read(r.Limit).Timestamp;
            var result = _plant.Write(r.LimitActuator, value);
            if (!result.Ok)
            {
                var info = _plant.Actuators[r.LimitActuator];
                return BadRequest("PropertyValueOutOfRange",
                    string.Create(CultureInfo.InvariantCulture, $"The value '{value}' for the property LimitInWatts is not in the supported range of acceptable values ({info.Min} to {info.Max})."),
                    "/PowerControl/1/PowerLimit/LimitInWatts");
            }

            r.LimitWritten.Record(value, sampledAt);
            return PowerResult(r, http);
        }
    }

    /// <summary>Checks a PATCH body: <c>{"PowerControl": [{}, {"PowerLimit": {"LimitInWatts": W}}]}</c>, where an empty
    /// object leaves a member unchanged; returns the 400 to send, or null with the limit asked for (null if none).</summary>
    private static IResult? ParseLimit(JsonElement body, out double? watts)
    {
        watts = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return BadRequest("MalformedJSON", "The request body submitted was malformed JSON: it is not an object.");
        }

        foreach (var property in body.EnumerateObject())
        {
            if (property.Name != "PowerControl")
            {
                return BadRequest("PropertyNotWritable", $"The property {property.Name} is a read only property and cannot be assigned a value.", "/" + property.Name);
            }
        }

        if (!body.TryGetProperty("PowerControl", out var controls) || controls.ValueKind != JsonValueKind.Array)
        {
            return BadRequest("PropertyValueTypeError", "The value for the property PowerControl is of a different type than the property can accept (an array).", "/PowerControl");
        }

        var index = 0;
        foreach (var member in controls.EnumerateArray())
        {
            var pointer = $"/PowerControl/{index}";
            if (member.ValueKind != JsonValueKind.Object)
            {
                return BadRequest("PropertyValueTypeError", $"The value for the property {pointer} is of a different type than the property can accept (an object).", pointer);
            }

            foreach (var property in member.EnumerateObject())
            {
                if (index != 1 || property.Name != "PowerLimit")
                {
                    return BadRequest("PropertyNotWritable", $"The property {pointer}/{property.Name} is a read only property and cannot be assigned a value.", $"{pointer}/{property.Name}");
                }

                if (property.Value.ValueKind != JsonValueKind.Object)
                {
                    return BadRequest("PropertyValueTypeError", $"The value for the property {pointer}/PowerLimit is of a different type than the property can accept (an object).", $"{pointer}/PowerLimit");
                }

                foreach (var limit in property.Value.EnumerateObject())
                {
                    if (limit.Name != "LimitInWatts")
                    {
                        return BadRequest("PropertyNotWritable", $"The property {pointer}/PowerLimit/{limit.Name} is a read only property and cannot be assigned a value.", $"{pointer}/PowerLimit/{limit.Name}");
                    }

                    if (limit.Value.ValueKind != JsonValueKind.Number || !limit.Value.TryGetDouble(out var w) || !double.IsFinite(w))
                    {
                        return BadRequest("PropertyValueTypeError", $"The value '{limit.Value.GetRawText()}' for the property LimitInWatts is of a different type than the property can accept (a number of watts).", $"{pointer}/PowerLimit/LimitInWatts");
                    }

                    watts = w;
                }
            }

            index++;
        }

        if (index > 2)
        {
            return BadRequest("PropertyValueFormatError", "The PowerControl array has 2 members; the request gave " + index.ToString(CultureInfo.InvariantCulture) + ".", "/PowerControl");
        }

        return null;
    }

    private sealed class Rack(string id, int power, int inlet, int gpuMax, int limit, int limitActuator, int isolated, int isolate)
    {
        public string Id { get; } = id;

        /// <summary>The <c>rack/leak</c> point (1: the leak cable senses liquid), or -1.</summary>
        public int Leak { get; init; } = -1;

        /// <summary>The <c>rack/powered</c> point (1: a live busway reaches the rack's PDU), or -1.</summary>
        public int Powered { get; init; } = -1;

        public int Power { get; } = power;

        public int Inlet { get; } = inlet;

        public int GpuMax { get; } = gpuMax;

        public int Limit { get; } = limit;

        public int LimitActuator { get; } = limitActuator;

        /// <summary>The <c>rack/isolated</c> point (1: the rack is powered off), or -1.</summary>
        public int Isolated { get; } = isolated;

        /// <summary>The <c>rack/isolate</c> actuator, or -1.</summary>
        public int Isolate { get; } = isolate;

        public WrittenSetting LimitWritten { get; } = new();

        /// <summary>When its BMC last started (<c>LastResetTime</c>), in Unix seconds.</summary>
        public long StartedSeconds;

        /// <summary>The GPU power limit at the start, which a restarted BMC applies again; NaN if none.</summary>
        public double InitialLimit { get; init; } = double.NaN;

        public WrittenSetting IsolationWritten { get; } = new();
    }

    /// <summary>A setting written over the wire, served as written until the plant samples its point again (a BMC returns a
    /// setting at once; the measured state follows).</summary>
    private sealed class WrittenSetting
    {
        private double? _value;
        private DateTimeOffset _sampledBefore;

        public double Serve(PointReading reading)
        {
            lock (this)
            {
                if (_value is { } written && reading.Timestamp == _sampledBefore)
                {
                    return written;
                }

                _value = null;
                return reading.Value;
            }
        }

        /// <param name="sampledAt">The timestamp of the point's sample when the write was accepted.</param>
        public void Record(double value, DateTimeOffset sampledAt)
        {
            lock (this)
            {
                _value = value;
                _sampledBefore = sampledAt;
            }
        }
    }
}
