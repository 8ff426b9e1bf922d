using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Aida.Model.Config;
using Aida.Telemetry.Series;
using MQTTnet;
using MQTTnet.Protocol;

namespace Aida.Telemetry.Collectors.Mqtt;

/// <summary>Subscribes to topics on an MQTT broker and turns JSON payloads into samples; writes settings by publishing to
/// command topics (<see cref="MqttCommandWriter"/>).</summary>
/// <remarks>
/// Site-file entry (<c>type: mqtt</c>): <c>broker</c> (<c>host[:port]</c>, port 1883 by default), <c>client_id</c>
/// (default <c>aida-NAME</c>), <c>session_expiry</c> (default 1d), <c>topics</c> (a list of <c>{pattern, metric, labels,
/// value, timestamp}</c>, see <see cref="MqttTopicRoute"/>; <c>value</c> is the JSON field path of the reading, default
/// <c>value</c>; <c>timestamp</c> optional) and <c>commands</c> (a list of <c>{actuator, topic, state_topic, value,
/// tolerance, timeout}</c>), plus the common fields (<c>interval</c> is how often health is reported).
/// <para>The session is persistent (MQTT 5, clean start off, the session kept by the broker for <c>session_expiry</c>) and
/// every subscription is QoS 1, so messages published while Aida is disconnected are delivered when it reconnects; it
/// subscribes again only when the broker has lost the session. Reconnects follow a jittered backoff. A payload that is
/// not JSON, lacks the value field or has a value that is not a number counts as malformed; a JSON <c>null</c> value is
/// "no reading" and marks the series stale. The first matching topic item wins.</para>
/// <para>When the connection to the broker is lost, every series heard gets a staleness marker (Aida no longer hears
/// them, so they read as missing at once rather than as their last values for the 5 min lookback): one stamped on
/// arrival at the time of the loss, one stamped from its payload a millisecond after its last sample, by the device's
/// own clock (at the time of the loss, a device clock behind Aida's would date the messages sent after it before the
/// marker, and the store would refuse them as out of order). The messages queued meanwhile come after the marker and
/// are stored. Before session 46 a series stamped from its payload got no marker and read its last value for the
/// lookback.</para>
/// </remarks>
public sealed class MqttCollector : ICollector, IActuatorSource, IDisposable
{
    public const string Type = "mqtt";

    public const int DefaultPort = 1883;

    public static readonly TimeSpan DefaultSessionExpiry = TimeSpan.FromDays(1);

    private readonly CollectorSettings _settings;
    private readonly IReadOnlyList<MqttTopicRoute> _routes;
    private readonly List<MqttCommandWriter> _writers = [];
    private readonly IMqttClient _client;
    private CollectorSink? _sink;
    // The series whose newest stored sample is a reading, to be marked stale when the broker is lost: by the timestamp of
    // that sample when stamped from its payload, else StampedOnArrival.
    private readonly ConcurrentDictionary<Labels, long> _heard = new();

