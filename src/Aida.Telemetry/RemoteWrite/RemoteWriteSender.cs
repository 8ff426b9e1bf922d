using System.Net;
using System.Net.Http.Headers;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.RemoteWrite;

/// <summary>Sends samples to a Prometheus remote-write 1.0 receiver, through an on-disk buffer so that nothing is lost
/// while the receiver is away or the process restarts.</summary>
/// <remarks>
/// <see cref="Enqueue"/> collects samples into a batch, cut at <see cref="RemoteWriteOptions.MaxSamplesPerSend"/> samples
/// or <see cref="RemoteWriteOptions.BatchSendDeadline"/> after its first sample, whichever comes first. A cut batch is
/// written (and fsynced) to the buffer on the calling thread, then one background loop sends batches strictly in order,
/// removing each from the buffer only after a 2xx. 5xx, 429 and connection failures are retried forever with exponential
/// backoff (<see cref="RemoteWriteOptions.MinBackoff"/> doubling up to <see cref="RemoteWriteOptions.MaxBackoff"/>, timed
/// by <see cref="RemoteWriteOptions.TimeProvider"/>); any other 4xx means the receiver will never take the batch, so it is
/// dropped and counted, as Prometheus' queue manager does. A new sender on the same directory resends whatever was never
/// acknowledged. Samples of one series are sent in the order they were enqueued.
/// </remarks>
public sealed class RemoteWriteSender : IAsyncDisposable
{
    private readonly RemoteWriteOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly DiskBuffer _buffer;
    private readonly object _gate = new();
    private readonly List<(Labels Labels, Sample Sample)> _pending = [];
    private readonly List<(long Id, TaskCompletionSource Done)> _flushWaiters = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ITimer _deadline;
    private readonly Task _loop;
    private long _completedId;
    private long _sentSamples;
    private long _sentBatches;
    private long _retries;
    private long _droppedSamples;
    private long _droppedBatches;
    private bool _disposed;

    public RemoteWriteSender(RemoteWriteOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSamplesPerSend, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.MinBackoff, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBackoff, options.MinBackoff);
        _options = options;
        _buffer = new DiskBuffer(options.BufferDirectory, options.SegmentBytes);
        if (options.HttpClient is { } client)
        {
            _http = client;
        }
        else
        {
            _http = new HttpClient(options.HttpMessageHandler ?? new SocketsHttpHandler(), disposeHandler: true) { Timeout = TimeSpan.FromSeconds(30) };
            _ownsHttp = true;
        }

        _deadline = options.TimeProvider.CreateTimer(_ => CutOnDeadline(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _loop = Task.Run(() => SendLoopAsync(_stop.Token));
    }

    /// <summary>Samples acknowledged by the receiver.</summary>
    public long SentSamples => Interlocked.Read(ref _sentSamples);

    /// <summary>Requests acknowledged by the receiver.</summary>
    public long SentBatches => Interlocked.Read(ref _sentBatches);

    /// <summary>Failed attempts that were retried (5xx, 429, connection errors).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Samples in batches the receiver refused for good (4xx other than 429).</summary>
    public long DroppedSamples => Interlocked.Read(ref _droppedSamples);

    /// <summary>Batches the receiver refused for good (4xx other than 429), or found corrupt on disk.</summary>
    public long DroppedBatches => Interlocked.Read(ref _droppedBatches);

    /// <summary>Bytes in the on-disk buffer not yet acknowledged.</summary>
    public long BufferedBytes => _buffer.BufferedBytes;

    /// <summary>Why the last batch could not be buffered on disk (and was dropped for the remote); null while batches
    /// are buffered.</summary>
    public string? BufferFailing { get; private set; }

    /// <summary>Adds one sample to the current batch.</summary>
    public void Enqueue(Labels labels, Sample sample)
    {
        ArgumentNullException.ThrowIfNull(labels);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Add((labels, sample));
            if (_pending.Count == 1)
            {
                _deadline.Change(_options.BatchSendDeadline, Timeout.InfiniteTimeSpan);
            }

            if (_pending.Count >= _options.MaxSamplesPerSend)
            {
                CutLocked();
            }
        }
    }

