namespace Aida.Telemetry.PromQL;

/// <summary>Settings of the embedded PromQL engine; the defaults are Prometheus' own.</summary>
public sealed record EngineOptions
{
    /// <summary>How far back an instant vector selector looks for a sample. Default 5 minutes (Prometheus' --query.lookback-delta).</summary>
    public TimeSpan LookbackDelta { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Step of a subquery written without one (<c>expr[1h:]</c>). Default 1 minute, Prometheus' default global
    /// evaluation interval, which is what Prometheus uses for both instant and range queries.</summary>
    public TimeSpan DefaultSubqueryStep { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The most samples one evaluation step may hold, and the most points a range query may return. Default 50 million
    /// (Prometheus' --query.max-samples).</summary>
    public long MaxSamples { get; init; } = 50_000_000;

    /// <summary>How many threads one range query may use: its steps are cut into that many contiguous spans, each
    /// evaluated (and its data selected) on its own thread, at least <see cref="MinStepsPerThread"/> steps each. Steps are
    /// independent, so the result does not depend on it. Default: the machine's processor count.</summary>
    public int MaxQueryThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>The fewest steps worth a thread of their own. Default 32.</summary>
    public int MinStepsPerThread { get; init; } = 32;

    /// <summary>How many points of range query results the engine keeps, over a store that reports its changes (the
    /// embedded <c>Tsdb</c>), so that the same query over a window slid forward computes only the steps whose data may
    /// have changed; zero keeps none. The answer is the same either way. Default 4 million (64 MB).</summary>
    public long RangeCachePoints { get; init; } = 4_000_000;
}
