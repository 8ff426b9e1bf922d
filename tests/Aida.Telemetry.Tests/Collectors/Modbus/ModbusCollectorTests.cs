using System.Net;
using Aida.Protocols.Modbus;
using Aida.Protocols.Tests.Modbus;
using Aida.Telemetry.Collectors.Modbus;

namespace Aida.Telemetry.Tests.Collectors.Modbus;

public class ModbusCollectorTests
{
    private const string MeterMap = """
            interval: 1s
            timeout: 500ms
            labels: {asset: meter-1}
            registers:
              - {address: 0, function: input, type: float32, metric: aida_power_watts, scale: 1000}
              - {address: 2, function: input, type: int16, metric: aida_current_amperes, scale: 0.01}
              - {address: 3, function: input, type: uint32, word_order: little, metric: aida_energy_joules_total, offset: 5}
              - {address: 100, function: holding, type: uint16, metric: aida_mode, labels: {phase: a}}
            writable:
              - {actuator: meter-1/setpoint, address: 10, type: float32}
              - {actuator: meter-1/mode, address: 100, type: uint16, scale: 0.5}

        """;

    // The fake clock is advanced in steps while a test waits for a poll; with a 500 ms timeout on that clock, a loaded
    // machine answering later than two steps failed the poll in flight (CI saw 2 of 4 requests). Tests that do not test
    // the timeout use one no step sequence can reach.
    private static readonly string PatientMeterMap = MeterMap.Replace("timeout: 500ms", "timeout: 1h", StringComparison.Ordinal);

    private static ModbusMemoryBank MeterBank()
    {
        var bank = new ModbusMemoryBank(1);
        var registers = new ushort[5];
        new ModbusValueFormat(ModbusDataType.Float32).TryEncode(1.5, registers, out _);
        registers[2] = unchecked((ushort)-1234);
        new ModbusValueFormat(ModbusDataType.UInt32, ModbusOrder.Little).TryEncode(3_000_000_000, registers.AsSpan(3), out _);
        bank.Set(1, ModbusRegisterTable.Input, 0, registers);
        bank.Set(1, ModbusRegisterTable.Holding, 100, [7]);
        return bank;
    }

