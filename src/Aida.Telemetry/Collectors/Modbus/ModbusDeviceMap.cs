using System.Globalization;
using System.Net;
using Aida.Model.Config;
using Aida.Protocols.Modbus;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors.Modbus;

/// <summary>One register (or run of registers) read as one reading: sampled as <c>raw * Scale + Offset</c> under
/// <see cref="Labels"/> (the metric name, the register's labels and the entry's).</summary>
/// <param name="Unit">The physical unit, as documentation of the map (Prometheus carries units in metric names).</param>
public sealed record ModbusPoint(ushort Address, ModbusRegisterTable Table, ModbusValueFormat Format, double Scale, double Offset, string? Unit, Labels Labels)
{
    /// <summary>One past the last register the reading takes.</summary>
    public int End => Address + Format.Registers;
}

/// <summary>A setting written to holding registers: <c>(value - Offset) / Scale</c> encoded as <see cref="Format"/>.</summary>
/// <param name="Actuator">The plant's name of the setting, <c>asset/setting</c>.</param>
public sealed record ModbusWritable(string Actuator, ushort Address, ModbusValueFormat Format, double Scale, double Offset);

/// <summary>A Modbus device as a site-file entry describes it.</summary>
/// <param name="MaxGap">Unused registers a read may span to join two readings into one request (default 0: only adjacent ones).</param>
/// <param name="MaxRegistersPerRead">The most registers in one read (default and at most 125).</param>
public sealed record ModbusDeviceMap(EndPoint Endpoint, byte Unit, int MaxGap, int MaxRegistersPerRead, IReadOnlyList<ModbusPoint> Points, IReadOnlyList<ModbusWritable> Writable)
{
    /// <summary>The Modbus TCP port when the address gives none.</summary>
    public const int DefaultPort = 502;

    /// <summary>The index into <see cref="Points"/> of the register that reads the device's uptime in seconds
    /// (<c>uptime: true</c>), which tells a restart between two polls (<see cref="UptimeWatch"/>); null for none.</summary>
    public int? Uptime { get; init; }

    private static readonly Dictionary<string, ModbusRegisterTable> Tables = new(StringComparer.Ordinal)
    {
        ["holding"] = ModbusRegisterTable.Holding,
        ["input"] = ModbusRegisterTable.Input,
    };

    private static readonly Dictionary<string, ModbusDataType> Types = new(StringComparer.Ordinal)
    {
        ["int16"] = ModbusDataType.Int16,
        ["uint16"] = ModbusDataType.UInt16,
        ["int32"] = ModbusDataType.Int32,
        ["uint32"] = ModbusDataType.UInt32,
        ["float32"] = ModbusDataType.Float32,
        ["float64"] = ModbusDataType.Float64,
    };

    private static readonly Dictionary<string, ModbusOrder> Orders = new(StringComparer.Ordinal)
    {
        ["big"] = ModbusOrder.Big,
        ["little"] = ModbusOrder.Little,
    };

    /// <summary>Reads the protocol's fields of a site-file entry (<c>address</c>, <c>unit</c>, <c>max_gap</c>,
    /// <c>max_registers_per_read</c>, <c>registers</c>, <c>writable</c>); errors name file, line and field.</summary>
    public static ModbusDeviceMap Read(ConfigNode entry, Labels entryLabels)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(entryLabels);
        var endpoint = ParseEndpoint(entry.Required("address"));
        var unit = (byte)entry.Integer("unit", 1, 0, 255);
        var maxGap = entry.Integer("max_gap", 0, 0, ModbusLimits.MaxReadRegisters);
        var maxRegisters = entry.Integer("max_registers_per_read", ModbusLimits.MaxReadRegisters, 1, ModbusLimits.MaxReadRegisters);

