using Aida.Model.Plant;
using Aida.Protocols.Modbus;

namespace Aida.Twin.Wire.Modbus;

/// <summary>One plant point served as input registers.</summary>
public sealed record ServedPoint(PointInfo Point, ushort Address, ModbusValueFormat Format);

/// <summary>One plant actuator served as holding registers.</summary>
public sealed record ServedSetpoint(ActuatorInfo Actuator, ushort Address, ModbusValueFormat Format);

/// <summary>The register map of one asset served as a Modbus device.</summary>
public sealed record PlantDeviceMap(string Asset, IReadOnlyList<ServedPoint> Inputs, IReadOnlyList<ServedSetpoint> Holding)
{
    /// <summary>The metric of the device's uptime, served after its points (<see cref="UptimeAddress"/>).</summary>
    public const string UptimeMetric = "aida_device_uptime_seconds";

    /// <summary>The format of the uptime: a 32-bit count of whole seconds since the device started (a 16-bit one would
    /// wrap every 18 h and read as a restart).</summary>
    public static readonly ModbusValueFormat UptimeFormat = new(ModbusDataType.UInt32);

    /// <summary>The input register where the device's uptime starts, after its points.</summary>
    public int UptimeAddress => Inputs.Count == 0 ? 0 : Inputs[^1].Address + Inputs[^1].Format.Registers;

    /// <summary>Input registers in use, from 0: the points, then the uptime.</summary>
    public int InputRegisters => UptimeAddress + UptimeFormat.Registers;

    /// <summary>Holding registers in use, from 0.</summary>
    public int HoldingRegisters => Holding.Count == 0 ? 0 : Holding[^1].Address + Holding[^1].Format.Registers;
}

/// <summary>Generates the register maps of the assets a plant serves over Modbus.</summary>
/// <remarks>
/// Per device (one per asset, in the order the plant lists its points): input registers from 0 hold the asset's points
/// in the plant's order, each a big-endian float32 (two registers, "ABCD"), except energy and water counters (unit joules
/// or litres), which are float64 (four registers) so that a site's lifetime totals keep their resolution as revenue
/// meters' 64-bit registers do. Holding registers from 0 hold the asset's actuators in the plant's order: a float32 for a continuous
/// setting, a uint16 (0 or 1) for an on/off one (unit <c>bool</c>), so both write functions have a use (16 and 6).
/// After the points, a uint32 holds the device's uptime in whole seconds (<see cref="PlantDeviceMap.UptimeMetric"/>),
/// which tells a collector that the device restarted between two polls.
/// </remarks>
public static class PlantRegisterMap
{
    /// <summary>The assets served by default: everything but racks (their BMCs speak Redfish), halls' GPU temperature
    /// histograms (the DCGM exporter's) and UPSes (upsd's).</summary>
    public static bool DefaultAssets(string asset, IReadOnlyList<PointInfo> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        foreach (var p in points)
        {
            if (p.Labels.ContainsKey("rack") || p.Labels.ContainsKey("le") || p.Metric.StartsWith("aida_ups_", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The devices of <paramref name="plant"/> that <paramref name="serves"/> picks (default
    /// <see cref="DefaultAssets"/>), each with its generated register map.</summary>
    public static IReadOnlyList<PlantDeviceMap> Build(IPlant plant, Func<string, IReadOnlyList<PointInfo>, bool>? serves = null)
    {
        ArgumentNullException.ThrowIfNull(plant);
        serves ??= DefaultAssets;
        var byAsset = new Dictionary<string, List<PointInfo>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var p in plant.Points)
        {
            if (!byAsset.TryGetValue(p.Asset, out var list))
            {
                byAsset[p.Asset] = list = [];
                order.Add(p.Asset);
            }

            list.Add(p);
        }

        var devices = new List<PlantDeviceMap>();
        foreach (var asset in order)
        {
            var points = byAsset[asset];
            if (!serves(asset, points))
            {
                continue;
            }

            var inputs = new List<ServedPoint>();
            var address = 0;
            foreach (var p in points)
            {
                var format = new ModbusValueFormat(p.Unit is "joules" or "litres" ? ModbusDataType.Float64 : ModbusDataType.Float32);
                inputs.Add(new ServedPoint(p, Checked(address, format, asset), format));
                address += format.Registers;
            }

            Checked(address, PlantDeviceMap.UptimeFormat, asset);
            var holding = new List<ServedSetpoint>();
            address = 0;
            foreach (var a in plant.Actuators)
            {
                if (a.Asset != asset)
                {
                    continue;
                }

                var format = new ModbusValueFormat(a.Unit == "bool" ? ModbusDataType.UInt16 : ModbusDataType.Float32);
                holding.Add(new ServedSetpoint(a, Checked(address, format, asset), format));
                address += format.Registers;
            }

            devices.Add(new PlantDeviceMap(asset, inputs, holding));
        }

        return devices;
    }

    private static ushort Checked(int address, ModbusValueFormat format, string asset) =>
        address + format.Registers <= 65536 ? (ushort)address : throw new InvalidOperationException($"{asset} has more points than 65,536 registers hold");
}
