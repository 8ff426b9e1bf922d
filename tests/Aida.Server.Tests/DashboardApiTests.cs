using System.Net;
using System.Text;
using System.Text.Json;
using Aida.Automation.Audit;
using Aida.Server.Access;
using Aida.Server.Api;

namespace Aida.Server.Tests;

/// <summary>What the dashboard stands on: a login that trades a key for a session cookie and a CSRF token, the
/// overview and its live event stream, incident details, and the embedded files served without a way out of them.</summary>
public sealed class DashboardApiTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ALogin_GivesAnHttpOnlyStrictCookie_AndAMutationWithoutTheCsrfTokenIsRefusedAndAudited()
    {
        var (cookie, csrf) = await Login(_server.Keys[Role.Operator]);

        var session = await TestServer.Json(await WithCookie(HttpMethod.Get, "/api/session", cookie));
        Assert.Equal(("operator-1", "operator", csrf), (session.GetProperty("name").GetString(), session.GetProperty("role").GetString(), session.GetProperty("csrf_token").GetString()));

        var before = _server.Context.Audit.Count;
        const string Isolate = """{"kind":"isolate_rack","asset":"h1-a01","value":1,"reason":"drip"}""";
        var forged = await WithCookie(HttpMethod.Post, "/api/actions", cookie, Isolate);
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Contains("X-CSRF-Token", (await TestServer.Json(forged)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(_server.Context.Actions.Records);
        Assert.Contains("CSRF", _server.Context.Audit.Read(before + 1).Single().Detail, StringComparison.Ordinal);
        // A wrong token: the real one with its first digit changed (regression: "0" + the rest was the real token
        // whenever it began with 0).
        var wrong = (csrf[0] == '0' ? "1" : "0") + csrf[1..];
        Assert.Equal(HttpStatusCode.Forbidden, (await WithCookie(HttpMethod.Post, "/api/actions", cookie, Isolate, wrong)).StatusCode);

        var proposed = await WithCookie(HttpMethod.Post, "/api/actions", cookie, Isolate, csrf);
        Assert.Equal(HttpStatusCode.Accepted, proposed.StatusCode);
        Assert.Equal("api:operator-1", _server.Context.Actions.Records.Single().RequestedBy);

        Assert.Equal(HttpStatusCode.NoContent, (await WithCookie(HttpMethod.Delete, "/api/session", cookie, csrf: csrf)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookie(HttpMethod.Get, "/api/session", cookie)).StatusCode);
    }

    [Theory]
    [InlineData("""{"key":"aida_never-issued"}""", HttpStatusCode.Unauthorized, "unknown or revoked")]
    [InlineData("""{"key":"aida_x","remember":true}""", HttpStatusCode.BadRequest, "remember: unknown field")]
    [InlineData("""{"key":""" + "\"", HttpStatusCode.BadRequest, "the body is not JSON")]
    [InlineData("""{}""", HttpStatusCode.BadRequest, "key: missing")]
    public async Task ABadLogin_IsAProblemNamingWhy_AndSetsNoCookie(string body, HttpStatusCode status, string named)
    {
        var response = await _server.Http.PostAsync("/api/session", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(status, response.StatusCode);
        Assert.Contains(named, (await TestServer.Json(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task AnOversizedLogin_Is413()
    {
        var body = "{\"key\":\"" + new string('x', AidaApi.MaxBodyBytes) + "\"}";
        var response = await _server.Http.PostAsync("/api/session", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("bytes", (await TestServer.Json(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokingAKey_EndsItsSessions()
    {
        var (cookie, _) = await Login(_server.Keys[Role.Viewer]);
        Assert.Equal(HttpStatusCode.OK, (await WithCookie(HttpMethod.Get, "/api/factory", cookie)).StatusCode);
        _server.Context.Keys.Revoke("viewer-1");
        _server.Context.Keys.Issue("viewer-1", Role.Viewer);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookie(HttpMethod.Get, "/api/factory", cookie)).StatusCode);
    }

    [Fact]
    public async Task TheOverview_ComesFromTelemetry_AndTheEventStreamSendsItWithTheIncidentsAndActions()
    {
        var overview = await TestServer.Json(await _server.Send(HttpMethod.Get, "/api/overview", _server.Keys[Role.Viewer]));
        Assert.Equal(1.31, overview.GetProperty("pue").GetDouble());
        Assert.Equal(1, overview.GetProperty("open_incidents").GetInt32());
        Assert.Equal("reference", overview.GetProperty("scenario").GetString());

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        request.Headers.Authorization = new("Bearer", _server.Keys[Role.Viewer]);
        using var response = await _server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new Dictionary<string, JsonElement>();
        while (events.Count < 3)
        {
            var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line is not null && line.StartsWith("event: ", StringComparison.Ordinal))
            {
                var data = await reader.ReadLineAsync();
                events[line["event: ".Length..]] = JsonDocument.Parse(data!["data: ".Length..]).RootElement.Clone();
            }
        }

        Assert.Equal(1.31, events["overview"].GetProperty("pue").GetDouble());
        Assert.Equal("CduSupplyHigh cdu-h1-a", events["incidents"][0].GetProperty("title").GetString()?.Replace(" on ", " ", StringComparison.Ordinal));
        var agentAction = Assert.Single(events["actions"].EnumerateArray());
        Assert.Equal(("agent", "cdu-h1-b"), (agentAction.GetProperty("source").GetString(), agentAction.GetProperty("asset").GetString()));
    }

    [Fact]
    public async Task AnIncident_IsExplained_WithItsRootCauseAndTimeline()
    {
        var viewer = _server.Keys[Role.Viewer];
        var detail = await TestServer.Json(await _server.Send(HttpMethod.Get, "/api/incidents/1", viewer));
        Assert.Equal("critical", detail.GetProperty("severity").GetString());
        var top = detail.GetProperty("root_cause").GetProperty("ranked")[0];
        Assert.Equal(("cdu-h1-a", "cdu_pump_failure"), (top.GetProperty("asset").GetString(), top.GetProperty("fault_kind").GetString()));
        Assert.Equal("flow fell 80 % within a minute", top.GetProperty("evidence")[0].GetString());
        Assert.Contains(detail.GetProperty("timeline").EnumerateArray(), e => e.GetProperty("kind").GetString() == "alert_folded");
        Assert.Equal(1, detail.GetProperty("assets").GetProperty("cdu-h1-a").GetInt32());

        Assert.Equal(HttpStatusCode.NotFound, (await _server.Send(HttpMethod.Get, "/api/incidents/99", viewer)).StatusCode);
        var bad = await _server.Send(HttpMethod.Get, "/api/incidents/one", viewer);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("'one' is not an incident number", (await TestServer.Json(bad)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>An on-call person moves an incident through its lifecycle over the API (before session 47 only
    /// `aida incidents ack|mitigate|resolve` on the store's file could): as themselves on the timeline and in the audit
    /// log, forward only, an operator at least; what is wrong with a request is named.</summary>
    [Fact]
    public async Task AnOperator_AcknowledgesAndResolvesAnIncident_OnItsTimelineAndInTheAuditLog()
    {
        var (viewer, operatorKey) = (_server.Keys[Role.Viewer], _server.Keys[Role.Operator]);
        var before = _server.Context.Audit.Count;
        var refused = await _server.Send(HttpMethod.Post, "/api/incidents/1/acknowledge", viewer, "{}");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("needs the operator role", (await TestServer.Json(refused)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var acked = await TestServer.Json(await _server.Send(HttpMethod.Post, "/api/incidents/1/acknowledge", operatorKey, """{"note":"on it"}"""));
        Assert.Equal("acknowledged", acked.GetProperty("state").GetString());
        var change = acked.GetProperty("timeline").EnumerateArray().Last();
        Assert.Equal(("state_changed", "on it", "api:operator-1"), (change.GetProperty("kind").GetString(), change.GetProperty("text").GetString(), change.GetProperty("by").GetString()));

        var resolved = await TestServer.Json(await _server.Send(HttpMethod.Post, "/api/incidents/1/resolve", operatorKey, "{}"));
        Assert.Equal("resolved", resolved.GetProperty("state").GetString());
        Assert.NotEqual(JsonValueKind.Null, resolved.GetProperty("resolved").ValueKind);
        Assert.Equal(0, (await TestServer.Json(await _server.Send(HttpMethod.Get, "/api/overview", viewer))).GetProperty("open_incidents").GetInt32());

        var back = await _server.Send(HttpMethod.Post, "/api/incidents/1/mitigate", operatorKey, "{}");
        Assert.Equal(HttpStatusCode.Conflict, back.StatusCode);
        Assert.Contains("cannot go from resolved to mitigated", (await TestServer.Json(back)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Send(HttpMethod.Post, "/api/incidents/99/resolve", operatorKey, "{}")).StatusCode);
        var unknown = await _server.Send(HttpMethod.Post, "/api/incidents/1/resolve", operatorKey, """{"why":"x"}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("why: unknown field", (await TestServer.Json(unknown)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await _server.Send(HttpMethod.Post, "/api/incidents/0/resolve", operatorKey, "{}")).StatusCode);

        var audited = _server.Context.Audit.Read(before + 1).Select(e => (e.Actor, e.Subject, e.Detail)).ToList();
        Assert.Contains(("api:operator-1", "incident 1", "open -> acknowledged: on it"), audited);
        Assert.Contains(("api:operator-1", "incident 1", "acknowledged -> resolved"), audited);
        Assert.Equal(2, audited.Count(e => e.Subject == "incident 1"));
    }

    [Fact]
    public async Task TheDashboard_IsServedWithASameOriginPolicy_AndNoPathLeavesItsFiles()
    {
        var page = await _server.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());

        foreach (var path in new[] { "/..%2f..%2fetc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/a/..%5c..%5cetc/passwd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd" })
        {
            var response = await _server.Http.GetAsync(path);
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("root:", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await _server.Http.GetAsync("/..%2f..%2fetc/passwd")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Http.GetAsync("/no-such-page.html")).StatusCode);
        var unknownRoute = await _server.Send(HttpMethod.Get, "/api/no-such-route", _server.Keys[Role.Viewer]);
        Assert.Equal(HttpStatusCode.NotFound, unknownRoute.StatusCode);
        Assert.Equal("application/problem+json", unknownRoute.Content.Headers.ContentType?.MediaType);
    }

    private async Task<(string Cookie, string Csrf)> Login(string key)
    {
        var response = await _server.Http.PostAsync("/api/session", new StringContent(JsonSerializer.Serialize(new { key }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var setCookie = response.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(_server.Context.Audit.Read(1, 10_000), e => e.Detail.StartsWith("logged in", StringComparison.Ordinal) && e.Kind == AuditKind.Decision);
        return (setCookie.Split(';')[0], (await TestServer.Json(response)).GetProperty("csrf_token").GetString()!);
    }

    private async Task<HttpResponseMessage> WithCookie(HttpMethod method, string path, string cookie, string? body = null, string? csrf = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", cookie);
        if (csrf is not null)
        {
            request.Headers.Add(SessionStore.CsrfHeader, csrf);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return await _server.Http.SendAsync(request);
    }
}
