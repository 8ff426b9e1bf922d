using Aida.Telemetry.PromQL;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Query;

/// <summary>The <see cref="IQueryEngine"/> answered in-process: PromQL by <see cref="PromQLEngine"/>, metadata straight
/// from the <see cref="ISeriesSource"/>.</summary>
public sealed class EmbeddedQueryEngine : IQueryEngine
{
    private static readonly LabelMatcher[] AnyMetric = [new(Labels.MetricNameLabel, MatcherType.Regex, ".+")];

    private readonly ISeriesSource _source;
    private readonly PromQLEngine _engine;

    public EmbeddedQueryEngine(ISeriesSource source, EngineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _engine = new PromQLEngine(source, options);
    }

    public Task<QueryResult> QueryAsync(string promql, DateTimeOffset time, CancellationToken cancellationToken = default) =>
        Task.FromResult(_engine.Instant(promql, time.ToUnixTimeMilliseconds(), cancellationToken));

    public Task<QueryResult> QueryRangeAsync(string promql, DateTimeOffset start, DateTimeOffset end, TimeSpan step, CancellationToken cancellationToken = default) =>
        Task.FromResult(_engine.Range(promql, start.ToUnixTimeMilliseconds(), end.ToUnixTimeMilliseconds(), (long)step.TotalMilliseconds, cancellationToken));

    public Task<IReadOnlyList<Labels>> SeriesAsync(IReadOnlyList<string> match, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(match);
        if (match.Count == 0)
        {
            throw new QueryException("no match[] parameter provided");
        }

        var selectors = match.Select(Parser.ParseSelector).ToList();
        var seen = new HashSet<Labels>();
        var result = new List<Labels>();
        foreach (var vs in selectors)
        {
            foreach (var labels in _source.Series(start.ToUnixTimeMilliseconds(), end.ToUnixTimeMilliseconds(), vs.Matchers))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (seen.Add(labels))
                {
                    result.Add(labels);
                }
            }
        }

        result.Sort(LabelOps.Compare);
        return Task.FromResult<IReadOnlyList<Labels>>(result);
    }

    public Task<IReadOnlyList<string>> LabelNamesAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var labels in AllSeries(start, end, cancellationToken))
        {
            for (var i = 0; i < labels.Count; i++)
            {
                names.Add(labels.Name(i));
            }
        }

        return Task.FromResult<IReadOnlyList<string>>([.. names]);
    }

    public Task<IReadOnlyList<string>> LabelValuesAsync(string name, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        var values = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var labels in AllSeries(start, end, cancellationToken))
        {
            if (labels.Get(name) is { } v)
            {
                values.Add(v);
            }
        }

        return Task.FromResult<IReadOnlyList<string>>([.. values]);
    }

    private IEnumerable<Labels> AllSeries(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        foreach (var labels in _source.Series(start.ToUnixTimeMilliseconds(), end.ToUnixTimeMilliseconds(), AnyMetric))
        {
            ct.ThrowIfCancellationRequested();
            yield return labels;
        }
    }
}
