using System.Globalization;
using Aida.Model.Config;
using Aida.Protocols.Modbus;

namespace Aida.Telemetry.Collectors.Modbus;

/// <summary>Polls one Modbus TCP device (unit) on a register map from the site file, and writes its settings.</summary>
/// <remarks>
/// Site-file entry (<c>type: modbus</c>), besides the common <c>name</c>, <c>interval</c>, <c>timeout</c>, <c>labels</c>:
/// <code>
/// address: 127.0.0.1:15020     # host:port (port 502 when omitted)
/// unit: 1                      # unit id, 0..255 (default 1)
/// max_gap: 0                   # unused registers one read may span (default 0)
/// max_registers_per_read: 125  # default and most 125
/// registers:
///   - {address: 0, function: input, type: float32, word_order: big, byte_order: big, scale: 1, offset: 0,
///      unit: watts, metric: aida_chiller_power_watts, labels: {asset: chiller-1}}
///   - {address: 8, function: input, type: uint32, metric: cdu_controller_uptime_seconds, uptime: true}
/// writable:
///   - {actuator: cdu-1/supply_setpoint, address: 0, type: float32}
/// </code>
/// <c>function</c> is <c>holding</c> (default) or <c>input</c>; <c>type</c> one of int16, uint16 (default), int32, uint32,
/// float32, float64; orders <c>big</c> (default) or <c>little</c>. A reading is sampled as <c>raw * scale + offset</c>;
/// a float reading of NaN (the device has no value) is stored as a staleness marker. Each poll reads the batches of
/// <see cref="ModbusReadPlan"/> in turn; an exception response is an error the device answered (it stays up), a timeout,
/// lost connection or garbled answer an error of the device (down; a garbled answer also malformed), and either way the
/// other batches' readings are still stored; after a timeout or
/// a lost connection the poll's remaining reads are skipped. A lost connection
/// is re-opened after a jittered backoff delay (<see cref="ReconnectDelay"/> to <see cref="MaxReconnectDelay"/>).
/// A reading the device did not give (its read failed or skipped, the device unreachable) gets a staleness marker at the
/// poll's time, as Prometheus marks a failed scrape's series: it reads as missing at once, not as its last value for
/// the 5 min lookback. A register marked <c>uptime: true</c> (at most one; seconds since the device started) is stored as
/// any other and tells a restart between two polls the device answered (<see cref="UptimeWatch"/>): reported to the
/// sink (<see cref="CollectorSink.Restarted"/>), so the safety guard takes the device's set points to be where they next
/// read back. A device on its own TCP connection needs none: its restart drops the connection, and the poll after it
/// fails.
/// </remarks>
public sealed class ModbusCollector : ICollector, IActuatorSource
{
    /// <summary>The site file's <c>type</c> for this collector.</summary>
    public const string Type = "modbus";

    /// <summary>The first delay before reconnecting.</summary>
    public static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay before reconnecting.</summary>
    public static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(60);

    private readonly CollectorSettings _settings;
    private readonly IReadOnlyList<ModbusReadBatch> _plan;
    private volatile ModbusTcpClient? _client;

    // Per point of the map: whether its newest stored sample is a reading, not a staleness marker (one marker suffices).
    private readonly bool[] _stored;

    private readonly UptimeWatch? _uptime;

