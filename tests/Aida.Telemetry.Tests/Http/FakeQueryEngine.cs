using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.Http;

/// <summary>An <see cref="IQueryEngine"/> double: answers what it is given and remembers what it was asked.</summary>
internal sealed class FakeQueryEngine : IQueryEngine
{
    public Func<CancellationToken, Task<QueryResult>> Answer { get; set; } = _ => Task.FromResult(new QueryResult(ResultType.Vector, []));

    public IReadOnlyList<Labels> SeriesAnswer { get; set; } = [];

    public IReadOnlyList<string> StringsAnswer { get; set; } = [];

    public List<string> Calls { get; } = [];

    public Task<QueryResult> QueryAsync(string promql, DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        Calls.Add($"query {promql} @{time.ToUnixTimeMilliseconds()}");
        return Answer(cancellationToken);
    }

    public Task<QueryResult> QueryRangeAsync(string promql, DateTimeOffset start, DateTimeOffset end, TimeSpan step, CancellationToken cancellationToken = default)
    {
        Calls.Add($"range {promql} {start.ToUnixTimeMilliseconds()}..{end.ToUnixTimeMilliseconds()} step {step.TotalMilliseconds}");
        return Answer(cancellationToken);
    }

    public Task<IReadOnlyList<Labels>> SeriesAsync(IReadOnlyList<string> match, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        Calls.Add($"series {string.Join(" | ", match)} {Format(start)}..{Format(end)}");
        return Task.FromResult(SeriesAnswer);
    }

    public Task<IReadOnlyList<string>> LabelNamesAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        Calls.Add($"labels {Format(start)}..{Format(end)}");
        return Task.FromResult(StringsAnswer);
    }

    public Task<IReadOnlyList<string>> LabelValuesAsync(string name, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        Calls.Add($"values {name} {Format(start)}..{Format(end)}");
        return Task.FromResult(StringsAnswer);
    }

    private static string Format(DateTimeOffset t) =>
        t == DateTimeOffset.MinValue ? "min" : t == DateTimeOffset.MaxValue ? "max" : t.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
