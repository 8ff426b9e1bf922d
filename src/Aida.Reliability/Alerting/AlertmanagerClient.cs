using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Aida.Reliability.Alerting;

/// <summary>One alert as Alertmanager's v2 API takes it: labels (its identity: Alertmanager deduplicates and groups by
/// them), annotations, <c>startsAt</c>, <c>endsAt</c> (null while firing: the post sets it a validity ahead) and an
/// optional <c>generatorURL</c> (where a person clicks through to).</summary>
public sealed record AlertmanagerAlert(
    IReadOnlyList<KeyValuePair<string, string>> Labels,
    IReadOnlyList<KeyValuePair<string, string>> Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt = null,
    string? GeneratorUrl = null)
{
    /// <summary>The SLO burn-rate alert's labels <c>alertname</c>, <c>slo</c>, <c>service</c>, <c>severity</c>,
    /// <c>condition</c>; annotations <c>summary</c>, the burn rates (not for a no-data alert) and the notification
    /// targets.</summary>
    public static AlertmanagerAlert From(SloAlert a)
    {
        var annotations = new List<KeyValuePair<string, string>> { new("summary", a.Summary) };
        if (!a.NoData)
        {
            annotations.Add(new("burn_rate_long", a.LongBurnRate.ToString("R", CultureInfo.InvariantCulture)));
            annotations.Add(new("burn_rate_short", a.ShortBurnRate.ToString("R", CultureInfo.InvariantCulture)));
        }
        if (a.NotificationTargets.Count > 0)
        {
            annotations.Add(new("notification_targets", string.Join(",", a.NotificationTargets)));
        }

        List<KeyValuePair<string, string>> labels = [new("alertname", a.AlertName), new("slo", a.Slo), new("service", a.Service), new("severity", a.Severity), new("condition", a.Condition.Name)];
        if (!a.NotifyResolved)
        {
            labels.Add(new(SloAlert.NotifyResolvedLabel, "false"));
        }

        return new AlertmanagerAlert(labels, annotations, a.StartsAt, a.EndsAt);
    }
}

/// <summary>Posts alerts to Alertmanager's v2 API (<c>POST /api/v2/alerts</c>), as Prometheus does: <c>endsAt</c> in the
/// future while firing (so an alert that is no longer sent expires) and the resolution time once resolved.</summary>
public sealed class AlertmanagerClient
{
    private readonly HttpClient _http;
    private readonly Uri _alertsUrl;

    /// <param name="baseUrl">Alertmanager's address, e.g. <c>http://127.0.0.1:9093/</c>.</param>
    /// <param name="firingValidity">How far past each post a firing alert's <c>endsAt</c> is set (default 5 min):
    /// longer than the evaluation interval, so it stays active between posts.</param>
    public AlertmanagerClient(HttpClient http, Uri baseUrl, TimeSpan? firingValidity = null)
    {
        _http = http;
        BaseUrl = baseUrl;
        _alertsUrl = new Uri(baseUrl, "api/v2/alerts");
        FiringValidity = firingValidity ?? TimeSpan.FromMinutes(5);
    }

    public Uri BaseUrl { get; }

    public TimeSpan FiringValidity { get; }

    /// <summary>Posts SLO burn-rate <paramref name="alerts"/> at <paramref name="now"/>; a refusal is an
    /// <see cref="HttpRequestException"/> naming Alertmanager's answer.</summary>
    public Task PostAsync(IReadOnlyList<SloAlert> alerts, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        PostAsync(alerts.Select(AlertmanagerAlert.From).ToList(), now, cancellationToken);

    /// <summary>Posts <paramref name="alerts"/> at <paramref name="now"/>; a refusal is an
    /// <see cref="HttpRequestException"/> naming Alertmanager's answer.</summary>
    public async Task PostAsync(IReadOnlyList<AlertmanagerAlert> alerts, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var content = new ByteArrayContent(Body(alerts, now, FiringValidity));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync(_alertsUrl, content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"Alertmanager at {_alertsUrl} answered {(int)response.StatusCode}: {text.Trim()}", null, response.StatusCode);
        }
    }

    internal static byte[] Body(IReadOnlyList<SloAlert> alerts, DateTimeOffset now, TimeSpan firingValidity) =>
        Body(alerts.Select(AlertmanagerAlert.From).ToList(), now, firingValidity);

    internal static byte[] Body(IReadOnlyList<AlertmanagerAlert> alerts, DateTimeOffset now, TimeSpan firingValidity)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var a in alerts)
            {
                w.WriteStartObject();
                w.WriteStartObject("labels");
                foreach (var (name, value) in a.Labels)
                {
                    w.WriteString(name, value);
                }

                w.WriteEndObject();
                w.WriteStartObject("annotations");
                foreach (var (name, value) in a.Annotations)
                {
                    w.WriteString(name, value);
                }

                w.WriteEndObject();
                w.WriteString("startsAt", Stamp(a.StartsAt));
                w.WriteString("endsAt", Stamp(a.EndsAt ?? now + firingValidity));
                if (a.GeneratorUrl is { } url)
                {
                    w.WriteString("generatorURL", url);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        return buffer.ToArray();
    }

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
