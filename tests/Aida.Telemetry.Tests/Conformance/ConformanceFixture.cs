using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.ExceptionServices;
using Aida.Model.Scenarios;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Query;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Aida.Telemetry.Tests.Peers;
using Aida.Twin.Simulation;

namespace Aida.Telemetry.Tests.Conformance;

/// <summary>One hour of the reference twin ending about ten minutes ago, recorded into an embedded <see cref="Tsdb"/> and
/// remote-written to a real Prometheus; both are then queried through <see cref="IQueryEngine"/>. Started once for the
/// whole conformance collection.</summary>
public sealed class ConformanceFixture : IAsyncLifetime
{
    private PrometheusPeer? _prometheus;
    private ExceptionDispatchInfo? _failure;

    public Tsdb Store { get; } = new(new TsdbOptions { FutureTolerance = TimeSpan.FromDays(1), Clock = TimeProvider.System });

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public IQueryEngine Aida { get; private set; } = null!;

    public IQueryEngine Prometheus { get; private set; } = null!;

    /// <summary>First sample of the run (a whole minute).</summary>
    public DateTimeOffset Start { get; private set; }

    /// <summary>Last sample of the run: Start + 1 h.</summary>
    public DateTimeOffset End { get; private set; }

    public long SeriesCount { get; private set; }

    public long SampleCount { get; private set; }

    public TimeSpan SetupTime { get; private set; }

    public string Log { get; private set; } = "";

    /// <summary>Rethrows what went wrong while setting up: a skip when the peer is missing (and CI is not true), a failure otherwise.</summary>
    public void EnsureReady() => _failure?.Throw();

    public async Task InitializeAsync()
    {
        var watch = Stopwatch.StartNew();
        try
        {
            _prometheus = await PrometheusPeer.StartAsync();
            var data = Generate();
            await PushAsync(data);
            Aida = new EmbeddedQueryEngine(Store);
            Prometheus = new RemoteQueryEngine(Http, _prometheus.BaseUrl);
            await VerifyReceivedAsync(data);
        }
        catch (Exception ex)
        {
            _failure = ExceptionDispatchInfo.Capture(ex);
        }

        SetupTime = watch.Elapsed;
    }

    public async Task DisposeAsync()
    {
        if (_prometheus is not null)
        {
            await _prometheus.DisposeAsync();
        }

        Http.Dispose();
        Store.Dispose();
    }

    /// <summary>Records the twin into the store and, for the push, into lists per series.</summary>
    private FanOutAppender Generate()
    {
        var now = DateTimeOffset.UtcNow;
        var start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(-70);
        var scenario = ScenarioLoader.Load("reference");
        var sim = new Simulator(scenario with { Start = start, Duration = TimeSpan.FromHours(1) }, new SimulationOptions { NoOperator = true });
        var fanOut = new FanOutAppender(Store);
        var recorder = new PlantTelemetryRecorder(fanOut, sim.Plant, sim.GpuCatalog, scenario.Factory.Site.Name);
        sim.RecordTo(recorder);
        sim.Run();
        if (recorder.Rejected != 0)
        {
            throw new InvalidOperationException($"the store refused {recorder.Rejected} of the twin's samples");
        }

        Start = start;
        End = start.AddHours(1);
        AddEdgeCases(fanOut);
        SeriesCount = fanOut.Labels.Count;
        SampleCount = fanOut.Samples.Sum(s => (long)s.Count);
        var newest = fanOut.Samples.Max(s => s.Count == 0 ? long.MinValue : s[^1].TimestampMs);
        if (newest != End.ToUnixTimeMilliseconds())
        {
            throw new InvalidOperationException($"the run's last sample is at {newest}, expected {End.ToUnixTimeMilliseconds()}");
        }

        return fanOut;
    }

