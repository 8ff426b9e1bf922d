using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Aida.Model.Plant;
using MQTTnet;
using MQTTnet.Protocol;

namespace Aida.Twin.Wire.Mqtt;

/// <summary>What <see cref="MqttSensorFace"/> publishes and where.</summary>
public sealed record MqttFaceOptions
{
    /// <summary>The broker, e.g. <c>127.0.0.1</c>.</summary>
    public required string BrokerHost { get; init; }

    public int BrokerPort { get; init; } = 1883;

    /// <summary>The first topic levels, e.g. <c>aida/leesburg-1</c>.</summary>
    public required string TopicPrefix { get; init; }

    public string ClientId { get; init; } = "aida-twin-sensors";

    /// <summary>How often the plant is read for new samples (each point is published when its sample changes).</summary>
    public TimeSpan PublishInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The metrics of the points published; default the room sensors: rack inlets, CRAH supply air, rack leak
    /// detectors and the outdoor dry and wet bulb.</summary>
    public IReadOnlySet<string> Metrics { get; init; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "aida_rack_inlet_celsius", "aida_crah_supply_air_celsius", "aida_rack_leak_detected", "aida_ambient_dry_bulb_celsius", "aida_ambient_wet_bulb_celsius",
    };

    /// <summary>Which actuators take commands; default those of the assets that have a CRAH supply-air point (the room's
    /// air handlers: supply setpoint, fan speed, enable).</summary>
    public Func<ActuatorInfo, IPlant, bool>? Commands { get; init; }

    /// <summary>How often each controller that takes commands (a CRAH's) publishes its uptime.</summary>
    public TimeSpan UptimeInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock the publish loop runs on, and the controllers' own clock, which their uptimes count.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>Room sensors as an IoT gateway would publish them: one MQTT topic per point, JSON payloads, and a command
/// topic per writable setting with its state echoed back.</summary>
/// <remarks>
/// Topics: <c>PREFIX/V1/.../Vk/QUANTITY</c>, where the Vi are the point's label values other than <c>site</c> (in the
/// order hall, row, rack, asset, then the rest by name) and QUANTITY is the part of the point's name after <c>/</c>, e.g.
/// <c>aida/s1/h1/r01/rack-001/inlet_temperature</c>. Payload: <c>{"value": 24.1, "timestamp": UNIX_MS}</c>, with
/// <c>null</c> when the sensor is not reporting; QoS 1, not retained. Points whose label values hold <c>/</c>, <c>+</c> or
/// <c>#</c> are not published.
/// <para>Commands: <c>PREFIX/cmd/ASSET/SETTING</c> with <c>{"value": x}</c> (or a bare number) is written to the plant;
/// the answer goes to <c>PREFIX/state/ASSET/SETTING</c> (retained): <c>{"value": x}</c> when accepted, or the last accepted
/// value (<c>null</c> if none) with <c>"error"</c> when refused.</para>
/// <para>Uptimes: each asset that takes commands is a controller publishing through the broker, and says how long it has
/// been up on <c>PREFIX/uptime/ASSET</c> every <see cref="MqttFaceOptions.UptimeInterval"/>: <c>{"seconds": n}</c>, whole
/// seconds of its own clock, with no timestamp (the collector dates it on arrival). <see cref="Restart"/> restarts
/// one.</para>
/// </remarks>
public sealed class MqttSensorFace : IWireFace
{
    private static readonly string[] LabelOrder = ["hall", "row", "rack", "asset"];

    /// <summary>The metric of a controller's uptime, as the Modbus face serves its devices'.</summary>
    private const string UptimeMetric = Modbus.PlantDeviceMap.UptimeMetric;

    private readonly IPlant _plant;
    private readonly MqttFaceOptions _options;
    private readonly List<(int Point, string Topic)> _published = [];
    private readonly List<TopicGroup> _groups = [];
    private readonly Dictionary<string, int> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<int, double> _accepted = [];
    private readonly DateTimeOffset[] _lastSent;
    private readonly IMqttClient _client;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    // The controllers (the assets that take commands), each with its start (its uptime counts from it) and the settings
    // it was served with, which a restart goes back to; when the uptimes were last sent (null: due).
    private readonly string[] _controllers;
    private long[] _started = [];
    private Dictionary<int, double> _served = [];
    private long? _uptimesSent;
    private bool _restarted;

