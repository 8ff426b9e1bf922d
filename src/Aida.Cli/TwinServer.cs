using System.Net;
using System.Text;
using Aida.Twin.Simulation;
using Aida.Twin.Wire;
using Aida.Twin.Wire.Dcgm;
using Aida.Twin.Wire.Modbus;
using Aida.Twin.Wire.Mqtt;
using Aida.Twin.Wire.Nut;
using Aida.Twin.Wire.Scheduler;
using Aida.Twin.Wire.Redfish;

namespace Aida.Cli;

/// <summary>The twin over the wire: a simulator with no operator of its own (whoever operates it does so over the wire),
/// behind a lock, and every wire face serving it.</summary>
/// <remarks>Ports from the base port, in this order: Redfish (one service, a chassis per rack), a Modbus TCP device per
/// metering and cooling asset, a DCGM exporter <c>/metrics</c> per hall, one upsd for every UPS. The MQTT face publishes
/// to a broker given to it and takes no port. With base port 0 every face takes free ports.</remarks>
internal sealed class TwinServer : IAsyncDisposable
{
    private readonly List<IWireFace> _faces = [];

    private TwinServer(Simulator simulator)
    {
        Simulator = simulator;
        Plant = new SynchronizedPlant(simulator.Plant);
    }

    public Simulator Simulator { get; }

    /// <summary>The plant the faces serve; step it only under <see cref="SynchronizedPlant.Gate"/>.</summary>
    public SynchronizedPlant Plant { get; }

    public IReadOnlyList<IWireFace> Faces => _faces;

