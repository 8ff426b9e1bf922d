using Aida.Protocols.Modbus;
using Aida.Protocols.Tests.Peers;
using Aida.Telemetry.Collectors.Modbus;

namespace Aida.Telemetry.Tests.Collectors.Modbus;

/// <summary>The collector against a real pymodbus 3.0 power meter (Peers/modbus_server.py documents its map).</summary>
public class ModbusCollectorPymodbusTests
{
    private const string MeterMap = """
            interval: 1s
            timeout: 2s
            labels: {asset: meter-1}
            registers:
              - {address: 0, function: input, type: uint16, scale: 0.1, metric: aida_voltage_volts}
              - {address: 1, function: input, type: int16, scale: 0.01, metric: aida_current_amperes}
              - {address: 2, function: input, type: int32, metric: aida_power_watts}
              - {address: 4, function: input, type: uint32, word_order: little, scale: 3600, metric: aida_energy_joules_total}
              - {address: 6, function: input, type: float32, metric: aida_frequency_hertz}
              - {address: 8, function: input, type: float32, word_order: little, metric: aida_power_factor_ratio}
              - {address: 10, function: input, type: float64, scale: 3.6e6, metric: aida_energy_joules, labels: {register: float64}}
              - {address: 14, function: input, type: float64, word_order: little, offset: 1, metric: aida_reactive_energy}
              - {address: 18, function: input, type: uint16, byte_order: little, metric: aida_swapped}
              - {address: 19, function: input, type: int32, word_order: little, metric: aida_signed_little}
              - {address: 100, function: input, type: uint16, metric: aida_in_the_hole}
            writable:
              - {actuator: meter-1/setpoint, address: 2, type: float32}
              - {actuator: meter-1/mode, address: 0, type: uint16}

        """;

    [SkippableFact]
    public async Task Collector_ReadsThePymodbusMeter_EveryTypeAndOrder_AndReportsItsExceptionRange()
    {
        using var peer = await ModbusPeer.StartAsync();
        using var site = new ModbusTestSite();
        var collector = site.Collector(MeterMap, peer.Endpoint);
        var polls = new PollWatch(collector);
        using var cts = new CancellationTokenSource();
        var first = polls.Next();
        var run = collector.RunAsync(site.Sink, cts.Token);

        // Registers 100.. answer exception 02: the poll fails, the other readings are stored, and the meter, which
        // answered, is up with the error counted.
        Assert.False(await first.WaitAsync(ModbusTestSite.Guard), peer.Output());
        Assert.Equal(230.1, site.Value("aida_voltage_volts{asset=\"meter-1\"}"), 10);
        Assert.Equal(-12.34, site.Value("aida_current_amperes"), 10);
        Assert.Equal(-1_500_000, site.Value("aida_power_watts"));
        Assert.Equal(3_000_000_000.0 * 3600, site.Value("aida_energy_joules_total"));
        Assert.Equal(50.02f, (float)site.Value("aida_frequency_hertz"));
        Assert.Equal(0.95f, (float)site.Value("aida_power_factor_ratio"));
        Assert.Equal(123456.789 * 3.6e6, site.Value("aida_energy_joules{register=\"float64\"}"), 1e-3);
        Assert.Equal(0.5, site.Value("aida_reactive_energy"));
        Assert.Equal(0x1234, site.Value("aida_swapped"));
        Assert.Equal(-7, site.Value("aida_signed_little"));
        Assert.Equal((true, 1L, 0L), site.Sink.HealthOf("modbus", "meter-1"));
        Assert.Contains("input 100+1: exception response 02", site.Log.ToString(), StringComparison.Ordinal);

        await cts.CancelAsync();
        await run.WaitAsync(ModbusTestSite.Guard);
    }