    /// <summary>A few synthetic series next to the twin's, for what a healthy plant never shows: counter resets, a series
    /// starting late, staleness markers, NaN and infinite values, samples sparser than the lookback delta, a 15 s grid
    /// off the twin's 10 s one.</summary>
    private void AddEdgeCases(FanOutAppender store)
    {
        var t0 = Start.ToUnixTimeMilliseconds();
        var resets = store.GetOrCreateSeries(global::Aida.Telemetry.Series.Labels.Metric("aida_conformance_counter", ("case", "resets")));
        var late = store.GetOrCreateSeries(global::Aida.Telemetry.Series.Labels.Metric("aida_conformance_counter", ("case", "late")));
        var specials = store.GetOrCreateSeries(global::Aida.Telemetry.Series.Labels.Metric("aida_conformance_gauge", ("case", "specials")));
        var sparse = store.GetOrCreateSeries(global::Aida.Telemetry.Series.Labels.Metric("aida_conformance_gauge", ("case", "sparse")));
        var stale = store.GetOrCreateSeries(global::Aida.Telemetry.Series.Labels.Metric("aida_conformance_gauge", ("case", "stale")));
        var rejected = 0;
        void Add(int series, long t, double v) => rejected += store.Append(series, t, v) == AppendStatus.Ok ? 0 : 1;
        for (var i = 0; i * 15_000 + 3_000 <= 3_600_000; i++)
        {
            var t = t0 + 3_000 + i * 15_000L;
            Add(resets, t, (i * 7.5) % 400);
            if (i >= 100)
            {
                Add(late, t, 1000 + (i - 100) * 2.25);
            }

            Add(specials, t, (i % 37) switch { 5 => double.NaN, 11 => double.PositiveInfinity, 23 => double.NegativeInfinity, _ => Math.Sin(i / 9.0) * 50 });
            if (i % 16 == 0)
            {
                Add(sparse, t, i / 16 * 1.5);
            }

            var minute = i / 4;
            if (minute is 30 or 45)
            {
                if (i % 4 == 0)
                {
                    Add(stale, t, StaleMarker.Value);
                }
            }
            else if (minute is not (> 30 and < 35) and not (> 45 and < 52))
            {
                Add(stale, t, 20 + (i % 5));
            }
        }

        if (rejected != 0)
        {
            throw new InvalidOperationException($"the store refused {rejected} synthetic samples");
        }
    }

    /// <summary>Remote-writes everything in time slices (so Prometheus' head never sees a sample older than its window),
    /// each slice split into requests by series, every series' samples in order.</summary>
    /// <remarks>The first slice goes one request at a time with the series in label order, so Prometheus numbers its series
    /// in label order: a query over its head then sees series in the same order as over the embedded store (which, like
    /// Prometheus over more than one block, returns them sorted), and ties (topk, bottomk) are broken alike.</remarks>
    private async Task PushAsync(FanOutAppender data)
    {
        const long sliceMs = 10 * 60_000;
        const int maxSamplesPerRequest = 40_000;
        var writeUrl = _prometheus!.WriteUrl;
        var cursors = new int[data.Labels.Count];
        var order = Enumerable.Range(0, data.Labels.Count).ToArray();
        Array.Sort(order, (a, b) => CompareLabels(data.Labels[a], data.Labels[b]));
        var first = true;
        for (var sliceEnd = Start.ToUnixTimeMilliseconds() + sliceMs; ; sliceEnd += sliceMs)
        {
            var requests = new List<List<SeriesSamples>>();
            var current = new List<SeriesSamples>();
            var currentCount = 0;
            var remaining = false;
            foreach (var s in order)
            {
                var samples = data.Samples[s];
                var from = cursors[s];
                var to = from;
                while (to < samples.Count && samples[to].TimestampMs < sliceEnd)
                {
                    to++;
                }

                cursors[s] = to;
                remaining |= to < samples.Count;
                if (to == from)
                {
                    continue;
                }

                current.Add(new SeriesSamples(data.Labels[s], samples.GetRange(from, to - from)));
                currentCount += to - from;
                if (currentCount >= maxSamplesPerRequest)
                {
                    requests.Add(current);
                    current = [];
                    currentCount = 0;
                }
            }

            if (current.Count > 0)
            {
                requests.Add(current);
            }

            await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = first ? 1 : 2 }, async (batch, ct) =>
            {
                using var content = new ByteArrayContent(WriteRequestCodec.EncodeCompressed(batch));
                content.Headers.ContentType = new MediaTypeHeaderValue(WriteRequestCodec.ContentType);
                content.Headers.ContentEncoding.Add("snappy");
                using var request = new HttpRequestMessage(HttpMethod.Post, writeUrl) { Content = content };
                request.Headers.Add("X-Prometheus-Remote-Write-Version", WriteRequestCodec.ProtocolVersion);
                using var response = await Http.SendAsync(request, ct);
                if (response.StatusCode != HttpStatusCode.NoContent)
                {
                    throw new InvalidOperationException(
                        $"Prometheus answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}\n{_prometheus.Output()}");
                }
            });

