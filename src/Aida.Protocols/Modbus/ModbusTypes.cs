namespace Aida.Protocols.Modbus;

/// <summary>The function codes Aida speaks (Modbus Application Protocol Specification V1.1b3, section 6).</summary>
public enum ModbusFunction : byte
{
    ReadHoldingRegisters = 3,
    ReadInputRegisters = 4,
    WriteSingleRegister = 6,
    WriteMultipleRegisters = 16,
}

/// <summary>Exception codes of an exception response (the specification's section 7); <see cref="None"/> is a normal
/// response.</summary>
public enum ModbusExceptionCode : byte
{
    None = 0,
    IllegalFunction = 1,
    IllegalDataAddress = 2,
    IllegalDataValue = 3,
    ServerDeviceFailure = 4,
    Acknowledge = 5,
    ServerDeviceBusy = 6,
    MemoryParityError = 8,
    GatewayPathUnavailable = 10,
    GatewayTargetFailedToRespond = 11,
}

/// <summary>The two register tables: holding registers (read/write, function codes 3, 6, 16) and input registers
/// (read-only, function code 4).</summary>
public enum ModbusRegisterTable
{
    Holding,
    Input,
}

/// <summary>What is wrong with a frame that could not be decoded.</summary>
public enum ModbusFrameError
{
    None,

    /// <summary>Fewer bytes than the MBAP header and a function code.</summary>
    ShortFrame,

    /// <summary>The MBAP protocol identifier is not 0 (Modbus).</summary>
    BadProtocolId,

    /// <summary>The MBAP length field is outside 2..254 (a unit id and a PDU of at most 253 bytes).</summary>
    LengthOutOfRange,

    /// <summary>The MBAP length field does not match the bytes that follow it.</summary>
    LengthMismatch,

    /// <summary>A function code Aida does not speak.</summary>
    UnknownFunction,

    /// <summary>The PDU is shorter or longer than its function code requires.</summary>
    PduLengthMismatch,

    /// <summary>A byte count field disagrees with the registers present or requested.</summary>
    ByteCountMismatch,

    /// <summary>A register count outside what the function allows (1..125 to read, 1..123 to write).</summary>
    QuantityOutOfRange,

    /// <summary>A well-formed response that does not answer the request it claims to (function, unit, count or echo).</summary>
    UnexpectedResponse,
}

/// <summary>The limits of the specification.</summary>
public static class ModbusLimits
{
    /// <summary>MBAP header: transaction id, protocol id, length, unit id.</summary>
    public const int HeaderLength = 7;

    /// <summary>The largest PDU (function code and data).</summary>
    public const int MaxPduLength = 253;

    /// <summary>The largest frame on the wire (header and PDU).</summary>
    public const int MaxFrameLength = HeaderLength + MaxPduLength;

    /// <summary>The most registers one read (function 3 or 4) may ask for.</summary>
    public const int MaxReadRegisters = 125;

    /// <summary>The most registers one write multiple (function 16) may carry.</summary>
    public const int MaxWriteRegisters = 123;
}
