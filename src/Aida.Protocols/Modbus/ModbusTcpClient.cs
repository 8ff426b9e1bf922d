using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Aida.Protocols.Modbus;

/// <summary>Options of a <see cref="ModbusTcpClient"/>.</summary>
public sealed class ModbusClientOptions
{
    /// <summary>How long one request may wait for its answer (default 3 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long connecting may take (default 5 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The clock timeouts are measured on (default the system clock).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>A Modbus TCP client on one connection: function codes 3, 4, 6 and 16, several requests in flight matched to
/// their answers by transaction id.</summary>
/// <remarks>
/// Every request returns a <see cref="ModbusResult"/>: an exception response, a timeout, a lost connection or a garbled
/// answer is a result, never a thrown exception (only cancellation through the caller's token throws). A frame whose
/// header breaks the framing (bad protocol id or length, or the connection closing mid-frame) closes the connection and
/// fails every request in flight as <see cref="ModbusStatus.Malformed"/>; after that every request returns
/// <see cref="ModbusStatus.ConnectionLost"/> and the owner connects again.
/// </remarks>
public sealed class ModbusTcpClient : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<ushort, Pending> _pending = new();
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly Task _reader;
    private int _nextTransaction;
    private volatile string? _closed;
    private long _unmatched;
    private long _malformedUnmatched;

    internal ModbusTcpClient(Stream stream, ModbusClientOptions options)
    {
        _stream = stream;
        _timeout = options.Timeout;
        _clock = options.Clock;
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Connects to <paramref name="endpoint"/> (an <see cref="IPEndPoint"/> or a <see cref="DnsEndPoint"/>).</summary>
    /// <exception cref="SocketException">The connection was refused or failed.</exception>
    /// <exception cref="TimeoutException">It took longer than <see cref="ModbusClientOptions.ConnectTimeout"/>.</exception>
    public static async Task<ModbusTcpClient> ConnectAsync(EndPoint endpoint, ModbusClientOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        options ??= new ModbusClientOptions();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(options.ConnectTimeout, options.Clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            await socket.ConnectAsync(endpoint, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"connecting to {endpoint} took longer than {options.ConnectTimeout.TotalSeconds} s"));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ModbusTcpClient(new NetworkStream(socket, ownsSocket: true), options);
    }

    /// <summary>Whether the connection is still usable.</summary>
    public bool Connected => _closed is null;

    /// <summary>Why the connection closed, or null while it is open.</summary>
    public string? ClosedReason => _closed;

    /// <summary>Well-formed answers whose transaction id matched no request in flight (late answers after a timeout).</summary>
    public long UnmatchedFrames => Interlocked.Read(ref _unmatched);

    /// <summary>Undecodable frames that could not be attached to a request in flight (their transaction id matched none).</summary>
    public long UnmatchedMalformedFrames => Interlocked.Read(ref _malformedUnmatched);

    /// <summary>Reads <paramref name="count"/> (1..125) holding or input registers from <paramref name="address"/>.</summary>
    public Task<ModbusResult> ReadRegistersAsync(byte unit, ModbusRegisterTable table, ushort address, ushort count, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, (ushort)ModbusLimits.MaxReadRegisters);
        return SendAsync(ModbusRequest.Read(0, unit, table, address, count), ct);
    }

    /// <summary>Writes one holding register (function code 6).</summary>
    public Task<ModbusResult> WriteSingleRegisterAsync(byte unit, ushort address, ushort value, CancellationToken ct = default) =>
        SendAsync(ModbusRequest.WriteSingle(0, unit, address, value), ct);

