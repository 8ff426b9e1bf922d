namespace Aida.Protocols.Modbus;

/// <summary>How a request ended.</summary>
public enum ModbusStatus
{
    /// <summary>Answered: <see cref="ModbusResult.Registers"/> holds what was read (or the echo of a write).</summary>
    Ok,

    /// <summary>The device answered with an exception response (<see cref="ModbusResult.Exception"/>).</summary>
    ExceptionResponse,

    /// <summary>No answer within the request timeout; the connection stays open (a late answer is dropped).</summary>
    Timeout,

    /// <summary>The connection was closed or failed before the answer came; the client must reconnect.</summary>
    ConnectionLost,

    /// <summary>The answer could not be decoded or did not match the request (<see cref="ModbusResult.FrameError"/>).</summary>
    Malformed,
}

/// <summary>The outcome of one request: never an exception for what the device or the network did.</summary>
public readonly record struct ModbusResult(ModbusStatus Status, ushort[] Registers, ModbusExceptionCode Exception, ModbusFrameError FrameError, string Problem)
{
    public bool Ok => Status == ModbusStatus.Ok;

    internal static ModbusResult Success(ushort[] registers) => new(ModbusStatus.Ok, registers, ModbusExceptionCode.None, ModbusFrameError.None, "");

    internal static ModbusResult Failed(ModbusStatus status, string problem, ModbusFrameError frameError = ModbusFrameError.None) =>
        new(status, [], ModbusExceptionCode.None, frameError, problem);

    internal static ModbusResult Refused(ModbusExceptionCode code) =>
        new(ModbusStatus.ExceptionResponse, [], code, ModbusFrameError.None, $"exception response {(byte)code:D2} ({code})");
}
