namespace Aida.Telemetry.RemoteWrite;

/// <summary>Settings of a <see cref="RemoteWriteSender"/>; the defaults are Prometheus' <c>queue_config</c> defaults.</summary>
public sealed class RemoteWriteOptions
{
    /// <summary>The receiver, e.g. <c>http://127.0.0.1:9090/api/v1/write</c>. Required.</summary>
    public required Uri Url { get; init; }

    /// <summary>Directory of the on-disk buffer; created when missing, and whatever it still holds is resent. Required,
    /// and one sender at a time per directory.</summary>
    public required string BufferDirectory { get; init; }

    /// <summary>Samples per request. Default 2000.</summary>
    public int MaxSamplesPerSend { get; init; } = 2000;

    /// <summary>Longest a sample waits for its batch to fill before the batch is cut anyway. Default 5 s.</summary>
    public TimeSpan BatchSendDeadline { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>First retry delay, doubled on each failure of the same request. Default 30 ms.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(30);

    /// <summary>Cap on the retry delay. Default 5 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A segment file of the buffer is closed, and a new one started, past this size. Default 8 MiB.</summary>
    public long SegmentBytes { get; init; } = 8 << 20;

    /// <summary>Clock for the batch deadline and the backoff delays. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Client to send with (not disposed by the sender). When null, one is made over
    /// <see cref="HttpMessageHandler"/> (or a default handler) and disposed with the sender.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>Handler for the sender's own client when <see cref="HttpClient"/> is null; disposed with the sender.</summary>
    public HttpMessageHandler? HttpMessageHandler { get; init; }
}
