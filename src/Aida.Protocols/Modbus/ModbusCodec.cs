using System.Buffers.Binary;
using System.Globalization;

namespace Aida.Protocols.Modbus;

/// <summary>Encodes and decodes Modbus TCP frames: the MBAP header (transaction id, protocol id 0, length, unit id) and
/// the PDU of function codes 3, 4, 6 and 16 and of exception responses (function code with bit 7 set).</summary>
/// <remarks>Decoders take one whole frame and never throw on its bytes: they return <see cref="ModbusDecoded{T}"/>
/// naming the <see cref="ModbusFrameError"/>. On a stream, <see cref="CheckHeader"/> tells how long the frame is.</remarks>
public static class ModbusCodec
{
    /// <summary>Checks the first <see cref="ModbusLimits.HeaderLength"/> bytes of a frame on a stream and gives the
    /// length of the whole frame. A failure means the stream has lost its framing: the connection must be closed.</summary>
    public static ModbusFrameError CheckHeader(ReadOnlySpan<byte> header, out int frameLength, out string problem)
    {
        frameLength = 0;
        if (header.Length < ModbusLimits.HeaderLength)
        {
            problem = Invariant($"header of {header.Length} bytes, below {ModbusLimits.HeaderLength}");
            return ModbusFrameError.ShortFrame;
        }

        var protocol = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        if (protocol != 0)
        {
            problem = Invariant($"protocol id {protocol}, not 0 (Modbus)");
            return ModbusFrameError.BadProtocolId;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(header[4..]);
        if (length < 2 || length > ModbusLimits.MaxPduLength + 1)
        {
            problem = Invariant($"MBAP length {length} outside 2..{ModbusLimits.MaxPduLength + 1}");
            return ModbusFrameError.LengthOutOfRange;
        }

        frameLength = 6 + length;
        problem = "";
        return ModbusFrameError.None;
    }

    /// <summary>Writes a request frame into <paramref name="destination"/> (at least <see cref="ModbusLimits.MaxFrameLength"/>
    /// bytes for any request) and returns its length.</summary>
    public static int EncodeRequest(ModbusRequest request, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(request);
        var pdu = destination[ModbusLimits.HeaderLength..];
        pdu[0] = (byte)request.Function;
        BinaryPrimitives.WriteUInt16BigEndian(pdu[1..], request.Address);
        int pduLength;
        switch (request.Function)
        {
            case ModbusFunction.ReadHoldingRegisters or ModbusFunction.ReadInputRegisters:
                BinaryPrimitives.WriteUInt16BigEndian(pdu[3..], request.Count);
                pduLength = 5;
                break;
            case ModbusFunction.WriteSingleRegister:
                BinaryPrimitives.WriteUInt16BigEndian(pdu[3..], request.Values[0]);
                pduLength = 5;
                break;
            case ModbusFunction.WriteMultipleRegisters:
                if (request.Values.Length is 0 or > ModbusLimits.MaxWriteRegisters)
                {
                    throw new ArgumentException(Invariant($"a write multiple carries 1..{ModbusLimits.MaxWriteRegisters} registers, not {request.Values.Length}"), nameof(request));
                }

                BinaryPrimitives.WriteUInt16BigEndian(pdu[3..], (ushort)request.Values.Length);
                pdu[5] = (byte)(2 * request.Values.Length);
                WriteRegisters(request.Values, pdu[6..]);
                pduLength = 6 + (2 * request.Values.Length);
                break;
            default:
                throw new ArgumentException($"function {request.Function} is not supported", nameof(request));
        }

        WriteHeader(destination, request.TransactionId, request.Unit, pduLength);
        return ModbusLimits.HeaderLength + pduLength;
    }

    /// <summary>Writes a response frame and returns its length.</summary>
    public static int EncodeResponse(ModbusResponse response, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(response);
        var pdu = destination[ModbusLimits.HeaderLength..];
        int pduLength;
        if (response.IsException)
        {
            pdu[0] = (byte)((byte)response.Function | 0x80);
            pdu[1] = (byte)response.Exception;
            pduLength = 2;
        }
        else
        {
            pdu[0] = (byte)response.Function;
            switch (response.Function)
            {
                case ModbusFunction.ReadHoldingRegisters or ModbusFunction.ReadInputRegisters:
                    if (response.Registers.Length is 0 or > ModbusLimits.MaxReadRegisters)
                    {
                        throw new ArgumentException(Invariant($"a read answers 1..{ModbusLimits.MaxReadRegisters} registers, not {response.Registers.Length}"), nameof(response));
                    }

                    pdu[1] = (byte)(2 * response.Registers.Length);
                    WriteRegisters(response.Registers, pdu[2..]);
                    pduLength = 2 + (2 * response.Registers.Length);
                    break;
                case ModbusFunction.WriteSingleRegister:
                    BinaryPrimitives.WriteUInt16BigEndian(pdu[1..], response.Address);
                    BinaryPrimitives.WriteUInt16BigEndian(pdu[3..], response.Registers[0]);
                    pduLength = 5;
                    break;
                case ModbusFunction.WriteMultipleRegisters:
                    BinaryPrimitives.WriteUInt16BigEndian(pdu[1..], response.Address);
                    BinaryPrimitives.WriteUInt16BigEndian(pdu[3..], response.Count);
                    pduLength = 5;
                    break;
                default:
                    throw new ArgumentException($"function {response.Function} is not supported", nameof(response));
            }
        }

        WriteHeader(destination, response.TransactionId, response.Unit, pduLength);
        return ModbusLimits.HeaderLength + pduLength;
    }

    public static byte[] EncodeRequest(ModbusRequest request)
    {
        Span<byte> buffer = stackalloc byte[ModbusLimits.MaxFrameLength];
        return buffer[..EncodeRequest(request, buffer)].ToArray();
    }

    public static byte[] EncodeResponse(ModbusResponse response)
    {
        Span<byte> buffer = stackalloc byte[ModbusLimits.MaxFrameLength];
        return buffer[..EncodeResponse(response, buffer)].ToArray();
    }

    /// <summary>Decodes one whole request frame (as a server receives it).</summary>
    public static ModbusDecoded<ModbusRequest> DecodeRequest(ReadOnlySpan<byte> frame)
    {
        var header = CheckFrame(frame, out var tid, out var unit, out var problem);
        if (header != ModbusFrameError.None)
        {
            return ModbusDecoded<ModbusRequest>.Fail(header, problem, tid);
        }

        var pdu = frame[ModbusLimits.HeaderLength..];
        var code = pdu[0];
        switch (code)
        {
            case (byte)ModbusFunction.ReadHoldingRegisters or (byte)ModbusFunction.ReadInputRegisters:
            {
                if (pdu.Length != 5)
                {
                    return ModbusDecoded<ModbusRequest>.Fail(ModbusFrameError.PduLengthMismatch, Invariant($"function {code} request of {pdu.Length} bytes, not 5"), tid);
                }

                var address = BinaryPrimitives.ReadUInt16BigEndian(pdu[1..]);
                var count = BinaryPrimitives.ReadUInt16BigEndian(pdu[3..]);
                if (count is 0 or > ModbusLimits.MaxReadRegisters)
                {
                    return ModbusDecoded<ModbusRequest>.Fail(ModbusFrameError.QuantityOutOfRange, Invariant($"read of {count} registers, outside 1..{ModbusLimits.MaxReadRegisters}"), tid);
                }

                return ModbusDecoded<ModbusRequest>.Success(new ModbusRequest(Tid16(tid), unit, (ModbusFunction)code, address, count, []));
            }

            case (byte)ModbusFunction.WriteSingleRegister:
            {
                if (pdu.Length != 5)
                {
                    return ModbusDecoded<ModbusRequest>.Fail(ModbusFrameError.PduLengthMismatch, Invariant($"write single request of {pdu.Length} bytes, not 5"), tid);
                }

                var address = BinaryPrimitives.ReadUInt16BigEndian(pdu[1..]);
                var value = BinaryPrimitives.ReadUInt16BigEndian(pdu[3..]);
                return ModbusDecoded<ModbusRequest>.Success(ModbusRequest.WriteSingle(Tid16(tid), unit, address, value));
            }

            case (byte)ModbusFunction.WriteMultipleRegisters:
            {
                if (pdu.Length < 6)
                {
                    return ModbusDecoded<ModbusRequest>.Fail(ModbusFrameError.PduLengthMismatch, Invariant($"write multiple request of {pdu.Length} bytes, below 6"), tid);
                }

                var address = BinaryPrimitives.ReadUInt16BigEndian(pdu[1..]);
                var count = BinaryPrimitives.ReadUInt16BigEndian(pdu[3..]);
                var bytes = pdu[5];
                if (count is 0 or > ModbusLimits.MaxWriteRegisters)
                {
                    return ModbusDecoded<ModbusRequest>.Fail(ModbusFrameError.QuantityOutOfRange, Invariant($"write of {count} registers, outside 1..{ModbusLimits.MaxWriteRegisters}"), tid);
                }

                if (bytes != 2 * count || pdu.Length - 6 != bytes)
                {
                    return ModbusDecoded<ModbusRequest>.Fail(ModbusFrameError.ByteCountMismatch, Invariant($"write of {count} registers with byte count {bytes} and {pdu.Length - 6} data bytes"), tid);
                }

                return ModbusDecoded<ModbusRequest>.Success(ModbusRequest.WriteMultiple(Tid16(tid), unit, address, ReadRegisters(pdu.Slice(6, bytes))));
            }

            default:
                return ModbusDecoded<ModbusRequest>.Fail(ModbusFrameError.UnknownFunction, Invariant($"function code {code} is not supported"), tid);
        }
    }

    /// <summary>Decodes one whole response frame (as a client receives it). It checks the frame on its own; that it answers
    /// the request with its transaction id is the client's check.</summary>
    public static ModbusDecoded<ModbusResponse> DecodeResponse(ReadOnlySpan<byte> frame)
    {
        var header = CheckFrame(frame, out var tid, out var unit, out var problem);
        if (header != ModbusFrameError.None)
        {
            return ModbusDecoded<ModbusResponse>.Fail(header, problem, tid);
        }

        var pdu = frame[ModbusLimits.HeaderLength..];
        var code = pdu[0];
        var function = (byte)(code & 0x7F);
        if (function is not ((byte)ModbusFunction.ReadHoldingRegisters or (byte)ModbusFunction.ReadInputRegisters
            or (byte)ModbusFunction.WriteSingleRegister or (byte)ModbusFunction.WriteMultipleRegisters))
        {
            return ModbusDecoded<ModbusResponse>.Fail(ModbusFrameError.UnknownFunction, Invariant($"function code {code} is not supported"), tid);
        }

        if ((code & 0x80) != 0)
        {
            if (pdu.Length != 2)
            {
                return ModbusDecoded<ModbusResponse>.Fail(ModbusFrameError.PduLengthMismatch, Invariant($"exception response of {pdu.Length} bytes, not 2"), tid);
            }

            if (pdu[1] == 0)
            {
                return ModbusDecoded<ModbusResponse>.Fail(ModbusFrameError.UnexpectedResponse, "exception response with exception code 0", tid);
            }

            return ModbusDecoded<ModbusResponse>.Success(ModbusResponse.Failure(Tid16(tid), unit, (ModbusFunction)function, (ModbusExceptionCode)pdu[1]));
        }

        switch ((ModbusFunction)function)
        {
            case ModbusFunction.ReadHoldingRegisters or ModbusFunction.ReadInputRegisters:
            {
                if (pdu.Length < 2)
                {
                    return ModbusDecoded<ModbusResponse>.Fail(ModbusFrameError.PduLengthMismatch, "read response without a byte count", tid);
                }

                var bytes = pdu[1];
                if (bytes != pdu.Length - 2 || bytes % 2 != 0 || bytes == 0 || bytes > 2 * ModbusLimits.MaxReadRegisters)
                {
                    return ModbusDecoded<ModbusResponse>.Fail(ModbusFrameError.ByteCountMismatch, Invariant($"read response with byte count {bytes} and {pdu.Length - 2} data bytes"), tid);
                }

                return ModbusDecoded<ModbusResponse>.Success(ModbusResponse.ReadResult(Tid16(tid), unit, (ModbusFunction)function, ReadRegisters(pdu.Slice(2, bytes))));
            }

            default:
            {
                if (pdu.Length != 5)
                {
                    return ModbusDecoded<ModbusResponse>.Fail(ModbusFrameError.PduLengthMismatch, Invariant($"function {function} response of {pdu.Length} bytes, not 5"), tid);
                }

                var address = BinaryPrimitives.ReadUInt16BigEndian(pdu[1..]);
                var second = BinaryPrimitives.ReadUInt16BigEndian(pdu[3..]);
                return (ModbusFunction)function == ModbusFunction.WriteSingleRegister
                    ? ModbusDecoded<ModbusResponse>.Success(new ModbusResponse(Tid16(tid), unit, ModbusFunction.WriteSingleRegister, ModbusExceptionCode.None, address, 1, [second]))
                    : ModbusDecoded<ModbusResponse>.Success(new ModbusResponse(Tid16(tid), unit, ModbusFunction.WriteMultipleRegisters, ModbusExceptionCode.None, address, second, []));
            }
        }
    }

    private static ushort Tid16(int tid) => (ushort)tid;

    private static ModbusFrameError CheckFrame(ReadOnlySpan<byte> frame, out int tid, out byte unit, out string problem)
    {
        tid = frame.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(frame) : -1;
        unit = frame.Length >= ModbusLimits.HeaderLength ? frame[6] : (byte)0;
        if (frame.Length < ModbusLimits.HeaderLength + 1)
        {
            problem = Invariant($"frame of {frame.Length} bytes, below {ModbusLimits.HeaderLength + 1} (header and function code)");
            return ModbusFrameError.ShortFrame;
        }

        var error = CheckHeader(frame, out var length, out problem);
        if (error != ModbusFrameError.None)
        {
            return error;
        }

        if (length != frame.Length)
        {
            problem = Invariant($"MBAP length says a frame of {length} bytes, got {frame.Length}");
            return ModbusFrameError.LengthMismatch;
        }

        return ModbusFrameError.None;
    }

    private static void WriteHeader(Span<byte> destination, ushort tid, byte unit, int pduLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, tid);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)(pduLength + 1));
        destination[6] = unit;
    }

    private static void WriteRegisters(ReadOnlySpan<ushort> registers, Span<byte> destination)
    {
        for (var i = 0; i < registers.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[(2 * i)..], registers[i]);
        }
    }

    private static ushort[] ReadRegisters(ReadOnlySpan<byte> data)
    {
        var registers = new ushort[data.Length / 2];
        for (var i = 0; i < registers.Length; i++)
        {
            registers[i] = BinaryPrimitives.ReadUInt16BigEndian(data[(2 * i)..]);
        }

        return registers;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
