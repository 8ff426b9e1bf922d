using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Aida.Protocols.Redfish;

/// <summary>A client of one DMTF Redfish service (DSP0266): finds chassis by following links from the service root, reads
/// a chassis' power (<c>Power</c>: <c>PowerControl[].PowerConsumedWatts</c>, <c>PowerLimit.LimitInWatts</c>) and thermal
/// readings (<c>Thermal</c>: <c>Temperatures[].ReadingCelsius</c>), and sets a power limit with PATCH.</summary>
/// <remarks>
/// Links are followed, never built: the service root's <c>Chassis</c> link, the collection's <c>Members</c>, the chassis'
/// <c>Power</c> and <c>Thermal</c> links. A body that is not JSON, or lacks what the schema requires where it is needed, is a
/// <see cref="RedfishMalformedException"/>; an HTTP error status a <see cref="RedfishErrorException"/> with the message of
/// the service's error body; transport failures are the <see cref="HttpClient"/>'s own (<see cref="HttpRequestException"/>,
/// and <see cref="TaskCanceledException"/> on timeout).
/// </remarks>
public sealed class RedfishClient : IDisposable
{
    /// <summary>The service root's path (DSP0266 §"Service root").</summary>
    public const string ServiceRootPath = "/redfish/v1";

    private readonly HttpClient _http;

