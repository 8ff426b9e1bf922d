using Aida.Protocols.Modbus;
using Aida.Protocols.Tests.Peers;

namespace Aida.Protocols.Tests.Modbus;

/// <summary>The client against a real pymodbus 3.0 server (Peers/modbus_server.py documents its power-meter map).</summary>
public class ModbusPymodbusPeerTests
{
    [SkippableFact]
    public async Task Client_ReadsEveryTypeAndOrder_FromPymodbus()
    {
        using var peer = await ModbusPeer.StartAsync();
        await using var client = await ModbusTcpClient.ConnectAsync(peer.Endpoint);
        var read = await client.ReadRegistersAsync(1, ModbusRegisterTable.Input, 0, 21);
        Assert.True(read.Ok, read.Problem + "\n" + peer.Output());
        var r = read.Registers;

        Assert.Equal(2301, new ModbusValueFormat(ModbusDataType.UInt16).Decode(r.AsSpan(0)));
        Assert.Equal(-1234, new ModbusValueFormat(ModbusDataType.Int16).Decode(r.AsSpan(1)));
        Assert.Equal(-1_500_000, new ModbusValueFormat(ModbusDataType.Int32).Decode(r.AsSpan(2)));
        Assert.Equal(3_000_000_000, new ModbusValueFormat(ModbusDataType.UInt32, ModbusOrder.Little).Decode(r.AsSpan(4)));
        Assert.Equal(50.02f, (float)new ModbusValueFormat(ModbusDataType.Float32).Decode(r.AsSpan(6)));
        Assert.Equal(0.95f, (float)new ModbusValueFormat(ModbusDataType.Float32, ModbusOrder.Little).Decode(r.AsSpan(8)));
        Assert.Equal(123456.789, new ModbusValueFormat(ModbusDataType.Float64).Decode(r.AsSpan(10)));
        Assert.Equal(-0.5, new ModbusValueFormat(ModbusDataType.Float64, ModbusOrder.Little).Decode(r.AsSpan(14)));
        Assert.Equal(0x1234, new ModbusValueFormat(ModbusDataType.UInt16, ModbusOrder.Big, ModbusOrder.Little).Decode(r.AsSpan(18)));
        Assert.Equal(-7, new ModbusValueFormat(ModbusDataType.Int32, ModbusOrder.Little).Decode(r.AsSpan(19)));
    }

    [SkippableFact]
    public async Task Client_ReportsPymodbusExceptionAndDisconnect_AsResults()
    {
        using var peer = await ModbusPeer.StartAsync();
        await using var client = await ModbusTcpClient.ConnectAsync(peer.Endpoint);

        var hole = await client.ReadRegistersAsync(1, ModbusRegisterTable.Input, 100, 2);
        Assert.Equal(ModbusStatus.ExceptionResponse, hole.Status);
        Assert.Equal(ModbusExceptionCode.IllegalDataAddress, hole.Exception);
        Assert.True(client.Connected);

        var dropped = await client.ReadRegistersAsync(1, ModbusRegisterTable.Input, 150, 2).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(ModbusStatus.ConnectionLost, dropped.Status);
        Assert.False(client.Connected);

        await using var again = await ModbusTcpClient.ConnectAsync(peer.Endpoint);
        Assert.True((await again.ReadRegistersAsync(1, ModbusRegisterTable.Input, 0, 1)).Ok);
    }

    [SkippableFact]
    public async Task Client_WritesSingleAndMultiple_ToPymodbus_AndReadsThemBack()
    {
        using var peer = await ModbusPeer.StartAsync();
        await using var client = await ModbusTcpClient.ConnectAsync(peer.Endpoint);
        var setpoint = new ModbusValueFormat(ModbusDataType.Float32);
        Assert.Equal(22.5, setpoint.Decode((await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, 2, 2)).Registers));

        Assert.True((await client.WriteSingleRegisterAsync(1, 0, 3)).Ok);
        var words = new ushort[2];
        Assert.True(setpoint.TryEncode(19.25, words, out _));
        var written = await client.WriteMultipleRegistersAsync(1, 2, words);
        Assert.True(written.Ok, written.Problem);

        var back = await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, 0, 4);
        Assert.Equal((ushort)3, back.Registers[0]);
        Assert.Equal(19.25, setpoint.Decode(back.Registers.AsSpan(2)));
    }
}
