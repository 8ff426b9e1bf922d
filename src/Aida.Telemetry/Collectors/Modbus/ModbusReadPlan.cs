using Aida.Protocols.Modbus;

namespace Aida.Telemetry.Collectors.Modbus;

/// <summary>One read request of a poll and the readings it carries (indexes into the device's points).</summary>
public sealed record ModbusReadBatch(ModbusRegisterTable Table, ushort Address, ushort Count, int[] Points);

/// <summary>Joins a device's readings into as few reads as possible: readings of one table, in address order, share a
/// read while the unused registers between them are at most the gap allowed and the read stays within the register
/// limit (a single reading wider than the limit still gets its own read).</summary>
public static class ModbusReadPlan
{
    public static IReadOnlyList<ModbusReadBatch> Plan(IReadOnlyList<ModbusPoint> points, int maxGap, int maxRegisters)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentOutOfRangeException.ThrowIfNegative(maxGap);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRegisters, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxRegisters, ModbusLimits.MaxReadRegisters);
        var batches = new List<ModbusReadBatch>();
        foreach (var table in (ReadOnlySpan<ModbusRegisterTable>)[ModbusRegisterTable.Holding, ModbusRegisterTable.Input])
        {
            var order = Enumerable.Range(0, points.Count).Where(i => points[i].Table == table)
                .OrderBy(i => points[i].Address).ThenBy(i => i).ToList();
            var members = new List<int>();
            int start = 0, end = 0;
            foreach (var i in order)
            {
                var p = points[i];
                if (members.Count > 0 && p.Address - end <= maxGap && Math.Max(end, p.End) - start <= maxRegisters)
                {
                    members.Add(i);
                    end = Math.Max(end, p.End);
                    continue;
                }

                if (members.Count > 0)
                {
                    batches.Add(new ModbusReadBatch(table, (ushort)start, (ushort)(end - start), [.. members]));
                }

                members.Clear();
                members.Add(i);
                start = p.Address;
                end = p.End;
            }

            if (members.Count > 0)
            {
                batches.Add(new ModbusReadBatch(table, (ushort)start, (ushort)(end - start), [.. members]));
            }
        }

        return batches;
    }
}
