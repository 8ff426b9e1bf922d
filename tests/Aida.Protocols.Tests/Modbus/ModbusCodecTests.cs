using Aida.Protocols.Modbus;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Protocols.Tests.Modbus;

public class ModbusCodecTests
{
    private static readonly Gen<ushort> Word = Gen.Choose(0, 65535).Select(v => (ushort)v);

    private static readonly Gen<byte> Unit = Gen.Choose(0, 255).Select(v => (byte)v);

    private static readonly Gen<ModbusRequest> Requests = Gen.OneOf(
        from tid in Word
        from unit in Unit
        from table in Gen.Elements(ModbusRegisterTable.Holding, ModbusRegisterTable.Input)
        from address in Word
        from count in Gen.Choose(1, 125)
        select ModbusRequest.Read(tid, unit, table, address, (ushort)count),
        from tid in Word
        from unit in Unit
        from address in Word
        from value in Word
        select ModbusRequest.WriteSingle(tid, unit, address, value),
        from tid in Word
        from unit in Unit
        from address in Word
        from values in Gen.Choose(1, 123).SelectMany(n => Word.ArrayOf(n))
        select ModbusRequest.WriteMultiple(tid, unit, address, values));

    private static readonly Gen<ModbusResponse> Responses = Gen.OneOf(
        from tid in Word
        from unit in Unit
        from function in Gen.Elements(ModbusFunction.ReadHoldingRegisters, ModbusFunction.ReadInputRegisters)
        from registers in Gen.Choose(1, 125).SelectMany(n => Word.ArrayOf(n))
        select ModbusResponse.ReadResult(tid, unit, function, registers),
        from tid in Word
        from unit in Unit
        from address in Word
        from value in Word
        select new ModbusResponse(tid, unit, ModbusFunction.WriteSingleRegister, ModbusExceptionCode.None, address, 1, [value]),
        from tid in Word
        from unit in Unit
        from address in Word
        from count in Gen.Choose(1, 123)
        select new ModbusResponse(tid, unit, ModbusFunction.WriteMultipleRegisters, ModbusExceptionCode.None, address, (ushort)count, []),
        from tid in Word
        from unit in Unit
        from function in Gen.Elements(Enum.GetValues<ModbusFunction>())
        from code in Gen.Choose(1, 255)
        select ModbusResponse.Failure(tid, unit, function, (ModbusExceptionCode)code));

    [Property(MaxTest = 1000, Replay = "1234567890123456789,987654321987654321")]
    public Property Request_EncodeDecode_RoundTrips() =>
        Prop.ForAll(Requests.ToArbitrary(), request =>
        {
            var decoded = ModbusCodec.DecodeRequest(ModbusCodec.EncodeRequest(request));
            return decoded.Ok && decoded.Message == request;
        });

    [Property(MaxTest = 1000, Replay = "1234567890123456789,987654321987654321")]
    public Property Response_EncodeDecode_RoundTrips() =>
        Prop.ForAll(Responses.ToArbitrary(), response =>
        {
            var decoded = ModbusCodec.DecodeResponse(ModbusCodec.EncodeResponse(response));
            return decoded.Ok && decoded.Message == response;
        });

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property AnyValidFrame_CutShort_IsAnErrorNeverAnException() =>
        Prop.ForAll(Requests.ToArbitrary(), Responses.ToArbitrary(), Gen.Choose(0, 300).ToArbitrary(), (request, response, cut) =>
        {
            var req = ModbusCodec.EncodeRequest(request);
            var resp = ModbusCodec.EncodeResponse(response);
            var shortRequest = ModbusCodec.DecodeRequest(req.AsSpan(0, cut % req.Length));
            var shortResponse = ModbusCodec.DecodeResponse(resp.AsSpan(0, cut % resp.Length));
            return !shortRequest.Ok && !shortResponse.Ok
                && shortRequest.Error is ModbusFrameError.ShortFrame or ModbusFrameError.LengthMismatch
                && shortResponse.Error is ModbusFrameError.ShortFrame or ModbusFrameError.LengthMismatch;
        });

    [Fact]
    public void Encode_ReadHolding_IsTheSpecificationsExample()
    {
        // Modbus Application Protocol V1.1b3 6.3: read holding registers 108-110 (address 107, count 3).
        var frame = ModbusCodec.EncodeRequest(ModbusRequest.Read(0x0001, 0x11, ModbusRegisterTable.Holding, 107, 3));
        Assert.Equal(new byte[] { 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03 }, frame);

        var answer = new byte[] { 0x00, 0x01, 0x00, 0x00, 0x00, 0x09, 0x11, 0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64 };
        var decoded = ModbusCodec.DecodeResponse(answer);
        Assert.True(decoded.Ok, decoded.Problem);
        Assert.Equal(new ushort[] { 555, 0, 100 }, decoded.Message!.Registers);

        var exception = ModbusCodec.DecodeResponse([0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x11, 0x83, 0x02]);
        Assert.Equal(ModbusExceptionCode.IllegalDataAddress, exception.Message!.Exception);
        Assert.Equal(ModbusFunction.ReadHoldingRegisters, exception.Message.Function);
    }

