using System.Collections.Concurrent;
using System.Net;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.RemoteWrite;

public sealed class RemoteWriteSenderTests : IDisposable
{
    private static readonly Labels Up = Labels.Metric("up", ("job", "a"));
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aida-rw-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task FullBatches_AreSentInOrder_AndFlushWaitsForTheLastOne()
    {
        var receiver = new StubReceiver(_time);
        await using var sender = NewSender(receiver, maxSamples: 3);
        for (var i = 0; i < 7; i++)
        {
            sender.Enqueue(Up, new Sample(i, i));
        }

        await sender.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([3, 3, 1], receiver.Requests.Select(r => r.Sum(s => s.Samples.Count)));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), receiver.Requests.SelectMany(r => r.Single().Samples).Select(s => s.TimestampMs));
        Assert.Equal(7, sender.SentSamples);
        Assert.Equal(3, sender.SentBatches);
        Assert.Equal(0, sender.BufferedBytes);
    }

    [SkippableFact]
    public async Task ABufferOnAFullDisk_DropsTheBatchesItCannotWrite_CountedAndSaid_WithoutFailingTheEnqueue()
    {
        // Before, the buffer's "No space left on device" went up through the appender into aida run's control loop. The
        // remote refuses every send (503), so batches stay buffered until the 256 KiB disk is full.
        using var disk = Aida.Telemetry.Tests.Storage.SmallDisk.Mount(256);
        var receiver = new StubReceiver(_time, [.. Enumerable.Repeat<HttpStatusCode?>(HttpStatusCode.ServiceUnavailable, 10_000)]);
        await using var sender = new RemoteWriteSender(new RemoteWriteOptions
        {
            Url = new Uri("http://receiver.test/api/v1/write"),
            BufferDirectory = Path.Combine(disk.Path, "buffer"),
            MaxSamplesPerSend = 500,
            TimeProvider = _time,
            HttpMessageHandler = receiver,
        });
        var random = new Random(3);
        var t = 0L;
        for (var i = 0; i < 200_000 && sender.BufferFailing is null; i++)
        {
            sender.Enqueue(Labels.Metric("m", ("i", (i % 50).ToString(System.Globalization.CultureInfo.InvariantCulture))), new Sample(t++, random.NextDouble()));
        }

        Assert.Contains("No space left on device", sender.BufferFailing, StringComparison.Ordinal);
        Assert.Equal(500, sender.DroppedSamples);
        var buffered = sender.BufferedBytes;

        disk.Grow(4096);
        for (var i = 0; i < 500; i++)
        {
            sender.Enqueue(Up, new Sample(t++, i));
        }

        Assert.Null(sender.BufferFailing);
        Assert.True(sender.BufferedBytes > buffered, "the batch after the disk grew was not buffered");
    }

    [Fact]
    public async Task APartialBatch_IsCutAtTheDeadline_OfTheInjectedClock()
    {
        var receiver = new StubReceiver(_time);
        await using var sender = NewSender(receiver, maxSamples: 100);
        sender.Enqueue(Up, new Sample(1, 1));
        sender.Enqueue(Labels.Metric("other"), new Sample(1, 2));
        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(0, sender.BufferedBytes);

        _time.Advance(TimeSpan.FromSeconds(0.1));
        await WaitUntilAsync(() => receiver.Requests.Count == 1);
        Assert.Equal([Up, Labels.Metric("other")], receiver.Requests[0].Select(s => s.Labels));
    }

    [Fact]
    public async Task ServerErrors429AndConnectionFailures_AreRetriedWithExponentialBackoff()
    {
        var receiver = new StubReceiver(_time, HttpStatusCode.ServiceUnavailable, HttpStatusCode.TooManyRequests, null, HttpStatusCode.InternalServerError);
        await using var sender = NewSender(receiver, maxSamples: 1);
        sender.Enqueue(Up, new Sample(1, 1));
        var flushed = sender.FlushAsync();
        await DriveClockUntilAsync(flushed);

        var times = receiver.AttemptTimes.ToArray();
        Assert.Equal(5, times.Length);
        long[] expected = [30, 60, 120, 240]; // MinBackoff doubling
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.InRange((times[i + 1] - times[i]).TotalMilliseconds, expected[i], expected[i] + 10);
        }

        Assert.Equal(4, sender.Retries);
        Assert.Equal(1, sender.SentSamples);
        Assert.Single(receiver.Requests);
    }

    [Fact]
    public async Task Backoff_IsCappedAtMaxBackoff()
    {
        var receiver = new StubReceiver(_time, Enumerable.Repeat<HttpStatusCode?>(HttpStatusCode.BadGateway, 6).ToArray());
        await using var sender = NewSender(receiver, maxSamples: 1, maxBackoff: TimeSpan.FromMilliseconds(100));
        sender.Enqueue(Up, new Sample(1, 1));
        await DriveClockUntilAsync(sender.FlushAsync());
        var times = receiver.AttemptTimes.ToArray();
        Assert.InRange((times[^1] - times[^2]).TotalMilliseconds, 100, 110);
    }

    [Fact]
    public async Task ClientErrors_DropTheBatch_AndSendingGoesOn()
    {
        var receiver = new StubReceiver(_time, HttpStatusCode.BadRequest);
        await using var sender = NewSender(receiver, maxSamples: 2);
        for (var i = 0; i < 4; i++)
        {
            sender.Enqueue(Up, new Sample(i, i));
        }

        await sender.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, sender.DroppedBatches);
        Assert.Equal(2, sender.DroppedSamples);
        Assert.Equal(2, sender.SentSamples);
        Assert.Equal(0, sender.Retries);
        Assert.Equal([2L, 3L], receiver.Requests.Single().Single().Samples.Select(s => s.TimestampMs));
    }

    [Fact]
    public async Task ARestartedSender_ResendsOnlyWhatWasNeverAcknowledged()
    {
        // First life: the first batch is acknowledged, the receiver then fails until the sender is disposed.
        var first = new StubReceiver(_time, HttpStatusCode.NoContent, HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable);
        var sender = NewSender(first, maxSamples: 2);
        for (var i = 0; i < 5; i++)
        {
            sender.Enqueue(Up, new Sample(i, i));
        }

        await WaitUntilAsync(() => first.AttemptTimes.Count >= 2);
        await sender.DisposeAsync(); // the 5th sample, still pending, is cut to disk here
        Assert.Single(first.Requests);

        // What the first life left unacknowledged is on disk before the second life starts (asserting on the new
        // sender's BufferedBytes raced its sending loop, which may already have drained a full batch: CI stop 11).
        Assert.True(Directory.GetFiles(_dir, "*.seg").Sum(f => new FileInfo(f).Length) > 0);
        var second = new StubReceiver(_time);
        await using (var again = NewSender(second, maxSamples: 2))
        {
            await again.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal([2L, 3L, 4L], second.Requests.SelectMany(r => r.Single().Samples).Select(s => s.TimestampMs));
        }

        var third = new StubReceiver(_time);
        await using (var once = NewSender(third, maxSamples: 2))
        {
            await once.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Empty(third.Requests);
            Assert.Equal(0, once.BufferedBytes);
        }
    }

    [Fact]
    public async Task ATornFrameAtTheEndOfASegment_IsIgnoredOnRecovery()
    {
        var down = new StubReceiver(_time, Enumerable.Repeat<HttpStatusCode?>(HttpStatusCode.ServiceUnavailable, 1000).ToArray());
        var sender = NewSender(down, maxSamples: 1);
        sender.Enqueue(Up, new Sample(1, 1));
        sender.Enqueue(Up, new Sample(2, 2));
        await sender.DisposeAsync();
        var segment = Directory.GetFiles(_dir, "*.seg").Single();
        await File.AppendAllTextAsync(segment, "\u0010\0\0\0torn"); // a header promising 16 bytes, cut short by a crash

        var receiver = new StubReceiver(_time);
        await using var again = NewSender(receiver, maxSamples: 1);
        await again.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1L, 2L], receiver.Requests.Select(r => r.Single().Samples.Single().TimestampMs));
    }

    [Fact]
    public void Crc32_MatchesTheStandardCheckValue() =>
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8)); // the CRC-32/ISO-HDLC check value

    private RemoteWriteSender NewSender(StubReceiver receiver, int maxSamples, TimeSpan? maxBackoff = null) => new(new RemoteWriteOptions
    {
        Url = new Uri("http://receiver.test/api/v1/write"),
        BufferDirectory = _dir,
        MaxSamplesPerSend = maxSamples,
        MaxBackoff = maxBackoff ?? TimeSpan.FromSeconds(5),
        TimeProvider = _time,
        HttpMessageHandler = receiver,
    });

    /// <summary>Advances the fake clock in small steps, yielding to the send loop between them, until the task is done.</summary>
    private async Task DriveClockUntilAsync(Task task)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!task.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(2);
            _time.Advance(TimeSpan.FromMilliseconds(5));
        }

        await task.WaitAsync(TimeSpan.FromSeconds(1));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in 10 s");
            await Task.Delay(5);
        }
    }

    /// <summary>Answers with the scripted statuses (null: a connection failure), then 204; records what it accepted.</summary>
    private sealed class StubReceiver(TimeProvider time, params HttpStatusCode?[] script) : HttpMessageHandler
    {
        private int _calls;

        public ConcurrentQueue<DateTimeOffset> AttemptTimes { get; } = new();

        public List<IReadOnlyList<SeriesSamples>> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            AttemptTimes.Enqueue(time.GetUtcNow());
            Assert.Equal("snappy", request.Content!.Headers.ContentEncoding.Single());
            Assert.Equal("0.1.0", request.Headers.GetValues("X-Prometheus-Remote-Write-Version").Single());
            var body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            var call = Interlocked.Increment(ref _calls) - 1;
            var status = call < script.Length ? script[call] : HttpStatusCode.NoContent;
            if (status is null)
            {
                throw new HttpRequestException("connection refused");
            }

            if ((int)status < 300)
            {
                lock (Requests)
                {
                    Requests.Add(WriteRequestCodec.DecodeCompressed(body));
                }
            }

            return new HttpResponseMessage(status.Value);
        }
    }
}
