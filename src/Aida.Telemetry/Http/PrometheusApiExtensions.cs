using System.Text.Encodings.Web;
using System.Text.Json;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace Aida.Telemetry.Http;

/// <summary>Prometheus' HTTP query API (prometheus.io/docs/prometheus/latest/querying/api/) over an <see cref="IQueryEngine"/>,
/// so that Grafana and other Prometheus clients can read Aida.</summary>
public static class PrometheusApiExtensions
{
    /// <summary>Most points a range query may return per series, as Prometheus.</summary>
    public const int MaxPointsPerSeries = 11_000;

    private static readonly string[] GetAndPost = ["GET", "POST"];

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Maps <c>/api/v1/query</c>, <c>/api/v1/query_range</c>, <c>/api/v1/series</c>, <c>/api/v1/labels</c> and
    /// <c>/api/v1/label/{name}/values</c>, for GET and for POST with a form body.</summary>
    /// <remarks>Responses are Prometheus' JSON envelope byte for byte in shape: <c>{"status":"success","data":...}</c>,
    /// errors <c>{"status":"error","errorType":...,"error":...}</c> with 400 for <c>bad_data</c>, 422 for <c>execution</c>
    /// and 503 for <c>timeout</c> and <c>canceled</c>. <paramref name="clock"/> (default <see cref="TimeProvider.System"/>)
    /// gives the default evaluation time and times the <c>timeout</c> parameter.</remarks>
    public static IEndpointRouteBuilder MapPrometheusApi(this IEndpointRouteBuilder endpoints, IQueryEngine engine, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var time = clock ?? TimeProvider.System;
        Task Instant(HttpContext c) => HandleAsync(c, new Endpoint(p => InstantAsync(p, engine, time)));
        Task Range(HttpContext c) => HandleAsync(c, new Endpoint(p => RangeAsync(p, engine, time)));
        Task Series(HttpContext c) => HandleAsync(c, new Endpoint(p => SeriesAsync(p, engine)));
        Task LabelNames(HttpContext c) => HandleAsync(c, new Endpoint(p => LabelNamesAsync(p, engine)));
        Task LabelValues(HttpContext c) => HandleAsync(c, new Endpoint(p => LabelValuesAsync(p, (string)c.Request.RouteValues["name"]!, engine)));
        endpoints.MapMethods("/api/v1/query", GetAndPost, Instant);
        endpoints.MapMethods("/api/v1/query_range", GetAndPost, Range);
        endpoints.MapMethods("/api/v1/series", GetAndPost, Series);
        endpoints.MapMethods("/api/v1/labels", GetAndPost, LabelNames);
        endpoints.MapMethods("/api/v1/label/{name}/values", ["GET"], LabelValues);
        return endpoints;
    }

    private static async Task<Answer> InstantAsync(Parameters p, IQueryEngine engine, TimeProvider clock)
    {
        var query = p.Query();
        var time = p.Time("time", clock.GetUtcNow());
        var result = await WithTimeoutAsync(p, clock, query, ct => engine.QueryAsync(query, time, ct));
        return new Answer(w => WriteResult(w, result), result.Warnings);
    }

    private static async Task<Answer> RangeAsync(Parameters p, IQueryEngine engine, TimeProvider clock)
    {
        var query = p.Query();
        var start = p.Time("start", null);
        var end = p.Time("end", null);
        if (end < start)
        {
            throw new ApiException("bad_data", "end timestamp must not be before start time");
        }

        var step = p.Duration("step");
        if (step <= TimeSpan.Zero)
        {
            throw new ApiException("bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer");
        }

        if ((end - start) / step > MaxPointsPerSeries)
        {
            throw new ApiException("bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
        }

        var result = await WithTimeoutAsync(p, clock, query, ct => engine.QueryRangeAsync(query, start, end, step, ct));
        return new Answer(w => WriteResult(w, result), result.Warnings);
    }

    private static async Task<Answer> SeriesAsync(Parameters p, IQueryEngine engine)
    {
        var match = p.All("match[]");
        if (match.Count == 0)
        {
            throw new ApiException("bad_data", "no match[] parameter provided");
        }

        var series = await Run(() => engine.SeriesAsync(match, p.Time("start", DateTimeOffset.MinValue), p.Time("end", DateTimeOffset.MaxValue), p.Aborted), p, match.Count == 1 ? match[0] : "");
        return new Answer(w =>
        {
            w.WriteStartArray();
            foreach (var labels in series)
            {
                WriteLabels(w, labels);
            }

            w.WriteEndArray();
        }, []);
    }

    private static async Task<Answer> LabelNamesAsync(Parameters p, IQueryEngine engine)
    {
        var names = await Run(() => engine.LabelNamesAsync(p.Time("start", DateTimeOffset.MinValue), p.Time("end", DateTimeOffset.MaxValue), p.Aborted), p, "");
        return new Answer(w => WriteStrings(w, names), []);
    }

    private static async Task<Answer> LabelValuesAsync(Parameters p, string name, IQueryEngine engine)
    {
        if (!LabelRules.IsValidLabelName(name))
        {
            throw new ApiException("bad_data", $"invalid label name: \"{name}\"");
        }

        var values = await Run(() => engine.LabelValuesAsync(name, p.Time("start", DateTimeOffset.MinValue), p.Time("end", DateTimeOffset.MaxValue), p.Aborted), p, "");
        return new Answer(w => WriteStrings(w, values), []);
    }

    private static async Task<QueryResult> WithTimeoutAsync(Parameters p, TimeProvider clock, string query, Func<CancellationToken, Task<QueryResult>> run)
    {
        var timeout = p.Has("timeout") ? p.Duration("timeout") : Timeout.InfiniteTimeSpan;
        using var timer = timeout > TimeSpan.Zero ? new CancellationTokenSource(timeout, clock) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, p.Aborted);
        try
        {
            return await Run(() => run(linked.Token), p, query);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !p.Aborted.IsCancellationRequested)
        {
            throw new ApiException("timeout", "query timed out in query execution");
        }
    }

