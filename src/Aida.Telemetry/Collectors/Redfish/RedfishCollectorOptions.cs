using Aida.Model.Config;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors.Redfish;

/// <summary>A <c>type: redfish</c> entry of a site file: which service, which chassis, and how its readings are named.</summary>
/// <remarks>
/// <code>
/// - type: redfish
///   name: rack-h1-r01-01
///   url: http://10.0.4.21           # the service; the root is /redfish/v1
///   chassis: rack-h1-r01-01         # optional: this chassis (its Id) only; default every chassis, labelled chassis="Id"
///   username: admin                 # optional, with password: HTTP basic authentication
///   password: secret
///   power:                          # optional: PowerControl members by MemberId; default every member
///     - member: "0"
///       consumed: aida_rack_power_watts           # PowerConsumedWatts as this metric
///     - member: "1"
///       limit: aida_gpu_power_limit_command_watts # PowerLimit.LimitInWatts (the limit set) as this metric
///       actuator: rack-h1-r01-01/gpu_power_limit  # optional: the limit is writable as this actuator (needs chassis)
///   temperatures:                   # optional: Temperatures by Name; default every sensor
///     Inlet: aida_rack_inlet_celsius
///   leak_detectors:                 # optional: ThermalSubsystem/LeakDetection/LeakDetectors by Name; default none
///     Manifold: aida_rack_leak_detected       # 1 while it reads Warning or Critical, 0 while OK
///   power_state:                    # optional: the chassis' PowerState as a metric
///     metric: aida_rack_isolated
///     on: 0                         # the value for On (default 1)
///     off: 1                        # the value for Off (default 0)
///     actuator: rack-h1-r01-01/isolate   # optional: written with #Chassis.Reset (needs chassis)
///   power_input:                    # optional: whether line power reaches it, from Power.PowerSupplies
///     metric: aida_rack_powered     # 1 while a supply reads LineInputVoltage above 0 (not offline), else 0
///   manager_uptime: true            # optional: the chassis' manager (Links.ManagedBy), its uptime each poll
/// </code>
/// Without <c>power</c>, every member is read as <c>redfish_power_consumed_watts</c> and <c>redfish_power_limit_watts</c>
/// labelled <c>power_control="MemberId"</c>; without <c>temperatures</c>, every sensor as
/// <c>redfish_temperature_celsius</c> labelled <c>sensor="Name"</c>. Named metrics carry only the entry's labels. Leak
/// detectors are read only when named (each is one more request a poll); one reading <c>Unavailable</c> stores
/// nothing, so its reading goes stale. With <c>manager_uptime</c>, each poll also reads the manager (BMC) each chassis
/// links: its uptime, its <c>DateTime</c> less its <c>LastResetTime</c> (both of its own clock; the collector's clock at
/// the poll when it reports no <c>DateTime</c>), is stored as <see cref="ManagerUptimeMetric"/> and judged as a Modbus
/// uptime register is (<see cref="UptimeWatch"/>): a BMC that restarted between two polls it answered may have come back
/// with its own power limits, and the safety guard takes them to be where they next read back.
/// </remarks>
public sealed record RedfishCollectorOptions
{
    public const string DefaultConsumedMetric = "redfish_power_consumed_watts";
    public const string DefaultLimitMetric = "redfish_power_limit_watts";
    public const string DefaultTemperatureMetric = "redfish_temperature_celsius";

    /// <summary>The metric of a chassis' manager's uptime (<c>manager_uptime: true</c>), in seconds, labelled
    /// <c>manager="Id"</c>.</summary>
    public const string ManagerUptimeMetric = "redfish_manager_uptime_seconds";

    public required Uri Url { get; init; }