    /// <summary>Writes 1..123 consecutive holding registers (function code 16).</summary>
    public Task<ModbusResult> WriteMultipleRegistersAsync(byte unit, ushort address, ReadOnlySpan<ushort> values, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfZero(values.Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(values.Length, ModbusLimits.MaxWriteRegisters);
        return SendAsync(ModbusRequest.WriteMultiple(0, unit, address, values.ToArray()), ct);
    }

    private async Task<ModbusResult> SendAsync(ModbusRequest request, CancellationToken ct)
    {
        if (_closed is { } reason)
        {
            return ModbusResult.Failed(ModbusStatus.ConnectionLost, reason);
        }

        ushort tid;
        var pending = new Pending(request);
        do
        {
            tid = (ushort)Interlocked.Increment(ref _nextTransaction);
        }
        while (!_pending.TryAdd(tid, pending));

        // The reader may have failed every request in flight just before this one was added.
        if (_closed is { } closedMeanwhile && _pending.TryRemove(tid, out _))
        {
            return ModbusResult.Failed(ModbusStatus.ConnectionLost, closedMeanwhile);
        }

        // The timer starts before the request is sent, so a test that sees the request arrive can advance a fake clock.
        var answer = pending.Completion.Task.WaitAsync(_timeout, _clock, ct);
        var buffer = ArrayPool<byte>.Shared.Rent(ModbusLimits.MaxFrameLength);
        try
        {
            var length = ModbusCodec.EncodeRequest(request with { TransactionId = tid }, buffer);
            await _send.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(buffer.AsMemory(0, length), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
            {
                Close($"sending failed: {e.Message}", ModbusFrameError.None);
            }
            finally
            {
                _send.Release();
            }
        }
        catch (OperationCanceledException)
        {
            _pending.TryRemove(tid, out _);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        try
        {
            return await answer.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _pending.TryRemove(tid, out _);
            return ModbusResult.Failed(ModbusStatus.Timeout,
                string.Create(CultureInfo.InvariantCulture, $"no answer to {Describe(request)} within {_timeout.TotalMilliseconds} ms"));
        }
        catch (OperationCanceledException)
        {
            _pending.TryRemove(tid, out _);
            throw;
        }
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[ModbusLimits.MaxFrameLength];
        string reason;
        var malformed = ModbusFrameError.None;
        try
        {
            while (true)
            {
                var got = await _stream.ReadAtLeastAsync(buffer.AsMemory(0, ModbusLimits.HeaderLength), ModbusLimits.HeaderLength, throwOnEndOfStream: false).ConfigureAwait(false);
                if (got == 0)
                {
                    reason = "connection closed by the server";
                    break;
                }

                if (got < ModbusLimits.HeaderLength)
                {
                    reason = string.Create(CultureInfo.InvariantCulture, $"connection closed mid-frame ({got} of {ModbusLimits.HeaderLength} header bytes)");
                    malformed = ModbusFrameError.ShortFrame;
                    break;
                }

                var error = ModbusCodec.CheckHeader(buffer, out var length, out var problem);
                if (error != ModbusFrameError.None)
                {
                    reason = $"framing lost: {problem}";
                    malformed = error;
                    break;
                }

                var rest = length - ModbusLimits.HeaderLength;
                got = await _stream.ReadAtLeastAsync(buffer.AsMemory(ModbusLimits.HeaderLength, rest), rest, throwOnEndOfStream: false).ConfigureAwait(false);
                if (got < rest)
                {
                    reason = string.Create(CultureInfo.InvariantCulture, $"connection closed mid-frame ({ModbusLimits.HeaderLength + got} of {length} bytes)");
                    malformed = ModbusFrameError.ShortFrame;
                    break;
                }

                Dispatch(buffer.AsSpan(0, length));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or OperationCanceledException)
        {
            reason = _closed ?? $"connection failed: {e.Message}";
        }

        Close(reason, malformed);
    }

    private void Dispatch(ReadOnlySpan<byte> frame)
    {
        var decoded = ModbusCodec.DecodeResponse(frame);
        if (decoded.TransactionId < 0 || !_pending.TryRemove((ushort)decoded.TransactionId, out var pending))
        {
            Interlocked.Increment(ref decoded.Ok ? ref _unmatched : ref _malformedUnmatched);
            return;
        }

        if (!decoded.Ok)
        {
            pending.Completion.TrySetResult(ModbusResult.Failed(ModbusStatus.Malformed, $"answer to {Describe(pending.Request)}: {decoded.Problem}", decoded.Error));
            return;
        }

        pending.Completion.TrySetResult(Match(pending.Request, decoded.Message!));
    }

    /// <summary>Checks that a decoded answer answers the request: same unit and function, the registers asked for, the
    /// write echoed.</summary>
    private static ModbusResult Match(ModbusRequest request, ModbusResponse response)
    {
        string? problem = null;
        if (response.Unit != request.Unit)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"from unit {response.Unit}");
        }
        else if (response.Function != request.Function)
        {
            problem = $"with function {response.Function}";
        }
        else if (response.IsException)
        {
            return ModbusResult.Refused(response.Exception);
        }
        else if (request.Function is ModbusFunction.ReadHoldingRegisters or ModbusFunction.ReadInputRegisters && response.Registers.Length != request.Count)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"with {response.Registers.Length} registers");
        }
        else if (request.Function == ModbusFunction.WriteSingleRegister && (response.Address != request.Address || response.Registers[0] != request.Values[0]))
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"echoing address {response.Address} value {response.Registers[0]}");
        }
        else if (request.Function == ModbusFunction.WriteMultipleRegisters && (response.Address != request.Address || response.Count != request.Count))
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"echoing address {response.Address} count {response.Count}");
        }

        return problem is null
            ? ModbusResult.Success(response.Registers)
            : ModbusResult.Failed(ModbusStatus.Malformed, $"answer to {Describe(request)} {problem}", ModbusFrameError.UnexpectedResponse);
    }

    private static string Describe(ModbusRequest r) => r.Function switch
    {
        ModbusFunction.ReadHoldingRegisters => string.Create(CultureInfo.InvariantCulture, $"read holding {r.Address}+{r.Count} of unit {r.Unit}"),
        ModbusFunction.ReadInputRegisters => string.Create(CultureInfo.InvariantCulture, $"read input {r.Address}+{r.Count} of unit {r.Unit}"),
        ModbusFunction.WriteSingleRegister => string.Create(CultureInfo.InvariantCulture, $"write single {r.Address} of unit {r.Unit}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"write multiple {r.Address}+{r.Count} of unit {r.Unit}"),
    };

    /// <summary>Closes the connection and fails every request in flight: as malformed when <paramref name="malformed"/> names
    /// what broke the framing, else as a lost connection.</summary>
    private void Close(string reason, ModbusFrameError malformed)
    {
        lock (_pending)
        {
            _closed ??= reason;
        }

        foreach (var tid in _pending.Keys)
        {
            if (_pending.TryRemove(tid, out var p))
            {
                p.Completion.TrySetResult(malformed != ModbusFrameError.None
                    ? ModbusResult.Failed(ModbusStatus.Malformed, reason, malformed)
                    : ModbusResult.Failed(ModbusStatus.ConnectionLost, reason));
            }
        }

        _stream.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        Close("client closed", ModbusFrameError.None);
        await _reader.ConfigureAwait(false);
    }

    private sealed class Pending(ModbusRequest request)
    {
        public ModbusRequest Request { get; } = request;

        public TaskCompletionSource<ModbusResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
