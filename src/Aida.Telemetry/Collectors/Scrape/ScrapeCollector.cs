using System.Net.Http.Headers;
using Aida.Model.Config;
using Aida.Protocols.Exposition;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors.Scrape;

/// <summary>Scrapes one Prometheus <c>/metrics</c> target (text format 0.0.4 or OpenMetrics 1.0) every interval, as a
/// Prometheus scrape job with one static target does.</summary>
/// <remarks>
/// Site-file entry (<c>type: scrape</c>): <c>url</c> (required, http or https), <c>honor_timestamps</c> (default true: a
/// sample's own timestamp is kept; false: every sample gets the scrape's time), plus the common <c>interval</c>,
/// <c>timeout</c> and <c>labels</c>.
/// <para>Each series is stored under its own name and labels plus the entry's labels (an entry label wins; the scraped
/// value of a clashing label is kept as <c>exported_NAME</c>, as Prometheus does with <c>honor_labels: false</c>). Per
/// scrape it writes Prometheus' <c>up</c>, <c>scrape_duration_seconds</c> and <c>scrape_samples_scraped</c> labelled
/// <c>job</c> (the entry's name) and <c>instance</c> (the URL's host:port), and reports health to the sink. A series that
/// disappears from the target, and every series when the target goes down, gets a staleness marker. Lines that cannot be
/// read are counted as malformed and the rest of the scrape is kept.</para>
/// <para>Scrapes start after a seeded random offset within the first interval, so targets of one site spread out.</para>
/// <para><c>start_time</c> (optional, since session 54): a metric the target exposes as the Unix time its process
/// started, <c>process_start_time_seconds</c> in every Prometheus client library. A series of it that reads a later start
/// than at the scrape before is a restart between two scrapes that both answered (an exporter or a controller serving
/// <c>/metrics</c> that came back within an interval): reported to the sink as the other collectors report a device's
/// uptime going back (<c>aida_collector_restarts_total</c>, <c>AidaDeviceRestarted</c>); its counters started again from
/// zero.</para>
/// </remarks>
public sealed class ScrapeCollector : ICollector, IDisposable
{
    public const string Type = "scrape";

    /// <summary>The largest body read (Prometheus' <c>body_size_limit</c>); larger bodies fail the scrape.</summary>
    public const long MaxBodyBytes = 64L * 1024 * 1024;

    private readonly CollectorSettings _settings;
    private readonly HttpClient _http;
    private readonly Labels _targetLabels;
    private HashSet<Labels> _previous = [];

    // Each start-time series' last reading (Unix seconds).
    private readonly Dictionary<Labels, double> _starts = [];

    public ScrapeCollector(CollectorSettings settings, Uri url, bool honorTimestamps, HttpMessageHandler? handler = null, string? startTimeMetric = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(url);
        _settings = settings;
        Url = url;
        HonorTimestamps = honorTimestamps;
        StartTimeMetric = startTimeMetric;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = Timeout.InfiniteTimeSpan; // the scrape's own timeout runs on the site clock
        _http.MaxResponseContentBufferSize = MaxBodyBytes;
        _targetLabels = Labels.From(("job", settings.Name), ("instance", url.IsDefaultPort ? $"{url.Host}:{(url.Scheme == "https" ? 443 : 80)}" : $"{url.Host}:{url.Port}"));
    }

    /// <summary>Builds a collector from its site-file entry (registered as <c>scrape</c>).</summary>
    public static ICollector Create(ConfigNode entry, CollectorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var text = entry.String("url");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw entry.Error("url", $"'{text}' is not an http(s) URL");
        }

        var startTime = entry.Optional("start_time") is null ? null : entry.String("start_time");
        if (startTime is not null && !LabelRules.IsValidMetricName(startTime))
        {
            throw entry.Error("start_time", $"'{startTime}' is not a metric name (process_start_time_seconds)");
        }

