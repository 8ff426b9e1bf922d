using System.Text.Json;
using Aida.Reliability.Alerting;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Reliability.Tests.Alerting;

public sealed class AlertmanagerFeedTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 3, 0, 0, TimeSpan.Zero);

    private static FiringAlert Alert(string name, string asset, string summary = "s") =>
        new([new("alertname", name), new("asset", asset)], [new("summary", summary)], "http://127.0.0.1:8080/#agent");

    private static (AlertmanagerFeed Feed, FakeTimeProvider Clock, ScriptedAlertmanager Am, List<string> Said) Feed()
    {
        var clock = new FakeTimeProvider(Start);
        var am = new ScriptedAlertmanager(System.Net.HttpStatusCode.OK);
        var said = new List<string>();
        var feed = new AlertmanagerFeed([new AlertmanagerClient(new HttpClient(am), new Uri("http://127.0.0.1:9093/"))], clock, report: said.Add);
        return (feed, clock, am, said);
    }

    private static List<(string Asset, string StartsAt, string EndsAt)> Alerts(JsonElement post) =>
        [.. post.EnumerateArray().Select(a => (a.GetProperty("labels").GetProperty("asset").GetString()!, a.GetProperty("startsAt").GetString()!, a.GetProperty("endsAt").GetString()!))];

    private static string At(int seconds) => Start.AddSeconds(seconds).UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task ANewAlert_GoesAtOnce_ThenOnlyEveryResend_WithTheTimeItBegan()
    {
        var (feed, clock, am, _) = Feed();

        await feed.UpdateAsync([Alert("AidaIncident", "chiller-1")]);
        clock.Advance(TimeSpan.FromSeconds(30));
        await feed.UpdateAsync([Alert("AidaIncident", "chiller-1")]);
        Assert.Single(am.Posts);
        clock.Advance(TimeSpan.FromSeconds(30));
        await feed.UpdateAsync([Alert("AidaIncident", "chiller-1")]);

        Assert.Equal(2, am.Posts.Count);
        // Firing: begun when first seen, valid five minutes past each post.
        Assert.Equal(("chiller-1", At(0), At(300)), Alerts(am.Posts[0]).Single());
        Assert.Equal(("chiller-1", At(0), At(360)), Alerts(am.Posts[1]).Single());
        Assert.Equal("http://127.0.0.1:8080/#agent", am.Posts[0][0].GetProperty("generatorURL").GetString());
        Assert.Equal("s", am.Posts[0][0].GetProperty("annotations").GetProperty("summary").GetString());
    }

    [Fact]
    public async Task AnAlertThatKnowsWhenItBegan_StartsThen_UnlessThatIsAheadOfTheFeedsClock()
    {
        // Regression: every alert started when Aida first posted it, up to a detection pass after the incident opened,
        // and at the time of a restart for one still open.
        var (feed, clock, am, _) = Feed();
        clock.Advance(TimeSpan.FromSeconds(50));
        await feed.UpdateAsync([
            Alert("AidaIncident", "chiller-1") with { Since = Start.AddSeconds(8) },
            Alert("AidaIncident", "crah-2") with { Since = Start.AddSeconds(70) }, // a twin's clock ahead of the wall's
        ]);

        Assert.Equal([("chiller-1", At(8), At(350)), ("crah-2", At(50), At(350))], Alerts(am.Posts.Single()).Order());
    }

    [Fact]
    public async Task AnAlertThatStopsHolding_IsPostedOnceAsResolved_AtTheTimeItStopped()
    {
        var (feed, clock, am, _) = Feed();
        await feed.UpdateAsync([Alert("AidaIncident", "chiller-1"), Alert("AidaIncident", "crah-2")]);
        clock.Advance(TimeSpan.FromSeconds(5));

        await feed.UpdateAsync([Alert("AidaIncident", "crah-2")]);
        clock.Advance(TimeSpan.FromSeconds(61));
        await feed.UpdateAsync([Alert("AidaIncident", "crah-2")]);

        Assert.Equal(3, am.Posts.Count);
        Assert.Contains(("chiller-1", At(0), At(5)), Alerts(am.Posts[1]));
        Assert.Contains(("crah-2", At(0), At(305)), Alerts(am.Posts[1]));
        Assert.Equal([("crah-2", At(0), At(366))], Alerts(am.Posts[2]));
    }

    [Fact]
    public async Task ChangedAnnotations_GoAtOnce_UnderTheSameAlert()
    {
        var (feed, clock, am, _) = Feed();
        await feed.UpdateAsync([Alert("AidaApprovalNeeded", "h1-c03", "waits until 03:15")]);
        clock.Advance(TimeSpan.FromSeconds(2));

        await feed.UpdateAsync([Alert("AidaApprovalNeeded", "h1-c03", "waits until 03:15; 1 reminder")]);

        Assert.Equal(2, am.Posts.Count);
        Assert.Equal(At(0), am.Posts[1][0].GetProperty("startsAt").GetString());
        Assert.Equal("waits until 03:15; 1 reminder", am.Posts[1][0].GetProperty("annotations").GetProperty("summary").GetString());
    }

    [Fact]
    public async Task WhileAlertmanagerIsDown_ItRetriesEveryTenSeconds_SaysSoOnce_AndDeliversTheResolutionLater()
    {
        var (feed, clock, am, said) = Feed();
        await feed.UpdateAsync([Alert("AidaIncident", "chiller-1")]);
        am.Unreachable = true;
        clock.Advance(TimeSpan.FromSeconds(1));
        await feed.UpdateAsync([]);
        for (var i = 0; i < 25; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await feed.UpdateAsync([]);
        }

        // The resolution's post and two retries (at 11 s and 21 s) failed; said once.
        Assert.Equal((1, 3L), (am.Posts.Count, feed.Failed));
        Assert.Single(said);
        Assert.Contains("Connection refused", said[0], StringComparison.Ordinal);

        am.Unreachable = false;
        clock.Advance(TimeSpan.FromSeconds(5));
        await feed.UpdateAsync([]);

        Assert.Equal([("chiller-1", At(0), At(1))], Alerts(am.Posts[1]));
        Assert.Equal(2, said.Count);
        Assert.Contains("go through again after 3 failed", said[1], StringComparison.Ordinal);
        clock.Advance(TimeSpan.FromMinutes(2));
        await feed.UpdateAsync([]);
        Assert.Equal(2, am.Posts.Count);
    }

    [Fact]
    public async Task AResolutionAlertmanagerWouldHaveExpiredAnyway_IsNotKeptForever()
    {
        var (feed, clock, am, _) = Feed();
        await feed.UpdateAsync([Alert("AidaIncident", "chiller-1"), Alert("AidaIncident", "crah-2")]);
        am.Unreachable = true;
        clock.Advance(TimeSpan.FromSeconds(1));
        await feed.UpdateAsync([Alert("AidaIncident", "crah-2")]);

        // Down for ten minutes: chiller-1's last firing post, valid five minutes, has expired there.
        am.Unreachable = false;
        clock.Advance(TimeSpan.FromMinutes(10));
        await feed.UpdateAsync([Alert("AidaIncident", "crah-2")]);

        Assert.Equal([("crah-2", At(0), At(901))], Alerts(am.Posts[^1]));
    }

    [Fact]
    public async Task AnAlertThatFiresAgainBeforeItsResolutionWentOut_IsOneFiringAlert_FromItsNewStart()
    {
        var (feed, clock, am, _) = Feed();
        await feed.UpdateAsync([Alert("AidaIncident", "chiller-1")]);
        am.Unreachable = true;
        clock.Advance(TimeSpan.FromSeconds(1));
        await feed.UpdateAsync([]);
        clock.Advance(TimeSpan.FromSeconds(1));
        am.Unreachable = false;

        await feed.UpdateAsync([Alert("AidaIncident", "chiller-1")]);

        Assert.Equal([("chiller-1", At(2), At(302))], Alerts(am.Posts[^1]));
    }

    [Fact]
    public async Task EachAlertmanagerOfAPair_IsKeptInStepOnItsOwn()
    {
        var clock = new FakeTimeProvider(Start);
        var (up, down) = (new ScriptedAlertmanager(System.Net.HttpStatusCode.OK), new ScriptedAlertmanager(System.Net.HttpStatusCode.OK) { Unreachable = true });
        var feed = new AlertmanagerFeed(
            [new AlertmanagerClient(new HttpClient(up), new Uri("http://127.0.0.1:9093/")), new AlertmanagerClient(new HttpClient(down), new Uri("http://127.0.0.1:9094/"))], clock);

        await feed.UpdateAsync([Alert("AidaIncident", "chiller-1")]);
        clock.Advance(TimeSpan.FromSeconds(1));
        await feed.UpdateAsync([]);

        // The one that was down never held the alert: nothing to resolve there, now or once it is back.
        Assert.Equal(2, up.Posts.Count);
        Assert.Equal((2L, 1L), (feed.Delivered, feed.Failed));
        down.Unreachable = false;
        clock.Advance(TimeSpan.FromSeconds(10));
        await feed.UpdateAsync([]);
        Assert.Empty(down.Posts);
    }

    [Fact]
    public void AResendNoShorterThanTheValidity_IsRefused()
    {
        var client = new AlertmanagerClient(new HttpClient(), new Uri("http://127.0.0.1:9093/"), TimeSpan.FromMinutes(1));
        var e = Assert.Throws<ArgumentException>(() => new AlertmanagerFeed([client], TimeProvider.System, TimeSpan.FromMinutes(1)));
        Assert.Contains("expire between posts", e.Message, StringComparison.Ordinal);
    }
}