            first = false;
            if (!remaining)
            {
                break;
            }
        }
    }

    /// <summary>Prometheus' labels.Compare.</summary>
    private static int CompareLabels(Labels a, Labels b)
    {
        var n = Math.Min(a.Count, b.Count);
        for (var i = 0; i < n; i++)
        {
            var c = string.CompareOrdinal(a.Name(i), b.Name(i));
            if (c == 0)
            {
                c = string.CompareOrdinal(a.Value(i), b.Value(i));
            }

            if (c != 0)
            {
                return c;
            }
        }

        return a.Count.CompareTo(b.Count);
    }

    /// <summary>Both engines must see every series and every sample before any query is compared.</summary>
    private async Task VerifyReceivedAsync(FanOutAppender data)
    {
        // count_over_time drops the metric name, so samples are counted metric by metric.
        var expected = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var s = 0; s < data.Labels.Count; s++)
        {
            var name = data.Labels[s].MetricName;
            expected[name] = expected.GetValueOrDefault(name) + data.Samples[s].Count(x => !StaleMarker.Is(x.Value));
        }

        const string seriesQuery = "count(last_over_time({__name__=~\".+\"}[61m]))";
        foreach (var (engineName, engine) in new[] { ("Aida", Aida), ("Prometheus", Prometheus) })
        {
            var series = (await engine.QueryAsync(seriesQuery, End)).Series.Single().Samples.Single().Value;
            var total = 0.0;
            foreach (var (metric, count) in expected)
            {
                var samples = (await engine.QueryAsync($"sum(count_over_time({metric}[61m]))", End)).Series.Single().Samples.Single().Value;
                total += samples;
                if (samples != count)
                {
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"{engineName} holds {samples} samples of {metric}; the twin recorded {count}\n{_prometheus?.Output()}"));
                }
            }

            Log += string.Create(CultureInfo.InvariantCulture, $"{engineName}: {series} series, {total} samples in {expected.Count} metrics\n");
            if (series != SeriesCount)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{engineName} holds {series} series; the twin recorded {SeriesCount}\n{_prometheus?.Output()}"));
            }
        }
    }

    /// <summary>Appends to the store and keeps what it accepted, per series, for the remote write.</summary>
    private sealed class FanOutAppender(Tsdb store) : ISampleAppender
    {
        private readonly Dictionary<Labels, int> _ids = [];
        private readonly List<int> _storeIds = [];

        public List<Labels> Labels { get; } = [];

        public List<List<Sample>> Samples { get; } = [];

        public int GetOrCreateSeries(Labels labels)
        {
            if (!_ids.TryGetValue(labels, out var id))
            {
                _storeIds.Add(store.GetOrCreateSeries(labels));
                id = Labels.Count;
                _ids[labels] = id;
                Labels.Add(labels);
                Samples.Add([]);
            }

            return id;
        }

        public AppendStatus Append(int series, long timestampMs, double value)
        {
            var status = store.Append(_storeIds[series], timestampMs, value);
            if (status == AppendStatus.Ok)
            {
                Samples[series].Add(new Sample(timestampMs, value));
            }

            return status;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ConformanceGroup : ICollectionFixture<ConformanceFixture>
{
    public const string Name = "PromQL conformance";
}