        var points = new List<ModbusPoint>();
        int? uptime = null;
        var seen = new Dictionary<Labels, int>();
        var registers = entry.List("registers");
        for (var i = 0; i < registers.Count; i++)
        {
            var r = registers[i];
            var format = ReadFormat(r);
            var address = ReadAddress(r, format);
            var table = r.Enum("function", ModbusRegisterTable.Holding, Tables);
            var scale = r.NumberOr("scale", 1);
            var offset = r.NumberOr("offset", 0);
            var physicalUnit = r.OptionalString("unit");
            var metric = r.String("metric");
            if (!LabelRules.IsValidMetricName(metric))
            {
                throw r.Error("metric", $"'{metric}' is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
            }

            var labels = entryLabels;
            foreach (var pair in SiteLoader.ReadLabels(r, "labels").Pairs())
            {
                labels = labels.With(pair.Key, pair.Value);
            }

            labels = labels.With(Labels.MetricNameLabel, metric);
            if (seen.TryGetValue(labels, out var earlier))
            {
                throw r.Error("metric", string.Create(CultureInfo.InvariantCulture, $"registers[{earlier}] already gives {labels}"));
            }

            seen[labels] = i;
            if (r.Boolean("uptime", false))
            {
                if (uptime is { } first)
                {
                    throw r.Error("uptime", string.Create(CultureInfo.InvariantCulture, $"registers[{first}] already reads the device's uptime; an entry has one"));
                }

                uptime = i;
            }

            r.RejectUnknown();
            points.Add(new ModbusPoint(address, table, format, scale, offset, physicalUnit, labels));
        }

        var writable = new List<ModbusWritable>();
        var actuators = new HashSet<string>(StringComparer.Ordinal);
        var writes = entry.List("writable");
        for (var i = 0; i < writes.Count; i++)
        {
            var w = writes[i];
            var actuator = w.String("actuator");
            if (!actuators.Add(actuator))
            {
                throw w.Error("actuator", $"'{actuator}' is written by an earlier entry");
            }

            var format = ReadFormat(w);
            var address = ReadAddress(w, format);
            if (format.Registers > 1 && format.Registers > ModbusLimits.MaxWriteRegisters)
            {
                throw w.Error("type", "too many registers for one write");
            }

            var scale = w.NumberOr("scale", 1);
            if (scale == 0)
            {
                throw w.Error("scale", "must not be zero for a writable register");
            }

            var offset = w.NumberOr("offset", 0);
            w.RejectUnknown();
            writable.Add(new ModbusWritable(actuator, address, format, scale, offset));
        }

        if (points.Count == 0 && writable.Count == 0)
        {
            throw entry.Error("registers", "a modbus entry needs at least one register or writable setting");
        }

        return new ModbusDeviceMap(endpoint, unit, maxGap, maxRegisters, points, writable) { Uptime = uptime };
    }

    private static ModbusValueFormat ReadFormat(ConfigNode node) => new(
        node.Enum("type", ModbusDataType.UInt16, Types),
        node.Enum("word_order", ModbusOrder.Big, Orders),
        node.Enum("byte_order", ModbusOrder.Big, Orders));

    private static ushort ReadAddress(ConfigNode node, ModbusValueFormat format)
    {
        if (node.Optional("address") is null)
        {
            throw node.Error("address", "is required");
        }

        var address = node.Integer("address", 0, 0, 65535);
        if (address + format.Registers > 65536)
        {
            throw node.Error("address", string.Create(CultureInfo.InvariantCulture, $"a {format.Type} at {address} runs past register 65535"));
        }

        return (ushort)address;
    }

    /// <summary><c>host:port</c>, <c>ip:port</c> or <c>[ipv6]:port</c>; the port defaults to 502.</summary>
    private static EndPoint ParseEndpoint(ConfigNode node)
    {
        var text = node.Scalar().Trim();
        if (IPEndPoint.TryParse(text, out var ip))
        {
            return ip.Port == 0 && !text.EndsWith(":0", StringComparison.Ordinal) ? new IPEndPoint(ip.Address, DefaultPort) : ip;
        }

        var colon = text.LastIndexOf(':');
        var host = colon < 0 ? text : text[..colon];
        var port = DefaultPort;
        if (colon >= 0 && (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw node.Error($"'{text}' has no valid port (expected host:port)");
        }

        if (host.Length == 0 || Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            throw node.Error($"'{text}' is not a host:port address");
        }

        return new DnsEndPoint(host, port);
    }
}
