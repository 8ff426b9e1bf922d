using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Aida.Reliability.Alerting;

/// <summary>Posts SLO alerts to Alertmanager's v2 API (<c>POST /api/v2/alerts</c>), as Prometheus does: labels
/// <c>alertname</c>, <c>slo</c>, <c>severity</c>, <c>service</c>, <c>condition</c>; annotations <c>summary</c>,
/// burn rates and notification targets; <c>startsAt</c>; <c>endsAt</c> in the future while firing (so an alert that is
/// no longer sent expires) and the resolution time once resolved.</summary>
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
        _alertsUrl = new Uri(baseUrl, "api/v2/alerts");
        FiringValidity = firingValidity ?? TimeSpan.FromMinutes(5);
    }

    public TimeSpan FiringValidity { get; }

    /// <summary>Posts <paramref name="alerts"/> at <paramref name="now"/>; a refusal is an <see cref="HttpRequestException"/>
    /// naming Alertmanager's answer.</summary>
    public async Task PostAsync(IReadOnlyList<SloAlert> alerts, DateTimeOffset now, CancellationToken cancellationToken = default)
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

    internal static byte[] Body(IReadOnlyList<SloAlert> alerts, DateTimeOffset now, TimeSpan firingValidity)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var a in alerts)
            {
                w.WriteStartObject();
                w.WriteStartObject("labels");
                w.WriteString("alertname", a.AlertName);
                w.WriteString("slo", a.Slo);
                w.WriteString("service", a.Service);
                w.WriteString("severity", a.Severity);
                w.WriteString("condition", a.Condition.Name);
                w.WriteEndObject();
                w.WriteStartObject("annotations");
                w.WriteString("summary", a.Summary);
                w.WriteString("burn_rate_long", a.LongBurnRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("burn_rate_short", a.ShortBurnRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                if (a.NotificationTargets.Count > 0)
                {
                    w.WriteString("notification_targets", string.Join(",", a.NotificationTargets));
                }

                w.WriteEndObject();
                w.WriteString("startsAt", a.StartsAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("endsAt", (a.EndsAt ?? now + firingValidity).UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        return buffer.ToArray();
    }
}
