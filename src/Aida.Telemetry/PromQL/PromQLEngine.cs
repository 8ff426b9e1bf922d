using Aida.Telemetry.Query;
using System.Text.RegularExpressions;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>Evaluates PromQL against an <see cref="ISeriesSource"/> with Prometheus 2.42's semantics.</summary>
/// <remarks>Parse and type errors throw <see cref="QueryException"/> with the 0-based position of the problem; runtime
/// errors throw it with error type <c>execution</c>, and cancellation with <c>canceled</c>.</remarks>
public sealed class PromQLEngine
{
    private readonly ISeriesSource _source;
    private readonly EngineOptions _options;

    public PromQLEngine(ISeriesSource source, EngineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _options = options ?? new EngineOptions();
    }

    /// <summary>An instant query at <paramref name="timeMs"/> (milliseconds since the epoch), as <c>/api/v1/query</c>.</summary>
    public QueryResult Instant(string query, long timeMs, CancellationToken ct = default)
    {
        var expr = Parser.Parse(query);
        return Run(() =>
        {
            var ev = new Evaluator(_source, _options, expr, timeMs, timeMs, ct);
            return ev.EvalTop(expr, timeMs) switch
            {
                ScalarValue s => QueryResult.OfScalar(timeMs, s.Value),
                StringValue s => new QueryResult(ResultType.String, [], new Sample(timeMs, double.NaN), s.Value),
                List<VectorSample> v => new QueryResult(ResultType.Vector, v.ConvertAll(x => new SeriesSamples(x.Metric, [new Sample(timeMs, x.Value)]))),
                List<RangeSeries> m => new QueryResult(ResultType.Matrix, SortedMatrix(m.ConvertAll(x => new SeriesSamples(x.Metric, x.ToArray())))),
                _ => throw new QueryException("unexpected result type", -1, "execution"),
            };
        }, ct);
    }

    /// <summary>A range query evaluated at start, start + step, … up to end, as <c>/api/v1/query_range</c>; always a matrix.</summary>
    public QueryResult Range(string query, long startMs, long endMs, long stepMs, CancellationToken ct = default)
    {
        var expr = Parser.Parse(query);
        if (expr.Type is not (PromType.Scalar or PromType.Vector))
        {
            throw new QueryException($"invalid expression type \"{Expr.Describe(expr.Type)}\" for range query, must be Scalar or instant Vector", -1);
        }

        if (stepMs <= 0)
        {
            throw new QueryException("zero or negative query resolution step widths are not accepted. Try a positive integer", -1);
        }

        if (endMs < startMs)
        {
            throw new QueryException("end timestamp must not be before start time", -1);
        }

        return Run(() =>
        {
            var ev = new Evaluator(_source, _options, expr, startMs, endMs, ct);
            var series = new Dictionary<Labels, List<Sample>>();
            var previous = new List<(Labels Labels, List<Sample> Samples)>();
            long points = 0;
            for (var ts = startMs; ts <= endMs; ts += stepMs)
            {
                switch (ev.EvalTop(expr, ts))
                {
                    case ScalarValue s:
                        Append(series, Labels.Empty, new Sample(ts, s.Value));
                        points++;
                        break;
                    case List<VectorSample> v:
                        // Steps usually answer the same label sets (the same instances) in the same order: reuse the
                        // previous step's lists by position before looking a label set up.
                        for (var i = 0; i < v.Count; i++)
                        {
                            var x = v[i];
                            List<Sample> target;
                            if (i < previous.Count && ReferenceEquals(previous[i].Labels, x.Metric))
                            {
                                target = previous[i].Samples;
                            }
                            else
                            {
                                target = Append(series, x.Metric);
                                if (i < previous.Count)
                                {
                                    previous[i] = (x.Metric, target);
                                }
                                else
                                {
                                    previous.Add((x.Metric, target));
                                }
                            }

                            target.Add(new Sample(ts, x.Value));
                        }

                        points += v.Count;
                        break;
                    default:
                        throw new QueryException("unexpected result type", -1, "execution");
                }

                if (points > _options.MaxSamples)
                {
                    throw new QueryException("query processing would load too many samples into memory in query execution", -1, "execution");
                }
            }

            var list = new List<SeriesSamples>(series.Count);
            foreach (var (labels, samples) in series)
            {
                list.Add(new SeriesSamples(labels, samples));
            }

            return new QueryResult(ResultType.Matrix, SortedMatrix(list));
        }, ct);
    }

    private static void Append(Dictionary<Labels, List<Sample>> series, Labels labels, Sample s) => Append(series, labels).Add(s);

    private static List<Sample> Append(Dictionary<Labels, List<Sample>> series, Labels labels)
    {
        if (!series.TryGetValue(labels, out var list))
        {
            list = [];
            series[labels] = list;
        }

        return list;
    }

    private static List<SeriesSamples> SortedMatrix(List<SeriesSamples> m)
    {
        m.Sort((a, b) => LabelOps.Compare(a.Labels, b.Labels));
        return m;
    }

    private static QueryResult Run(Func<QueryResult> body, CancellationToken ct)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw new QueryException("query was canceled in query execution", -1, "canceled");
        }
        catch (RegexMatchTimeoutException ex)
        {
            throw new QueryException($"regular expression timed out: {ex.Pattern}", -1, "execution");
        }
    }
}
