namespace Aida.Protocols.Modbus;

/// <summary>The registers a <see cref="ModbusTcpServer"/> serves: holding and input registers per unit id.</summary>
/// <remarks>Called from every connection's task at once: implementations must be thread-safe. Returning an exception code
/// (e.g. <see cref="ModbusExceptionCode.IllegalDataAddress"/> for an unmapped address, <see cref="ModbusExceptionCode.IllegalDataValue"/>
/// for a refused write) answers the request with that exception response.</remarks>
public interface IModbusRegisterBank
{
    /// <summary>Fills <paramref name="values"/> with the registers from <paramref name="address"/> on.</summary>
    ModbusExceptionCode Read(byte unit, ModbusRegisterTable table, ushort address, Span<ushort> values);

    /// <summary>Writes holding registers from <paramref name="address"/> on (function 6 writes one, 16 several); all or
    /// nothing.</summary>
    ModbusExceptionCode Write(byte unit, ushort address, ReadOnlySpan<ushort> values);
}

/// <summary>A register bank in memory: all 65,536 holding and input registers of each unit id given, zero at first.
/// Requests to any other unit id are answered with <see cref="ModbusExceptionCode.GatewayTargetFailedToRespond"/>.</summary>
public sealed class ModbusMemoryBank : IModbusRegisterBank
{
    private readonly Dictionary<byte, (ushort[] Holding, ushort[] Input)> _units = [];

    public ModbusMemoryBank(params byte[] units)
    {
        ArgumentNullException.ThrowIfNull(units);
        foreach (var unit in units)
        {
            _units[unit] = (new ushort[65536], new ushort[65536]);
        }
    }

    public void Set(byte unit, ModbusRegisterTable table, ushort address, ReadOnlySpan<ushort> values)
    {
        var (holding, input) = _units[unit];
        lock (holding)
        {
            values.CopyTo((table == ModbusRegisterTable.Holding ? holding : input).AsSpan(address));
        }
    }

    public ModbusExceptionCode Read(byte unit, ModbusRegisterTable table, ushort address, Span<ushort> values)
    {
        if (!_units.TryGetValue(unit, out var tables))
        {
            return ModbusExceptionCode.GatewayTargetFailedToRespond;
        }

        if (address + values.Length > 65536)
        {
            return ModbusExceptionCode.IllegalDataAddress;
        }

        lock (tables.Holding)
        {
            (table == ModbusRegisterTable.Holding ? tables.Holding : tables.Input).AsSpan(address, values.Length).CopyTo(values);
        }

        return ModbusExceptionCode.None;
    }

    public ModbusExceptionCode Write(byte unit, ushort address, ReadOnlySpan<ushort> values)
    {
        if (!_units.TryGetValue(unit, out var tables))
        {
            return ModbusExceptionCode.GatewayTargetFailedToRespond;
        }

        if (address + values.Length > 65536)
        {
            return ModbusExceptionCode.IllegalDataAddress;
        }

        lock (tables.Holding)
        {
            values.CopyTo(tables.Holding.AsSpan(address));
        }

        return ModbusExceptionCode.None;
    }
}
