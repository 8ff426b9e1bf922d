using System.Diagnostics;
using System.Globalization;
using System.Net;
using Aida.Protocols.Modbus;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Modbus;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;

namespace Aida.Bench;

/// <summary><c>modbus-poll</c>: polls <c>--devices</c> Modbus TCP devices of <c>--registers</c> registers each (float32
/// readings) every <c>--interval-ms</c> with the real <see cref="ModbusCollector"/> into an in-memory store, and reports the
/// collector process' CPU time per 1,000 registers/s and the poll latency percentiles.</summary>
/// <remarks>
/// The devices are served by <see cref="ModbusTcpServer"/>s in a child process (<c>modbus-serve</c>), so the CPU measured
/// is the collecting side's alone: <c>--servers</c> ports on 127.0.0.1, each answering <c>devices / servers</c> unit ids;
/// every device is a collector with its own connection, as a site file makes them. All collectors start at once, so every
/// interval begins with a burst of all devices (the worst case; latency includes the queueing).
/// </remarks>
internal static class ModbusPollLoad
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var o = Options.Parse(args);
        if (o is null)
        {
            output.WriteLine("usage: modbus-poll [--devices 1000] [--registers 20] [--servers 10] [--interval-ms 1000] [--warmup-seconds 5] [--seconds 30] [--base-port 25020]");
            return 2;
        }

        var ci = CultureInfo.InvariantCulture;
        var unitsPerServer = (o.Devices + o.Servers - 1) / o.Servers;
        using var server = StartServer(o.BasePort, o.Servers, unitsPerServer, o.Registers);
        try
        {
            var readyLine = await server.StandardOutput.ReadLineAsync();
            if (readyLine != "ready")
            {
                output.WriteLine($"modbus-poll: the server did not start: {readyLine} {await server.StandardError.ReadToEndAsync()}");
                return 1;
            }

            var yaml = new System.Text.StringBuilder("site: bench\ncollectors:\n");
            for (var d = 0; d < o.Devices; d++)
            {
                yaml.Append(ci, $"  - type: modbus\n    name: dev-{d}\n    address: 127.0.0.1:{o.BasePort + (d % o.Servers)}\n    unit: {1 + (d / o.Servers)}\n    interval: {o.IntervalMs}ms\n    labels: {{device: dev-{d}}}\n    registers:\n");
                for (var r = 0; r < o.Registers / 2; r++)
                {
                    yaml.Append(ci, $"      - {{address: {2 * r}, function: input, type: float32, metric: bench_value, labels: {{reg: r{r}}}}}\n");
                }
            }

            var clock = TimeProvider.System;
            var site = new SiteLoader(new Dictionary<string, CollectorFactory> { [ModbusCollector.Type] = ModbusCollector.Factory }, clock).Parse(yaml.ToString(), "bench.yaml");
            using var store = new Tsdb(new TsdbOptions { Clock = clock });
            var sink = new CollectorSink(store, Labels.Empty, clock, TextWriter.Null);
            var latencies = new List<double>();
            var measuring = false;
            long polls = 0, failed = 0;
            var gate = new Lock();
            foreach (var c in site.Collectors.Cast<ModbusCollector>())
            {
                c.Polled = (ok, elapsed) =>
                {
                    lock (gate)
                    {
                        if (!measuring)
                        {
                            return;
                        }

                        polls++;
                        failed += ok ? 0 : 1;
                        latencies.Add(elapsed.TotalMilliseconds);
                    }
                };
            }

            using var cts = new CancellationTokenSource();
            var run = new CollectorHost(site.Collectors, sink).RunAsync(cts.Token);
            await Task.Delay(TimeSpan.FromSeconds(o.WarmupSeconds));
            var me = Process.GetCurrentProcess();
            me.Refresh();
            var cpu0 = me.TotalProcessorTime;
            server.Refresh();
            var serverCpu0 = server.TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            lock (gate)
            {
                measuring = true;
            }

            await Task.Delay(TimeSpan.FromSeconds(o.Seconds));
            lock (gate)
            {
                measuring = false;
            }

            var seconds = wall.Elapsed.TotalSeconds;
            me.Refresh();
            var cpu = (me.TotalProcessorTime - cpu0).TotalSeconds;
            server.Refresh();
            var serverCpu = (server.TotalProcessorTime - serverCpu0).TotalSeconds;
            await cts.CancelAsync();
            await run;

            latencies.Sort();
            var registersPerSecond = polls * o.Registers / seconds;
            var cpuPerThousand = cpu / seconds / (registersPerSecond / 1000) * 1000;
            output.WriteLine(string.Create(ci, $"{o.Devices} devices x {o.Registers} registers every {o.IntervalMs} ms over {o.Servers} server ports, {seconds:0.0} s measured after {o.WarmupSeconds} s warmup"));
            output.WriteLine(string.Create(ci, $"polls {polls:N0} ({polls / seconds:N0}/s, {failed} failed), registers {registersPerSecond:N0}/s, samples stored {sink.SamplesStored:N0}"));
            output.WriteLine(string.Create(ci, $"collector CPU {cpu:0.00} s = {100 * cpu / seconds:0.0}% of a core: {cpuPerThousand:0.00} ms of CPU per second per 1,000 registers/s"));
            output.WriteLine(string.Create(ci, $"server process CPU (not counted above) {serverCpu:0.00} s = {100 * serverCpu / seconds:0.0}% of a core"));
            output.WriteLine(string.Create(ci, $"poll latency p50 {Percentile(latencies, 0.50):0.00} ms, p99 {Percentile(latencies, 0.99):0.00} ms, max {(latencies.Count == 0 ? 0 : latencies[^1]):0.00} ms"));
            return failed == 0 && polls > 0 ? 0 : 1;
        }
        finally
        {
            // The server is this run's child: stopped by its PID, whatever happened.
            if (!server.HasExited)
            {
                server.Kill();
                await server.WaitForExitAsync();
            }
        }
    }

    /// <summary><c>modbus-serve</c>: the child process of <c>modbus-poll</c>; prints <c>ready</c> once listening and
    /// serves until killed.</summary>
    public static async Task<int> ServeAsync(string[] args, TextWriter output)
    {
        var basePort = int.Parse(args[0], CultureInfo.InvariantCulture);
        var servers = int.Parse(args[1], CultureInfo.InvariantCulture);
        var units = int.Parse(args[2], CultureInfo.InvariantCulture);
        var registers = int.Parse(args[3], CultureInfo.InvariantCulture);
        var unitIds = Enumerable.Range(1, units).Select(u => (byte)u).ToArray();
        var values = new ushort[registers];
        var format = new ModbusValueFormat(ModbusDataType.Float32);
        for (var r = 0; r + 1 < registers; r += 2)
        {
            format.TryEncode(20 + r, values.AsSpan(r), out _);
        }

        var running = new List<ModbusTcpServer>();
        for (var s = 0; s < servers; s++)
        {
            var bank = new ModbusMemoryBank(unitIds);
            foreach (var u in unitIds)
            {
                bank.Set(u, ModbusRegisterTable.Input, 0, values);
            }

            var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, basePort + s), bank);
            server.Start();
            running.Add(server);
        }

        output.WriteLine("ready");
        output.Flush();
        await Task.Delay(Timeout.Infinite);
        return 0;
    }

    private static Process StartServer(int basePort, int servers, int units, int registers)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            info.ArgumentList.Add(typeof(ModbusPollLoad).Assembly.Location);
        }

        foreach (var a in new[] { "modbus-serve", basePort.ToString(CultureInfo.InvariantCulture), servers.ToString(CultureInfo.InvariantCulture), units.ToString(CultureInfo.InvariantCulture), registers.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(a);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {host}");
    }

    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

    private sealed record Options(int Devices, int Registers, int Servers, int IntervalMs, int WarmupSeconds, int Seconds, int BasePort)
    {
        public static Options? Parse(string[] args)
        {
            var o = new Options(1000, 20, 10, 1000, 5, 30, 25020);
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                if (!int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v <= 0)
                {
                    return null;
                }

                o = args[i] switch
                {
                    "--devices" => o with { Devices = v },
                    "--registers" => o with { Registers = v },
                    "--servers" => o with { Servers = v },
                    "--interval-ms" => o with { IntervalMs = v },
                    "--warmup-seconds" => o with { WarmupSeconds = v },
                    "--seconds" => o with { Seconds = v },
                    "--base-port" => o with { BasePort = v },
                    _ => null,
                };
                if (o is null)
                {
                    return null;
                }
            }

            var unitsPerServer = (o.Devices + o.Servers - 1) / o.Servers;
            return args.Length % 2 == 0 && o.Registers is >= 2 and <= 125 && unitsPerServer <= 247 ? o : null;
        }
    }
}
