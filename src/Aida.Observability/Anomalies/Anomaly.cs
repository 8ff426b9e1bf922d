using Aida.Telemetry.Series;

namespace Aida.Observability.Anomalies;

/// <summary>What kind of departure a detector found.</summary>
public enum AnomalyKind
{
    /// <summary>A sample far from its robust baseline (rolling median and MAD, or the same time on earlier days).</summary>
    Outlier,

    /// <summary>A sustained shift in level (two-sided CUSUM); the onset is the estimated start of the shift.</summary>
    ChangePoint,

    /// <summary>A reading that stopped changing while its own history (or a coupled series) says it should move.</summary>
    Stuck,

    /// <summary>No sample for longer than k times the series' own interval.</summary>
    Dropout,

    /// <summary>A counter went down (a meter or exporter restarted).</summary>
    CounterReset,

    /// <summary>A physics cross-check does not close: the CDU's electrical heat and its water-side heat disagree.</summary>
    EnergyBalance,
}

/// <summary>One anomaly on one series.</summary>
/// <param name="Series">The series' labels (for a physics check, a derived series named for the check).</param>
/// <param name="Onset">When the departure began, as well as the detector can tell (earlier than or equal to
/// <paramref name="Detected"/>).</param>
/// <param name="Detected">The sample at which the detector, run sample by sample, would have raised it.</param>
/// <param name="Score">How strong: robust z for outliers, the CUSUM statistic over its threshold for change points,
/// run length over the minimum for stuck readings, gap over interval for dropouts, the drop for resets, the
/// residual as a fraction of the electrical heat for energy balance.</param>
/// <param name="Evidence">A sentence an operator can read.</param>
public sealed record Anomaly(Labels Series, AnomalyKind Kind, DateTimeOffset Onset, DateTimeOffset Detected, double Score, string Evidence)
{
    /// <summary>For a stuck reading, its last sample in the scan (the reading held from <see cref="Onset"/> to here); for an
    /// energy balance, the last residual sample of the run beyond the threshold (at the range's end while it lasts); null
    /// for the other kinds.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>For an energy balance, the judged sample back within the threshold that ended the run; null while the run
    /// lasts at the range's end or when a sample not judged (a transient, a rise too small to measure) ended it: the
    /// balance was not seen to close. Null for the other kinds.</summary>
    public DateTimeOffset? Closed { get; init; }
}

/// <summary>The outcome of scanning one series: its anomalies and what was skipped.</summary>
/// <param name="FiniteSamples">Samples the detectors used.</param>
/// <param name="NonFiniteSamples">NaN (staleness markers included) and ±Inf samples: counted and skipped, never used.</param>
/// <param name="Interval">The series' own sampling interval (median spacing), or zero with fewer than 2 samples.</param>
/// <param name="FirstSample">The first finite sample's time (a series may start mid-window), or null.</param>
public sealed record SeriesScan(Labels Series, int FiniteSamples, int NonFiniteSamples, TimeSpan Interval, DateTimeOffset? FirstSample, IReadOnlyList<Anomaly> Anomalies);