    /// <summary>Runs an engine call, turning <see cref="QueryException"/> into the API's error, with the position of a
    /// parse error as Prometheus writes it (<c>line:column</c>, 1-based).</summary>
    private static async Task<T> Run<T>(Func<Task<T>> call, Parameters p, string query)
    {
        try
        {
            return await call();
        }
        catch (QueryException e) when (e.ErrorType == "bad_data" && e.Position >= 0)
        {
            // The engine may already say where ("1:24: parse error: ..."): keep its text, add the position only if it does not.
            if (System.Text.RegularExpressions.Regex.IsMatch(e.Message, @"^\d+:\d+: "))
            {
                throw new ApiException("bad_data", $"invalid parameter \"query\": {e.Message}");
            }

            var (line, column) = LineAndColumn(query, e.Position);
            var message = e.Message.StartsWith("parse error", StringComparison.Ordinal) ? e.Message : "parse error: " + e.Message;
            throw new ApiException("bad_data", $"invalid parameter \"query\": {line}:{column}: {message}");
        }
        catch (QueryException e)
        {
            throw new ApiException(e.ErrorType, e.Message);
        }
        catch (OperationCanceledException) when (p.Aborted.IsCancellationRequested)
        {
            throw new ApiException("canceled", "query was canceled in query execution");
        }
    }