    [SkippableFact]
    public async Task Collector_SurvivesPymodbusDroppingTheConnectionMidPoll_AndReconnects()
    {
        using var peer = await ModbusPeer.StartAsync();
        using var site = new ModbusTestSite();
        var collector = site.Collector("""
                interval: 1s
                timeout: 1h
                registers:
                  - {address: 0, function: input, type: uint16, metric: aida_voltage_raw}
                  - {address: 150, function: input, type: uint32, metric: aida_dropper}

            """, peer.Endpoint);
        var polls = new PollWatch(collector);
        using var cts = new CancellationTokenSource();
        var first = polls.Next();
        var run = collector.RunAsync(site.Sink, cts.Token);

        Assert.False(await first.WaitAsync(ModbusTestSite.Guard), peer.Output());
        Assert.Equal(2301, site.Value("aida_voltage_raw"));
        Assert.Contains("input 150+2: connection closed by the server", site.Log.ToString(), StringComparison.Ordinal);

        // The connection is gone: the collector waits a backoff delay, reconnects and polls again. (The fake clock moves
        // in steps while the test waits; the timeout is one hour of it, so no step lands a timeout on a connect or read.)
        var second = polls.Next();
        await site.AdvanceUntil(second, TimeSpan.FromMilliseconds(100));
        Assert.False(await second);
        Assert.Equal(2301, site.Value("aida_voltage_raw"));
        Assert.Equal(2, site.Sink.HealthOf("modbus", "meter-1").Errors);
        Assert.Equal(0, site.Sink.HealthOf("modbus", "meter-1").Malformed);

        await cts.CancelAsync();
        await run.WaitAsync(ModbusTestSite.Guard);
    }

    [SkippableFact]
    public async Task ADeviceRestartedBehindAGateway_IsFoundByItsUptimeRegister_OnAPymodbusServer()
    {
        // The pymodbus server plays a gateway: its connection stays while the test sets the device's uptime (holding
        // 100, a uint32), as a device behind it counts it and starts again from 0 when it restarts.
        using var peer = await ModbusPeer.StartAsync();
        using var site = new ModbusTestSite();
        var collector = site.Collector("""
                interval: 10s
                timeout: 1h
                registers:
                  - {address: 0, function: input, type: uint16, metric: aida_voltage_raw}
                  - {address: 100, type: uint32, metric: aida_device_uptime_seconds, uptime: true}

            """, peer.Endpoint);
        await using var device = await ModbusTcpClient.ConnectAsync(peer.Endpoint);
        async Task Uptime(uint seconds) => Assert.True((await device.WriteMultipleRegistersAsync(1, 100, [(ushort)(seconds >> 16), (ushort)seconds])).Ok);
        await using var client = await ModbusTcpClient.ConnectAsync(peer.Endpoint);

        await Uptime(1_000_000);
        Assert.True(await collector.PollAsync(client, site.Sink, CancellationToken.None), site.Log.ToString());
        site.Clock.Advance(TimeSpan.FromSeconds(10));
        await Uptime(1_000_010);
        Assert.True(await collector.PollAsync(client, site.Sink, CancellationToken.None), site.Log.ToString());
        Assert.Null(site.Sink.ReturnOf("modbus", "meter-1"));

        site.Clock.Advance(TimeSpan.FromSeconds(10));
        await Uptime(7);
        Assert.True(await collector.PollAsync(client, site.Sink, CancellationToken.None), site.Log.ToString());
        var back = site.Sink.ReturnOf("modbus", "meter-1");
        Assert.NotNull(back);
        Assert.Equal(site.Clock.GetUtcNow(), back.At);
        Assert.EndsWith("(its uptime read 7 s, 10 s after it read 1000010 s)", back.How, StringComparison.Ordinal);
        Assert.Equal(1, site.Value("aida_collector_restarts_total"));
        Assert.Equal((true, 0L, 0L), site.Sink.HealthOf("modbus", "meter-1"));
    }

    [SkippableFact]
    public async Task Writers_WriteToPymodbus_AndConfirm()
    {
        using var peer = await ModbusPeer.StartAsync();
        using var site = new ModbusTestSite();
        var collector = site.Collector(MeterMap, peer.Endpoint);
        var setpoint = await collector.Writers.Single(w => w.Actuator == "meter-1/setpoint").WriteAsync(19.5, CancellationToken.None);
        Assert.True(setpoint.Confirmed, setpoint.Problem);
        Assert.Equal(19.5, setpoint.ReadBack);
        var mode = await collector.Writers.Single(w => w.Actuator == "meter-1/mode").WriteAsync(4, CancellationToken.None);
        Assert.True(mode.Confirmed, mode.Problem);
        Assert.Equal(4, mode.ReadBack);
    }
}
