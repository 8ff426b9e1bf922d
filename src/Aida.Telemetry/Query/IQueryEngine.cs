using Aida.Telemetry.Series;

namespace Aida.Telemetry.Query;

/// <summary>The one query interface every analysis uses, answered by the embedded engine or by a remote
/// Prometheus-compatible HTTP API (Prometheus, VictoriaMetrics, Mimir, Thanos).</summary>
public interface IQueryEngine
{
    /// <summary>An instant query, as <c>/api/v1/query</c>.</summary>
    Task<QueryResult> QueryAsync(string promql, DateTimeOffset time, CancellationToken cancellationToken = default);

    /// <summary>A range query, as <c>/api/v1/query_range</c>; the result is always a matrix.</summary>
    Task<QueryResult> QueryRangeAsync(string promql, DateTimeOffset start, DateTimeOffset end, TimeSpan step, CancellationToken cancellationToken = default);

    /// <summary>Series matching any of the selectors, as <c>/api/v1/series</c>.</summary>
    Task<IReadOnlyList<Labels>> SeriesAsync(IReadOnlyList<string> match, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default);

    /// <summary>Label names, as <c>/api/v1/labels</c>.</summary>
    Task<IReadOnlyList<string>> LabelNamesAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default);

    /// <summary>Values of one label, as <c>/api/v1/label/NAME/values</c>.</summary>
    Task<IReadOnlyList<string>> LabelValuesAsync(string name, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default);
}

public enum ResultType
{
    Scalar,
    String,
    Vector,
    Matrix,
}

/// <summary>A query's value in Prometheus' four shapes. A vector's series hold one sample each; a scalar or string
/// result holds <see cref="Scalar"/> (for a string, its timestamp) and <see cref="Text"/>.</summary>
public sealed record QueryResult(ResultType Type, IReadOnlyList<SeriesSamples> Series, Sample Scalar = default, string? Text = null)
{
    public IReadOnlyList<string> Warnings { get; init; } = [];

    public static QueryResult OfScalar(long timestampMs, double value) => new(ResultType.Scalar, [], new Sample(timestampMs, value));
}

/// <summary>A query that cannot run: the position (0-based character offset, or -1) says where in the query, the
/// type is Prometheus' error type (<c>bad_data</c>, <c>execution</c>, <c>timeout</c>, <c>canceled</c>).</summary>
public sealed class QueryException : Exception
{
    public QueryException(string message, int position = -1, string errorType = "bad_data") : base(message)
    {
        Position = position;
        ErrorType = errorType;
    }

    public QueryException() : this("query failed")
    {
    }

    public QueryException(string message, Exception innerException) : base(message, innerException)
    {
        Position = -1;
        ErrorType = "execution";
    }

    public int Position { get; }

    public string ErrorType { get; }
}