    /// <summary>Completes when every sample enqueued before the call has been acknowledged or dropped; cuts the current
    /// batch at once rather than waiting for its deadline.</summary>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CutLocked();
            var target = _buffer.LastId;
            if (Interlocked.Read(ref _completedId) >= target)
            {
                return Task.CompletedTask;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _flushWaiters.Add((target, done));
        }

        return done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Writes the current batch to the buffer and stops sending; what was not acknowledged stays on disk for the
    /// next sender on the same directory.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            CutLocked();
            _disposed = true;
            foreach (var (_, done) in _flushWaiters)
            {
                done.TrySetException(new ObjectDisposedException(nameof(RemoteWriteSender)));
            }

            _flushWaiters.Clear();
        }

        await _deadline.DisposeAsync();
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _buffer.Dispose();
        _stop.Dispose();
        _wake.Dispose();
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private void CutOnDeadline()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                CutLocked();
            }
        }
    }

    private void CutLocked()
    {
        if (_pending.Count == 0)
        {
            return;
        }

        _deadline.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        var bySeries = new Dictionary<Labels, List<Sample>>();
        var order = new List<Labels>();
        foreach (var (labels, sample) in _pending)
        {
            if (!bySeries.TryGetValue(labels, out var list))
            {
                list = [];
                bySeries[labels] = list;
                order.Add(labels);
            }

            list.Add(sample);
        }

        var series = order.Select(l => new SeriesSamples(l, bySeries[l])).ToList();
        try
        {
            _buffer.Append(WriteRequestCodec.EncodeCompressed(series), _pending.Count);
            BufferFailing = null;
        }
        catch (IOException e)
        {
            // The buffer's disk is full: the batch is dropped for the remote (the local store has it), counted, and the
            // run goes on. Before, the write's exception went up through the appender into aida run's control loop.
            Interlocked.Increment(ref _droppedBatches);
            Interlocked.Add(ref _droppedSamples, _pending.Count);
            BufferFailing = e.Message;
            _pending.Clear();
            return;
        }

        _pending.Clear();
        _wake.Release();
    }

    private async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!_buffer.TryPeek(out var entry))
            {
                await _wake.WaitAsync(cancellationToken);
                continue;
            }

            var payload = _buffer.Read(entry);
            if (payload is null)
            {
                Interlocked.Increment(ref _droppedBatches);
                Interlocked.Add(ref _droppedSamples, entry.Samples);
            }
            else
            {
                await SendWithRetriesAsync(payload, entry.Samples, cancellationToken);
            }

            _buffer.Complete(entry);
            Interlocked.Exchange(ref _completedId, entry.Id);
            ReleaseFlushWaiters(entry.Id);
        }
    }

    private async Task SendWithRetriesAsync(byte[] payload, int samples, CancellationToken cancellationToken)
    {
        var backoff = _options.MinBackoff;
        while (true)
        {
            var status = await TrySendAsync(payload, cancellationToken);
            if (status is >= 200 and < 300)
            {
                Interlocked.Increment(ref _sentBatches);
                Interlocked.Add(ref _sentSamples, samples);
                return;
            }

            if (status is >= 400 and < 500 and not 429)
            {
                Interlocked.Increment(ref _droppedBatches);
                Interlocked.Add(ref _droppedSamples, samples);
                return;
            }

            Interlocked.Increment(ref _retries);
            await Task.Delay(backoff, _options.TimeProvider, cancellationToken);
            backoff = backoff * 2 > _options.MaxBackoff ? _options.MaxBackoff : backoff * 2;
        }
    }

    /// <summary>The HTTP status, or 0 when the request did not get an answer.</summary>
    private async Task<int> TrySendAsync(byte[] payload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url) { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(WriteRequestCodec.ContentType);
        request.Content.Headers.ContentEncoding.Add("snappy");
        request.Headers.Add("X-Prometheus-Remote-Write-Version", WriteRequestCodec.ProtocolVersion);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Aida", "1.0"));
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Refused connection, reset, or the client's own timeout: the receiver may be restarting, so retry.
            return 0;
        }
    }

    private void ReleaseFlushWaiters(long completedId)
    {
        lock (_gate)
        {
            for (var i = _flushWaiters.Count - 1; i >= 0; i--)
            {
                if (_flushWaiters[i].Id <= completedId)
                {
                    _flushWaiters[i].Done.TrySetResult();
                    _flushWaiters.RemoveAt(i);
                }
            }
        }
    }
}
