using System.Buffers.Binary;
using System.Globalization;

namespace Aida.Protocols.Modbus;

/// <summary>How a device lays a number out in 16-bit registers.</summary>
public enum ModbusDataType
{
    Int16,
    UInt16,
    Int32,
    UInt32,
    Float32,
    Float64,
}

/// <summary>Big (most significant first, the Modbus default) or little endian.</summary>
public enum ModbusOrder
{
    Big,
    Little,
}

/// <summary>A number's layout: its type, the order of its registers (<see cref="WordOrder"/>) and the order of the two
/// bytes inside each register (<see cref="ByteOrder"/>).</summary>
/// <remarks>Big/big is the specification's order ("ABCD"); word order little is the common "CDAB" of many meters; byte
/// order little swaps the bytes inside each register ("BADC").</remarks>
public readonly record struct ModbusValueFormat(ModbusDataType Type, ModbusOrder WordOrder = ModbusOrder.Big, ModbusOrder ByteOrder = ModbusOrder.Big)
{
    /// <summary>How many registers a value of <paramref name="type"/> takes.</summary>
    public static int RegistersOf(ModbusDataType type) => type switch
    {
        ModbusDataType.Int16 or ModbusDataType.UInt16 => 1,
        ModbusDataType.Int32 or ModbusDataType.UInt32 or ModbusDataType.Float32 => 2,
        _ => 4,
    };

    public int Registers => RegistersOf(Type);

    /// <summary>The value in the first <see cref="Registers"/> registers of <paramref name="registers"/>.</summary>
    public double Decode(ReadOnlySpan<ushort> registers)
    {
        Span<byte> bytes = stackalloc byte[8];
        var n = Registers;
        if (registers.Length < n)
        {
            throw new ArgumentException($"a {Type} takes {n} registers, {registers.Length} given", nameof(registers));
        }

        for (var i = 0; i < n; i++)
        {
            var word = registers[WordOrder == ModbusOrder.Big ? i : n - 1 - i];
            if (ByteOrder == ModbusOrder.Little)
            {
                word = BinaryPrimitives.ReverseEndianness(word);
            }

            BinaryPrimitives.WriteUInt16BigEndian(bytes[(2 * i)..], word);
        }

        return Type switch
        {
            ModbusDataType.Int16 => BinaryPrimitives.ReadInt16BigEndian(bytes),
            ModbusDataType.UInt16 => BinaryPrimitives.ReadUInt16BigEndian(bytes),
            ModbusDataType.Int32 => BinaryPrimitives.ReadInt32BigEndian(bytes),
            ModbusDataType.UInt32 => BinaryPrimitives.ReadUInt32BigEndian(bytes),
            ModbusDataType.Float32 => BinaryPrimitives.ReadSingleBigEndian(bytes),
            _ => BinaryPrimitives.ReadDoubleBigEndian(bytes),
        };
    }

    /// <summary>Lays <paramref name="value"/> out in <see cref="Registers"/> registers. Integer types take the nearest
    /// integer; a value outside the type's range (or NaN for an integer type) is refused with the reason in
    /// <paramref name="problem"/>.</summary>
    public bool TryEncode(double value, Span<ushort> registers, out string problem)
    {
        var n = Registers;
        if (registers.Length < n)
        {
            throw new ArgumentException($"a {Type} takes {n} registers, {registers.Length} given", nameof(registers));
        }

        Span<byte> bytes = stackalloc byte[8];
        var rounded = Math.Round(value, MidpointRounding.AwayFromZero);
        problem = "";
        switch (Type)
        {
            case ModbusDataType.Int16 when InRange(rounded, short.MinValue, short.MaxValue, out problem):
                BinaryPrimitives.WriteInt16BigEndian(bytes, (short)rounded);
                break;
            case ModbusDataType.UInt16 when InRange(rounded, ushort.MinValue, ushort.MaxValue, out problem):
                BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)rounded);
                break;
            case ModbusDataType.Int32 when InRange(rounded, int.MinValue, int.MaxValue, out problem):
                BinaryPrimitives.WriteInt32BigEndian(bytes, (int)rounded);
                break;
            case ModbusDataType.UInt32 when InRange(rounded, uint.MinValue, uint.MaxValue, out problem):
                BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)rounded);
                break;
            case ModbusDataType.Float32 when double.IsNaN(value) || double.IsInfinity(value) || Math.Abs(value) <= float.MaxValue:
                BinaryPrimitives.WriteSingleBigEndian(bytes, (float)value);
                break;
            case ModbusDataType.Float32:
                problem = string.Create(CultureInfo.InvariantCulture, $"{value} is outside the float32 range");
                return false;
            case ModbusDataType.Float64:
                BinaryPrimitives.WriteDoubleBigEndian(bytes, value);
                break;
            default:
                problem = $"{problem} for {Type}";
                return false;
        }

        for (var i = 0; i < n; i++)
        {
            var word = BinaryPrimitives.ReadUInt16BigEndian(bytes[(2 * i)..]);
            if (ByteOrder == ModbusOrder.Little)
            {
                word = BinaryPrimitives.ReverseEndianness(word);
            }

            registers[WordOrder == ModbusOrder.Big ? i : n - 1 - i] = word;
        }

        return true;
    }

    private static bool InRange(double value, double min, double max, out string problem)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"{value} is outside [{min}, {max}]");
            return false;
        }

        problem = "";
        return true;
    }
}
