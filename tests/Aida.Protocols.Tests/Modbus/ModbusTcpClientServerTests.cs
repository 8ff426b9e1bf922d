using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Aida.Protocols.Modbus;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Protocols.Tests.Modbus;

public class ModbusTcpClientServerTests
{
    // Real-time guard against a hang: a test fails rather than waits forever; never a timing assumption.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ReadsAndWrites_AgainstOwnServer()
    {
        var bank = new ModbusMemoryBank(1, 7);
        bank.Set(1, ModbusRegisterTable.Input, 10, [11, 12, 13]);
        await using var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), bank);
        server.Start();
        await using var client = await ModbusTcpClient.ConnectAsync(server.Endpoint);

        var read = await client.ReadRegistersAsync(1, ModbusRegisterTable.Input, 10, 3);
        Assert.True(read.Ok, read.Problem);
        Assert.Equal(new ushort[] { 11, 12, 13 }, read.Registers);

        Assert.True((await client.WriteSingleRegisterAsync(7, 5, 0xBEEF)).Ok);
        Assert.True((await client.WriteMultipleRegistersAsync(7, 6, [1, 2, 3])).Ok);
        var back = await client.ReadRegistersAsync(7, ModbusRegisterTable.Holding, 5, 4);
        Assert.Equal(new ushort[] { 0xBEEF, 1, 2, 3 }, back.Registers);

        // Unit 9 is not served; an address run past 65535 is illegal.
        var unknownUnit = await client.ReadRegistersAsync(9, ModbusRegisterTable.Input, 0, 1);
        Assert.Equal((ModbusStatus.ExceptionResponse, ModbusExceptionCode.GatewayTargetFailedToRespond), (unknownUnit.Status, unknownUnit.Exception));
        var pastTheEnd = await client.ReadRegistersAsync(1, ModbusRegisterTable.Input, 65530, 10);
        Assert.Equal(ModbusExceptionCode.IllegalDataAddress, pastTheEnd.Exception);
        Assert.True(client.Connected);
    }

    [Fact]
    public async Task BankRefusal_IsAnExceptionResponse_AndABankBug_IsDeviceFailure()
    {
        await using var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), new RefusingBank());
        server.Start();
        await using var client = await ModbusTcpClient.ConnectAsync(server.Endpoint);

        var refused = await client.WriteSingleRegisterAsync(1, 0, 99);
        Assert.Equal(ModbusStatus.ExceptionResponse, refused.Status);
        Assert.Equal(ModbusExceptionCode.IllegalDataValue, refused.Exception);
        Assert.Contains("03", refused.Problem, StringComparison.Ordinal);

        var failed = await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, 0, 1);
        Assert.Equal(ModbusExceptionCode.ServerDeviceFailure, failed.Exception);
        Assert.True(client.Connected);
    }

    [Fact]
    public async Task ManyRequestsInFlight_EachGetsItsOwnAnswer()
    {
        var bank = new ModbusMemoryBank(1);
        var values = Enumerable.Range(0, 1000).Select(i => (ushort)(i * 3)).ToArray();
        bank.Set(1, ModbusRegisterTable.Holding, 0, values);
        await using var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), bank);
        server.Start();
        await using var client = await ModbusTcpClient.ConnectAsync(server.Endpoint);

        var reads = Enumerable.Range(0, 500).Select(i => client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, (ushort)i, 2)).ToArray();
        var results = await Task.WhenAll(reads).WaitAsync(Guard);
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(new[] { values[i], values[i + 1] }, results[i].Registers);
        }
    }

    [Fact]
    public async Task AnswersOutOfOrder_AreMatchedByTransactionId()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            var first = await ReadRequestAsync(stream);
            var second = await ReadRequestAsync(stream);
            foreach (var r in new[] { second, first })
            {
                await stream.WriteAsync(ModbusCodec.EncodeResponse(ModbusResponse.ReadResult(r.TransactionId, r.Unit, r.Function, [r.Address])));
            }

            await WaitForCloseAsync(stream);
        });

        await using var client = await ModbusTcpClient.ConnectAsync(listener.LocalEndpoint);
        var a = client.ReadRegistersAsync(1, ModbusRegisterTable.Input, 100, 1);
        var b = client.ReadRegistersAsync(1, ModbusRegisterTable.Input, 200, 1);
        Assert.Equal((ushort)100, (await a.WaitAsync(Guard)).Registers[0]);
        Assert.Equal((ushort)200, (await b.WaitAsync(Guard)).Registers[0]);
        await client.DisposeAsync();
        await serving.WaitAsync(Guard);
    }

    [Fact]
    public async Task SilentDevice_TimesOutOnTheClock_AndALateAnswerIsDropped()
    {
        var clock = new FakeTimeProvider();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var received = new TaskCompletionSource<ModbusRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        var answerLate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serving = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            var request = await ReadRequestAsync(stream);
            received.SetResult(request);
            await answerLate.Task;
            await stream.WriteAsync(ModbusCodec.EncodeResponse(ModbusResponse.ReadResult(request.TransactionId, 1, request.Function, [1])));
            var next = await ReadRequestAsync(stream);
            await stream.WriteAsync(ModbusCodec.EncodeResponse(ModbusResponse.ReadResult(next.TransactionId, 1, next.Function, [2])));
            await WaitForCloseAsync(stream);
        });

        await using var client = await ModbusTcpClient.ConnectAsync(listener.LocalEndpoint, new ModbusClientOptions { Timeout = TimeSpan.FromSeconds(2), Clock = clock });
        var read = client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, 0, 1);
        await received.Task.WaitAsync(Guard);
        clock.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.False(read.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var result = await read.WaitAsync(Guard);
        Assert.Equal(ModbusStatus.Timeout, result.Status);
        Assert.Contains("within 2000 ms", result.Problem, StringComparison.Ordinal);

        // The late answer is dropped as unmatched; the connection still serves the next request.
        answerLate.SetResult();
        var next = await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, 0, 1).WaitAsync(Guard);
        Assert.Equal((ushort)2, next.Registers[0]);
        Assert.Equal(1, client.UnmatchedFrames);
        await client.DisposeAsync();
        await serving.WaitAsync(Guard);
    }

    [Fact]
    public async Task ConnectionClosedBeforeTheAnswer_IsConnectionLost_NotAHang()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            await ReadRequestAsync(peer.GetStream());
        });

        await using var client = await ModbusTcpClient.ConnectAsync(listener.LocalEndpoint);
        var result = await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, 0, 1).WaitAsync(Guard);
        Assert.Equal(ModbusStatus.ConnectionLost, result.Status);
        Assert.False(client.Connected);
        var after = await client.WriteSingleRegisterAsync(1, 0, 1).WaitAsync(Guard);
        Assert.Equal(ModbusStatus.ConnectionLost, after.Status);
        await serving.WaitAsync(Guard);
    }

    [Fact]
    public async Task RefusedConnection_ThrowsSocketException()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await Assert.ThrowsAsync<SocketException>(() => ModbusTcpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)));
    }

    [Fact]
    public async Task Server_AnswersBadRequestsWithExceptions_AndDropsBrokenFraming()
    {
        await using var server = new ModbusTcpServer(new IPEndPoint(IPAddress.Loopback, 0), new ModbusMemoryBank(1));
        server.Start();
        using var raw = new TcpClient();
        await raw.ConnectAsync(server.Endpoint);
        var stream = raw.GetStream();

        // Function 5 (write coil): 01 illegal function. A read of 200 registers: 03 illegal data value.
        await stream.WriteAsync(Convert.FromHexString("000100000006010500010000"));
        Assert.Equal(Convert.FromHexString("000100000003018501"), await ReadFrameAsync(stream));
        await stream.WriteAsync(Convert.FromHexString("0002000000060103000000C8"));
        Assert.Equal(Convert.FromHexString("000200000003018303"), await ReadFrameAsync(stream));

        // Protocol id 7: the framing is lost, the server closes the connection.
        await stream.WriteAsync(Convert.FromHexString("000300070006010300000001"));
        Assert.Equal(0, await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(Guard));
        Assert.Equal(3, server.MalformedRequests);
    }

    [Fact]
    public async Task GarbledAnswers_ThousandsOfThem_AreResultsNeverExceptions()
    {
        await using var garbage = GarbledModbusServer.Start(seed: 7);

        const int Requests = 3000;
        var statuses = new Dictionary<ModbusStatus, int>();
        ModbusTcpClient? client = null;
        try
        {
            for (var i = 0; i < Requests; i++)
            {
                if (client is null || !client.Connected)
                {
                    if (client is not null)
                    {
                        await client.DisposeAsync();
                    }

                    client = await ModbusTcpClient.ConnectAsync(garbage.Endpoint);
                }

                var count = (ushort)(1 + (i % 5));
                var result = await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, 0, count).WaitAsync(Guard);
                statuses[result.Status] = statuses.GetValueOrDefault(result.Status) + 1;
                if (result.Ok)
                {
                    Assert.Equal(count, result.Registers.Length);
                }
                else
                {
                    Assert.False(string.IsNullOrEmpty(result.Problem));
                }
            }
        }
        finally
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }
        }

        // Each answer is what it is: the few random PDUs that answer properly are results, every other one is malformed.
        Assert.Equal(garbage.ValidAnswers, statuses.GetValueOrDefault(ModbusStatus.Ok));
        Assert.Equal(garbage.ExceptionAnswers, statuses.GetValueOrDefault(ModbusStatus.ExceptionResponse));
        Assert.Equal(Requests - garbage.ValidAnswers - garbage.ExceptionAnswers, statuses.GetValueOrDefault(ModbusStatus.Malformed));
        Assert.True(statuses.GetValueOrDefault(ModbusStatus.Malformed) > Requests * 0.8, string.Join(", ", statuses));
    }

    private static async Task WaitForCloseAsync(Stream stream)
    {
        var buffer = new byte[64];
        while (await stream.ReadAsync(buffer) > 0)
        {
        }
    }

    private static async Task<ModbusRequest> ReadRequestAsync(Stream stream)
    {
        var decoded = ModbusCodec.DecodeRequest(await ReadFrameAsync(stream));
        Assert.True(decoded.Ok, decoded.Problem);
        return decoded.Message!;
    }

    private static async Task<byte[]> ReadFrameAsync(Stream stream)
    {
        var header = new byte[7];
        await stream.ReadExactlyAsync(header);
        var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
        var frame = new byte[6 + length];
        header.CopyTo(frame, 0);
        await stream.ReadExactlyAsync(frame.AsMemory(7));
        return frame;
    }

    private sealed class RefusingBank : IModbusRegisterBank
    {
        public ModbusExceptionCode Read(byte unit, ModbusRegisterTable table, ushort address, Span<ushort> values) =>
            throw new InvalidOperationException("a bank bug");

        public ModbusExceptionCode Write(byte unit, ushort address, ReadOnlySpan<ushort> values) => ModbusExceptionCode.IllegalDataValue;
    }
}
