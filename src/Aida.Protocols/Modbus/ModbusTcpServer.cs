using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Aida.Protocols.Modbus;

/// <summary>A Modbus TCP server: answers function codes 3, 4, 6 and 16 from an <see cref="IModbusRegisterBank"/>, any
/// number of connections, one request at a time per connection.</summary>
/// <remarks>
/// A request it cannot decode but whose framing holds is answered with an exception response as the specification asks
/// (01 illegal function for an unknown function code, 03 illegal data value for a bad count or byte count); a header that
/// breaks the framing closes that connection. Both are counted in <see cref="MalformedRequests"/>. A bank that throws is
/// answered with 04 server device failure.
/// </remarks>
public sealed class ModbusTcpServer : IAsyncDisposable
{
    private readonly IPEndPoint _endpoint;
    private readonly IModbusRegisterBank _bank;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<TcpClient, Task> _connections = new();
    private TcpListener? _listener;
    private Task? _accepting;
    private long _malformed;
    private long _requests;

    public ModbusTcpServer(IPEndPoint endpoint, IModbusRegisterBank bank)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(bank);
        _endpoint = endpoint;
        _bank = bank;
    }

    /// <summary>The bound address once started (with the port the system chose when port 0 was asked for).</summary>
    public IPEndPoint Endpoint => (IPEndPoint?)_listener?.LocalEndpoint ?? _endpoint;

    /// <summary>Requests that could not be decoded.</summary>
    public long MalformedRequests => Interlocked.Read(ref _malformed);

    /// <summary>Requests answered (normally or with an exception response).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Open connections.</summary>
    public int Connections => _connections.Count;

    /// <summary>Binds the endpoint and starts accepting connections.</summary>
    /// <exception cref="SocketException">The address is in use or cannot be bound.</exception>
    public void Start()
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("the server is already started");
        }

        var listener = new TcpListener(_endpoint);
        listener.Start(1024);
        _listener = listener;
        _accepting = AcceptAsync(listener);
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            client.NoDelay = true;

            // Registered before it runs, so a connection that ends at once is still removed.
            _connections[client] = Task.CompletedTask;
            _connections.TryUpdate(client, ServeAsync(client), Task.CompletedTask);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        await Task.Yield();
        var buffer = new byte[ModbusLimits.MaxFrameLength];
        var answer = new byte[ModbusLimits.MaxFrameLength];
        try
        {
            var stream = client.GetStream();
            while (!_stop.IsCancellationRequested)
            {
                var got = await stream.ReadAtLeastAsync(buffer.AsMemory(0, ModbusLimits.HeaderLength), ModbusLimits.HeaderLength, throwOnEndOfStream: false, _stop.Token).ConfigureAwait(false);
                if (got < ModbusLimits.HeaderLength)
                {
                    if (got > 0)
                    {
                        Interlocked.Increment(ref _malformed);
                    }

                    return;
                }

                if (ModbusCodec.CheckHeader(buffer, out var length, out _) != ModbusFrameError.None)
                {
                    Interlocked.Increment(ref _malformed);
                    return;
                }

                var rest = length - ModbusLimits.HeaderLength;
                got = await stream.ReadAtLeastAsync(buffer.AsMemory(ModbusLimits.HeaderLength, rest), rest, throwOnEndOfStream: false, _stop.Token).ConfigureAwait(false);
                if (got < rest)
                {
                    Interlocked.Increment(ref _malformed);
                    return;
                }

                var response = Answer(buffer.AsSpan(0, length));
                var n = ModbusCodec.EncodeResponse(response, answer);
                // Counted before the answer leaves: a client that has its answer must find it counted (counted after,
                // a test reading the count on its second poll's answer saw 3 of 4 on a loaded machine).
                Interlocked.Increment(ref _requests);
                await stream.WriteAsync(answer.AsMemory(0, n), _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or OperationCanceledException)
        {
            // The client went away or the server is stopping: nothing to answer.
        }
        finally
        {
            _connections.TryRemove(client, out _);
            client.Dispose();
        }
    }

    private ModbusResponse Answer(ReadOnlySpan<byte> frame)
    {
        var decoded = ModbusCodec.DecodeRequest(frame);
        if (!decoded.Ok)
        {
            Interlocked.Increment(ref _malformed);
            var code = decoded.Error == ModbusFrameError.UnknownFunction ? ModbusExceptionCode.IllegalFunction : ModbusExceptionCode.IllegalDataValue;
            return ModbusResponse.Failure((ushort)decoded.TransactionId, frame[6], (ModbusFunction)(frame[ModbusLimits.HeaderLength] & 0x7F), code);
        }

        var r = decoded.Message!;
        try
        {
            switch (r.Function)
            {
                case ModbusFunction.ReadHoldingRegisters or ModbusFunction.ReadInputRegisters:
                {
                    if (r.Address + r.Count > 65536)
                    {
                        return ModbusResponse.Failure(r.TransactionId, r.Unit, r.Function, ModbusExceptionCode.IllegalDataAddress);
                    }

                    var registers = new ushort[r.Count];
                    var table = r.Function == ModbusFunction.ReadHoldingRegisters ? ModbusRegisterTable.Holding : ModbusRegisterTable.Input;
                    var code = _bank.Read(r.Unit, table, r.Address, registers);
                    return code == ModbusExceptionCode.None
                        ? ModbusResponse.ReadResult(r.TransactionId, r.Unit, r.Function, registers)
                        : ModbusResponse.Failure(r.TransactionId, r.Unit, r.Function, code);
                }

                default:
                {
                    if (r.Address + r.Values.Length > 65536)
                    {
                        return ModbusResponse.Failure(r.TransactionId, r.Unit, r.Function, ModbusExceptionCode.IllegalDataAddress);
                    }

                    var code = _bank.Write(r.Unit, r.Address, r.Values);
                    return code == ModbusExceptionCode.None
                        ? new ModbusResponse(r.TransactionId, r.Unit, r.Function, ModbusExceptionCode.None, r.Address, r.Count, r.Function == ModbusFunction.WriteSingleRegister ? r.Values : [])
                        : ModbusResponse.Failure(r.TransactionId, r.Unit, r.Function, code);
                }
            }
        }
#pragma warning disable CA1031 // A bank's bug is the device's failure, answered as such, not the end of the connection.
        catch (Exception)
#pragma warning restore CA1031
        {
            return ModbusResponse.Failure(r.TransactionId, r.Unit, r.Function, ModbusExceptionCode.ServerDeviceFailure);
        }
    }

    /// <summary>Stops accepting, closes every connection and waits for their tasks.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener?.Stop();
        if (_accepting is not null)
        {
            await _accepting.ConfigureAwait(false);
        }

        foreach (var client in _connections.Keys)
        {
            client.Dispose();
        }

        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        _stop.Dispose();
    }
}