    /// <summary>Builds the faces for <paramref name="simulator"/> and starts them: the plant takes one step first, so the
    /// faces serve a running plant rather than its empty initial state.</summary>
    /// <param name="speed">Plant seconds per wall second: the site entries poll at the points' interval divided by it.</param>
    /// <param name="mqttBroker">The broker the MQTT face publishes the leak detectors to; none when null.</param>
    public static async Task<TwinServer> StartAsync(Simulator simulator, IPAddress host, int basePort, double speed, CancellationToken ct, DnsEndPoint? mqttBroker = null)
    {
        var server = new TwinServer(simulator);
        var next = basePort;
        int Take(int count)
        {
            var first = next;
            next += count;
            if (basePort > 0 && next - 1 > 65535)
            {
                throw new BadInputException($"--base-port: the faces need ports {basePort} to {next - 1}, past 65535");
            }

            return basePort == 0 ? 0 : first;
        }

        var plant = server.Plant;
        var factory = simulator.Scenario.Factory;
        server._faces.Add(new RedfishFace(plant, new IPEndPoint(host, Take(1)), speed));
        server._faces.Add(new ModbusWireFace(plant, host, Take(PlantRegisterMap.Build(plant).Count), speed: speed));
        var dcgmGroups = factory.Halls.Count; // one host group per hall, the face's default
        var dcgm = new DcgmExporterFace(simulator.GpuCatalog, new DcgmFaceOptions
        {
            Host = host,
            FirstPort = Take(dcgmGroups),
            ScrapeInterval = SiteEntryYaml.PollInterval(simulator.Scenario.GpuTelemetryInterval, speed),
        }, plant.Points);
        server._faces.Add(dcgm);
        server._faces.Add(new UpsdFace(plant, factory.Power.Ups, Take(1), host));
        server._faces.Add(new SchedulerExporterFace(plant, new SchedulerFaceOptions
        {
            Host = host,
            Port = Take(1),
            ScrapeInterval = SiteEntryYaml.PollInterval(TimeSpan.FromSeconds(10), speed),
        }));
        if (mqttBroker is not null)
        {
            server._faces.Add(new MqttSensorFace(plant, new MqttFaceOptions
            {
                BrokerHost = mqttBroker.Host,
                BrokerPort = mqttBroker.Port,
                TopicPrefix = $"aida/{factory.Site.Name}",
                PublishInterval = SiteEntryYaml.PollInterval(TimeSpan.FromSeconds(1), speed),

                // Only the room sensors no other face serves: two collectors of one series (MQTT stamping the sensor's
                // time, the others the poll's) would have the store refuse one as out of order.
                Metrics = new HashSet<string>(StringComparer.Ordinal) { "aida_rack_leak_detected" },
            }));
        }

        // The DCGM face is fed every GPU sample by the simulator itself, from the first step on.
        simulator.RecordTo(dcgm);
        simulator.AdvanceSteps(1);
        try
        {
            foreach (var face in server._faces)
            {
                await face.StartAsync(ct);
            }
        }
        catch (IOException e)
        {
            await server.DisposeAsync();
            throw new BadInputException($"--base-port: {e.Message} (another aida twin serve? choose another --base-port, or 0 for free ports)", e);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            await server.DisposeAsync();
            throw new BadInputException($"--base-port: {e.Message} (another aida twin serve? choose another --base-port, or 0 for free ports)", e);
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException e)
        {
            await server.DisposeAsync();
            throw new BadInputException($"--mqtt-broker: cannot publish to {mqttBroker?.Host}:{mqttBroker?.Port}: {e.Message}", e);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>A site file collecting everything the faces serve.</summary>
    public string SiteFile()
    {
        var site = Plant.Points.Count > 0 && Plant.Points[0].Labels.TryGetValue("site", out var s) ? s : Simulator.Scenario.Factory.Site.Name;
        var b = new StringBuilder();
        b.Append("# Written by `aida twin serve --write-site`: collects everything the twin serves over the wire.\n");
        b.Append("site: ").Append(SiteEntryYaml.Quote(site)).Append('\n');
        b.Append("collectors:\n");
        foreach (var face in _faces)
        {
            b.Append(face.SiteCollectors());
        }

        return b.ToString();
    }

    /// <summary>The field devices <see cref="Restart"/> can restart, as the site file names their entries:
    /// <c>modbus-ASSET</c> (a Modbus device) and <c>redfish-RACK</c> (a rack's BMC); <c>nut-UPS</c>, a UPS behind the
    /// entry <c>upsd-twin</c>; and <c>mqtt-ASSET</c>, a CRAH's controller publishing through the broker of the entry
    /// <c>mqtt-sensors</c>.</summary>
    public IReadOnlyList<string> RestartableDevices =>
    [
        .. _faces.OfType<ModbusWireFace>().SelectMany(f => f.Devices.Select(d => "modbus-" + d.Asset)),
        .. _faces.OfType<RedfishFace>().SelectMany(f => f.Racks.Select(r => "redfish-" + r)),
        .. _faces.OfType<UpsdFace>().SelectMany(f => f.Names.Select(u => "nut-" + u)),
        .. _faces.OfType<MqttSensorFace>().SelectMany(f => f.Controllers.Select(c => "mqtt-" + c)),
    ];

    /// <summary>Restarts the field device of the site entry named <paramref name="device"/> faster than a poll, its
    /// connection up (a controller behind a Modbus gateway, a BMC's watchdog reset): its uptime starts again and its
    /// settings go back to those it was served with (a CDU's set point, a rack's GPU power limit), written to the plant.</summary>
    public void Restart(string device)
    {
        var name = device[(device.IndexOf('-', StringComparison.Ordinal) + 1)..];
        if (device.StartsWith("modbus-", StringComparison.Ordinal) && _faces.OfType<ModbusWireFace>().FirstOrDefault(f => f.Devices.Any(d => d.Asset == name)) is { } modbus)
        {
            modbus.Restart(name);
        }
        else if (device.StartsWith("redfish-", StringComparison.Ordinal) && _faces.OfType<RedfishFace>().FirstOrDefault(f => f.Racks.Contains(name)) is { } redfish)
        {
            redfish.Restart(name);
        }
        else if (device.StartsWith("nut-", StringComparison.Ordinal) && _faces.OfType<UpsdFace>().FirstOrDefault(f => f.Names.Contains(name)) is { } upsd)
        {
            upsd.Restart(name);
        }
        else if (device.StartsWith("mqtt-", StringComparison.Ordinal) && _faces.OfType<MqttSensorFace>().FirstOrDefault(f => f.Controllers.Contains(name)) is { } mqtt)
        {
            mqtt.Restart(name);
        }
        else
        {
            throw new ArgumentException(NotServed(device), nameof(device));
        }
    }

    /// <summary>What is wrong with a device name <see cref="Restart"/> does not know.</summary>
    public string NotServed(string device) =>
        $"'{device}' is no device served here (modbus-ASSET or redfish-RACK, as the site file names them, nut-UPS, or mqtt-CRAH with --mqtt-broker: {string.Join(", ", RestartableDevices.Take(3))}, ...)";

    /// <summary>Advances the plant by <paramref name="steps"/> under the lock the faces read through.</summary>
    public void Advance(long steps)
    {
        lock (Plant.Gate)
        {
            Simulator.AdvanceSteps(steps);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var face in _faces)
        {
            await face.DisposeAsync();
        }

        _faces.Clear();
    }
}