    public ModbusCollector(CollectorSettings settings, ModbusDeviceMap map)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(map);
        _settings = settings;
        Map = map;
        _plan = ModbusReadPlan.Plan(map.Points, map.MaxGap, map.MaxRegistersPerRead);
        _stored = new bool[map.Points.Count];
        if (map.Uptime is { } u)
        {
            var format = map.Points[u].Format.Type;
            _uptime = new UptimeWatch(format is ModbusDataType.Float32 or ModbusDataType.Float64 ? 0 : map.Points[u].Scale);
        }
        Writers = map.Writable.Select(w => (IActuatorWriter)new ModbusActuatorWriter(this, w)).ToList();
    }

    /// <summary>Builds a collector from its site-file entry; register it under <see cref="Type"/>.</summary>
    public static CollectorFactory Factory { get; } = (entry, settings) => new ModbusCollector(settings, ModbusDeviceMap.Read(entry, settings.Labels));

    public string Name => _settings.Name;

    public string Kind => Type;

    public ModbusDeviceMap Map { get; }

    /// <summary>The reads of each poll.</summary>
    public IReadOnlyList<ModbusReadBatch> Plan => _plan;

    public IReadOnlyList<IActuatorWriter> Writers { get; }

    /// <summary>Called after each poll with whether every read succeeded and how long it took (for tests to wait on
    /// polls instead of time, and for the benchmark's latency figures).</summary>
    internal Action<bool, TimeSpan>? Polled { get; set; }

    internal ModbusClientOptions ClientOptions => new() { Timeout = _settings.Timeout, ConnectTimeout = _settings.Timeout, Clock = _settings.Clock };

    /// <summary>The open connection, if the collector is running and connected.</summary>
    internal ModbusTcpClient? Client => _client is { Connected: true } c ? c : null;

    public async Task RunAsync(CollectorSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var clock = _settings.Clock;
        var backoff = new ReconnectBackoff(ReconnectDelay, MaxReconnectDelay, _settings.Random);
        while (!ct.IsCancellationRequested)
        {
            ModbusTcpClient? client = null;
            try
            {
                client = await ModbusTcpClient.ConnectAsync(Map.Endpoint, ClientOptions, ct).ConfigureAwait(false);
                _client = client;
                using var timer = new PeriodicTimer(_settings.Interval, clock);
                do
                {
                    if (await PollAsync(client, sink, ct).ConfigureAwait(false))
                    {
                        backoff.Reset();
                    }
                }
                while (client.Connected && await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or TimeoutException)
            {
                // Stale first: whoever sees the device down finds its readings gone.
                MarkStale(sink, _plan, clock.GetUtcNow().ToUnixTimeMilliseconds());
                sink.Error(Kind, Name, $"connecting to {Map.Endpoint}: {e.Message}");
            }
            finally
            {
                _client = null;
                if (client is not null)
                {
                    await client.DisposeAsync().ConfigureAwait(false);
                }
            }

            try
            {
                await Task.Delay(backoff.Next(), clock, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One poll over <paramref name="client"/>: every batch read, every reading sampled, every failure reported.
    /// Returns whether every read succeeded; stops early when the connection is lost.</summary>
    internal async Task<bool> PollAsync(ModbusTcpClient client, CollectorSink sink, CancellationToken ct)
    {
        var clock = _settings.Clock;
        var started = clock.GetTimestamp();
        var timestamp = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var ok = true;
        var answered = true;
        string? restarted = null;
        for (var b = 0; b < _plan.Count; b++)
        {
            var batch = _plan[b];
            var result = await client.ReadRegistersAsync(Map.Unit, batch.Table, batch.Address, batch.Count, ct).ConfigureAwait(false);
            if (result.Ok)
            {
                foreach (var i in batch.Points)
                {
                    var p = Map.Points[i];
                    var raw = p.Format.Decode(result.Registers.AsSpan(p.Address - batch.Address));
                    if (double.IsNaN(raw))
                    {
                        MarkStale(sink, i, timestamp);
                    }
                    else
                    {
                        var value = (raw * p.Scale) + p.Offset;
                        sink.Sample(Kind, Name, p.Labels, timestamp, value);
                        _stored[i] = true;
                        if (i == Map.Uptime)
                        {
                            restarted = _uptime!.Read(timestamp, value);
                        }
                    }
                }

                continue;
            }

            ok = false;
            var what = string.Create(CultureInfo.InvariantCulture, $"{(batch.Table == ModbusRegisterTable.Holding ? "holding" : "input")} {batch.Address}+{batch.Count}");
            if (result.Status == ModbusStatus.ExceptionResponse)
            {
                // The device answered: up, with an error counted and these readings stale.
                sink.Failed(Kind, Name, $"reading {what}: {result.Problem}");
                MarkStale(sink, [batch], timestamp);
                continue;
            }

            answered = false;
            if (result.Status == ModbusStatus.Malformed)
            {
                sink.Malformed(Kind, Name, $"reading {what}: {result.Problem}");
            }

            // After a timeout the device is likely gone: the poll's other reads would only wait their timeouts too.
            var stop = result.Status is ModbusStatus.ConnectionLost or ModbusStatus.Timeout || !client.Connected;
            var skipped = stop && batch != _plan[^1] ? " (the poll's remaining reads skipped)" : "";
            MarkStale(sink, stop ? _plan.Skip(b) : [batch], timestamp);
            sink.Error(Kind, Name, $"reading {what}: {result.Problem}{skipped}");
            if (stop)
            {
                break;
            }
        }

        var elapsed = clock.GetElapsedTime(started);
        if (answered)
        {
            sink.Up(Kind, Name, elapsed);
        }

        // After Up, which notes a return from an outage: a restart found in the same poll says more.
        if (restarted is not null)
        {
            sink.Restarted(Kind, Name, timestamp, restarted);
        }

        Polled?.Invoke(ok, elapsed);
        return ok;
    }

    private void MarkStale(CollectorSink sink, IEnumerable<ModbusReadBatch> batches, long timestamp)
    {
        foreach (var batch in batches)
        {
            foreach (var i in batch.Points)
            {
                MarkStale(sink, i, timestamp);
            }
        }
    }

    private void MarkStale(CollectorSink sink, int point, long timestamp)
    {
        if (_stored[point])
        {
            sink.Stale(Kind, Name, Map.Points[point].Labels, timestamp);
            _stored[point] = false;
        }
    }
}
