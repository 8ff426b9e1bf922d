using Aida.Model.Plant;
using Aida.Protocols.Modbus;

namespace Aida.Twin.Wire.Modbus;

/// <summary>Serves one asset's <see cref="PlantDeviceMap"/> from a plant: input registers read the plant's points when
/// asked, holding registers hold the last setting commanded and write through <see cref="IPlant.Write"/>.</summary>
/// <remarks>
/// Answers any unit id (a device alone on its address). A read may start and end anywhere inside the map; past its end it
/// is an illegal data address. A write must cover whole settings (a float32 takes both its registers in one function 16)
/// or it is an illegal data address; a value the plant refuses (out of range, not a number, or an on/off setting other
/// than 0 or 1) is an illegal data value and changes nothing. Before the first write, a setting reads as the plant's
/// point of the same name when there is one, else NaN (float32) or 65535 (uint16): not known. The uptime register reads
/// whole seconds since the bank was made or last <see cref="Restart">restarted</see>.
/// </remarks>
internal sealed class PlantRegisterBank : IModbusRegisterBank
{
    /// <summary>What an on/off setting reads before anything was written to it and the plant has no point of its name.</summary>
    public const ushort NotCommanded = 0xFFFF;

    private readonly IPlant _plant;
    private readonly PlantDeviceMap _map;
    private readonly ushort[] _holding;
    private readonly ushort[] _initialHolding;
    private readonly double[] _initial;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private long _started;

    public PlantRegisterBank(IPlant plant, PlantDeviceMap map, TimeProvider clock)
    {
        _plant = plant;
        _map = map;
        _clock = clock;
        _started = clock.GetTimestamp();
        _holding = new ushort[map.HoldingRegisters];
        _initial = new double[map.Holding.Count];
        for (var i = 0; i < map.Holding.Count; i++)
        {
            var s = map.Holding[i];
            var point = plant.Point(s.Actuator.Name);
            var initial = point >= 0 ? plant.Read(point).Value : double.NaN;
            _initial[i] = initial;
            var slot = _holding.AsSpan(s.Address, s.Format.Registers);
            if (double.IsNaN(initial) || !s.Format.TryEncode(initial, slot, out _))
            {
                if (s.Format.Type == ModbusDataType.UInt16)
                {
                    slot[0] = NotCommanded;
                }
                else
                {
                    s.Format.TryEncode(double.NaN, slot, out _);
                }
            }
        }

        _initialHolding = [.. _holding];
    }

    /// <summary>The device restarts, as a controller behind a gateway does (the connection is the gateway's and stays):
    /// its uptime starts again from 0 and its settings go back to those it had when served (a CDU's set point to the
    /// plant's at the start), written to the plant.</summary>
    public void Restart()
    {
        lock (_lock)
        {
            _started = _clock.GetTimestamp();
            _initialHolding.CopyTo(_holding, 0);
            for (var i = 0; i < _map.Holding.Count; i++)
            {
                if (!double.IsNaN(_initial[i]))
                {
                    _plant.Write(_map.Holding[i].Actuator.Index, _initial[i]);
                }
            }
        }
    }

    public ModbusExceptionCode Read(byte unit, ModbusRegisterTable table, ushort address, Span<ushort> values)
    {
        var end = address + values.Length;
        if (table == ModbusRegisterTable.Holding)
        {
            if (end > _holding.Length)
            {
                return ModbusExceptionCode.IllegalDataAddress;
            }

            lock (_lock)
            {
                _holding.AsSpan(address, values.Length).CopyTo(values);
            }

            return ModbusExceptionCode.None;
        }

        if (end > _map.InputRegisters)
        {
            return ModbusExceptionCode.IllegalDataAddress;
        }

        Span<ushort> slot = stackalloc ushort[4];
        foreach (var p in _map.Inputs)
        {
            var slotEnd = p.Address + p.Format.Registers;
            if (slotEnd <= address || p.Address >= end)
            {
                continue;
            }

            var value = _plant.Read(p.Point.Index).Value;
            p.Format.TryEncode(value, slot, out _);
            Copy(slot, p.Address, slotEnd, address, values);
        }

        var uptimeEnd = _map.UptimeAddress + PlantDeviceMap.UptimeFormat.Registers;
        if (_map.UptimeAddress < end && uptimeEnd > address)
        {
            long started;
            lock (_lock)
            {
                started = _started;
            }

            PlantDeviceMap.UptimeFormat.TryEncode(Math.Floor(_clock.GetElapsedTime(started).TotalSeconds), slot, out _);
            Copy(slot, _map.UptimeAddress, uptimeEnd, address, values);
        }

        return ModbusExceptionCode.None;
    }

    // The part of a value's registers (slotStart to slotEnd) that a read from readStart asks for.
    private static void Copy(ReadOnlySpan<ushort> slot, int slotStart, int slotEnd, int readStart, Span<ushort> values)
    {
        for (var r = Math.Max(slotStart, readStart); r < Math.Min(slotEnd, readStart + values.Length); r++)
        {
            values[r - readStart] = slot[r - slotStart];
        }
    }

    public ModbusExceptionCode Write(byte unit, ushort address, ReadOnlySpan<ushort> values)
    {
        var end = address + values.Length;
        var targets = new List<(ServedSetpoint Setpoint, double Value)>();
        int covered = address;
        foreach (var s in _map.Holding)
        {
            var slotEnd = s.Address + s.Format.Registers;
            if (slotEnd <= address || s.Address >= end)
            {
                continue;
            }

            if (s.Address < address || slotEnd > end || s.Address != covered)
            {
                return ModbusExceptionCode.IllegalDataAddress;
            }

            var value = s.Format.Decode(values[(s.Address - address)..]);
            var a = s.Actuator;
            if (double.IsNaN(value) || value < a.Min || value > a.Max || (a.Unit == "bool" && value is not (0 or 1)))
            {
                return ModbusExceptionCode.IllegalDataValue;
            }

            targets.Add((s, value));
            covered = slotEnd;
        }

        if (targets.Count == 0 || covered != end)
        {
            return ModbusExceptionCode.IllegalDataAddress;
        }

        foreach (var (s, value) in targets)
        {
            if (!_plant.Write(s.Actuator.Index, value).Ok)
            {
                return ModbusExceptionCode.IllegalDataValue;
            }

            lock (_lock)
            {
                values.Slice(s.Address - address, s.Format.Registers).CopyTo(_holding.AsSpan(s.Address));
            }
        }

        return ModbusExceptionCode.None;
    }
}