    /// <param name="service">The service's base URL, e.g. <c>https://bmc-1</c> (its path, if any, is ignored: the root is
    /// <c>/redfish/v1</c>).</param>
    /// <param name="timeout">How long one request may take.</param>
    /// <param name="username">With <paramref name="password"/>: HTTP basic authentication on every request.</param>
    /// <param name="handler">The message handler (tests pass one); the client owns and disposes it.</param>
    public RedfishClient(Uri service, TimeSpan timeout, string? username = null, string? password = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, disposeHandler: true)
        {
            BaseAddress = new Uri(service.GetLeftPart(UriPartial.Authority)),
            Timeout = timeout,
        };
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.Add("OData-Version", "4.0");
        if (username is not null)
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", token);
        }
    }

    /// <summary>The chassis of the service: the <c>@odata.id</c> of each member of the root's <c>Chassis</c> collection.</summary>
    public async Task<IReadOnlyList<string>> ChassisAsync(CancellationToken ct)
    {
        using var root = await GetAsync(ServiceRootPath, ct).ConfigureAwait(false);
        var collection = Link(root.Body.RootElement, "Chassis", ServiceRootPath)
            ?? throw new RedfishMalformedException($"{ServiceRootPath}: no Chassis link");
        return await MemberPathsAsync(collection, ct).ConfigureAwait(false);
    }

    /// <summary>The <c>@odata.id</c> of each member of a resource collection.</summary>
    private async Task<IReadOnlyList<string>> MemberPathsAsync(string collection, CancellationToken ct)
    {
        using var members = await GetAsync(collection, ct).ConfigureAwait(false);
        if (!members.Body.RootElement.TryGetProperty("Members", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new RedfishMalformedException($"{collection}: no Members array");
        }

        var paths = new List<string>(list.GetArrayLength());
        foreach (var member in list.EnumerateArray())
        {
            paths.Add(OdataId(member) ?? throw new RedfishMalformedException($"{collection}: a member without @odata.id"));
        }

        return paths;
    }

    /// <summary>A chassis' <c>Id</c> and the links to its power and thermal resources (null where it has none).</summary>
    public async Task<ChassisLinks> ChassisLinksAsync(string chassisPath, CancellationToken ct)
    {
        using var chassis = await GetAsync(chassisPath, ct).ConfigureAwait(false);
        var body = chassis.Body.RootElement;
        var id = String(body, "Id") ?? throw new RedfishMalformedException($"{chassisPath}: no Id");
        string? reset = null;
        if (body.TryGetProperty("Actions", out var actions) && actions.ValueKind == JsonValueKind.Object
            && actions.TryGetProperty("#Chassis.Reset", out var action) && action.ValueKind == JsonValueKind.Object)
        {
            reset = String(action, "target") ?? throw new RedfishMalformedException($"{chassisPath}: #Chassis.Reset has no target");
        }

        return new ChassisLinks(chassisPath, id, Link(body, "Power", chassisPath), Link(body, "Thermal", chassisPath), reset)
        {
            ThermalSubsystem = Link(body, "ThermalSubsystem", chassisPath),
            Manager = ManagedBy(body, chassisPath),
        };
    }

    /// <summary>Reads a <c>Manager</c>'s (a BMC's) clock: its <c>Id</c>, <c>DateTime</c> (its clock now) and
    /// <c>LastResetTime</c> (when it last started, Manager v1_9 and later); either time null when the service reports
    /// none, malformed when it is not a date-time.</summary>
    public async Task<ManagerClock> ManagerClockAsync(string managerPath, CancellationToken ct)
    {
        using var manager = await GetAsync(managerPath, ct).ConfigureAwait(false);
        var body = manager.Body.RootElement;
        var id = String(body, "Id") ?? throw new RedfishMalformedException($"{managerPath}: no Id");
        return new ManagerClock(id, Time(body, "DateTime", managerPath), Time(body, "LastResetTime", managerPath));
    }

    /// <summary>The first manager of a chassis' <c>Links.ManagedBy</c>, or null when it links none.</summary>
    private static string? ManagedBy(JsonElement body, string path)
    {
        if (!body.TryGetProperty("Links", out var links) || links.ValueKind != JsonValueKind.Object
            || !links.TryGetProperty("ManagedBy", out var managers) || managers.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (managers.ValueKind != JsonValueKind.Array)
        {
            throw new RedfishMalformedException($"{path}: Links.ManagedBy is not an array");
        }

        foreach (var manager in managers.EnumerateArray())
        {
            return OdataId(manager) ?? throw new RedfishMalformedException($"{path}: Links.ManagedBy/0 is not a link (no @odata.id)");
        }

        return null;
    }

    /// <summary>A date-time property (RFC 3339 with its offset): null when absent or null, malformed otherwise.</summary>
    private static DateTimeOffset? Time(JsonElement body, string property, string path)
    {
        if (!body.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new RedfishMalformedException($"{path}: {property} is not a date-time ({value.GetRawText()})");
    }

    /// <summary>The paths of the leak detectors under a chassis' <c>ThermalSubsystem</c>: its <c>LeakDetection</c>'s
    /// <c>LeakDetectors</c> collection (DSP0268 2023.2 and later); none when the subsystem links no leak detection.</summary>
    public async Task<IReadOnlyList<string>> LeakDetectorsAsync(string thermalSubsystemPath, CancellationToken ct)
    {
        string? detection;
        using (var subsystem = await GetAsync(thermalSubsystemPath, ct).ConfigureAwait(false))
        {
            detection = Link(subsystem.Body.RootElement, "LeakDetection", thermalSubsystemPath);
        }

        if (detection is null)
        {
            return [];
        }

        string? collection;
        using (var leak = await GetAsync(detection, ct).ConfigureAwait(false))
        {
            collection = Link(leak.Body.RootElement, "LeakDetectors", detection);
        }

        return collection is null ? [] : await MemberPathsAsync(collection, ct).ConfigureAwait(false);
    }

    /// <summary>Reads a <c>LeakDetector</c>: its <c>Id</c>, <c>Name</c> and <c>DetectorState</c> (null when the service
    /// reports none).</summary>
    public async Task<LeakDetectorReading> LeakDetectorAsync(string detectorPath, CancellationToken ct)
    {
        using var detector = await GetAsync(detectorPath, ct).ConfigureAwait(false);
        var body = detector.Body.RootElement;
        var id = String(body, "Id") ?? throw new RedfishMalformedException($"{detectorPath}: no Id");
        string? state = null;
        if (body.TryGetProperty("DetectorState", out var value) && value.ValueKind != JsonValueKind.Null)
        {
            state = value.ValueKind == JsonValueKind.String ? value.GetString()
                : throw new RedfishMalformedException($"{detectorPath}: DetectorState is not a string ({value.GetRawText()})");
        }

        return new LeakDetectorReading(id, String(body, "Name") ?? id, state);
    }

    /// <summary>A chassis' <c>PowerState</c> (<c>On</c>, <c>Off</c>, <c>PoweringOn</c>, ...), or null when it has none.</summary>
    public async Task<string?> PowerStateAsync(string chassisPath, CancellationToken ct)
    {
        using var chassis = await GetAsync(chassisPath, ct).ConfigureAwait(false);
        return chassis.Body.RootElement.TryGetProperty("PowerState", out var state)
            ? state.ValueKind switch
            {
                JsonValueKind.String => state.GetString(),
                JsonValueKind.Null => null,
                _ => throw new RedfishMalformedException($"{chassisPath}: PowerState is not a string"),
            }
            : null;
    }

    /// <summary>Posts the <c>#Chassis.Reset</c> action with a <c>ResetType</c> (<c>On</c>, <c>ForceOff</c>, ...).</summary>
    public async Task ResetAsync(string resetTarget, string resetType, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["ResetType"] = resetType });
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(resetTarget, content, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(resetTarget, response, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Reads a <c>Power</c> resource: every <c>PowerControl</c> member, and the resource's ETag.</summary>
    public async Task<PowerReadings> PowerAsync(string powerPath, CancellationToken ct)
    {
        using var power = await GetAsync(powerPath, ct).ConfigureAwait(false);
        var body = power.Body.RootElement;
        var controls = new List<PowerControlReading>();
        foreach (var (index, member, control) in Members(body, "PowerControl", powerPath))
        {
            var limit = control.TryGetProperty("PowerLimit", out var pl) && pl.ValueKind == JsonValueKind.Object
                ? Number(pl, "LimitInWatts", powerPath)
                : null;
            controls.Add(new PowerControlReading(index, member, String(control, "Name"), Number(control, "PowerConsumedWatts", powerPath), limit));
        }

        var supplies = new List<PowerSupplyReading>();
        foreach (var (_, member, supply) in Members(body, "PowerSupplies", powerPath))
        {
            var state = supply.TryGetProperty("Status", out var status) && status.ValueKind == JsonValueKind.Object ? String(status, "State") : null;
            supplies.Add(new PowerSupplyReading(member, Number(supply, "LineInputVoltage", powerPath), state));
        }

        return new PowerReadings(controls, power.ETag ?? String(body, "@odata.etag")) { Supplies = supplies };
    }

    /// <summary>Reads a <c>Thermal</c> resource's <c>Temperatures</c>.</summary>
    public async Task<IReadOnlyList<TemperatureReading>> ThermalAsync(string thermalPath, CancellationToken ct)
    {
        using var thermal = await GetAsync(thermalPath, ct).ConfigureAwait(false);
        var body = thermal.Body.RootElement;
        var readings = new List<TemperatureReading>();
        foreach (var (_, member, sensor) in Members(body, "Temperatures", thermalPath))
        {
            readings.Add(new TemperatureReading(member, String(sensor, "Name") ?? member, Number(sensor, "ReadingCelsius", thermalPath)));
        }

        return readings;
    }

    /// <summary>Sets <c>PowerControl[index].PowerLimit.LimitInWatts</c> with PATCH; the other members are sent as empty
    /// objects, which DSP0266 defines as "leave this array element unchanged".</summary>
    /// <param name="etag">Sent as <c>If-Match</c> when given, so a concurrent change makes the service refuse (412).</param>
    public async Task SetPowerLimitAsync(string powerPath, int index, int count, double watts, string? etag, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(count, index);
        if (!double.IsFinite(watts))
        {
            throw new ArgumentOutOfRangeException(nameof(watts), watts, "a power limit must be a finite number");
        }

        var body = new StringBuilder("{\"PowerControl\":[");
        for (var i = 0; i < count; i++)
        {
            body.Append(i == index
                ? string.Create(CultureInfo.InvariantCulture, $"{{\"PowerLimit\":{{\"LimitInWatts\":{watts:R}}}}}")
                : "{}");
            body.Append(i + 1 < count ? "," : "");
        }

        body.Append("]}");
        using var request = new HttpRequestMessage(HttpMethod.Patch, powerPath) { Content = new StringContent(body.ToString(), Encoding.UTF8, "application/json") };
        if (etag is not null && EntityTagHeaderValue.TryParse(etag, out var tag))
        {
            request.Headers.IfMatch.Add(tag);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(powerPath, response, ct).ConfigureAwait(false);
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<Resource> GetAsync(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(path, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(path, response, ct).ConfigureAwait(false);
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new RedfishMalformedException($"{path}: not JSON: {e.Message}", e);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new RedfishMalformedException($"{path}: the body is not a JSON object");
        }

        return new Resource(document, response.Headers.ETag?.ToString());
    }

    private static async Task<RedfishErrorException> ErrorAsync(string path, HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return new RedfishErrorException(response.StatusCode, $"{path}: {(int)response.StatusCode} {RedfishError.MessageOf(text) ?? response.ReasonPhrase}");
    }

    private static string? Link(JsonElement body, string property, string path)
    {
        if (!body.TryGetProperty(property, out var link))
        {
            return null;
        }

        return OdataId(link) ?? throw new RedfishMalformedException($"{path}: {property} is not a link (no @odata.id)");
    }

    private static string? OdataId(JsonElement link) =>
        link.ValueKind == JsonValueKind.Object && link.TryGetProperty("@odata.id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: > 0 } s && s[0] == '/'
            ? s
            : null;

    /// <summary>The members of an array property (none when it is absent), each with its position and <c>MemberId</c>
    /// (its position when it has none); malformed when the property is not an array of objects.</summary>
    private static List<(int Index, string MemberId, JsonElement Member)> Members(JsonElement body, string property, string path)
    {
        var members = new List<(int, string, JsonElement)>();
        if (!body.TryGetProperty(property, out var list))
        {
            return members;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new RedfishMalformedException($"{path}: {property} is not an array");
        }

        var index = 0;
        foreach (var member in list.EnumerateArray())
        {
            if (member.ValueKind != JsonValueKind.Object)
            {
                throw new RedfishMalformedException($"{path}: {property}/{index} is not an object");
            }

            members.Add((index, MemberId(member) ?? index.ToString(CultureInfo.InvariantCulture), member));
            index++;
        }

        return members;
    }

    // MemberId is a string in the schema; some services send a number.
    private static string? MemberId(JsonElement member) =>
        member.TryGetProperty("MemberId", out var id) ? id.ValueKind switch
        {
            JsonValueKind.String => id.GetString(),
            JsonValueKind.Number => id.GetRawText(),
            _ => null,
        } : null;

    private static string? String(JsonElement body, string property) =>
        body.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A reading: null when absent or null (the schema's "not available"), malformed when of another type.</summary>
    private static double? Number(JsonElement body, string property, string path)
    {
        if (!body.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && double.IsFinite(d)
            ? d
            : throw new RedfishMalformedException($"{path}: {property} is not a number ({value.GetRawText()})");
    }

    private readonly record struct Resource(JsonDocument Body, string? ETag) : IDisposable
    {
        public void Dispose() => Body.Dispose();
    }
}

/// <summary>A chassis and its links.</summary>
/// <param name="Path">The chassis' <c>@odata.id</c>.</param>
/// <param name="Power">The <c>Power</c> resource's path, or null.</param>
/// <param name="Thermal">The <c>Thermal</c> resource's path, or null.</param>
/// <param name="Reset">The target of the <c>#Chassis.Reset</c> action, or null.</param>
public sealed record ChassisLinks(string Path, string Id, string? Power, string? Thermal, string? Reset)
{
    /// <summary>The <c>ThermalSubsystem</c> resource's path (where leak detection lives), or null.</summary>
    public string? ThermalSubsystem { get; init; }

    /// <summary>The path of the manager (BMC) that manages it (<c>Links.ManagedBy</c>, the first), or null.</summary>
    public string? Manager { get; init; }
}

/// <summary>A manager's clock: its <c>DateTime</c> and <c>LastResetTime</c> (null where not reported).</summary>
public sealed record ManagerClock(string Id, DateTimeOffset? DateTime, DateTimeOffset? LastResetTime);

/// <summary>A leak detector's <c>Id</c>, <c>Name</c> and <c>DetectorState</c> (<c>OK</c>, <c>Warning</c>,
/// <c>Critical</c>, <c>Unavailable</c>; null when not reported).</summary>
public sealed record LeakDetectorReading(string Id, string Name, string? DetectorState)
{
    /// <summary>1 when the detector senses liquid (<c>Warning</c> or <c>Critical</c>: the schema's states for a leak),
    /// 0 when dry (<c>OK</c>), null when it cannot tell (<c>Unavailable</c> or not reported).</summary>
    /// <exception cref="RedfishMalformedException">A state the schema does not define.</exception>
    public double? LeakDetected(string path) => DetectorState switch
    {
        "OK" => 0,
        "Warning" or "Critical" => 1,
        "Unavailable" or null => null,
        _ => throw new RedfishMalformedException($"{path}: DetectorState '{DetectorState}' is not one of OK, Warning, Critical, Unavailable"),
    };
}

/// <summary>A <c>Power</c> resource's power controls, and its ETag (for <c>If-Match</c>) when the service gave one.</summary>
public sealed record PowerReadings(IReadOnlyList<PowerControlReading> Controls, string? ETag)
{
    /// <summary>Its <c>PowerSupplies</c> members (none when it lists none).</summary>
    public IReadOnlyList<PowerSupplyReading> Supplies { get; init; } = [];

    /// <summary>Whether line power reaches the chassis: 1 when a supply reads a line input voltage above 0 and is not
    /// offline or absent, 0 when none does, null when no supply says (no supplies, no voltages).</summary>
    public double? InputLive()
    {
        if (Supplies.All(s => s.LineInputVoltage is null))
        {
            return null;
        }

        return Supplies.Any(s => s.LineInputVoltage > 0 && s.State is not ("UnavailableOffline" or "Absent" or "Disabled")) ? 1 : 0;
    }
}

/// <summary>One <c>PowerSupplies</c> member: its line input voltage (null when not reported) and <c>Status.State</c>.</summary>
public sealed record PowerSupplyReading(string MemberId, double? LineInputVoltage, string? State);

/// <summary>One <c>PowerControl</c> member; readings the service leaves out or sends as null are null.</summary>
/// <param name="Index">Its position in the array (PATCH addresses array members by position).</param>
public sealed record PowerControlReading(int Index, string MemberId, string? Name, double? ConsumedWatts, double? LimitInWatts);

/// <summary>One <c>Temperatures</c> member.</summary>
public sealed record TemperatureReading(string MemberId, string Name, double? ReadingCelsius);

/// <summary>A response body that is not what the Redfish schema says it is.</summary>
public sealed class RedfishMalformedException : Exception
{
    public RedfishMalformedException(string message) : base(message)
    {
    }

    public RedfishMalformedException()
    {
    }

    public RedfishMalformedException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>An HTTP error status from the service, with the message of its Redfish error body.</summary>
public sealed class RedfishErrorException : Exception
{
    public RedfishErrorException(HttpStatusCode status, string message) : base(message) => Status = status;

    public RedfishErrorException()
    {
    }

    public RedfishErrorException(string message) : base(message)
    {
    }

    public RedfishErrorException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public HttpStatusCode Status { get; }
}
