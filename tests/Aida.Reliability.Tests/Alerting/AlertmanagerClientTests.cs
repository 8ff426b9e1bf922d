using System.Net;
using System.Text.Json;
using Aida.Reliability.Alerting;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Query;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Reliability.Tests.Alerting;

public sealed class AlertmanagerClientTests
{
    private static readonly DateTimeOffset Start = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TheBody_CarriesLabelsAnnotationsAndTimes()
    {
        var condition = BurnRateCondition.Workbook[0];
        var firing = new SloAlert("SLOBurnRatePage", "gpu-throttle-free", "cooling", condition, Start, null, 20, 21, ["oncall"]);
        var resolved = firing with { EndsAt = Start.AddMinutes(30) };

        using var json = JsonDocument.Parse(AlertmanagerClient.Body([firing, resolved], Start.AddMinutes(10), TimeSpan.FromMinutes(5)));
        var alerts = json.RootElement.EnumerateArray().ToList();

        var labels = alerts[0].GetProperty("labels");
        Assert.Equal("SLOBurnRatePage", labels.GetProperty("alertname").GetString());
        Assert.Equal("gpu-throttle-free", labels.GetProperty("slo").GetString());
        Assert.Equal("page", labels.GetProperty("severity").GetString());
        Assert.Equal("cooling", labels.GetProperty("service").GetString());
        Assert.Equal("page-fast-burn", labels.GetProperty("condition").GetString());
        Assert.Equal("oncall", alerts[0].GetProperty("annotations").GetProperty("notification_targets").GetString());
        Assert.Equal("2025-07-01T00:00:00.0000000Z", alerts[0].GetProperty("startsAt").GetString());
        // Firing: valid five minutes past the post; resolved: its resolution time.
        Assert.Equal("2025-07-01T00:15:00.0000000Z", alerts[0].GetProperty("endsAt").GetString());
        Assert.Equal("2025-07-01T00:30:00.0000000Z", alerts[1].GetProperty("endsAt").GetString());
    }

    [Fact]
    public async Task ARefusedPost_IsAnErrorNamingTheAnswer()
    {
        using var http = new HttpClient(new ScriptedAlertmanager(HttpStatusCode.BadRequest));
        var client = new AlertmanagerClient(http, new Uri("http://127.0.0.1:9093/"));
        var alert = new SloAlert("SLOBurnRatePage", "s", "svc", BurnRateCondition.Workbook[0], Start, null, 20, 20, []);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync([alert], Start));

        Assert.Contains("answered 400: boom", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedPost_NeitherStopsTheMonitor_NorLosesAResolution()
    {
        // The page fires at minute 120, resolves at 130 while Alertmanager answers 503, and is delivered at 131.
        var plant = new SyntheticPlant(Start, Start.AddHours(3), Start.AddMinutes(60), Start.AddMinutes(120), FaultBurnRate: 20);
        var clock = new FakeTimeProvider(Start.AddMinutes(120));
        using var store = plant.Store(clock);
        var alertmanager = new ScriptedAlertmanager(HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK);
        using var http = new HttpClient(alertmanager);
        var slo = SyntheticPlant.Slos.Find("gpu-throttle-free")!;
        var monitor = new SloAlertMonitor(new SloEvaluator(new EmbeddedQueryEngine(store)), [slo], clock, new AlertmanagerClient(http, new Uri("http://127.0.0.1:9093/")));

        await monitor.EvaluateAsync();
        clock.SetUtcNow(Start.AddMinutes(130));
        var changes = await monitor.EvaluateAsync();
        Assert.Contains(changes, a => a.Condition.Name == "page-fast-burn" && a.IsResolved);
        Assert.Equal(1, monitor.DeliveryFailures);
        Assert.Contains("503", monitor.LastDeliveryError, StringComparison.Ordinal);

        clock.SetUtcNow(Start.AddMinutes(131));
        await monitor.EvaluateAsync();

        Assert.Null(monitor.LastDeliveryError);
        var last = alertmanager.Posts[^1].EnumerateArray()
            .Single(a => a.GetProperty("labels").GetProperty("condition").GetString() == "page-fast-burn");
        Assert.Equal("2025-07-01T02:10:00.0000000Z", last.GetProperty("endsAt").GetString());
    }
}