    [Theory]
    // Three bytes: not even a header.
    [InlineData("00 01 00", ModbusFrameError.ShortFrame)]
    // Protocol id 1.
    [InlineData("00 01 00 01 00 06 11 03 00 6B 00 03", ModbusFrameError.BadProtocolId)]
    // Length 1: no room for a function code.
    [InlineData("00 01 00 00 00 01 11 03", ModbusFrameError.LengthOutOfRange)]
    // Length 300: above the largest PDU.
    [InlineData("00 01 00 00 01 2C 11 03 00 6B 00 03", ModbusFrameError.LengthOutOfRange)]
    // Length says 7 bytes follow, 6 do.
    [InlineData("00 01 00 00 00 07 11 03 00 6B 00 03", ModbusFrameError.LengthMismatch)]
    // Function 5 (write coil) is not spoken.
    [InlineData("00 01 00 00 00 06 11 05 00 6B FF 00", ModbusFrameError.UnknownFunction)]
    // A read of 126 registers.
    [InlineData("00 01 00 00 00 06 11 03 00 6B 00 7E", ModbusFrameError.QuantityOutOfRange)]
    // A read of zero registers.
    [InlineData("00 01 00 00 00 06 11 04 00 00 00 00", ModbusFrameError.QuantityOutOfRange)]
    // Write multiple of 2 registers with a byte count of 3.
    [InlineData("00 01 00 00 00 0B 11 10 00 01 00 02 03 00 0A 01 02", ModbusFrameError.ByteCountMismatch)]
    // Write multiple of 2 registers whose data is one byte short.
    [InlineData("00 01 00 00 00 0A 11 10 00 01 00 02 04 00 0A 01", ModbusFrameError.ByteCountMismatch)]
    // A read request with an extra byte.
    [InlineData("00 01 00 00 00 07 11 03 00 6B 00 03 00", ModbusFrameError.PduLengthMismatch)]
    public void DecodeRequest_BadBytes_NameWhatIsWrong(string hex, ModbusFrameError expected)
    {
        var decoded = ModbusCodec.DecodeRequest(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)));
        Assert.Equal(expected, decoded.Error);
        Assert.False(string.IsNullOrEmpty(decoded.Problem));
    }

    [Theory]
    // Byte count 4 with 6 data bytes.
    [InlineData("00 01 00 00 00 09 11 03 04 02 2B 00 00 00 64", ModbusFrameError.ByteCountMismatch)]
    // Odd byte count.
    [InlineData("00 01 00 00 00 06 11 04 03 02 2B 00", ModbusFrameError.ByteCountMismatch)]
    // An exception response with a trailing byte.
    [InlineData("00 01 00 00 00 04 11 83 02 00", ModbusFrameError.PduLengthMismatch)]
    // An exception response with code 0.
    [InlineData("00 01 00 00 00 03 11 83 00", ModbusFrameError.UnexpectedResponse)]
    // Function 1 (read coils) is not spoken.
    [InlineData("00 01 00 00 00 04 11 01 01 01", ModbusFrameError.UnknownFunction)]
    // A write single echo one byte short.
    [InlineData("00 01 00 00 00 05 11 06 00 01 00", ModbusFrameError.PduLengthMismatch)]
    public void DecodeResponse_BadBytes_NameWhatIsWrong(string hex, ModbusFrameError expected)
    {
        var decoded = ModbusCodec.DecodeResponse(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)));
        Assert.Equal(expected, decoded.Error);
        Assert.Equal(1, decoded.TransactionId);
    }

    [Fact]
    public void Decoders_ThousandsOfRandomAndMutatedFrames_NeverThrow_AndFailWhenTheyCannotRoundTrip()
    {
        var random = new Random(42);
        var valid = new List<byte[]>();
        for (var i = 0; i < 50; i++)
        {
            valid.Add(ModbusCodec.EncodeRequest(ModbusRequest.Read((ushort)i, 1, ModbusRegisterTable.Input, (ushort)i, (ushort)(1 + i))));
            valid.Add(ModbusCodec.EncodeResponse(ModbusResponse.ReadResult((ushort)i, 1, ModbusFunction.ReadInputRegisters, new ushort[1 + i])));
        }

        var failed = 0;
        const int Frames = 20_000;
        for (var i = 0; i < Frames; i++)
        {
            byte[] frame;
            switch (i % 4)
            {
                case 0:
                    frame = new byte[random.Next(0, 270)];
                    random.NextBytes(frame);
                    break;
                case 1:
                    var source = valid[random.Next(valid.Count)];
                    frame = source[..random.Next(0, source.Length)];
                    break;
                case 2:
                    frame = (byte[])valid[random.Next(valid.Count)].Clone();
                    frame[random.Next(frame.Length)] ^= (byte)random.Next(1, 256);
                    break;
                default:
                    // A plausible header (protocol 0, the right length) over random PDU bytes: reaches the PDU decoders.
                    frame = new byte[random.Next(8, 40)];
                    random.NextBytes(frame);
                    frame[2] = 0;
                    frame[3] = 0;
                    frame[4] = 0;
                    frame[5] = (byte)(frame.Length - 6);
                    frame[7] = (byte)(random.Next(2) == 0 ? random.Next(1, 20) : random.Next(0x80, 0x95));
                    break;
            }

            var request = ModbusCodec.DecodeRequest(frame);
            var response = ModbusCodec.DecodeResponse(frame);
            if (!request.Ok)
            {
                failed++;
                Assert.NotEqual(ModbusFrameError.None, request.Error);
            }
            else
            {
                // Whatever decodes encodes back to the same bytes: nothing was guessed.
                Assert.Equal(frame, ModbusCodec.EncodeRequest(request.Message!));
            }

            if (response.Ok)
            {
                Assert.Equal(frame, ModbusCodec.EncodeResponse(response.Message!));
            }
        }

        Assert.True(failed > Frames / 2, $"only {failed} of {Frames} frames refused");
    }
}
