namespace Aida.Protocols.Modbus;

/// <summary>A request as it travels: for reads <see cref="Count"/> registers from <see cref="Address"/>; for a single
/// write the one value in <see cref="Values"/>; for a multiple write <see cref="Count"/> values.</summary>
public sealed record ModbusRequest(ushort TransactionId, byte Unit, ModbusFunction Function, ushort Address, ushort Count, ushort[] Values)
{
    public static ModbusRequest Read(ushort transactionId, byte unit, ModbusRegisterTable table, ushort address, ushort count) =>
        new(transactionId, unit, table == ModbusRegisterTable.Holding ? ModbusFunction.ReadHoldingRegisters : ModbusFunction.ReadInputRegisters, address, count, []);

    public static ModbusRequest WriteSingle(ushort transactionId, byte unit, ushort address, ushort value) =>
        new(transactionId, unit, ModbusFunction.WriteSingleRegister, address, 1, [value]);

    public static ModbusRequest WriteMultiple(ushort transactionId, byte unit, ushort address, ushort[] values) =>
        new(transactionId, unit, ModbusFunction.WriteMultipleRegisters, address, (ushort)values.Length, values);

    public bool Equals(ModbusRequest? other) =>
        other is not null && TransactionId == other.TransactionId && Unit == other.Unit && Function == other.Function
        && Address == other.Address && Count == other.Count && Values.AsSpan().SequenceEqual(other.Values);

    public override int GetHashCode() => HashCode.Combine(TransactionId, Unit, Function, Address, Count, Values.Length);
}

/// <summary>A response as it travels. A read answers with <see cref="Registers"/>; a single write echoes address and
/// value (in <see cref="Registers"/>); a multiple write echoes address and count; an exception response carries only
/// <see cref="Exception"/>. <see cref="Address"/> and <see cref="Count"/> are 0 where the PDU has no such field.</summary>
public sealed record ModbusResponse(ushort TransactionId, byte Unit, ModbusFunction Function, ModbusExceptionCode Exception, ushort Address, ushort Count, ushort[] Registers)
{
    public bool IsException => Exception != ModbusExceptionCode.None;

    public static ModbusResponse ReadResult(ushort transactionId, byte unit, ModbusFunction function, ushort[] registers) =>
        new(transactionId, unit, function, ModbusExceptionCode.None, 0, (ushort)registers.Length, registers);

    public static ModbusResponse Failure(ushort transactionId, byte unit, ModbusFunction function, ModbusExceptionCode code) =>
        new(transactionId, unit, function, code, 0, 0, []);

    public bool Equals(ModbusResponse? other) =>
        other is not null && TransactionId == other.TransactionId && Unit == other.Unit && Function == other.Function
        && Exception == other.Exception && Address == other.Address && Count == other.Count && Registers.AsSpan().SequenceEqual(other.Registers);

    public override int GetHashCode() => HashCode.Combine(TransactionId, Unit, Function, Exception, Address, Count, Registers.Length);
}

/// <summary>The outcome of decoding a frame: the message, or what is wrong with the bytes.</summary>
/// <remarks>A decoder never throws on bad bytes; <see cref="Problem"/> says what and where, for a log line.</remarks>
public readonly record struct ModbusDecoded<T>(T? Message, ModbusFrameError Error, string Problem)
    where T : class
{
    public bool Ok => Error == ModbusFrameError.None;

    /// <summary>The transaction id of the frame when its header could be read (even if its PDU could not), else -1.</summary>
    public int TransactionId { get; init; } = -1;

    internal static ModbusDecoded<T> Success(T message) => new(message, ModbusFrameError.None, "")
    {
        TransactionId = message switch
        {
            ModbusRequest r => r.TransactionId,
            ModbusResponse r => r.TransactionId,
            _ => -1,
        },
    };

    internal static ModbusDecoded<T> Fail(ModbusFrameError error, string problem, int transactionId = -1) =>
        new(null, error, problem) { TransactionId = transactionId };
}
