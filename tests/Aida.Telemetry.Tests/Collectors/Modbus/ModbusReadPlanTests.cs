using Aida.Protocols.Modbus;
using Aida.Telemetry.Collectors.Modbus;
using Aida.Telemetry.Series;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Telemetry.Tests.Collectors.Modbus;

public class ModbusReadPlanTests
{
    private static ModbusPoint Point(int address, ModbusDataType type, ModbusRegisterTable table = ModbusRegisterTable.Input) =>
        new((ushort)address, table, new ModbusValueFormat(type), 1, 0, null, Labels.Metric("m", ("a", address.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    [Fact]
    public void AdjacentReadings_ShareARead_GapsAndTablesSplit()
    {
        ModbusPoint[] points =
        [
            Point(0, ModbusDataType.Float32), Point(2, ModbusDataType.UInt16), Point(3, ModbusDataType.Float64),
            Point(10, ModbusDataType.Int16),
            Point(0, ModbusDataType.UInt16, ModbusRegisterTable.Holding),
        ];
        var plan = ModbusReadPlan.Plan(points, maxGap: 0, maxRegisters: 125);
        Assert.Equal(
            [(ModbusRegisterTable.Holding, 0, 1), (ModbusRegisterTable.Input, 0, 7), (ModbusRegisterTable.Input, 10, 1)],
            plan.Select(b => (b.Table, (int)b.Address, (int)b.Count)));

        // A gap of 3 unused registers (7..9) joins the last input reading when allowed.
        var joined = ModbusReadPlan.Plan(points, maxGap: 3, maxRegisters: 125);
        Assert.Equal((0, 11), (joined[1].Address, joined[1].Count));
        Assert.Equal([0, 1, 2, 3], joined[1].Points);
    }

    [Fact]
    public void TwoHundredAdjacentRegisters_AreSplitAt125()
    {
        var points = Enumerable.Range(0, 200).Select(a => Point(a, ModbusDataType.UInt16)).ToArray();
        var plan = ModbusReadPlan.Plan(points, 0, 125);
        Assert.Equal([(0, 125), (125, 75)], plan.Select(b => ((int)b.Address, (int)b.Count)));
    }

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property EveryReadingIsInExactlyOneReadThatCoversIt() =>
        Prop.ForAll(
            Gen.Choose(0, 300).Two().Select(t => (Address: t.Item1, Type: (ModbusDataType)(t.Item2 % 6))).ListOf().ToArbitrary(),
            Gen.Choose(0, 10).ToArbitrary(),
            Gen.Choose(1, 125).ToArbitrary(),
            (specs, gap, max) =>
            {
                var points = specs.Select((s, i) => Point(s.Address, s.Type, i % 3 == 0 ? ModbusRegisterTable.Holding : ModbusRegisterTable.Input)).ToArray();
                var plan = ModbusReadPlan.Plan(points, gap, max);
                var seen = plan.SelectMany(b => b.Points).Order().ToArray();
                var covered = plan.All(b => b.Points.All(i => points[i].Table == b.Table && points[i].Address >= b.Address && points[i].End <= b.Address + b.Count));
                var withinLimit = plan.All(b => b.Count <= max || b.Points.Length == 1);
                return seen.SequenceEqual(Enumerable.Range(0, points.Length)) && covered && withinLimit;
            });
}
