using Aida.Telemetry.Series;

namespace Aida.Observability.Incidents;

/// <summary>Where an alert came from.</summary>
public enum AlertSource
{
    /// <summary>A fixed limit crossed (a rack inlet above 27 °C, a UPS on battery).</summary>
    Threshold,

    /// <summary>An anomaly detector (<see cref="Anomalies.AnomalyKind"/>) on one series or a physics cross-check.</summary>
    Anomaly,

    /// <summary>An SLO burn-rate alert.</summary>
    SloBurn,
}

/// <summary>One alert raised on an asset of the facility's topology (an id of <see cref="Aida.Model.Topology.TopologyGraph"/>,
/// or the site's name for site-wide alerts): what incident grouping folds together.</summary>
/// <param name="Name">The rule or detector, e.g. <c>RackInletHigh</c> or <c>anomaly:change-point</c>.</param>
/// <param name="At">When it fired (telemetry time, not wall-clock time).</param>
public sealed record Alert(string Name, AlertSource Source, string Asset, DateTimeOffset At, string Summary)
{
    /// <summary><c>info</c>, <c>warning</c> or <c>critical</c>.</summary>
    public string Severity { get; init; } = "warning";

    /// <summary>The series it was raised on, when there is one.</summary>
    public Labels? Series { get; init; }

    /// <summary>The metrics it was judged on beyond its own series. For an SLO burn-rate alert (<see cref="AlertSource.SloBurn"/>,
    /// raised on the asset of the series burning most, or on the SLO's name): the metrics its SLI reads, by which it
    /// finds the incident whose symptoms burn the budget when none is near its asset. For a derived check (a CDU's energy
    /// balance, its cold plates): the readings it is derived from, so an alert a lying reading raised can be told.</summary>
    public IReadOnlyList<string> Reads { get; init; } = [];
}
