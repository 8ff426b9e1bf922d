namespace Aida.Observability.Anomalies;

/// <summary>Parameters of the single-series detectors, with their defaults.</summary>
public sealed record AnomalyOptions
{
    /// <summary>Samples in the rolling baseline (default 60: 10 min of a 10 s facility point).</summary>
    public int BaselineWindow { get; init; } = 60;

    /// <summary>Robust z (|x - median| / (1.4826 MAD)) at or above which a sample is an outlier (default 6).</summary>
    public double OutlierThreshold { get; init; } = 6;

    /// <summary>Compare with the same time of day on earlier days once the series spans this long (default 2 days).</summary>
    public TimeSpan SeasonalAfter { get; init; } = TimeSpan.FromDays(2);

    /// <summary>Half-width of the same-time-of-day window on each earlier day (default 15 min).</summary>
    public TimeSpan SeasonalHalfWidth { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Samples in the CUSUM's reference (default 240: 40 min of a 10 s point); longer than the outlier
    /// baseline because a small bias in the reference median accumulates.</summary>
    public int CusumReference { get; init; } = 240;

    /// <summary>Standardised values are clipped to ±this before they enter the CUSUM (default 3), so one wild sample
    /// is an outlier, not a change of level.</summary>
    public double CusumClip { get; init; } = 3;

    /// <summary>CUSUM allowance k in robust standard deviations (default 0.5: tuned to a 1-sigma shift).</summary>
    public double CusumAllowance { get; init; } = 0.5;

    /// <summary>CUSUM decision threshold h in robust standard deviations (default 10: an in-control run length of
    /// tens of thousands of samples, days of a 10 s series).</summary>
    public double CusumThreshold { get; init; } = 10;

    /// <summary>Identical readings in a row that make a stuck sensor (default 30: 5 min of a 10 s point): the most ever
    /// needed. A series that rarely repeats a reading, with a coupled series moving through the run, is judged sooner
    /// (<see cref="StuckFalseAlarmOdds"/>).</summary>
    public int StuckSamples { get; init; } = 30;

    /// <summary>The chance, per run judged, that a live sensor repeats its reading as long as the run (default 1e-8).
    /// Before a run the detector counts how often the series repeated its reading over the previous
    /// <see cref="StuckHistorySamples"/> (Laplace's rule: (repeats + 1) / (pairs + 2)), and a run of n readings is
    /// stuck once that rate to the power n - 1 falls below this chance, within [<see cref="StuckMinSamples"/>,
    /// <see cref="StuckSamples"/>], when a coupled series moved through it. A 0.1 K reading with 0.1 K of noise repeats
    /// about 30 % of the time and needs the most; a float reading that repeats 3 % of the time, 7. At a 10 s interval
    /// 1e-8 is about one false run in 10,000 sensor-days, as far as the rate before the run holds during it.</summary>
    public double StuckFalseAlarmOdds { get; init; } = 1e-8;

    /// <summary>The fewest identical readings that make a stuck sensor, however rarely the series repeats (default 5;
    /// <see cref="StuckSamples"/> if that is fewer).</summary>
    public int StuckMinSamples { get; init; } = 5;

    /// <summary>Readings before a run whose repeat rate sets the run length needed (default 360: 1 h of a 10 s point,
    /// so a rate of 3 % is known to within about 1 %); with fewer than 30, <see cref="StuckSamples"/> is needed.</summary>
    public int StuckHistorySamples { get; init; } = 360;

    /// <summary>Share of the samples before the run that changed, above which the series is expected to move (default 0.5).</summary>
    public double StuckMovingShare { get; init; } = 0.5;

    /// <summary>A gap longer than this many of the series' intervals is a dropout (default 3).</summary>
    public double DropoutIntervals { get; init; } = 3;

    /// <summary>Whether the outlier and change-point detectors run (default true). The live alerting reads only stuck
    /// readings and dropouts from a scan and turns them off: they were 30-40 % of an agent run's time, for nothing.</summary>
    public bool ScanLevels { get; init; } = true;

    /// <summary>Treat decreases as counter resets; null (default) decides from the name (<c>_total</c> suffix).</summary>
    public bool? IsCounter { get; init; }

    internal void Validate()
    {
        if (BaselineWindow < 3)
        {
            throw new ArgumentOutOfRangeException(nameof(BaselineWindow), BaselineWindow, "the baseline needs at least 3 samples");
        }

        if (CusumReference < 3)
        {
            throw new ArgumentOutOfRangeException(nameof(CusumReference), CusumReference, "the CUSUM reference needs at least 3 samples");
        }

        if (StuckSamples < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(StuckSamples), StuckSamples, "a stuck run needs at least 2 samples");
        }

        if (StuckMinSamples < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(StuckMinSamples), StuckMinSamples, "a stuck run needs at least 2 samples");
        }

        if (!(StuckFalseAlarmOdds > 0 && StuckFalseAlarmOdds < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(StuckFalseAlarmOdds), StuckFalseAlarmOdds, "a chance must lie between 0 and 1, both excluded");
        }

        if (StuckHistorySamples < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StuckHistorySamples), StuckHistorySamples, "a history cannot be negative");
        }

        if (!(OutlierThreshold > 0) || !(CusumThreshold > 0) || !(CusumAllowance >= 0) || !(CusumClip > CusumAllowance) || !(DropoutIntervals > 1))
        {
            throw new ArgumentException("thresholds must be positive and the dropout multiple above 1");
        }
    }
}
