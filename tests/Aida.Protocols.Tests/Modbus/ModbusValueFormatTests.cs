using Aida.Protocols.Modbus;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Protocols.Tests.Modbus;

public class ModbusValueFormatTests
{
    private static readonly Gen<ModbusValueFormat> Formats =
        from type in Gen.Elements(Enum.GetValues<ModbusDataType>())
        from words in Gen.Elements(ModbusOrder.Big, ModbusOrder.Little)
        from bytes in Gen.Elements(ModbusOrder.Big, ModbusOrder.Little)
        select new ModbusValueFormat(type, words, bytes);

    [Property(MaxTest = 2000, Replay = "1234567890123456789,987654321987654321")]
    public Property EncodeDecode_RoundTripsEveryRepresentableValue() =>
        Prop.ForAll(Formats.ToArbitrary(), Gen.Choose(int.MinValue, int.MaxValue).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (format, whole, fraction) =>
        {
            double value = format.Type switch
            {
                ModbusDataType.Int16 => (short)whole,
                ModbusDataType.UInt16 => (ushort)whole,
                ModbusDataType.Int32 => whole,
                ModbusDataType.UInt32 => (uint)whole,
                ModbusDataType.Float32 => (float)(whole / 1000.0 + fraction / 1e6),
                _ => whole + fraction / 1e6,
            };
            var registers = new ushort[format.Registers];
            return format.TryEncode(value, registers, out _) && format.Decode(registers).Equals(value);
        });

    [Theory]
    // 50.02 as float32 is 0x4248147B: "ABCD", "CDAB", "BADC", "DCBA".
    [InlineData(ModbusOrder.Big, ModbusOrder.Big, new ushort[] { 0x4248, 0x147B })]
    [InlineData(ModbusOrder.Little, ModbusOrder.Big, new ushort[] { 0x147B, 0x4248 })]
    [InlineData(ModbusOrder.Big, ModbusOrder.Little, new ushort[] { 0x4842, 0x7B14 })]
    [InlineData(ModbusOrder.Little, ModbusOrder.Little, new ushort[] { 0x7B14, 0x4842 })]
    public void Float32_LaysOutInTheFourCommonOrders(ModbusOrder word, ModbusOrder bytes, ushort[] expected)
    {
        var format = new ModbusValueFormat(ModbusDataType.Float32, word, bytes);
        var registers = new ushort[2];
        Assert.True(format.TryEncode(50.02f, registers, out _));
        Assert.Equal(expected, registers);
        Assert.Equal(50.02f, (float)format.Decode(expected));
    }

    [Theory]
    // Out of range for the type.
    [InlineData(ModbusDataType.Int16, 40000)]
    [InlineData(ModbusDataType.UInt16, -1)]
    [InlineData(ModbusDataType.UInt32, 5e9)]
    [InlineData(ModbusDataType.Int32, double.NaN)]
    [InlineData(ModbusDataType.Float32, 1e39)]
    public void TryEncode_RefusesWhatTheTypeCannotHold(ModbusDataType type, double value)
    {
        var registers = new ushort[4];
        Assert.False(new ModbusValueFormat(type).TryEncode(value, registers, out var problem));
        Assert.Contains(value.ToString(System.Globalization.CultureInfo.InvariantCulture), problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryEncode_IntegerTypes_TakeTheNearestInteger()
    {
        var registers = new ushort[1];
        Assert.True(new ModbusValueFormat(ModbusDataType.Int16).TryEncode(-12.5, registers, out _));
        Assert.Equal(-13, (short)registers[0]);
    }
}
