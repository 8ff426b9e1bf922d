using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aida.Telemetry.Http;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Query;

/// <summary>An <see cref="IQueryEngine"/> answered by a Prometheus-compatible HTTP API (Prometheus, VictoriaMetrics,
/// Mimir, Thanos) at <c>baseUrl</c>, e.g. <c>http://127.0.0.1:9090/</c>.</summary>
/// <remarks>Queries go as POST forms, so long PromQL is not limited by URL length. An error answer becomes a
/// <see cref="QueryException"/> with the server's <c>errorType</c> (and, for a parse error, the position); an answer that
/// is not the API's JSON becomes one of type <c>unavailable</c>. The <see cref="HttpClient"/> is the caller's.</remarks>
public sealed partial class RemoteQueryEngine : IQueryEngine
{
    private readonly HttpClient _http;
    private readonly Uri _base;

    public RemoteQueryEngine(HttpClient http, Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(baseUrl);
        _http = http;
        _base = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
    }

    public async Task<QueryResult> QueryAsync(string promql, DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        using var doc = await PostAsync("api/v1/query", [new("query", promql), new("time", Seconds(time))], promql, cancellationToken);
        return ParseResult(doc.RootElement);
    }

    public async Task<QueryResult> QueryRangeAsync(string promql, DateTimeOffset start, DateTimeOffset end, TimeSpan step, CancellationToken cancellationToken = default)
    {
        using var doc = await PostAsync("api/v1/query_range",
            [new("query", promql), new("start", Seconds(start)), new("end", Seconds(end)), new("step", step.TotalSeconds.ToString("R", CultureInfo.InvariantCulture))],
            promql, cancellationToken);
        return ParseResult(doc.RootElement);
    }

    public async Task<IReadOnlyList<Labels>> SeriesAsync(IReadOnlyList<string> match, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        var form = match.Select(m => new KeyValuePair<string, string>("match[]", m)).Concat(Range(start, end)).ToList();
        using var doc = await PostAsync("api/v1/series", form, match.Count == 1 ? match[0] : "", cancellationToken);
        return [.. doc.RootElement.GetProperty("data").EnumerateArray().Select(ParseLabels)];
    }

    public async Task<IReadOnlyList<string>> LabelNamesAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        using var doc = await GetAsync("api/v1/labels", Range(start, end), cancellationToken);
        return Strings(doc.RootElement.GetProperty("data"));
    }

    public async Task<IReadOnlyList<string>> LabelValuesAsync(string name, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        using var doc = await GetAsync($"api/v1/label/{Uri.EscapeDataString(name)}/values", Range(start, end), cancellationToken);
        return Strings(doc.RootElement.GetProperty("data"));
    }

    private static string Seconds(DateTimeOffset t) => PrometheusFormat.FormatTimestamp(t.ToUnixTimeMilliseconds());

    /// <summary>Start and end, left out at the extremes: "all time" is the server's default, and not every server parses
    /// year 1 or 9999.</summary>
    private static IEnumerable<KeyValuePair<string, string>> Range(DateTimeOffset start, DateTimeOffset end)
    {
        if (start != DateTimeOffset.MinValue)
        {
            yield return new("start", Seconds(start));
        }

        if (end != DateTimeOffset.MaxValue)
        {
            yield return new("end", Seconds(end));
        }
    }

    private async Task<JsonDocument> PostAsync(string path, IEnumerable<KeyValuePair<string, string>> form, string query, CancellationToken cancellationToken)
    {
        using var content = new FormUrlEncodedContent(form);
        using var response = await _http.PostAsync(new Uri(_base, path), content, cancellationToken);
        return await ReadAsync(response, query, cancellationToken);
    }

    private async Task<JsonDocument> GetAsync(string path, IEnumerable<KeyValuePair<string, string>> parameters, CancellationToken cancellationToken)
    {
        var queryString = string.Join('&', parameters.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        using var response = await _http.GetAsync(new Uri(_base, queryString.Length == 0 ? path : path + "?" + queryString), cancellationToken);
        return await ReadAsync(response, "", cancellationToken);
    }

    private static async Task<JsonDocument> ReadAsync(HttpResponseMessage response, string query, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw new QueryException($"{(int)response.StatusCode} {response.ReasonPhrase}: {body.Trim()}", -1, "unavailable");
        }

        var root = doc.RootElement;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("status", out var status) && status.GetString() == "success" && root.TryGetProperty("data", out _))
        {
            return doc;
        }

        using (doc)
        {
            var message = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var e) ? e.GetString() ?? "" : body.Trim();
            var type = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("errorType", out var t) ? t.GetString() ?? "execution" : "unavailable";
            throw new QueryException(message, PositionOf(message, query), type);
        }
    }

    /// <summary>The 0-based offset of a Prometheus parse error (<c>line:column: parse error</c>) in the query, or -1.</summary>
    internal static int PositionOf(string message, string query)
    {
        var m = ParseErrorPosition().Match(message);
        if (!m.Success || query.Length == 0)
        {
            return -1;
        }

        var line = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var column = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        var offset = 0;
        for (var l = 1; l < line; l++)
        {
            var next = query.IndexOf('\n', offset);
            if (next < 0)
            {
                return -1;
            }

            offset = next + 1;
        }

        return Math.Min(offset + column - 1, query.Length);
    }

    private static QueryResult ParseResult(JsonElement root)
    {
        var data = root.GetProperty("data");
        var result = data.GetProperty("result");
        var warnings = root.TryGetProperty("warnings", out var w) && w.ValueKind == JsonValueKind.Array ? Strings(w) : [];
        var parsed = data.GetProperty("resultType").GetString() switch
        {
            "scalar" => QueryResult.OfScalar(Timestamp(result[0]), Value(result[1])),
            "string" => new QueryResult(ResultType.String, [], new Sample(Timestamp(result[0]), 0), result[1].GetString()),
            "vector" => new QueryResult(ResultType.Vector, [.. result.EnumerateArray().Select(s => new SeriesSamples(ParseLabels(s.GetProperty("metric")), [Point(s.GetProperty("value"))]))]),
            "matrix" => new QueryResult(ResultType.Matrix, [.. result.EnumerateArray().Select(s => new SeriesSamples(ParseLabels(s.GetProperty("metric")), [.. s.GetProperty("values").EnumerateArray().Select(Point)]))]),
            var other => throw new QueryException($"unknown resultType \"{other}\"", -1, "unavailable"),
        };
        return parsed with { Warnings = warnings };
    }

    private static Sample Point(JsonElement pair) => new(Timestamp(pair[0]), Value(pair[1]));

    private static long Timestamp(JsonElement seconds) => (long)Math.Round(seconds.GetDecimal() * 1000m);

    private static double Value(JsonElement text) =>
        PrometheusFormat.TryParseValue(text.GetString() ?? "", out var v) ? v : throw new QueryException($"cannot parse sample value \"{text}\"", -1, "unavailable");

    private static Labels ParseLabels(JsonElement metric) =>
        Labels.From(metric.EnumerateObject().Select(p => new KeyValuePair<string, string>(p.Name, p.Value.GetString() ?? "")));

    private static List<string> Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString() ?? "")];

    [GeneratedRegex(@"(\d+):(\d+): parse error", RegexOptions.CultureInvariant)]
    private static partial Regex ParseErrorPosition();
}