        return new ScrapeCollector(settings, url, entry.Boolean("honor_timestamps", true), startTimeMetric: startTime);
    }

    public string Name => _settings.Name;

    public string Kind => Type;

    public Uri Url { get; }

    public bool HonorTimestamps { get; }

    /// <summary>The metric read as the target's process start time (Unix seconds), judged for restarts; null: none.</summary>
    public string? StartTimeMetric { get; }

    public async Task RunAsync(CollectorSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var clock = _settings.Clock;
        try
        {
            await Task.Delay(TimeSpan.FromTicks((long)(_settings.Random.NextDouble() * _settings.Interval.Ticks)), clock, ct).ConfigureAwait(false);
            using var timer = new PeriodicTimer(_settings.Interval, clock);
            do
            {
                await ScrapeOnceAsync(sink, ct).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>One scrape: fetch, parse, store, mark vanished series stale, write the scrape's own series.</summary>
    internal async Task ScrapeOnceAsync(CollectorSink sink, CancellationToken ct)
    {
        var clock = _settings.Clock;
        var start = clock.GetTimestamp();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        string? failure = null;
        ExpositionDocument? doc = null;
        using (var timeout = new CancellationTokenSource(_settings.Timeout, clock))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token))
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, Url);
                request.Headers.Accept.ParseAdd(ExpositionContentType.ScrapeAccept);
                request.Headers.Add("X-Prometheus-Scrape-Timeout-Seconds", _settings.Timeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture));
                using var response = await _http.SendAsync(request, linked.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    failure = $"{Url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
                }
                else
                {
                    var body = await response.Content.ReadAsStringAsync(linked.Token).ConfigureAwait(false);
                    doc = ExpositionParser.Parse(body, ExpositionContentType.FromContentType(ContentType(response.Content.Headers)));
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                failure = $"{Url}: no answer within {_settings.Timeout.TotalSeconds} s";
            }
            catch (HttpRequestException e)
            {
                failure = $"{Url}: {e.Message}";
            }
        }

        var duration = clock.GetElapsedTime(start);
        var current = new HashSet<Labels>();
        var scraped = 0;
        if (doc is not null)
        {
            foreach (var error in doc.Errors)
            {
                sink.Malformed(Kind, Name, $"{Url} {error}");
            }

            scraped = doc.Samples.Count;
            foreach (var s in doc.Samples)
            {
                var labels = SeriesLabels(s);
                var ts = HonorTimestamps && s.TimestampMs is { } own ? own : now;
                if (!current.Add(labels))
                {
                    sink.Malformed(Kind, Name, $"{Url}: {labels} appears twice in one scrape");
                    continue;
                }

                sink.Sample(Kind, Name, labels, ts, s.Value);
                if (s.Name == StartTimeMetric && StartedAgain(labels, s.Value) is { } evidence)
                {
                    sink.Restarted(Kind, Name, now, evidence);
                }
            }
        }

        foreach (var gone in _previous)
        {
            if (!current.Contains(gone))
            {
                sink.Stale(Kind, Name, gone, now);
            }
        }

        _previous = current;
        sink.Sample(Kind, Name, WithTarget("up"), now, failure is null ? 1 : 0);
        sink.Sample(Kind, Name, WithTarget("scrape_duration_seconds"), now, duration.TotalSeconds);
        sink.Sample(Kind, Name, WithTarget("scrape_samples_scraped"), now, scraped);
        if (failure is null)
        {
            sink.Up(Kind, Name, duration);
        }
        else
        {
            sink.Error(Kind, Name, failure);
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Whether the start time <paramref name="labels"/> reads is later than at the scrape before (by more than a
    /// second, a start time's usual resolution): the evidence, else null.</summary>
    private string? StartedAgain(Labels labels, double startSeconds)
    {
        if (!double.IsFinite(startSeconds) || startSeconds <= 0)
        {
            return null;
        }

        var known = _starts.TryGetValue(labels, out var before);
        _starts[labels] = startSeconds;
        return known && startSeconds > before + 1
            ? $"{labels}: its process started at {Stamp(startSeconds)}, after {Stamp(before)} at the scrape before"
            : null;
    }

    private static string Stamp(double unixSeconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)(unixSeconds * 1000)).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private Labels WithTarget(string metric) => _targetLabels.With(Labels.MetricNameLabel, metric);

    private Labels SeriesLabels(ExpositionSample s)
    {
        var pairs = new List<KeyValuePair<string, string>>(s.Labels.Count + _settings.Labels.Count + 1)
        {
            new(Labels.MetricNameLabel, s.Name),
        };
        foreach (var (name, value) in s.Labels)
        {
            pairs.Add(new KeyValuePair<string, string>(_settings.Labels.Get(name) is null ? name : "exported_" + name, value));
        }

        pairs.AddRange(_settings.Labels.Pairs());
        return Labels.From(pairs);
    }

    private static string? ContentType(HttpContentHeaders headers) =>
        headers.TryGetValues("Content-Type", out var values) ? string.Join(",", values) : null;
}
