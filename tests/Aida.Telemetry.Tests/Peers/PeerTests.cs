using System.Text.Json;
using Aida.Telemetry.Query;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.Peers;

/// <summary>The sender and the remote engine against the real servers: Prometheus and VictoriaMetrics from Debian.</summary>
public sealed class PeerTests : IDisposable
{
    private readonly string _buffer = PeerProcess.TempDirectory("aida-rw-peer");

    public void Dispose() => Directory.Delete(_buffer, recursive: true);

    [SkippableFact]
    public async Task Prometheus_ReceivesWhatTheSenderSends_AndTheRemoteEngineReadsItBack()
    {
        await using var prometheus = await PrometheusPeer.StartAsync();
        // Real peers keep real time: Prometheus refuses samples older than its head (about 1-2 h).
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var first = now.AddMinutes(-10).ToUnixTimeMilliseconds();
        var expected = new Dictionary<Labels, List<Sample>>();
        await using (var sender = new RemoteWriteSender(new RemoteWriteOptions
        {
            Url = prometheus.WriteUrl,
            BufferDirectory = _buffer,
            MaxSamplesPerSend = 25,
            BatchSendDeadline = TimeSpan.FromMilliseconds(100),
        }))
        {
            for (var i = 0; i < 20; i++)
            {
                foreach (var rack in new[] { "r1", "r2", "r3" })
                {
                    var labels = Labels.Metric("aida_peer_inlet_celsius", ("rack", rack), ("site", "lab"));
                    var sample = new Sample(first + i * 15_000, i == 7 && rack == "r2" ? double.PositiveInfinity : 20 + i * 0.25 + rack[1]);
                    sender.Enqueue(labels, sample);
                    (expected.TryGetValue(labels, out var list) ? list : expected[labels] = []).Add(sample);
                }
            }

            await sender.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(sender.SentSamples == 60, $"sent {sender.SentSamples}, dropped {sender.DroppedSamples}\n{prometheus.Output()}");
            Assert.Equal(0, sender.DroppedBatches);
        }

        using var http = new HttpClient();
        var engine = new RemoteQueryEngine(http, prometheus.BaseUrl);
        var raw = await engine.QueryAsync("aida_peer_inlet_celsius[15m]", now);
        Assert.Equal(ResultType.Matrix, raw.Type);
        Assert.Equal(3, raw.Series.Count);
        foreach (var series in raw.Series)
        {
            Assert.Equal(expected[series.Labels], series.Samples);
        }

        var sum = await engine.QueryAsync("sum(aida_peer_inlet_celsius{rack!=\"r2\"})", DateTimeOffset.FromUnixTimeMilliseconds(first + 19 * 15_000));
        Assert.Equal(ResultType.Vector, sum.Type);
        Assert.Equal(2 * (20 + 19 * 0.25) + '1' + '3', sum.Series.Single().Samples.Single().Value, 9);

        var found = await engine.SeriesAsync(["aida_peer_inlet_celsius"], now.AddHours(-1), now);
        Assert.Equal(3, found.Count);
        Assert.Equal(["r1", "r2", "r3"], await engine.LabelValuesAsync("rack", now.AddHours(-1), now));
        Assert.Contains("site", await engine.LabelNamesAsync(now.AddHours(-1), now));

        var error = await Assert.ThrowsAsync<QueryException>(() => engine.QueryAsync("sum(rate(x[5m]", now));
        Assert.Equal("bad_data", error.ErrorType);
        Assert.True(error.Position >= 0, error.Message);
    }

    [SkippableFact]
    public async Task VictoriaMetrics_Outage_EverySampleArrivesExactlyOnce()
    {
        await using var vm = await VictoriaMetricsPeer.StartNewAsync();
        const int total = 3000;
        var first = DateTimeOffset.UtcNow.AddMinutes(-30).ToUnixTimeMilliseconds() / 1000 * 1000;
        var labels = Labels.Metric("aida_vm_stream", ("source", "peer-test"));
        await using var sender = new RemoteWriteSender(new RemoteWriteOptions
        {
            Url = vm.WriteUrl,
            BufferDirectory = _buffer,
            MaxSamplesPerSend = 100,
            BatchSendDeadline = TimeSpan.FromMilliseconds(50),
            MaxBackoff = TimeSpan.FromMilliseconds(500),
        });

        for (var i = 0; i < total; i++)
        {
            if (i == total / 3)
            {
                vm.Stop();
            }

            if (i == 2 * total / 3)
            {
                Assert.True(sender.BufferedBytes > 0, "the outage should have left batches in the buffer");
                await vm.StartAsync();
            }

            sender.Enqueue(labels, new Sample(first + i * 100L, i));
            if (i % 100 == 99)
            {
                await Task.Delay(20); // a stream, not one burst
            }
        }

        await sender.FlushAsync().WaitAsync(TimeSpan.FromSeconds(120));
        Assert.True(sender.Retries > 0, "the sender should have retried during the outage");
        Assert.Equal(total, sender.SentSamples);
        Assert.Equal(0, sender.DroppedSamples);

        using var http = new HttpClient { BaseAddress = vm.BaseUrl };
        (await http.GetAsync("internal/force_flush")).Dispose();
        List<long> timestamps = [];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var stableRounds = 0;
        while (DateTime.UtcNow < deadline && stableRounds < 3)
        {
            await Task.Delay(300);
            var previous = timestamps.Count;
            timestamps = await ExportedTimestampsAsync(http, "aida_vm_stream");
            stableRounds = timestamps.Count >= total && timestamps.Count == previous ? stableRounds + 1 : 0;
        }

        Assert.Equal(total, timestamps.Count);
        Assert.Equal(Enumerable.Range(0, total).Select(i => first + i * 100L), timestamps.Order());

        // The same analysis, asked of Aida's embedded engine over the same samples and of VictoriaMetrics, agrees.
        // Evaluated between samples: MetricsQL windows are (t-d, t], PromQL 2.x windows [t-d, t].
        using var local = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { FutureTolerance = TimeSpan.FromDays(1) });
        var id = local.GetOrCreateSeries(labels);
        for (var i = 0; i < total; i++)
        {
            local.Append(id, first + i * 100L, i);
        }

        var embedded = new EmbeddedQueryEngine(local);
        var remote = new RemoteQueryEngine(http, vm.BaseUrl);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(first + (total - 1) * 100L + 50);
        foreach (var query in new[] { "count_over_time(aida_vm_stream[1m])", "max_over_time(aida_vm_stream[2m])", "avg_over_time(aida_vm_stream[1m])", "sum(min_over_time(aida_vm_stream[30s]))" })
        {
            var a = (await embedded.QueryAsync(query, at)).Series.Single().Samples.Single().Value;
            var b = (await remote.QueryAsync(query, at)).Series.Single().Samples.Single().Value;
            Assert.True(Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(a)), $"{query}: Aida {a}, VictoriaMetrics {b}");
        }
    }

    /// <summary>Every raw sample timestamp of a metric, from <c>/api/v1/export</c> (one JSON object per series and line).</summary>
    private static async Task<List<long>> ExportedTimestampsAsync(HttpClient http, string metric)
    {
        var body = await http.GetStringAsync($"api/v1/export?match[]={Uri.EscapeDataString(metric)}");
        var result = new List<long>();
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            result.AddRange(doc.RootElement.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()));
        }

        return result;
    }
}
