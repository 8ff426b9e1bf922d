using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Aida.Protocols.Modbus;

namespace Aida.Protocols.Tests.Modbus;

/// <summary>A fake Modbus device on 127.0.0.1 for fuzz tests of the client path; shared with the collector tests.</summary>
internal sealed class GarbledModbusServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    private GarbledModbusServer(int seed)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _serving = Task.Run(() => ServeAsync(_listener, new Random(seed), _stop.Token));
    }

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Answers sent that are well-formed exception responses to their request (by chance of the random PDU).</summary>
    public int ExceptionAnswers => Volatile.Read(ref _exceptions);

    /// <summary>Answers sent that are well-formed normal answers to their request (by chance of the random PDU).</summary>
    public int ValidAnswers => Volatile.Read(ref _valid);

    private int _exceptions;
    private int _valid;

    public static GarbledModbusServer Start(int seed) => new(seed);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _serving;
        _stop.Dispose();
    }

    /// <summary>Answers every request with garbage: a correct header over a random PDU (the connection stays), or a
    /// truncated frame, or random bytes that are no MBAP header (then the connection is closed, as the client cannot
    /// resynchronise). A random PDU that happens to answer the request properly is counted, so a test can expect every
    /// other answer to be reported as malformed.</summary>
    private async Task ServeAsync(TcpListener listener, Random random, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient peer;
            try
            {
                peer = await listener.AcceptTcpClientAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            using (peer)
            {
                var stream = peer.GetStream();
                try
                {
                    while (true)
                    {
                        var request = await ReadRequestAsync(stream, ct);
                        var kind = random.Next(3);
                        byte[] frame;
                        if (kind == 0)
                        {
                            var pdu = new byte[random.Next(1, 20)];
                            random.NextBytes(pdu);
                            pdu[0] = (byte)(random.Next(4) == 0 ? 0x83 : random.Next(1, 20));
                            frame = new byte[7 + pdu.Length];
                            BinaryPrimitives.WriteUInt16BigEndian(frame, request.TransactionId);
                            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(4), (ushort)(pdu.Length + 1));
                            frame[6] = request.Unit;
                            pdu.CopyTo(frame, 7);
                            Classify(request, frame);
                        }
                        else if (kind == 1)
                        {
                            var whole = ModbusCodec.EncodeResponse(ModbusResponse.ReadResult(request.TransactionId, request.Unit, request.Function, new ushort[request.Count]));
                            frame = whole[..random.Next(1, whole.Length)];
                        }
                        else
                        {
                            frame = new byte[random.Next(1, 30)];
                            random.NextBytes(frame);
                            if (frame.Length > 2)
                            {
                                frame[2] |= 0x01;
                            }
                        }

                        await stream.WriteAsync(frame, ct);
                        if (kind != 0)
                        {
                            break;
                        }
                    }
                }
                catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException or SocketException)
                {
                }
            }
        }
    }

    private void Classify(ModbusRequest request, byte[] frame)
    {
        var decoded = ModbusCodec.DecodeResponse(frame);
        if (!decoded.Ok || decoded.Message!.Unit != request.Unit || decoded.Message.Function != request.Function)
        {
            return;
        }

        var r = decoded.Message;
        if (r.IsException)
        {
            Interlocked.Increment(ref _exceptions);
        }
        else if (r.Registers.Length == request.Count)
        {
            Interlocked.Increment(ref _valid);
        }
    }

    private static async Task<ModbusRequest> ReadRequestAsync(Stream stream, CancellationToken ct)
    {
        var header = new byte[7];
        await stream.ReadExactlyAsync(header, ct);
        var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
        var frame = new byte[6 + length];
        header.CopyTo(frame, 0);
        await stream.ReadExactlyAsync(frame.AsMemory(7), ct);
        return ModbusCodec.DecodeRequest(frame).Message ?? throw new InvalidDataException("the client sent a bad request");
    }
}
