using System.Globalization;
using Aida.Protocols.Modbus;

namespace Aida.Telemetry.Collectors.Modbus;

/// <summary>Writes one setting of a Modbus device: function 6 for a one-register type, 16 for wider ones, then reads the
/// registers back and confirms they hold exactly what was written.</summary>
/// <remarks>Uses the collector's connection while it has one, else a connection of its own for the write.</remarks>
internal sealed class ModbusActuatorWriter(ModbusCollector collector, ModbusWritable writable) : IActuatorWriter
{
    public string Actuator => writable.Actuator;

    public async Task<ActuatorWriteOutcome> WriteAsync(double value, CancellationToken ct)
    {
        var registers = new ushort[writable.Format.Registers];
        var raw = (value - writable.Offset) / writable.Scale;
        if (!writable.Format.TryEncode(raw, registers, out var problem))
        {
            return new ActuatorWriteOutcome(false, double.NaN, $"{Actuator}: cannot encode {value.ToString(CultureInfo.InvariantCulture)}: {problem}");
        }

        var shared = collector.Client;
        ModbusTcpClient client;
        try
        {
            client = shared ?? await ModbusTcpClient.ConnectAsync(collector.Map.Endpoint, collector.ClientOptions, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or TimeoutException)
        {
            return new ActuatorWriteOutcome(false, double.NaN, $"{Actuator}: connecting to {collector.Map.Endpoint}: {e.Message}");
        }

        try
        {
            var unit = collector.Map.Unit;
            var written = registers.Length == 1
                ? await client.WriteSingleRegisterAsync(unit, writable.Address, registers[0], ct).ConfigureAwait(false)
                : await client.WriteMultipleRegistersAsync(unit, writable.Address, registers, ct).ConfigureAwait(false);
            if (!written.Ok)
            {
                return new ActuatorWriteOutcome(false, double.NaN, $"{Actuator}: write refused: {written.Problem}");
            }

            var back = await client.ReadRegistersAsync(unit, ModbusRegisterTable.Holding, writable.Address, (ushort)registers.Length, ct).ConfigureAwait(false);
            if (!back.Ok)
            {
                return new ActuatorWriteOutcome(false, double.NaN, $"{Actuator}: reading back failed: {back.Problem}");
            }

            var readBack = (writable.Format.Decode(back.Registers) * writable.Scale) + writable.Offset;
            return back.Registers.AsSpan().SequenceEqual(registers)
                ? new ActuatorWriteOutcome(true, readBack, null)
                : new ActuatorWriteOutcome(false, readBack, string.Create(CultureInfo.InvariantCulture, $"{Actuator}: wrote {value}, read back {readBack}"));
        }
        finally
        {
            if (shared is null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
