using System.CommandLine;
using System.Text;
using System.Text.Json;
using Aida.Telemetry.Http;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using static Aida.Cli.AidaCommand;

namespace Aida.Cli;

/// <summary><c>aida query</c>: PromQL over a run's telemetry store, offline.</summary>
internal static class QueryCommand
{
    public static Command Build(TextWriter stdout)
    {
        var data = new Option<string>("--data")
        {
            Description = "A run's output directory (aida simulate --out DIR) or its tsdb directory",
            Required = true,
        };
        var query = new Argument<string>("promql") { Description = "The PromQL expression" };
        var at = new Option<string?>("--at") { Description = "Evaluation time, RFC 3339 or Unix seconds (default: the newest sample)" };
        var range = new Option<string[]?>("--range")
        {
            Description = "Range query: START END STEP (times as for --at, STEP as seconds or a duration such as 1m)",
            Arity = new ArgumentArity(3, 3),
            AllowMultipleArgumentsPerToken = true,
        };
        var json = new Option<bool>("--json") { Description = "Print the Prometheus HTTP API response body instead of a table" };
        var command = new Command("query", "Run a PromQL query against the telemetry a run stored (aida simulate --out DIR); opens the store read-only, so a run still in progress can be queried")
        {
            data, query, at, range, json,
        };
        command.SetAction(async (parse, token) =>
        {
            using var store = OpenStore(parse.GetValue(data)!);
            var engine = new EmbeddedQueryEngine(store);
            var newest = store.MaxTimeMs is { } max ? DateTimeOffset.FromUnixTimeMilliseconds(max) : DateTimeOffset.UnixEpoch;
            QueryResult result;
            try
            {
                if (parse.GetValue(range) is { Length: 3 } r)
                {
                    var start = Time(r[0], "--range START", newest);
                    var end = Time(r[1], "--range END", newest);
                    if (!PrometheusFormat.TryParseDuration(r[2], out var step) || step <= TimeSpan.Zero)
                    {
                        throw new BadInputException($"--range STEP: '{r[2]}' is not a positive duration");
                    }

                    if (end < start)
                    {
                        throw new BadInputException("--range: END is before START");
                    }

                    result = await engine.QueryRangeAsync(parse.GetValue(query)!, start, end, step, token);
                }
                else
                {
                    result = await engine.QueryAsync(parse.GetValue(query)!, parse.GetValue(at) is { } t ? Time(t, "--at", newest) : newest, token);
                }
            }
            catch (QueryException e)
            {
                throw new BadInputException($"query: {e.Message}");
            }

            if (parse.GetValue(json))
            {
                await stdout.WriteLineAsync(Json(result));
            }
            else
            {
                await stdout.WriteAsync(Table(result));
            }

            return Ok;
        });
        return command;
    }

    /// <summary>Opens the store of a run's output directory (or a tsdb directory) read-only: it may be a run still in
    /// progress, whose writer must not see its WAL or blocks touched (<see cref="TsdbOptions.ReadOnly"/>); retention is
    /// set far out so a run stored long ago is still served whole.</summary>
    internal static Tsdb OpenStore(string directory)
    {
        var tsdbDir = ApiHost.StoreDirectory(directory);
        if (!Directory.Exists(Path.Combine(tsdbDir, "wal")) && !Directory.Exists(Path.Combine(tsdbDir, "blocks")))
        {
            throw new BadInputException($"--data: no telemetry store in '{directory}' (run aida simulate --out DIR first)");
        }

        return new Tsdb(new TsdbOptions { DataDirectory = tsdbDir, Retention = TimeSpan.FromDays(3650), ReadOnly = true });
    }

    internal static DateTimeOffset Time(string text, string option, DateTimeOffset newest) =>
        text == "latest" ? newest
        : PrometheusFormat.TryParseTime(text, out var t) ? t
        : throw new BadInputException($"{option}: '{text}' is not a time (RFC 3339, Unix seconds or 'latest')");

    private static string Json(QueryResult result)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("status", "success");
            w.WritePropertyName("data");
            PrometheusApiExtensions.WriteResult(w, result);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Table(QueryResult result)
    {
        var sb = new StringBuilder();
        static string When(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        switch (result.Type)
        {
            case ResultType.Scalar:
                sb.AppendLine($"scalar {PrometheusFormat.FormatValue(result.Scalar.Value)} @ {When(result.Scalar.TimestampMs)}");
                break;
            case ResultType.String:
                sb.AppendLine($"string \"{result.Text}\"");
                break;
            case ResultType.Vector:
                foreach (var s in result.Series)
                {
                    sb.AppendLine($"{Name(s.Labels)}  {PrometheusFormat.FormatValue(s.Samples[0].Value)}");
                }

                sb.AppendLine($"({result.Series.Count} series{(result.Series.Count > 0 ? $" at {When(result.Series[0].Samples[0].TimestampMs)}" : "")})");
                break;
            case ResultType.Matrix:
                foreach (var s in result.Series)
                {
                    sb.AppendLine(Name(s.Labels));
                    foreach (var p in s.Samples)
                    {
                        sb.AppendLine($"  {When(p.TimestampMs)}  {PrometheusFormat.FormatValue(p.Value)}");
                    }
                }

                sb.AppendLine($"({result.Series.Count} series)");
                break;
        }

        return sb.ToString();
    }

    private static string Name(Labels labels) => labels.Count == 0 ? "{}" : labels.ToString();
}
