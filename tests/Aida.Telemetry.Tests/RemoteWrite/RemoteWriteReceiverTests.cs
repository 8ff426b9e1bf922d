using System.Net;
using System.Net.Http.Headers;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Aida.Telemetry.Tests.Http;
using Microsoft.Extensions.Time.Testing;
using Snappier;

namespace Aida.Telemetry.Tests.RemoteWrite;

public class RemoteWriteReceiverTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly long NowMs = Now.ToUnixTimeMilliseconds();

    private readonly InMemoryAppender _appender = new();
    private readonly FakeTimeProvider _clock = new(Now);

    [Fact]
    public async Task ValidRequest_AppendsEverySample_AndAnswers204()
    {
        var up = Labels.Metric("up", ("job", "a"));
        var temp = Labels.Metric("temp_celsius", ("rack", "r1"));
        var (status, _) = await PostAsync(
            new SeriesSamples(up, [new Sample(NowMs - 2000, 1), new Sample(NowMs - 1000, 0)]),
            new SeriesSamples(temp, [new Sample(NowMs, 21.5)]));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal([new Sample(NowMs - 2000, 1), new Sample(NowMs - 1000, 0)], _appender.SamplesOf(up));
        Assert.Equal([new Sample(NowMs, 21.5)], _appender.SamplesOf(temp));
    }

    [Fact]
    public async Task NaNInfinitiesAndStaleMarkers_AreAccepted()
    {
        var m = Labels.Metric("m");
        var (status, _) = await PostAsync(new SeriesSamples(m,
            [new Sample(NowMs - 4, double.NaN), new Sample(NowMs - 3, double.PositiveInfinity), new Sample(NowMs - 2, double.NegativeInfinity), new Sample(NowMs - 1, StaleMarker.Value)]));
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(4, _appender.SamplesOf(m).Count);
        Assert.True(StaleMarker.Is(_appender.SamplesOf(m)[3].Value));
    }

    [Fact]
    public async Task MalformedSnappy_Is400_AndAppendsNothing()
    {
        var (status, text) = await PostRawAsync("definitely not snappy"u8.ToArray());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("snappy:", text, StringComparison.Ordinal);
        Assert.Equal(0, _appender.AppendCalls);
    }

    [Fact]
    public async Task MalformedProtobuf_Is400_WithOffset_AndAppendsNothing()
    {
        var valid = WriteRequestCodec.Encode([new SeriesSamples(Labels.Metric("ok"), [new Sample(NowMs, 1)])]);
        var body = valid.Concat(new byte[] { 0x0A, 0x7F }).ToArray(); // a second series that claims 127 bytes
        var (status, text) = await PostRawAsync(Snappy.CompressToArray(body));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"at byte offset {valid.Length + 1}", text, StringComparison.Ordinal);
        Assert.Equal(0, _appender.AppendCalls);
    }

    [Theory]
    // A label name with a dash breaks the naming rules.
    [InlineData("bad-label", "invalid label name 'bad-label'")]
    // Names starting with __ are reserved.
    [InlineData("__secret", "is reserved")]
    public async Task InvalidLabels_AnywhereInTheRequest_Are400_AndNothingIsHalfApplied(string labelName, string problem)
    {
        var (status, text) = await PostAsync(
            new SeriesSamples(Labels.Metric("good"), [new Sample(NowMs, 1)]),
            new SeriesSamples(Labels.Metric("bad", (labelName, "x")), [new Sample(NowMs, 1)]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(problem, text, StringComparison.Ordinal);
        Assert.Equal(0, _appender.AppendCalls);
    }

    [Fact]
    public async Task MissingMetricName_Is400()
    {
        var (status, text) = await PostAsync(new SeriesSamples(Labels.From(("job", "x")), [new Sample(NowMs, 1)]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("no metric name", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnsortedSamples_Are400_AndNothingIsHalfApplied()
    {
        var (status, text) = await PostAsync(
            new SeriesSamples(Labels.Metric("first"), [new Sample(NowMs - 10, 1)]),
            new SeriesSamples(Labels.Metric("unsorted"), [new Sample(NowMs, 1), new Sample(NowMs - 5, 2)]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not sorted by time", text, StringComparison.Ordinal);
        Assert.Equal(0, _appender.AppendCalls);
    }

    [Fact]
    public async Task SampleMoreThanTenMinutesAhead_Is400_ButTenMinutesExactlyIsFine()
    {
        var tenMinutes = (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
        var (late, text) = await PostAsync(new SeriesSamples(Labels.Metric("m"), [new Sample(NowMs, 1), new Sample(NowMs + tenMinutes + 1, 2)]));
        Assert.Equal(HttpStatusCode.BadRequest, late);
        Assert.Contains("in the future", text, StringComparison.Ordinal);
        Assert.Equal(0, _appender.AppendCalls);

        var (ok, _) = await PostAsync(new SeriesSamples(Labels.Metric("m"), [new Sample(NowMs + tenMinutes, 2)]));
        Assert.Equal(HttpStatusCode.NoContent, ok);

        // The limit follows the injected clock, not the wall clock.
        _clock.Advance(TimeSpan.FromMinutes(5));
        var (later, _) = await PostAsync(new SeriesSamples(Labels.Metric("m"), [new Sample(NowMs + tenMinutes + 1, 3)]));
        Assert.Equal(HttpStatusCode.NoContent, later);
    }

    [Fact]
    public async Task ResendingTheLatestSample_IsAcceptedAsAnIdenticalDuplicate()
    {
        var series = new SeriesSamples(Labels.Metric("m"), [new Sample(NowMs, 2)]);
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(series)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(series)).Status);
        Assert.Equal(1, _appender.TotalSamples);
    }

    [Fact]
    public async Task ResendingOlderSamples_Is400_AsInPrometheus()
    {
        // Prometheus' head refuses anything older than a series' newest sample as out of order, even an identical copy.
        var series = new SeriesSamples(Labels.Metric("m"), [new Sample(NowMs - 1, 1), new Sample(NowMs, 2)]);
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(series)).Status);
        var (status, text) = await PostAsync(series);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("1 out of order", text, StringComparison.Ordinal);
        Assert.Equal(2, _appender.TotalSamples);
    }

    [Fact]
    public async Task OutOfOrderSamples_Are400_WithPrometheusWordingAndCounts()
    {
        var m = Labels.Metric("m");
        await PostAsync(new SeriesSamples(m, [new Sample(NowMs, 1)]));
        var (status, text) = await PostAsync(new SeriesSamples(m, [new Sample(NowMs - 10, 1), new Sample(NowMs - 5, 1)]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("out of order sample for series m{}", text, StringComparison.Ordinal);
        Assert.Contains("2 samples refused (2 out of order", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConflictingDuplicate_Is400()
    {
        var m = Labels.Metric("m");
        await PostAsync(new SeriesSamples(m, [new Sample(NowMs, 1)]));
        var (status, text) = await PostAsync(new SeriesSamples(m, [new Sample(NowMs, 2)]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("duplicate sample for timestamp", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PartlyRefused_Is400_AndReportsWhatWasAppended()
    {
        var m = Labels.Metric("m");
        await PostAsync(new SeriesSamples(m, [new Sample(NowMs, 1)]));
        using var content = Content(WriteRequestCodec.EncodeCompressed([
            new SeriesSamples(m, [new Sample(NowMs - 1, 1)]),
            new SeriesSamples(Labels.Metric("other"), [new Sample(NowMs, 1)])]));
        await using var host = await TestServerHost.StartAsync(e => e.MapRemoteWrite(_appender, _clock));
        using var response = await host.Client.PostAsync("/api/v1/write", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("1", response.Headers.GetValues("X-Aida-Samples-Appended").Single());
        Assert.Contains("1 samples refused", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherContentEncoding_Is415()
    {
        await using var host = await TestServerHost.StartAsync(e => e.MapRemoteWrite(_appender, _clock));
        using var content = Content([0]);
        content.Headers.ContentEncoding.Clear();
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await host.Client.PostAsync("/api/v1/write", content);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task RequestFromThePythonReferenceWriter_IsAccepted()
    {
        // ../shared/peers/rw.py ci_rw 42 job=ci with TS_MS=1748779200000: literal-only snappy, as a foreign sender writes it.
        var ts = WriteRequestCodec.Encode([new SeriesSamples(Labels.Metric("ci_rw", ("job", "ci")), [new Sample(NowMs, 42)])]);
        var literal = new byte[] { (byte)ts.Length }.Concat(new[] { (byte)((ts.Length - 1) << 2) }).Concat(ts).ToArray();
        var (status, _) = await PostRawAsync(literal);
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal([new Sample(NowMs, 42)], _appender.SamplesOf(Labels.Metric("ci_rw", ("job", "ci"))));
    }

    [Fact]
    public async Task IntoTheStore_EverySampleLandsInItsSeries_AndRefusalsAreCountedAsInPrometheus()
    {
        // A Tsdb takes a request in one AppendBatch; the answer must be what per-sample appends would give.
        using var store = new Tsdb(new TsdbOptions { Clock = _clock });
        var up = Labels.Metric("up", ("job", "a"));
        var temp = Labels.Metric("temp_celsius", ("rack", "r1"));
        await using var host = await TestServerHost.StartAsync(e => e.MapRemoteWrite(store, _clock));
        using (var first = Content(WriteRequestCodec.EncodeCompressed([
            new SeriesSamples(up, [new Sample(NowMs - 2000, 1), new Sample(NowMs - 1000, 0)]),
            new SeriesSamples(temp, [new Sample(NowMs, 21.5)])])))
        {
            using var response = await host.Client.PostAsync("/api/v1/write", first);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal("3", response.Headers.GetValues("X-Aida-Samples-Appended").Single());
        }

        // An identical resend of the newest sample is ignored, an older one is out of order, a new one is stored.
        using var second = Content(WriteRequestCodec.EncodeCompressed([
            new SeriesSamples(temp, [new Sample(NowMs, 21.5)]),
            new SeriesSamples(up, [new Sample(NowMs - 1500, 7), new Sample(NowMs - 500, 1)])]));
        using var refused = await host.Client.PostAsync("/api/v1/write", second);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("1", refused.Headers.GetValues("X-Aida-Samples-Appended").Single());
        var text = await refused.Content.ReadAsStringAsync();
        Assert.StartsWith("out of order sample for series up{job=\"a\"}: 1 samples refused (1 out of order", text, StringComparison.Ordinal);
        Assert.Contains("1 identical duplicates ignored", text, StringComparison.Ordinal);

        var stored = store.Select(long.MinValue, long.MaxValue, [LabelMatcher.MetricName("up")]).Single();
        Assert.Equal([new Sample(NowMs - 2000, 1), new Sample(NowMs - 1000, 0), new Sample(NowMs - 500, 1)], stored.Samples);
        Assert.Equal([new Sample(NowMs, 21.5)], store.Select(long.MinValue, long.MaxValue, [LabelMatcher.MetricName("temp_celsius")]).Single().Samples);
    }

    [Fact]
    public async Task IntoTheStore_AnInvalidSeries_CreatesNoSeriesAtAll()
    {
        using var store = new Tsdb(new TsdbOptions { Clock = _clock });
        await using var host = await TestServerHost.StartAsync(e => e.MapRemoteWrite(store, _clock));
        using var content = Content(WriteRequestCodec.EncodeCompressed([
            new SeriesSamples(Labels.Metric("good"), [new Sample(NowMs, 1)]),
            new SeriesSamples(Labels.Metric("bad", ("bad-label", "x")), [new Sample(NowMs, 1)])]));
        using var response = await host.Client.PostAsync("/api/v1/write", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, store.Stats.SeriesCount);
        Assert.Equal(0, store.Stats.SampleCount);
    }

    [Fact]
    public async Task BodyWithoutContentLength_LargerThanTheFirstBuffer_IsReadWhole()
    {
        // 3,000 series with random label values compress to several times the first 16 KiB buffer; a stream of unknown
        // length is sent chunked.
        var random = new Random(7);
        var series = Enumerable.Range(0, 3000).Select(i => new SeriesSamples(Labels.Metric("m", ("id", Convert.ToHexString(BitConverter.GetBytes(random.NextInt64())))), [new Sample(NowMs, i)])).ToArray();
        var body = WriteRequestCodec.EncodeCompressed(series);
        Assert.True(body.Length > 64 * 1024);
        await using var host = await TestServerHost.StartAsync(e => e.MapRemoteWrite(_appender, _clock));
        using var content = new StreamContent(new UnseekableStream(body));
        content.Headers.ContentType = new MediaTypeHeaderValue(WriteRequestCodec.ContentType);
        content.Headers.ContentEncoding.Add("snappy");
        using var response = await host.Client.PostAsync("/api/v1/write", content);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(3000, _appender.TotalSamples);
    }

    [Fact]
    public void SameLabelsInOtherBytes_AreOneSeries_CachedUnderEachForm()
    {
        // Encode writes labels sorted; a foreign sender may not, and may send an empty-valued label (which names nothing).
        using var store = new Tsdb(new TsdbOptions { Clock = _clock });
        var cache = new SeriesRefCache();
        byte[][] forms =
        [
            [.. Label("__name__", "m"), .. Label("job", "a")],
            [.. Label("job", "a"), .. Label("__name__", "m")],
            [.. Label("job", "a"), .. Label("zone", ""), .. Label("__name__", "m")],
        ];
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < forms.Length; i++)
            {
                // The second round finds every form in the cache.
                Assert.Null(Receive(store, cache, TimeSeries(forms[i], SampleField(NowMs - 100 + (round * 10) + i, (round * 10) + i))).Problem);
            }
        }

        Assert.Equal(1, store.Stats.SeriesCount);
        Assert.Equal(3, cache.Count);
        var series = store.Select(long.MinValue, long.MaxValue, [LabelMatcher.MetricName("m")]).Single();
        Assert.Equal(Labels.Metric("m", ("job", "a")), series.Labels);
        Assert.Equal([0.0, 1, 2, 10, 11, 12], series.Samples.Select(x => x.Value));
    }

    [Fact]
    public void LabelBytesOfASeriesCreatedByAnotherPath_FindThatSeries_ThenHitTheCache()
    {
        // The plant's recorder (or any other appender user) created the series first.
        using var store = new Tsdb(new TsdbOptions { Clock = _clock });
        var labels = Labels.Metric("aida_rack_power_watts", ("rack", "r1"));
        var id = store.GetOrCreateSeries(labels);
        Assert.Equal(AppendStatus.Ok, store.Append(id, NowMs - 30, 1));

        var cache = new SeriesRefCache();
        var encoded = WriteRequestCodec.Encode([new SeriesSamples(labels, [new Sample(NowMs - 20, 2)])]);
        Assert.Null(RemoteWriteReceiverExtensions.Receive(Snappy.CompressToArray(encoded), store, cache, NowMs).Problem);
        Assert.Equal(1, cache.Count);
        Assert.Null(RemoteWriteReceiverExtensions.Receive(WriteRequestCodec.EncodeCompressed([new SeriesSamples(labels, [new Sample(NowMs - 10, 3)])]), store, cache, NowMs).Problem);

        Assert.Equal(1, store.Stats.SeriesCount);
        Assert.Equal(id, store.GetOrCreateSeries(labels));
        Assert.Equal([1.0, 2, 3], store.Select(long.MinValue, long.MaxValue, [LabelMatcher.MetricName("aida_rack_power_watts")]).Single().Samples.Select(x => x.Value));
    }

    [Fact]
    public async Task AfterWalReplay_TheReceiverPutsSamplesInTheReplayedSeries()
    {
        // Reopening numbers series anew (series in blocks first, in label order, then the WAL's): "z" is created before
        // "a" here but gets the lower number after the reopen. What the receiver caches must follow the open store.
        var directory = Path.Combine(Path.GetTempPath(), "aida-rw-" + Guid.NewGuid().ToString("N"));
        var twoHours = (long)TimeSpan.FromHours(2).TotalMilliseconds;
        var z = Labels.Metric("z_metric");
        var a = Labels.Metric("a_metric");
        try
        {
            int zBefore;
            using (var store = new Tsdb(new TsdbOptions { DataDirectory = directory, Clock = _clock }))
            {
                await using var host = await TestServerHost.StartAsync(e => e.MapRemoteWrite(store, _clock));
                await PostToAsync(host, new SeriesSamples(z, [new Sample(NowMs - (2 * twoHours), 1)]), new SeriesSamples(a, [new Sample(NowMs - (2 * twoHours), 1)]));
                await PostToAsync(host, new SeriesSamples(z, [new Sample(NowMs, 2)]), new SeriesSamples(a, [new Sample(NowMs, 20)]));
                zBefore = store.GetOrCreateSeries(z);
                Assert.True(store.Compact() > 0);
            }

            using var reopened = new Tsdb(new TsdbOptions { DataDirectory = directory, Clock = _clock });
            Assert.NotEqual(zBefore, reopened.GetOrCreateSeries(z));
            await using (var host = await TestServerHost.StartAsync(e => e.MapRemoteWrite(reopened, _clock)))
            {
                for (var i = 1; i <= 2; i++)
                {
                    await PostToAsync(host, new SeriesSamples(z, [new Sample(NowMs + i, 2 + i)]), new SeriesSamples(a, [new Sample(NowMs + i, 20 + i)]));
                }
            }

            Assert.Equal(2, reopened.Stats.SeriesCount);
            Assert.Equal([1.0, 2, 3, 4], reopened.Select(long.MinValue, long.MaxValue, [LabelMatcher.MetricName("z_metric")]).Single().Samples.Select(x => x.Value));
            Assert.Equal([1.0, 20, 21, 22], reopened.Select(long.MinValue, long.MaxValue, [LabelMatcher.MetricName("a_metric")]).Single().Samples.Select(x => x.Value));
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Fact]
    public void LabelsInterleavedWithSamples_AreDecodedAndStored_ButNotCached()
    {
        // Other fields between label fields would make the label bytes differ from request to request.
        using var store = new Tsdb(new TsdbOptions { Clock = _clock });
        var cache = new SeriesRefCache();
        var body = TimeSeries([.. Label("__name__", "m"), .. SampleField(NowMs - 1, 1), .. Label("job", "a")], SampleField(NowMs, 2));
        Assert.Null(Receive(store, cache, body).Problem);
        Assert.Equal(0, cache.Count);
        var series = store.Select(long.MinValue, long.MaxValue, [LabelMatcher.MetricName("m")]).Single();
        Assert.Equal(Labels.Metric("m", ("job", "a")), series.Labels);
        Assert.Equal([new Sample(NowMs - 1, 1), new Sample(NowMs, 2)], series.Samples);
    }

    [Fact]
    public void InvalidLabels_AreNeverCached_AndStayRefused()
    {
        using var store = new Tsdb(new TsdbOptions { Clock = _clock });
        var cache = new SeriesRefCache();
        var body = TimeSeries([.. Label("__name__", "m"), .. Label("bad-label", "x")], SampleField(NowMs, 1));
        for (var i = 0; i < 2; i++)
        {
            var result = Receive(store, cache, body);
            Assert.False(result.Applied);
            Assert.Contains("invalid label name 'bad-label'", result.Problem, StringComparison.Ordinal);
        }

        Assert.Equal(0, cache.Count);
        Assert.Equal(0, store.Stats.SeriesCount);
    }

    [Fact]
    public void ProblemsWithACachedSeries_StillNameItsLabels()
    {
        using var store = new Tsdb(new TsdbOptions { Clock = _clock });
        var cache = new SeriesRefCache();
        var labels = Labels.Metric("m", ("job", "a"));
        Assert.Null(Receive(store, cache, labels, new Sample(NowMs, 1)).Problem);
        Assert.Equal(1, cache.Count);

        var refused = Receive(store, cache, labels, new Sample(NowMs - 5, 1));
        Assert.True(refused.Applied);
        Assert.StartsWith("out of order sample for series m{job=\"a\"}: 1 samples refused", refused.Problem, StringComparison.Ordinal);

        var unsorted = Receive(store, cache, labels, new Sample(NowMs + 2, 1), new Sample(NowMs + 1, 1));
        Assert.False(unsorted.Applied);
        Assert.StartsWith("out of order sample: samples of m{job=\"a\"} are not sorted by time", unsorted.Problem, StringComparison.Ordinal);

        var ahead = Receive(store, cache, labels, new Sample(NowMs + (long)TimeSpan.FromMinutes(11).TotalMilliseconds, 1));
        Assert.False(ahead.Applied);
        Assert.StartsWith("out of bounds: sample of m{job=\"a\"}", ahead.Problem, StringComparison.Ordinal);
        Assert.Equal([new Sample(NowMs, 1)], store.Select(long.MinValue, long.MaxValue, [LabelMatcher.MetricName("m")]).Single().Samples);
    }

    private Task<(HttpStatusCode Status, string Text)> PostAsync(params SeriesSamples[] series) => PostRawAsync(WriteRequestCodec.EncodeCompressed(series));

    private async Task<(HttpStatusCode Status, string Text)> PostRawAsync(byte[] body)
    {
        await using var host = await TestServerHost.StartAsync(e => e.MapRemoteWrite(_appender, _clock));
        using var content = Content(body);
        using var response = await host.Client.PostAsync("/api/v1/write", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static RemoteWriteReceiverExtensions.ReceiveResult Receive(Tsdb store, SeriesRefCache cache, byte[] timeSeries) =>
        RemoteWriteReceiverExtensions.Receive(Snappy.CompressToArray(Field(1, timeSeries)), store, cache, NowMs + (long)RemoteWriteReceiverExtensions.MaxAheadTime.TotalMilliseconds);

    private static RemoteWriteReceiverExtensions.ReceiveResult Receive(Tsdb store, SeriesRefCache cache, Labels labels, params Sample[] samples) =>
        RemoteWriteReceiverExtensions.Receive(WriteRequestCodec.EncodeCompressed([new SeriesSamples(labels, samples)]), store, cache, NowMs + (long)RemoteWriteReceiverExtensions.MaxAheadTime.TotalMilliseconds);

    private static async Task PostToAsync(TestServerHost host, params SeriesSamples[] series)
    {
        using var content = Content(WriteRequestCodec.EncodeCompressed(series));
        using var response = await host.Client.PostAsync("/api/v1/write", content);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    /// <summary>A <c>TimeSeries</c> body from raw fields, in the order given.</summary>
    private static byte[] TimeSeries(byte[] fields, params byte[][] more) => [.. fields, .. more.SelectMany(f => f)];

    /// <summary>A <c>TimeSeries.labels</c> field; an empty value is left out, as proto3 encoders do.</summary>
    private static byte[] Label(string name, string value) =>
        Field(1, [.. Field(1, System.Text.Encoding.UTF8.GetBytes(name)), .. value.Length == 0 ? [] : Field(2, System.Text.Encoding.UTF8.GetBytes(value))]);

    private static byte[] SampleField(long timestampMs, double value) =>
        Field(2, [0x09, .. BitConverter.GetBytes(value), 0x10, .. Varint((ulong)timestampMs)]);

    private static byte[] Field(int number, byte[] payload) => [(byte)((number << 3) | 2), .. Varint((ulong)payload.Length), .. payload];

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        for (; value >= 0x80; value >>= 7)
        {
            bytes.Add((byte)(value | 0x80));
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    private static ByteArrayContent Content(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(WriteRequestCodec.ContentType);
        content.Headers.ContentEncoding.Add("snappy");
        content.Headers.Add("X-Prometheus-Remote-Write-Version", WriteRequestCodec.ProtocolVersion);
        return content;
    }

    /// <summary>A stream that hides its length, so the client sends it chunked.</summary>
    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