    // The uptime series' watches (routes with uptime: true), each judging one publisher's uptime against its message before.
    private readonly ConcurrentDictionary<Labels, UptimeWatch> _uptimes = new();
    private const long StampedOnArrival = long.MinValue;
    private TaskCompletionSource<string> _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MqttCollector(CollectorSettings settings, string host, int port, string clientId, TimeSpan sessionExpiry,
        IReadOnlyList<MqttTopicRoute> routes, IReadOnlyList<MqttCommandSpec>? commands = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        Host = host;
        Port = port;
        ClientId = clientId;
        SessionExpiry = sessionExpiry;
        _routes = routes;
        foreach (var c in commands ?? [])
        {
            _writers.Add(new MqttCommandWriter(this, c));
        }

        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            Receive(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload);
            return Task.CompletedTask;
        };
        _client.DisconnectedAsync += e =>
        {
            _disconnected.TrySetResult(e.ReasonString ?? e.Reason.ToString());
            return Task.CompletedTask;
        };
    }

    public string Name => _settings.Name;

    public string Kind => Type;

    public string Host { get; }

    public int Port { get; }

    public string ClientId { get; }

    public TimeSpan SessionExpiry { get; }

    /// <summary>Whether the client is connected to the broker now.</summary>
    public bool IsConnected => _client.IsConnected;

    internal TimeProvider Clock => _settings.Clock;

    /// <summary>Messages stored as samples since start.</summary>
    public long MessagesStored => Interlocked.Read(ref _stored);

    private long _stored;

    public IReadOnlyList<IActuatorWriter> Writers => _writers;

    /// <summary>Builds a collector from its site-file entry (registered as <c>mqtt</c>).</summary>
    public static ICollector Create(ConfigNode entry, CollectorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(settings);
        var broker = entry.String("broker");
        var (host, port) = HostPortAddress.Parse(broker, DefaultPort) ?? throw entry.Error("broker", $"'{broker}' is not host[:port]");
        var clientId = entry.String("client_id", "aida-" + settings.Name);
        var expiry = entry.Duration("session_expiry", DefaultSessionExpiry);
        var routes = new List<MqttTopicRoute>();
        foreach (var item in entry.List("topics", required: true))
        {
            var pattern = item.String("pattern");
            if (MqttTopicRoute.Problem(pattern) is { } problem)
            {
                throw item.Error("pattern", problem);
            }

            var metric = item.String("metric");
            if (!LabelRules.IsValidMetricName(metric))
            {
                throw item.Error("metric", $"'{metric}' is not a valid metric name");
            }

            var wildcards = pattern.Split('/').Count(l => l is "+" or "#");
            var labels = new List<KeyValuePair<string, string>>();
            if (item.Optional("labels") is { } map)
            {
                foreach (var key in map.Keys)
                {
                    if (!LabelRules.IsValidLabelName(key))
                    {
                        throw map.Error(key, "is not a valid label name");
                    }

                    var template = map.String(key);
                    if (MqttTopicRoute.TemplateProblem(template, wildcards) is { } bad)
                    {
                        throw map.Error(key, bad);
                    }

                    labels.Add(new KeyValuePair<string, string>(key, template));
                }

                map.RejectUnknown();
            }

            var value = ReadPath(item, "value", "value")!;
            var timestamp = ReadPath(item, "timestamp", null);
            routes.Add(new MqttTopicRoute(pattern, metric, labels, value, timestamp) { Uptime = item.Boolean("uptime", false) });
            item.RejectUnknown();
        }

        var commands = new List<MqttCommandSpec>();
        foreach (var item in entry.List("commands"))
        {
            var actuator = item.String("actuator");
            var topic = item.String("topic");
            var state = item.String("state_topic");
            foreach (var (field, t) in new[] { ("topic", topic), ("state_topic", state) })
            {
                if (t.Length == 0 || t.Contains('+', StringComparison.Ordinal) || t.Contains('#', StringComparison.Ordinal))
                {
                    throw item.Error(field, $"'{t}' must be a topic name without wildcards");
                }
            }

            commands.Add(new MqttCommandSpec(actuator, topic, state, ReadPath(item, "value", "value")!, item.NumberOr("tolerance", 1e-6, 0),
                item.Duration("timeout", settings.Timeout, allowZero: false)));
            item.RejectUnknown();
        }

        return new MqttCollector(settings, host, port, clientId, expiry, routes, commands);
    }

    private static JsonFieldPath? ReadPath(ConfigNode item, string key, string? fallback)
    {
        var text = item.OptionalString(key) ?? fallback;
        if (text is null)
        {
            return null;
        }

        try
        {
            return new JsonFieldPath(text);
        }
        catch (ArgumentException e)
        {
            throw item.Error(key, e.Message);
        }
    }

    public async Task RunAsync(CollectorSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sink = sink;
        var clock = _settings.Clock;
        var backoff = new ReconnectBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), _settings.Random);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var start = clock.GetTimestamp();
                var problem = await ConnectAsync(ct).ConfigureAwait(false);
                if (problem is not null)
                {
                    sink.Error(Kind, Name, $"{Host}:{Port}: {problem}");
                    await Task.Delay(backoff.Next(), clock, ct).ConfigureAwait(false);
                    continue;
                }

                backoff.Reset();
                sink.Up(Kind, Name, clock.GetElapsedTime(start));
                while (true)
                {
                    var tick = Task.Delay(_settings.Interval, clock, ct);
                    var done = await Task.WhenAny(tick, _disconnected.Task).ConfigureAwait(false);
                    if (done == _disconnected.Task)
                    {
                        // Stale first: whoever sees the device down finds its readings gone.
                        MarkHeardStale(sink);
                        sink.Error(Kind, Name, $"{Host}:{Port}: disconnected ({_disconnected.Task.Result})");
                        break;
                    }

                    await tick.ConfigureAwait(false);
                    sink.Up(Kind, Name, TimeSpan.Zero);
                }

                await Task.Delay(backoff.Next(), clock, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            if (_client.IsConnected)
            {
                // Leave the session to the broker (no session-expiry override), so a restart resumes it.
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
        }
    }

    /// <summary>Connects (resuming the session) and subscribes when the broker has no session; the problem, or null.</summary>
    private async Task<string?> ConnectAsync(CancellationToken ct)
    {
        _disconnected = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(Host, Port)
            .WithClientId(ClientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)Math.Min(uint.MaxValue - 1, SessionExpiry.TotalSeconds))
            .WithTimeout(_settings.Timeout)
            .Build();
        try
        {
            var result = await _client.ConnectAsync(options, ct).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                return $"broker refused the connection: {result.ResultCode} {result.ReasonString}";
            }

            if (!result.IsSessionPresent)
            {
                var subscribe = new MqttClientSubscribeOptionsBuilder();
                foreach (var topic in _routes.Select(r => r.Pattern).Concat(_writers.Select(w => w.Spec.StateTopic)).Distinct(StringComparer.Ordinal))
                {
                    subscribe.WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce);
                }

                var subscribed = await _client.SubscribeAsync(subscribe.Build(), ct).ConfigureAwait(false);
                foreach (var item in subscribed.Items)
                {
                    if ((int)item.ResultCode > 2)
                    {
                        return $"broker refused the subscription to '{item.TopicFilter.Topic}': {item.ResultCode}";
                    }
                }
            }

            return null;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e.Message;
        }
    }

    /// <summary>Publishes one QoS 1 message on the collector's connection; false when not connected.</summary>
    internal async Task<string?> PublishAsync(string topic, string payload, CancellationToken ct)
    {
        if (!_client.IsConnected)
        {
            return $"not connected to the broker {Host}:{Port}";
        }

        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        try
        {
            var result = await _client.PublishAsync(message, ct).ConfigureAwait(false);
            return result.IsSuccess ? null : $"broker refused the publish to '{topic}': {result.ReasonCode}";
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e.Message;
        }
    }

    /// <summary>One message: to the writers waiting on its state topic, and to the first route that matches it.</summary>
    internal void Receive(string topic, ReadOnlySequence<byte> payload)
    {
        var sink = _sink;
        try
        {
            JsonDocument? doc = null;
            string? jsonProblem = null;
            try
            {
                var reader = new Utf8JsonReader(payload);
                doc = JsonDocument.ParseValue(ref reader);
            }
            catch (JsonException e)
            {
                jsonProblem = e.Message;
            }

            using (doc)
            {
                foreach (var w in _writers)
                {
                    if (w.Spec.StateTopic == topic)
                    {
                        w.StateReceived(doc?.RootElement);
                    }
                }

                foreach (var route in _routes)
                {
                    if (route.Match(topic) is not { } captures)
                    {
                        continue;
                    }

                    if (sink is null)
                    {
                        return;
                    }

                    if (doc is null)
                    {
                        sink.Malformed(Kind, Name, $"'{topic}': payload is not JSON ({jsonProblem}): {Preview(payload)}");
                        return;
                    }

                    if (route.Value.Find(doc.RootElement) is not { } field)
                    {
                        sink.Malformed(Kind, Name, $"'{topic}': no field '{route.Value.Path}' in {Preview(payload)}");
                        return;
                    }

                    if (!JsonFieldPath.TryReadValue(field, out var value))
                    {
                        sink.Malformed(Kind, Name, $"'{topic}': field '{route.Value.Path}' is not a number: {Preview(payload)}");
                        return;
                    }

                    var ts = _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();
                    if (route.Timestamp is { } tsPath)
                    {
                        if (tsPath.Find(doc.RootElement) is not { } tsField || !JsonFieldPath.TryReadTimestamp(tsField, out ts))
                        {
                            sink.Malformed(Kind, Name, $"'{topic}': field '{tsPath.Path}' is not a timestamp: {Preview(payload)}");
                            return;
                        }
                    }

                    var labels = route.SeriesLabels(_settings.Labels, captures);
                    if (double.IsNaN(value))
                    {
                        sink.Stale(Kind, Name, labels, ts);
                        _heard.TryRemove(labels, out _);
                    }
                    else if (sink.Sample(Kind, Name, labels, ts, value))
                    {
                        Interlocked.Increment(ref _stored);
                        _heard[labels] = route.Timestamp is null ? StampedOnArrival : ts;
                        if (route.Uptime && _uptimes.GetOrAdd(labels, _ => new UptimeWatch(0)).Read(ts, value) is { } restarted)
                        {
                            // A publisher restarts without the broker's connection, Aida's, dropping: only its uptime tells.
                            sink.Restarted(Kind, Name, ts, $"{labels}: {restarted}");
                        }
                    }

                    return;
                }
            }
        }
#pragma warning disable CA1031 // A message must never take the client's receive loop down.
        catch (Exception e)
#pragma warning restore CA1031
        {
            sink?.Malformed(Kind, Name, $"'{topic}': {e.GetType().Name}: {e.Message}");
        }
    }

    public void Dispose() => _client.Dispose();

    private void MarkHeardStale(CollectorSink sink)
    {
        var now = _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var labels in _heard.Keys)
        {
            if (_heard.TryRemove(labels, out var last))
            {
                sink.Stale(Kind, Name, labels, last == StampedOnArrival ? now : last + 1);
            }
        }
    }

    private static string Preview(ReadOnlySequence<byte> payload)
    {
        var bytes = payload.Length > 80 ? payload.Slice(0, 80).ToArray() : payload.ToArray();
        var text = Encoding.UTF8.GetString(bytes);
        return payload.Length > 80 ? text + "..." : text;
    }
}