    internal static (int Line, int Column) LineAndColumn(string text, int position)
    {
        position = Math.Clamp(position, 0, text.Length);
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < position; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, position - lineStart + 1);
    }

    private static async Task HandleAsync(HttpContext context, Endpoint handler)
    {
        Answer answer;
        try
        {
            var parameters = await Parameters.ReadAsync(context);
            answer = await handler(parameters);
        }
        catch (ApiException e)
        {
            await WriteAsync(context, StatusOf(e.ErrorType), w =>
            {
                w.WriteString("status", "error");
                w.WriteString("errorType", e.ErrorType);
                w.WriteString("error", e.Message);
            });
            return;
        }

        await WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteString("status", "success");
            w.WritePropertyName("data");
            answer.WriteData(w);
            if (answer.Warnings.Count > 0)
            {
                w.WritePropertyName("warnings");
                WriteStrings(w, answer.Warnings);
            }
        });
    }

    private static int StatusOf(string errorType) => errorType switch
    {
        "bad_data" => StatusCodes.Status400BadRequest,
        "execution" => StatusCodes.Status422UnprocessableEntity,
        "timeout" or "canceled" or "unavailable" => StatusCodes.Status503ServiceUnavailable,
        "not_found" => StatusCodes.Status404NotFound,
        "internal" => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status422UnprocessableEntity,
    };

    private static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body, WriterOptions);
        writer.WriteStartObject();
        body(writer);
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    /// <summary>The <c>data</c> object of a query response: resultType and result, in Prometheus' shapes.</summary>
    internal static void WriteResult(Utf8JsonWriter w, QueryResult result)
    {
        w.WriteStartObject();
        w.WriteString("resultType", result.Type switch
        {
            ResultType.Scalar => "scalar",
            ResultType.String => "string",
            ResultType.Vector => "vector",
            _ => "matrix",
        });
        w.WritePropertyName("result");
        switch (result.Type)
        {
            case ResultType.Scalar:
                WritePoint(w, result.Scalar);
                break;
            case ResultType.String:
                w.WriteStartArray();
                w.WriteRawValue(PrometheusFormat.FormatTimestamp(result.Scalar.TimestampMs), skipInputValidation: true);
                w.WriteStringValue(result.Text ?? "");
                w.WriteEndArray();
                break;
            default:
                w.WriteStartArray();
                foreach (var series in result.Series)
                {
                    if (result.Type == ResultType.Vector && series.Samples.Count == 0)
                    {
                        continue;
                    }

                    w.WriteStartObject();
                    w.WritePropertyName("metric");
                    WriteLabels(w, series.Labels);
                    if (result.Type == ResultType.Vector)
                    {
                        w.WritePropertyName("value");
                        WritePoint(w, series.Samples[0]);
                    }
                    else
                    {
                        w.WritePropertyName("values");
                        w.WriteStartArray();
                        foreach (var sample in series.Samples)
                        {
                            WritePoint(w, sample);
                        }

                        w.WriteEndArray();
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
                break;
        }

        w.WriteEndObject();
    }

    private static void WritePoint(Utf8JsonWriter w, Sample sample)
    {
        w.WriteStartArray();
        w.WriteRawValue(PrometheusFormat.FormatTimestamp(sample.TimestampMs), skipInputValidation: true);
        w.WriteStringValue(PrometheusFormat.FormatValue(sample.Value));
        w.WriteEndArray();
    }

    private static void WriteLabels(Utf8JsonWriter w, Labels labels)
    {
        w.WriteStartObject();
        for (var i = 0; i < labels.Count; i++)
        {
            w.WriteString(labels.Name(i), labels.Value(i));
        }

        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, IReadOnlyList<string> values)
    {
        w.WriteStartArray();
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    private delegate Task<Answer> Endpoint(Parameters parameters);

    private sealed record Answer(Action<Utf8JsonWriter> WriteData, IReadOnlyList<string> Warnings);

    private sealed class ApiException(string errorType, string message) : Exception(message)
    {
        public string ErrorType { get; } = errorType;
    }

    /// <summary>Request parameters: the form body (POST) first, then the URL, as Go's <c>Request.FormValue</c>.</summary>
    private sealed class Parameters
    {
        private readonly IFormCollection? _form;
        private readonly IQueryCollection _query;

        private Parameters(IFormCollection? form, IQueryCollection query, CancellationToken aborted)
        {
            _form = form;
            _query = query;
            Aborted = aborted;
        }

        public CancellationToken Aborted { get; }

        public static async Task<Parameters> ReadAsync(HttpContext context)
        {
            IFormCollection? form = null;
            if (HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType)
            {
                try
                {
                    form = await context.Request.ReadFormAsync(context.RequestAborted);
                }
                catch (InvalidDataException e)
                {
                    throw new ApiException("bad_data", $"error parsing form values: {e.Message}");
                }
            }

            return new Parameters(form, context.Request.Query, context.RequestAborted);
        }

        public bool Has(string name) => Get(name) is { Length: > 0 };

        public string? Get(string name)
        {
            if (_form is not null && _form.TryGetValue(name, out var f) && f.Count > 0)
            {
                return f[0];
            }

            return _query.TryGetValue(name, out var q) && q.Count > 0 ? q[0] : null;
        }

        public List<string> All(string name)
        {
            var values = new List<string>();
            if (_form is not null && _form.TryGetValue(name, out var f))
            {
                values.AddRange(NonNull(f));
            }

            if (_query.TryGetValue(name, out var q))
            {
                values.AddRange(NonNull(q));
            }

            return values;
        }

        public string Query()
        {
            var query = Get("query");
            return string.IsNullOrWhiteSpace(query)
                ? throw new ApiException("bad_data", "invalid parameter \"query\": 1:1: parse error: no expression found in input")
                : query;
        }

        public DateTimeOffset Time(string name, DateTimeOffset? defaultValue)
        {
            var text = Get(name);
            if (string.IsNullOrEmpty(text) && defaultValue is { } d)
            {
                return d;
            }

            return PrometheusFormat.TryParseTime(text ?? "", out var t)
                ? t
                : throw new ApiException("bad_data", $"invalid parameter \"{name}\": cannot parse \"{text}\" to a valid timestamp");
        }

        public TimeSpan Duration(string name)
        {
            var text = Get(name) ?? "";
            return PrometheusFormat.TryParseDuration(text, out var d)
                ? d
                : throw new ApiException("bad_data", $"invalid parameter \"{name}\": cannot parse \"{text}\" to a valid duration");
        }

        private static IEnumerable<string> NonNull(StringValues values)
        {
            foreach (var v in values)
            {
                if (v is not null)
                {
                    yield return v;
                }
            }
        }
    }
}
