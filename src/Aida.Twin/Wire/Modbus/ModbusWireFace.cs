using System.Globalization;
using System.Net;
using System.Text;
using Aida.Model.Plant;
using Aida.Protocols.Modbus;

namespace Aida.Twin.Wire.Modbus;

/// <summary>The plant's Modbus face: a Modbus TCP server per metering and cooling asset (site meter, transformers,
/// utility feeds, generators, facility-water loop, economiser, chillers, dry coolers, CDUs, CRAHs), each on its own port,
/// serving the register map of <see cref="PlantRegisterMap"/> (docs/protocols.md, "Modbus").</summary>
/// <remarks>Device <c>i</c> (in <see cref="Devices"/> order) listens on <c>host:basePort+i</c>; a base port of 0 lets the
/// system choose a free port per device (for tests), and <see cref="Endpoints"/> and <see cref="SiteCollectors"/> then give
/// the ports chosen.</remarks>
public sealed class ModbusWireFace : IWireFace
{
    /// <summary>The default first port (15020: Modbus' 502, out of the privileged range).</summary>
    public const int DefaultBasePort = 15020;

    private readonly IPlant _plant;
    private readonly IPAddress _host;
    private readonly int _basePort;
    private readonly double _speed;
    private readonly TimeProvider _clock;
    private readonly List<ModbusTcpServer> _servers = [];
    private readonly List<PlantRegisterBank> _banks = [];

    /// <param name="serves">Which assets get a device (default <see cref="PlantRegisterMap.DefaultAssets"/>).</param>
    /// <param name="speed">Plant seconds per wall second: the site entries poll at their interval divided by it
    /// (<see cref="SiteEntryYaml.PollInterval"/>).</param>
    /// <param name="clock">The devices' own clock, which their uptimes count (default the system's).</param>
    public ModbusWireFace(IPlant plant, IPAddress host, int basePort = DefaultBasePort, Func<string, IReadOnlyList<PointInfo>, bool>? serves = null, double speed = 1, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(speed, 0);
        _speed = speed;
        ArgumentNullException.ThrowIfNull(plant);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentOutOfRangeException.ThrowIfNegative(basePort);
        _plant = plant;
        _host = host;
        _basePort = basePort;
        Devices = PlantRegisterMap.Build(plant, serves);
        if (basePort > 0 && basePort + Devices.Count - 1 > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(basePort), $"{Devices.Count} devices from port {basePort} run past 65535");
        }
    }

    /// <summary>The served devices and their register maps.</summary>
    public IReadOnlyList<PlantDeviceMap> Devices { get; }

    public IReadOnlyList<string> Endpoints
    {
        get
        {
            var lines = new List<string>(Devices.Count);
            for (var i = 0; i < Devices.Count; i++)
            {
                lines.Add($"modbus {Devices[i].Asset} {EndpointOf(i)}");
            }

            return lines;
        }
    }

    /// <summary>Where device <paramref name="index"/> listens (the bound port once started).</summary>
    public IPEndPoint EndpointOf(int index) =>
        index < _servers.Count ? _servers[index].Endpoint : new IPEndPoint(_host, _basePort == 0 ? 0 : _basePort + index);

    public Task StartAsync(CancellationToken ct)
    {
        if (_servers.Count > 0)
        {
            throw new InvalidOperationException("the Modbus face is already started");
        }

        try
        {
            for (var i = 0; i < Devices.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                var bank = new PlantRegisterBank(_plant, Devices[i], _clock);
                var server = new ModbusTcpServer(new IPEndPoint(_host, _basePort == 0 ? 0 : _basePort + i), bank);
                server.Start();
                _servers.Add(server);
                _banks.Add(bank);
            }
        }
        catch
        {
            foreach (var s in _servers)
            {
                s.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            _servers.Clear();
            _banks.Clear();
            throw;
        }

        return Task.CompletedTask;
    }

    /// <summary>Restarts the device of <paramref name="asset"/> as a controller behind a gateway restarts: its connections
    /// stay, its uptime starts again from 0 and its settings go back to those it had when served (a CDU's set point to
    /// its design value), so a collector finds the restart by the uptime alone (<c>uptime: true</c>).</summary>
    public void Restart(string asset)
    {
        var index = Devices.ToList().FindIndex(d => d.Asset == asset);
        if (index < 0 || index >= _banks.Count)
        {
            throw new ArgumentException($"no device of {asset} is served", nameof(asset));
        }

        _banks[index].Restart();
    }

    /// <summary>A <c>type: modbus</c> entry per device, named <c>modbus-ASSET</c>, polling at the shortest sampling
    /// interval of its points; every point a register with the point's metric and labels, then the device's uptime
    /// (<c>uptime: true</c>), every actuator a writable.</summary>
    public string SiteCollectors()
    {
        var yaml = new StringBuilder();
        for (var i = 0; i < Devices.Count; i++)
        {
            var d = Devices[i];
            var interval = SiteEntryYaml.PollInterval(d.Inputs.Count == 0 ? TimeSpan.FromSeconds(10) : d.Inputs.Min(p => p.Point.Interval), _speed);
            yaml.Append(CultureInfo.InvariantCulture, $"  - type: modbus\n    name: {SiteEntryYaml.Quote("modbus-" + d.Asset)}\n    address: {SiteEntryYaml.Quote(EndpointOf(i).ToString())}\n    unit: 1\n    interval: {SiteEntryYaml.Duration(interval)}\n");
            yaml.Append("    registers:\n");
            foreach (var p in d.Inputs)
            {
                yaml.Append(CultureInfo.InvariantCulture, $"      - {{address: {p.Address}, function: input, type: {TypeName(p.Format.Type)}, unit: {SiteEntryYaml.Quote(p.Point.Unit)}, metric: {p.Point.Metric}, labels: {{");
                yaml.Append(string.Join(", ", p.Point.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}: {SiteEntryYaml.Quote(l.Value)}")));
                yaml.Append("}}\n");
            }

            yaml.Append(CultureInfo.InvariantCulture, $"      - {{address: {d.UptimeAddress}, function: input, type: {TypeName(PlantDeviceMap.UptimeFormat.Type)}, unit: seconds, metric: {PlantDeviceMap.UptimeMetric}, labels: {{asset: {SiteEntryYaml.Quote(d.Asset)}}}, uptime: true}}\n");

            if (d.Holding.Count > 0)
            {
                yaml.Append("    writable:\n");
                foreach (var s in d.Holding)
                {
                    yaml.Append(CultureInfo.InvariantCulture, $"      - {{actuator: {SiteEntryYaml.Quote(s.Actuator.Name)}, address: {s.Address}, type: {TypeName(s.Format.Type)}}}\n");
                }
            }
        }

        return yaml.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers)
        {
            await s.DisposeAsync().ConfigureAwait(false);
        }

        _servers.Clear();
        _banks.Clear();
    }

    private static string TypeName(ModbusDataType type) => type.ToString().ToLowerInvariant();
}