    [Fact]
    public async Task Poll_StoresScaledReadingsWithLabels_InTwoReads_AndReportsUp()
    {
        using var site = new ModbusTestSite();
        await using var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), MeterBank());
        server.Start();
        var collector = site.Collector(PatientMeterMap, server.Endpoint);
        Assert.Equal(2, collector.Plan.Count);
        var polls = new PollWatch(collector);
        using var cts = new CancellationTokenSource();
        var first = polls.Next();
        var run = collector.RunAsync(site.Sink, cts.Token);

        Assert.True(await first.WaitAsync(ModbusTestSite.Guard));
        Assert.Equal(1500, site.Value("aida_power_watts{asset=\"meter-1\"}"));
        Assert.Equal(-12.34, site.Value("aida_current_amperes"), 10);
        Assert.Equal(3_000_000_005, site.Value("aida_energy_joules_total"));
        Assert.Equal(7, site.Value("aida_mode{asset=\"meter-1\",phase=\"a\"}"));
        Assert.Equal(1, site.Value("aida_collector_up{collector=\"modbus\",device=\"meter-1\"}"));
        Assert.Equal(2, server.Requests);

        // The next poll comes with the interval, on the clock.
        // The interval's timer is set before the first poll, so one advance of the interval is the next poll.
        var second = polls.Next();
        site.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await second.WaitAsync(ModbusTestSite.Guard));
        Assert.Equal(4, server.Requests);

        await cts.CancelAsync();
        await run.WaitAsync(ModbusTestSite.Guard);
    }

    [Fact]
    public async Task ExceptionResponse_IsAnErrorTheDeviceAnswered_ItStaysUp_AndTheOtherReadsAreStillStored()
    {
        using var site = new ModbusTestSite();
        await using var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), new HoleBank(MeterBank(), holdingFrom: 50));
        server.Start();
        var collector = site.Collector(MeterMap, server.Endpoint);
        var polls = new PollWatch(collector);
        using var cts = new CancellationTokenSource();
        var first = polls.Next();
        var run = collector.RunAsync(site.Sink, cts.Token);

        Assert.False(await first.WaitAsync(ModbusTestSite.Guard));
        Assert.Equal(1500, site.Value("aida_power_watts"));
        Assert.Equal((true, 1L, 0L), site.Sink.HealthOf("modbus", "meter-1"));
        Assert.Contains("reading holding 100+1: exception response 02 (IllegalDataAddress)", site.Log.ToString(), StringComparison.Ordinal);

        // Regression: a meter that answered every request read as down (aida_collector_up 0), so CollectorDown said its
        // polls fail and the network plant stopped sending it writes.
        Assert.Equal(1, site.Value("aida_collector_up{device=\"meter-1\"}"));
        Assert.Equal(1, site.Value("aida_collector_errors_total{device=\"meter-1\"}"));

        await cts.CancelAsync();
        await run.WaitAsync(ModbusTestSite.Guard);
    }

    [Fact]
    public async Task AReadThatFails_MarksItsReadingsStale_TheOtherReadsStayFresh_AndANaNReadsAsMissing()
    {
        using var site = new ModbusTestSite();
        var bank = MeterBank();
        var holes = new HoleBank(bank, holdingFrom: int.MaxValue);
        await using var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), holes);
        server.Start();
        var collector = site.Collector(PatientMeterMap, server.Endpoint);
        var polls = new PollWatch(collector);
        using var cts = new CancellationTokenSource();
        var first = polls.Next();
        var run = collector.RunAsync(site.Sink, cts.Token);
        Assert.True(await first.WaitAsync(ModbusTestSite.Guard));
        Assert.Equal(7, site.Value("aida_mode"));

        // The holding read now fails and the meter's float says it has no value: both read as missing at the next poll,
        // while the input registers' other readings are fresh.
        holes.HoldingFrom = 50;
        var registers = new ushort[2];
        new ModbusValueFormat(ModbusDataType.Float32).TryEncode(double.NaN, registers, out _);
        bank.Set(1, ModbusRegisterTable.Input, 0, registers);
        var second = polls.Next();
        site.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await second.WaitAsync(ModbusTestSite.Guard));
        Assert.False(site.Reads("aida_mode"));
        Assert.False(site.Reads("aida_power_watts"));
        Assert.Equal(-12.34, site.Value("aida_current_amperes"), 10);

        await cts.CancelAsync();
        await run.WaitAsync(ModbusTestSite.Guard);
    }

    [Fact]
    public async Task DeviceGone_IsAnError_ThenTheCollectorReconnectsAfterBackoff_AReturnTheGuardHearsOf()
    {
        // A device on its own connection that restarts drops it, as this one does: the next poll fails, and the
        // reconnect is a return (ReturnOf), after which the guard takes its set points to be where they read back.
        using var site = new ModbusTestSite();
        var bank = MeterBank();
        var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), bank);
        server.Start();
        var endpoint = server.Endpoint;
        var collector = site.Collector(PatientMeterMap, endpoint);
        var polls = new PollWatch(collector);
        using var cts = new CancellationTokenSource();
        var first = polls.Next();
        var run = collector.RunAsync(site.Sink, cts.Token);
        Assert.True(await first.WaitAsync(ModbusTestSite.Guard));
        Assert.Null(site.Sink.ReturnOf("modbus", "meter-1"));

        await server.DisposeAsync();
        var lost = polls.Next();
        await site.AdvanceUntil(lost, TimeSpan.FromSeconds(1));
        Assert.False(await lost);
        Assert.False(site.Sink.HealthOf("modbus", "meter-1").Up);

        // The device's readings read as missing at once, not as their last values for the 5 min lookback.
        Assert.False(site.Reads("aida_power_watts"));
        Assert.False(site.Reads("aida_mode"));

        // While the device is away the reconnects fail and are reported; once it is back, polls succeed again.
        await using var back = new ModbusTcpServer(endpoint, bank);
        back.Start();
        var again = polls.Next();
        await site.AdvanceUntil(again, TimeSpan.FromMilliseconds(250));
        Assert.True(await again);
        Assert.True(site.Sink.HealthOf("modbus", "meter-1").Up);
        Assert.Equal(1500, site.Value("aida_power_watts"));
        Assert.True(site.Sink.HealthOf("modbus", "meter-1").Errors >= 1);
        Assert.StartsWith("answered again at ", site.Sink.ReturnOf("modbus", "meter-1")?.How, StringComparison.Ordinal);

        await cts.CancelAsync();
        await run.WaitAsync(ModbusTestSite.Guard);
    }

    [Fact]
    public async Task ADeviceBehindAGateway_RestartedBetweenTwoPolls_IsFoundByItsUptime_WithNoPollFailing()
    {
        // Behind a gateway the connection is the gateway's: a restart of the device fails no poll. Its uptime register
        // says so (86401 s, then 0 a second later), and the sink reports the return the guard waits on.
        const string Map = """
                interval: 1s
                timeout: 1h
                labels: {asset: cdu-1}
                registers:
                  - {address: 0, function: input, type: float32, metric: aida_cdu_supply_celsius}
                  - {address: 20, function: input, type: uint32, metric: aida_device_uptime_seconds, uptime: true}

            """;
        var bank = new ModbusMemoryBank(1);
        var registers = new ushort[2];
        new ModbusValueFormat(ModbusDataType.Float32).TryEncode(28, registers, out _);
        bank.Set(1, ModbusRegisterTable.Input, 0, registers);
        void Uptime(uint seconds) => bank.Set(1, ModbusRegisterTable.Input, 20, [(ushort)(seconds >> 16), (ushort)seconds]);
        Uptime(86_400);
        using var site = new ModbusTestSite();
        await using var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), bank);
        server.Start();
        var collector = site.Collector(Map, server.Endpoint, "cdu-1");
        var polls = new PollWatch(collector);
        using var cts = new CancellationTokenSource();
        var first = polls.Next();
        var run = collector.RunAsync(site.Sink, cts.Token);
        Assert.True(await first.WaitAsync(ModbusTestSite.Guard));

        // Up a second longer a second later: no restart.
        Uptime(86_401);
        var second = polls.Next();
        site.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await second.WaitAsync(ModbusTestSite.Guard));
        Assert.Null(site.Sink.ReturnOf("modbus", "cdu-1"));
        Assert.False(site.Reads("aida_collector_restarts_total"));

        // Restarted: every poll answered, yet the device is back, from this poll's start.
        Uptime(0);
        var third = polls.Next();
        site.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await third.WaitAsync(ModbusTestSite.Guard));
        var back = site.Sink.ReturnOf("modbus", "cdu-1");
        Assert.NotNull(back);
        Assert.Equal(ModbusTestSite.T0 + TimeSpan.FromSeconds(2), back.At);
        Assert.Equal($"was found restarted at {back.At:O} (its uptime read 0 s, 1 s after it read 86401 s)", back.How);
        Assert.Equal((true, 0L, 0L), site.Sink.HealthOf("modbus", "cdu-1"));
        Assert.Equal(1, site.Value("aida_collector_restarts_total{collector=\"modbus\",device=\"cdu-1\"}"));
        Assert.Equal(0, site.Value("aida_device_uptime_seconds"));
        Assert.Contains("cdu-1: restarted since the poll before: its uptime read 0 s", site.Log.ToString(), StringComparison.Ordinal);
        Assert.Equal(("modbus", "cdu-1", back), Assert.Single(site.Sink.Restarts())); // told on call (AidaDeviceRestarted)

        await cts.CancelAsync();
        await run.WaitAsync(ModbusTestSite.Guard);
    }

    [Fact]
    public async Task SilentDevice_TimesOutOnTheClock_AndIsReportedAsAnError()
    {
        using var site = new ModbusTestSite();
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepting = silent.AcceptTcpClientAsync();
        var collector = site.Collector(MeterMap, (IPEndPoint)silent.LocalEndpoint);
        var polls = new PollWatch(collector);
        using var cts = new CancellationTokenSource();
        var first = polls.Next();
        var run = collector.RunAsync(site.Sink, cts.Token);
        using var connection = await accepting.WaitAsync(ModbusTestSite.Guard);

        await site.AdvanceUntil(first, TimeSpan.FromMilliseconds(100));
        Assert.False(await first);
        Assert.Equal((false, 1L, 0L), site.Sink.HealthOf("modbus", "meter-1"));
        Assert.Contains("no answer to read holding 100+1 of unit 1 within 500 ms", site.Log.ToString(), StringComparison.Ordinal);

        await cts.CancelAsync();
        await run.WaitAsync(ModbusTestSite.Guard);
    }

    [Fact]
    public async Task NoDevice_IsReportedAsDown_AndRunAsyncStopsOnCancel()
    {
        using var site = new ModbusTestSite();
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var collector = site.Collector(MeterMap, new IPEndPoint(IPAddress.Loopback, port));
        using var cts = new CancellationTokenSource();
        var run = collector.RunAsync(site.Sink, cts.Token);
        var refused = Task.Run(async () =>
        {
            while (site.Sink.HealthOf("modbus", "meter-1").Errors < 3)
            {
                await Task.Yield();
            }
        });
        await site.AdvanceUntil(refused, ModbusCollector.MaxReconnectDelay);
        Assert.Contains("connecting to 127.0.0.1:", site.Log.ToString(), StringComparison.Ordinal);
        await cts.CancelAsync();
        await run.WaitAsync(ModbusTestSite.Guard);
    }

    [Fact]
    public async Task Writers_WriteWithFunction6Or16_AndConfirmByReadingBack()
    {
        using var site = new ModbusTestSite();
        var bank = MeterBank();
        await using var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), bank);
        server.Start();
        var collector = site.Collector(MeterMap, server.Endpoint);
        var setpoint = collector.Writers.Single(w => w.Actuator == "meter-1/setpoint");
        var mode = collector.Writers.Single(w => w.Actuator == "meter-1/mode");

        // Not running: each write opens its own connection.
        var written = await setpoint.WriteAsync(18.25, CancellationToken.None);
        Assert.Equal(new ActuatorWriteOutcomeView(true, 18.25), new ActuatorWriteOutcomeView(written.Confirmed, written.ReadBack));
        var registers = new ushort[2];
        Assert.Equal(ModbusExceptionCode.None, bank.Read(1, ModbusRegisterTable.Holding, 10, registers));
        Assert.Equal(18.25, new ModbusValueFormat(ModbusDataType.Float32).Decode(registers));

        // Scale 0.5: 3 is written as register value 6.
        var m = await mode.WriteAsync(3, CancellationToken.None);
        Assert.True(m.Confirmed, m.Problem);
        Assert.Equal(ModbusExceptionCode.None, bank.Read(1, ModbusRegisterTable.Holding, 100, registers.AsSpan(0, 1)));
        Assert.Equal(6, registers[0]);

        // A value the type cannot hold is refused before anything is sent.
        var negative = await mode.WriteAsync(-1, CancellationToken.None);
        Assert.False(negative.Confirmed);
        Assert.Contains("outside [0, 65535]", negative.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writers_ReportARefusedWrite_AndAReadBackMismatch()
    {
        using var site = new ModbusTestSite();
        await using var refusing = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), new HoleBank(MeterBank(), holdingFrom: 0));
        refusing.Start();
        var refused = await site.Collector(MeterMap, refusing.Endpoint).Writers[0].WriteAsync(20, CancellationToken.None);
        Assert.False(refused.Confirmed);
        Assert.Contains("exception response 03", refused.Problem, StringComparison.Ordinal);

        await using var clamping = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), new ClampingBank());
        clamping.Start();
        var clamped = await site.Collector(MeterMap, clamping.Endpoint).Writers[1].WriteAsync(30, CancellationToken.None);
        Assert.False(clamped.Confirmed);
        Assert.Equal(5, clamped.ReadBack);
        Assert.Contains("wrote 30, read back 5", clamped.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GarbledAnswers_ThousandsOfPolls_EachCountedAsMalformedOrError_NoExceptionEscapes()
    {
        using var site = new ModbusTestSite();
        await using var garbage = GarbledModbusServer.Start(seed: 11);
        var collector = site.Collector("""
                registers:
                  - {address: 0, function: input, type: float32, metric: aida_power_watts}

            """, garbage.Endpoint);
        const int Polls = 2000;
        ModbusTcpClient? client = null;
        for (var i = 0; i < Polls; i++)
        {
            if (client is null || !client.Connected)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }

                client = await ModbusTcpClient.ConnectAsync(garbage.Endpoint);
            }

            await collector.PollAsync(client, site.Sink, CancellationToken.None).WaitAsync(ModbusTestSite.Guard);
        }

        await client!.DisposeAsync();

        // Every poll whose answer was not a proper one is an error, and malformed unless it was an exception response.
        var health = site.Sink.HealthOf("modbus", "meter-1");
        Assert.Equal(Polls - garbage.ValidAnswers, health.Errors);
        Assert.Equal(Polls - garbage.ValidAnswers - garbage.ExceptionAnswers, health.Malformed);
        Assert.True(health.Malformed > Polls * 8 / 10, $"{health.Malformed} malformed");
    }

    private readonly record struct ActuatorWriteOutcomeView(bool Confirmed, double ReadBack);

    /// <summary>A bank with no holding registers from <c>holdingFrom</c> on: reads there are illegal addresses, writes
    /// illegal values.</summary>
    private sealed class HoleBank(ModbusMemoryBank inner, int holdingFrom) : IModbusRegisterBank
    {
        /// <summary>The first holding register that answers with an exception.</summary>
        public int HoldingFrom { get; set; } = holdingFrom;

        public ModbusExceptionCode Read(byte unit, ModbusRegisterTable table, ushort address, Span<ushort> values) =>
            table == ModbusRegisterTable.Holding && address + values.Length > HoldingFrom
                ? ModbusExceptionCode.IllegalDataAddress
                : inner.Read(unit, table, address, values);

        public ModbusExceptionCode Write(byte unit, ushort address, ReadOnlySpan<ushort> values) =>
            address + values.Length > HoldingFrom ? ModbusExceptionCode.IllegalDataValue : inner.Write(unit, address, values);
    }

    /// <summary>A device that takes every write but holds at most 10 (register value, as some drives clamp).</summary>
    private sealed class ClampingBank : IModbusRegisterBank
    {
        private readonly ModbusMemoryBank _inner = new(1);

        public ModbusExceptionCode Read(byte unit, ModbusRegisterTable table, ushort address, Span<ushort> values) => _inner.Read(unit, table, address, values);

        public ModbusExceptionCode Write(byte unit, ushort address, ReadOnlySpan<ushort> values)
        {
            Span<ushort> clamped = stackalloc ushort[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                clamped[i] = Math.Min(values[i], (ushort)10);
            }

            return _inner.Write(unit, address, clamped);
        }
    }
}
