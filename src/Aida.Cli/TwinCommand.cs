using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Aida.Twin.Simulation;
using static Aida.Cli.AidaCommand;

namespace Aida.Cli;

/// <summary><c>aida twin serve</c>: the twin over the wire, serving its devices' protocols on real sockets.</summary>
internal static class TwinCommand
{
    /// <summary>The first port of <c>aida twin serve</c> by default; the bundled <c>sites/twin-local.yaml</c> uses it.</summary>
    public const int DefaultBasePort = 16000;

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var twin = new Command("twin", "The digital twin as a site: serve its devices over their field protocols");
        twin.Subcommands.Add(Serve(stdout, stderr));
        return twin;
    }

    private static Command Serve(TextWriter stdout, TextWriter stderr)
    {
        var scenario = new Option<string?>("--scenario", "-s") { Description = "Scenario file, or a bundled name (default: reference)" };
        var factory = new Option<string?>("--factory", "-f")
        {
            Description = "Serve this factory (ref-10mw, ref-1gw or a file) under a steady load, every rack at 90 %, instead of a scenario",
        };
        var duration = DurationOption("Stop after this much plant time (default: the scenario's duration; a year with --factory)");
        var seed = SeedOption();
        var speed = SpeedOption();
        var host = new Option<string>("--host")
        {
            Description = "Address every face listens on",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var basePort = new Option<int>("--base-port")
        {
            Description = "First port: Redfish listens on it, then the Modbus devices, the DCGM exporters and upsd on the ports after it; 0 takes free ports",
            DefaultValueFactory = _ => DefaultBasePort,
        };
        var mqtt = new Option<string?>("--mqtt-broker")
        {
            Description = "Publish the room sensors (racks' leak detectors and inlets, CRAH supply air, the outdoor air) to this MQTT broker, HOST:PORT, take CRAH commands from it, and publish each CRAH controller's uptime",
        };
        var writeSite = new Option<string?>("--write-site") { Description = "Write a site file that collects everything served (for aida run --plant network --site FILE)" };
        var restart = new Option<string[]>("--restart")
        {
            Description = "Restart a field device DURATION of plant time after the start, faster than a poll and its connection up (a controller " +
                "behind a Modbus gateway, a BMC's watchdog reset): its uptime starts again, its settings go back to those it was served with. " +
                "DEVICE@DURATION, DEVICE as the site file names it (modbus-cdu-h1-a, redfish-h1-a01), nut-UPS for a UPS behind upsd (nut-ups-a), " +
                "or mqtt-CRAH for a CRAH's controller publishing through the broker (mqtt-crah-h1-1, with --mqtt-broker); repeatable",
            AllowMultipleArgumentsPerToken = false,
        };
        var status = StatusEveryOption();
        var command = new Command("serve",
            "Run the twin on the wall clock with no operator of its own and serve it as a site would: a Redfish service with a chassis per rack " +
            "(power, inlet and GPU temperatures, settable GPU power limit), a Modbus TCP device per meter and cooling asset (readings, writable setpoints), " +
            "a DCGM exporter /metrics per hall, an upsd for the UPSes, and with --mqtt-broker the leak detectors over MQTT; prints the endpoints; Ctrl-C or SIGTERM stops")
        {
            scenario, factory, duration, seed, speed, host, basePort, mqtt, writeSite, restart, status,
        };
        command.SetAction(async (parse, token) =>
        {
            var factor = ParseSpeed(parse.GetValue(speed));

            var hostText = parse.GetValue(host)!;
            if (!IPAddress.TryParse(hostText, out var address))
            {
                throw new BadInputException($"--host: '{hostText}' is not an IP address");
            }

            var port = parse.GetValue(basePort);
            if (port is < 0 or > 65535)
            {
                throw new BadInputException($"--base-port: {port} is not a port (0 takes free ports)");
            }

            var broker = parse.GetValue(mqtt) is { } brokerText ? ParseBroker(brokerText) : null;
            var every = ParseDuration(parse.GetValue(status), "--status-every")!.Value;
            var restarts = (parse.GetValue(restart) ?? []).Select(ParseRestart).ToList();
            var d = ParseDuration(parse.GetValue(duration), "--duration");
            var s = (parse.GetValue(scenario), parse.GetValue(factory)) switch
            {
                ({ }, { }) => throw new BadInputException("--scenario and --factory: give one (a factory is served under a steady load)"),
                (null, { } f) => BenchScenario.For(f, d ?? TimeSpan.FromDays(365)),
                (var name, null) => LoadScenario(name ?? "reference"),
            };

            // The process' signals stop the command (registered first, so a SIGTERM while the faces start is not lost).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

            s = StartingNow(s, TimeProvider.System);
            var simulator = new Simulator(s, new SimulationOptions { NoOperator = true, Duration = d, Seed = parse.GetValue(seed) });
            await using var server = await TwinServer.StartAsync(simulator, address, port, factor, stop.Token, broker);
            foreach (var (device, _) in restarts)
            {
                if (!server.RestartableDevices.Contains(device, StringComparer.Ordinal))
                {
                    throw new BadInputException("--restart: " + server.NotServed(device));
                }
            }

            await stdout.WriteLineAsync($"aida twin serve: {s.Name} on {s.Factory.Name}, {Format(factor, "0.##")}x real time, no operator (operate it over the wire); Ctrl-C stops");
            foreach (var face in server.Faces)
            {
                foreach (var endpoint in face.Endpoints)
                {
                    await stdout.WriteLineAsync($"  {endpoint}");
                }
            }

            if (parse.GetValue(writeSite) is { } file)
            {
                var dir = Path.GetDirectoryName(Path.GetFullPath(file));
                if (dir is not null)
                {
                    Directory.CreateDirectory(dir);
                }

                await File.WriteAllTextAsync(file, server.SiteFile(), CancellationToken.None);
                await stdout.WriteLineAsync($"site file: {file} (aida run --plant network --site {file})");
            }

            var restarting = Task.WhenAll(restarts.Select(r => RestartAsync(server, r.Device, r.After / factor, stdout, stop.Token)));
            await RunCommand.Drive(simulator, TimeProvider.System, factor, every, stdout, stop.Token, gate: server.Plant.Gate);
            await stop.CancelAsync();
            await restarting;
            await stdout.WriteLineAsync("aida twin serve: stopped");
            return Ok;
        });
        return command;
    }

    /// <summary><c>DEVICE@DURATION</c> of <c>--restart</c>.</summary>
    private static (string Device, TimeSpan After) ParseRestart(string text)
    {
        var at = text.LastIndexOf('@');
        if (at <= 0 || at == text.Length - 1)
        {
            throw new BadInputException($"--restart: '{text}' is not DEVICE@DURATION (modbus-cdu-h1-a@10m)");
        }

        return (text[..at], ParseDuration(text[(at + 1)..], "--restart")!.Value);
    }

    /// <summary>Restarts <paramref name="device"/> after <paramref name="wall"/> of wall time, and says so.</summary>
    private static async Task RestartAsync(TwinServer server, string device, TimeSpan wall, TextWriter stdout, CancellationToken stop)
    {
        try
        {
            await Task.Delay(wall, TimeProvider.System, stop);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        server.Restart(device);
        await stdout.WriteLineAsync($"aida twin serve: restarted {device} (its uptime from 0, its settings as served)");
    }

    private static DnsEndPoint ParseBroker(string text)
    {
        var colon = text.LastIndexOf(':');
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? new DnsEndPoint(text[..colon], port)
            : throw new BadInputException($"--mqtt-broker: '{text}' is not HOST:PORT");
    }
}