    public MqttSensorFace(IPlant plant, MqttFaceOptions options)
    {
        ArgumentNullException.ThrowIfNull(plant);
        ArgumentNullException.ThrowIfNull(options);
        _plant = plant;
        _options = options;
        var prefix = options.TopicPrefix.TrimEnd('/');
        if (prefix.Length == 0 || prefix.Contains('+', StringComparison.Ordinal) || prefix.Contains('#', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{options.TopicPrefix}' is not a topic prefix", nameof(options));
        }

        Prefix = prefix;
        var groups = new Dictionary<string, TopicGroup>(StringComparer.Ordinal);
        foreach (var p in plant.Points)
        {
            if (!options.Metrics.Contains(p.Metric))
            {
                continue;
            }

            var keys = p.Labels.Keys.Where(k => k != "site").OrderBy(k => Array.IndexOf(LabelOrder, k) is var i && i >= 0 ? i : LabelOrder.Length)
                .ThenBy(k => k, StringComparer.Ordinal).ToArray();
            var values = keys.Select(k => p.Labels[k]).ToArray();
            var slash = p.Name.IndexOf('/', StringComparison.Ordinal);
            var quantity = slash >= 0 ? p.Name[(slash + 1)..] : p.Name;
            if (values.Any(v => v.Length == 0 || v.IndexOfAny(['/', '+', '#']) >= 0) || quantity.IndexOfAny(['/', '+', '#']) >= 0)
            {
                continue;
            }

            var pattern = Prefix + string.Concat(Enumerable.Repeat("/+", keys.Length)) + "/" + quantity;
            if (groups.TryGetValue(pattern, out var existing))
            {
                if (existing.Metric != p.Metric || !existing.Keys.SequenceEqual(keys))
                {
                    throw new ArgumentException($"points {p.Name} ({p.Metric}) and another of {existing.Metric} would share the topic filter '{pattern}'", nameof(options));
                }
            }
            else
            {
                var group = new TopicGroup(pattern, p.Metric, keys);
                groups[pattern] = group;
                _groups.Add(group);
            }

            _published.Add((p.Index, string.Join('/', [Prefix, .. values, quantity])));
        }

        var commands = options.Commands ?? DefaultCommands;
        foreach (var a in plant.Actuators)
        {
            if (commands(a, plant) && a.Name.IndexOfAny(['+', '#']) < 0)
            {
                _commands[a.Name] = a.Index;
            }
        }

        _controllers = [.. _commands.Keys.Select(name => plant.Actuators[_commands[name]].Asset).Where(a => a.IndexOfAny(['/', '+', '#']) < 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        _lastSent = new DateTimeOffset[plant.Points.Count];
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            // Answered off the client's receive path: the state publish awaits its own acknowledgement.
            var topic = e.ApplicationMessage.Topic;
            var payload = e.ApplicationMessage.Payload.ToArray();
            _ = Task.Run(() => OnCommandAsync(topic, new ReadOnlySequence<byte>(payload)));
            return Task.CompletedTask;
        };
    }

    public string Prefix { get; }

    /// <summary>Every published point's topic.</summary>
    public IReadOnlyList<(int Point, string Topic)> Topics => _published;

    /// <summary>The actuators that take commands.</summary>
    public IReadOnlyCollection<string> CommandActuators => _commands.Keys;

    /// <summary>The controllers that publish their uptime (the assets that take commands), which <see cref="Restart"/>
    /// restarts.</summary>
    public IReadOnlyList<string> Controllers => _controllers;

    /// <summary>Messages published since start.</summary>
    public long Published => Interlocked.Read(ref _publishedCount);

    private long _publishedCount;

    public IReadOnlyList<string> Endpoints { get; private set; } = [];

    public async Task StartAsync(CancellationToken ct)
    {
        var now = _options.Clock.GetTimestamp();
        _started = [.. _controllers.Select(_ => now)];
        _served = _commands.Values.Select(a => (Actuator: a, Point: _plant.Point(_plant.Actuators[a].Name)))
            .Where(s => s.Point >= 0 && double.IsFinite(_plant.Read(s.Point).Value))
            .ToDictionary(s => s.Actuator, s => _plant.Read(s.Point).Value);
        await ConnectAsync(ct).ConfigureAwait(false);
        Endpoints = [$"mqtt sensors {_options.BrokerHost}:{_options.BrokerPort} {Prefix}/# ({_published.Count} points, {_commands.Count} command topics)"];
        _loop = PublishLoopAsync(_stop.Token);
    }

    /// <summary>Restarts the controller <paramref name="asset"/> as a CRAH's controller restarts behind the broker (a
    /// watchdog, a firmware update): the broker and every connection stay up, its uptime starts again from 0, and its
    /// settings go back to those it was served with, written to the plant and said on their state topics, so a collector
    /// finds the restart by the uptime alone (<c>uptime: true</c>).</summary>
    /// <exception cref="ArgumentException">No such controller publishes here, or the face is not started.</exception>
    public void Restart(string asset)
    {
        var index = Array.IndexOf(_controllers, asset);
        if (index < 0 || index >= _started.Length)
        {
            throw new ArgumentException($"no controller {asset} publishes here", nameof(asset));
        }

        Interlocked.Exchange(ref _started[index], _options.Clock.GetTimestamp());
        foreach (var (name, actuator) in _commands.Where(c => _plant.Actuators[c.Value].Asset == asset))
        {
            if (_served.TryGetValue(actuator, out var value) && _plant.Write(actuator, value).Ok)
            {
                lock (_accepted)
                {
                    _accepted[actuator] = value;
                }

                _ = PublishStateAsync(name, value, null);
            }
        }

        Volatile.Write(ref _restarted, true);
    }

    public string SiteCollectors()
    {
        var sb = new StringBuilder();
        sb.Append("  - type: mqtt\n")
          .Append("    name: mqtt-sensors\n")
          .Append("    broker: ").Append(_options.BrokerHost).Append(':').Append(_options.BrokerPort.ToString(CultureInfo.InvariantCulture)).Append('\n')
          .Append("    client_id: aida-collector-").Append(Prefix.Replace('/', '-')).Append('\n')
          .Append("    topics:\n");
        if (_controllers.Length > 0)
        {
            // First: a point's filter of one wildcard level could match an uptime topic. Labelled with the protocol: the
            // Modbus face serves the same CRAH's uptime as another device, and one series of both would be refused.
            sb.Append("      - pattern: ").Append(Quote(Prefix + "/uptime/+")).Append('\n')
              .Append("        metric: ").Append(UptimeMetric).Append('\n')
              .Append("        labels: {asset: \"{1}\", protocol: mqtt}\n")
              .Append("        value: seconds\n")
              .Append("        uptime: true\n");
        }

        foreach (var g in _groups)
        {
            sb.Append("      - pattern: ").Append(Quote(g.Pattern)).Append('\n')
              .Append("        metric: ").Append(g.Metric).Append('\n');
            if (g.Keys.Length > 0)
            {
                sb.Append("        labels: {").Append(string.Join(", ", g.Keys.Select((k, i) => $"{k}: \"{{{i + 1}}}\""))).Append("}\n");
            }

            sb.Append("        value: value\n        timestamp: timestamp\n");
        }

        if (_commands.Count > 0)
        {
            sb.Append("    commands:\n");
            foreach (var name in _commands.Keys.Order(StringComparer.Ordinal))
            {
                sb.Append("      - actuator: ").Append(name).Append('\n')
                  .Append("        topic: ").Append(Quote(Prefix + "/cmd/" + name)).Append('\n')
                  .Append("        state_topic: ").Append(Quote(Prefix + "/state/" + name)).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>Publishes every point whose sample is newer than the last one sent; returns how many were sent.</summary>
    internal async Task<int> PublishChangedAsync(CancellationToken ct)
    {
        if (!_client.IsConnected)
        {
            return 0;
        }

        var sent = 0;
        foreach (var (point, topic) in _published)
        {
            var reading = _plant.Read(point);
            if (reading.Timestamp == _lastSent[point])
            {
                continue;
            }

            var value = double.IsFinite(reading.Value) ? reading.Value.ToString("R", CultureInfo.InvariantCulture) : "null";
            var payload = $"{{\"value\":{value},\"timestamp\":{reading.Timestamp.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}}}";
            var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
            var result = await _client.PublishAsync(message, ct).ConfigureAwait(false);
            if (result.IsSuccess)
            {
                _lastSent[point] = reading.Timestamp;
                sent++;
                Interlocked.Increment(ref _publishedCount);
            }
        }

        return sent + await PublishUptimesAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Each controller's uptime, when <see cref="MqttFaceOptions.UptimeInterval"/> has passed since they were
    /// last sent, or one restarted since; returns how many were sent.</summary>
    private async Task<int> PublishUptimesAsync(CancellationToken ct)
    {
        var now = _options.Clock.GetTimestamp();
        var restarted = Interlocked.Exchange(ref _restarted, false);
        if (_started.Length == 0 || (!restarted && _uptimesSent is { } last && _options.Clock.GetElapsedTime(last, now) < _options.UptimeInterval))
        {
            return 0;
        }

        var sent = 0;
        for (var i = 0; i < _controllers.Length; i++)
        {
            var seconds = Math.Floor(_options.Clock.GetElapsedTime(Interlocked.Read(ref _started[i]), now).TotalSeconds);
            var message = new MqttApplicationMessageBuilder().WithTopic(Prefix + "/uptime/" + _controllers[i])
                .WithPayload($"{{\"seconds\":{seconds.ToString("R", CultureInfo.InvariantCulture)}}}")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
            if ((await _client.PublishAsync(message, ct).ConfigureAwait(false)).IsSuccess)
            {
                sent++;
                Interlocked.Increment(ref _publishedCount);
            }
        }

        _uptimesSent = now;
        return sent;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        if (_client.IsConnected)
        {
            try
            {
                using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _client.DisconnectAsync(new MqttClientDisconnectOptions(), bye.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Best effort on the way out.
            }
        }

        _client.Dispose();
        _stop.Dispose();
    }

    private static bool DefaultCommands(ActuatorInfo actuator, IPlant plant)
    {
        foreach (var p in plant.Points)
        {
            if (p.Asset == actuator.Asset && p.Metric == "aida_crah_supply_air_celsius")
            {
                return true;
            }
        }

        return false;
    }

    private async Task ConnectAsync(CancellationToken ct)
    {
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.BrokerHost, _options.BrokerPort)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(3600)
            .Build();
        var result = await _client.ConnectAsync(options, ct).ConfigureAwait(false);
        if (!result.IsSessionPresent && _commands.Count > 0)
        {
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(Prefix + "/cmd/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct).ConfigureAwait(false);
        }
    }

    private async Task PublishLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_options.PublishInterval, _options.Clock);
        try
        {
            do
            {
                try
                {
                    if (!_client.IsConnected)
                    {
                        await ConnectAsync(ct).ConfigureAwait(false);
                    }

                    await PublishChangedAsync(ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException)
                {
                    // The broker is away: try again on the next tick.
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task OnCommandAsync(string topic, ReadOnlySequence<byte> payload)
    {
        var head = Prefix + "/cmd/";
        if (!topic.StartsWith(head, StringComparison.Ordinal))
        {
            return;
        }

        var name = topic[head.Length..];
        if (!_commands.TryGetValue(name, out var actuator))
        {
            await PublishStateAsync(name, null, $"unknown or read-only setting '{name}'").ConfigureAwait(false);
            return;
        }

        double value;
        try
        {
            var reader = new Utf8JsonReader(payload);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            var field = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("value", out var v) ? v : root;
            if (field.ValueKind != JsonValueKind.Number)
            {
                await PublishStateAsync(name, Accepted(actuator), "command payload has no number 'value'").ConfigureAwait(false);
                return;
            }

            value = field.GetDouble();
        }
        catch (JsonException e)
        {
            await PublishStateAsync(name, Accepted(actuator), $"command payload is not JSON: {e.Message}").ConfigureAwait(false);
            return;
        }

        var result = _plant.Write(actuator, value);
        if (result.Ok)
        {
            lock (_accepted)
            {
                _accepted[actuator] = value;
            }

            await PublishStateAsync(name, value, null).ConfigureAwait(false);
        }
        else
        {
            await PublishStateAsync(name, Accepted(actuator), result.Message).ConfigureAwait(false);
        }
    }

    private double? Accepted(int actuator)
    {
        lock (_accepted)
        {
            return _accepted.TryGetValue(actuator, out var v) ? v : null;
        }
    }

    private async Task PublishStateAsync(string name, double? value, string? error)
    {
        var sb = new StringBuilder("{\"value\":");
        sb.Append(value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "null");
        if (error is not null)
        {
            sb.Append(",\"error\":").Append(JsonSerializer.Serialize(error));
        }

        sb.Append('}');
        var message = new MqttApplicationMessageBuilder().WithTopic(Prefix + "/state/" + name).WithPayload(sb.ToString())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag().Build();
        try
        {
            await _client.PublishAsync(message, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The broker went away; the controller will command again.
        }
    }

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private sealed record TopicGroup(string Pattern, string Metric, string[] Keys);
}