    /// <summary>The chassis' <c>Id</c>, or null for every chassis of the service.</summary>
    public string? Chassis { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>The power controls to read, or null for every one under the default names.</summary>
    public IReadOnlyList<PowerControlMapping>? Power { get; init; }

    /// <summary>Sensor <c>Name</c> to metric, or null for every sensor under the default name.</summary>
    public IReadOnlyDictionary<string, string>? Temperatures { get; init; }

    /// <summary>Leak detector <c>Name</c> to metric, or null to read none.</summary>
    public IReadOnlyDictionary<string, string>? LeakDetectors { get; init; }

    /// <summary>The metric of whether line power reaches the chassis (<see cref="Aida.Protocols.Redfish.PowerReadings.InputLive"/>),
    /// or null to store none.</summary>
    public string? PowerInput { get; init; }

    /// <summary>The chassis' <c>PowerState</c> as a metric (and optionally an actuator), or null to leave it.</summary>
    public PowerStateMapping? PowerState { get; init; }

    /// <summary>Whether each poll reads the chassis' manager's uptime and tells its restarts.</summary>
    public bool ManagerUptime { get; init; }

    /// <summary>Reads the protocol's own fields of an entry.</summary>
    public static RedfishCollectorOptions Read(ConfigNode entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var urlText = entry.String("url");
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw entry.Error("url", $"'{urlText}' is not an http(s) URL");
        }

        var username = entry.OptionalString("username");
        var password = entry.OptionalString("password");
        if ((username is null) != (password is null))
        {
            throw entry.Error(username is null ? "username" : "password", "username and password go together");
        }

        var chassis = entry.OptionalString("chassis");
        List<PowerControlMapping>? power = null;
        if (entry.Optional("power") is not null)
        {
            power = [];
            foreach (var item in entry.List("power"))
            {
                var member = item.String("member");
                var consumed = MetricName(item, "consumed");
                var limit = MetricName(item, "limit");
                var actuator = item.OptionalString("actuator");
                if (consumed is null && limit is null)
                {
                    throw item.Error("needs consumed, limit or both: the metric names of the member's readings");
                }

                if (actuator is not null && (limit is null || chassis is null))
                {
                    throw item.Error("actuator", "a writable power limit needs the member's limit metric and the entry's chassis");
                }

                if (actuator is not null && !IsActuatorName(actuator))
                {
                    throw item.Error("actuator", $"'{actuator}' is not an actuator name (asset/setting)");
                }

                if (power.Exists(p => p.Member == member))
                {
                    throw item.Error("member", $"'{member}' is listed twice");
                }

                item.RejectUnknown();
                power.Add(new PowerControlMapping(member, consumed, limit, actuator));
            }
        }

        var temperatures = MetricsByName(entry, "temperatures");
        var leakDetectors = MetricsByName(entry, "leak_detectors");

        PowerStateMapping? powerState = null;
        if (entry.Optional("power_state") is { } ps)
        {
            var metric = MetricName(ps, "metric") ?? throw ps.Error("metric", "is required");
            var on = ps.NumberOr("on", 1);
            var off = ps.NumberOr("off", 0);
            if (on == off)
            {
                throw ps.Error("off", "must differ from on");
            }

            var actuator = ps.OptionalString("actuator");
            if (actuator is not null && (chassis is null || !IsActuatorName(actuator)))
            {
                throw ps.Error("actuator", chassis is null ? "a writable power state needs the entry's chassis" : $"'{actuator}' is not an actuator name (asset/setting)");
            }

            ps.RejectUnknown();
            powerState = new PowerStateMapping(metric, on, off, actuator);
        }

        string? powerInput = null;
        if (entry.Optional("power_input") is { } pi)
        {
            powerInput = MetricName(pi, "metric") ?? throw pi.Error("metric", "is required");
            pi.RejectUnknown();
        }

        var managerUptime = entry.Boolean("manager_uptime", false);
        return new RedfishCollectorOptions
        {
            ManagerUptime = managerUptime,
            PowerState = powerState,
            PowerInput = powerInput,
            Url = url,
            Chassis = chassis,
            Username = username,
            Password = password,
            Power = power,
            Temperatures = temperatures,
            LeakDetectors = leakDetectors,
        };
    }

    /// <summary>A map of names (a sensor's, a detector's) to metric names, or null when the entry has no <paramref name="key"/>.</summary>
    private static Dictionary<string, string>? MetricsByName(ConfigNode entry, string key)
    {
        if (entry.Optional(key) is not { } map)
        {
            return null;
        }

        var metrics = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in map.Keys)
        {
            metrics[name] = MetricName(map, name) ?? throw map.Error(name, "needs a metric name");
        }

        map.RejectUnknown();
        return metrics;
    }

    private static string? MetricName(ConfigNode node, string key)
    {
        var name = node.OptionalString(key);
        if (name is not null && !LabelRules.IsValidMetricName(name))
        {
            throw node.Error(key, $"'{name}' is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
        }

        return name;
    }

    private static bool IsActuatorName(string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < name.Length - 1;
    }
}

/// <summary>A chassis' <c>PowerState</c> read as <paramref name="Metric"/>: <paramref name="On"/> when <c>On</c>,
/// <paramref name="Off"/> when <c>Off</c> (other states are not stored); written, when <paramref name="Actuator"/> is
/// given, with the <c>#Chassis.Reset</c> action (<c>On</c> or <c>ForceOff</c>).</summary>
public sealed record PowerStateMapping(string Metric, double On, double Off, string? Actuator);

/// <summary>One <c>PowerControl</c> member to read: the metric of its consumed power, of its limit (either may be null),
/// and the actuator its limit is written as (or null).</summary>
public sealed record PowerControlMapping(string Member, string? Consumed, string? Limit, string? Actuator);
