using System.Net;
using System.Text.Json;

namespace Aida.Reliability.Tests.Alerting;

/// <summary>Answers each post with the next status and keeps the bodies.</summary>
internal sealed class ScriptedAlertmanager(params HttpStatusCode[] answers) : HttpMessageHandler
{
    private int _next;

    public List<JsonElement> Posts { get; } = [];

    /// <summary>While true, a post fails as a connection refused does (and is not kept).</summary>
    public bool Unreachable { get; set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("/api/v2/alerts", request.RequestUri!.AbsolutePath);
        if (Unreachable)
        {
            throw new HttpRequestException("Connection refused (127.0.0.1:9093)");
        }

        Posts.Add(JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken)).RootElement.Clone());
        var status = answers[Math.Min(_next++, answers.Length - 1)];
        return new HttpResponseMessage(status) { Content = new StringContent(status == HttpStatusCode.OK ? "" : "boom") };
    }
}
