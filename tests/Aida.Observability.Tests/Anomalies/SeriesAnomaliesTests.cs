using Aida.Observability.Anomalies;
using Aida.Telemetry.Series;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Observability.Tests.Anomalies;

public sealed class SeriesAnomaliesTests
{
    private static readonly DateTimeOffset Start = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Labels Inlet = Labels.Metric("aida_rack_inlet_celsius", ("rack", "h1-r01"));

    /// <summary>A 10 s series: 24 °C plus seeded Gaussian noise of 0.2 K, quantised to 0.1 K as the twin's RTDs are.</summary>
    private static double[] Noisy(int count, int seed = 1, double level = 24)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Math.Round((level + (0.2 * Gaussian(random))) * 10) / 10)];
    }

    private static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    private static SeriesSamples Series(Labels labels, double[] values, int intervalSeconds = 10) =>
        new(labels, [.. values.Select((v, i) => new Sample(Start.AddSeconds(i * intervalSeconds).ToUnixTimeMilliseconds(), v))]);

    private static DateTimeOffset At(int sample) => Start.AddSeconds(sample * 10);

    [Fact]
    public void QuietSeries_HasNoAnomalies()
    {
        var scan = SeriesAnomalies.Scan(Series(Inlet, Noisy(2000)));

        Assert.Empty(scan.Anomalies);
        Assert.Equal(TimeSpan.FromSeconds(10), scan.Interval);
    }

    [Fact]
    public void Spike_IsAnOutlierAtItsSample()
    {
        var v = Noisy(500);
        v[300] = 29;

        var outlier = Assert.Single(SeriesAnomalies.Scan(Series(Inlet, v)).Anomalies);

        Assert.Equal(AnomalyKind.Outlier, outlier.Kind);
        Assert.Equal(At(300), outlier.Onset);
        Assert.True(outlier.Score > 10, outlier.Evidence);
    }

    [Fact]
    public void LevelShift_IsAChangePoint_WithItsOnsetEstimatedBeforeTheAlarm()
    {
        // A 0.4 K (two-sigma) rise from sample 400: too small for the outlier test, plain for CUSUM.
        var v = Noisy(1000);
        for (var i = 400; i < v.Length; i++)
        {
            v[i] += 0.4;
        }

        var shift = Assert.Single(SeriesAnomalies.Scan(Series(Inlet, v)).Anomalies, a => a.Kind == AnomalyKind.ChangePoint);

        Assert.InRange(shift.Onset, At(395), At(405));
        Assert.True(shift.Detected > shift.Onset);
        Assert.True(shift.Detected - shift.Onset < TimeSpan.FromMinutes(5), $"{shift.Detected - shift.Onset}");
        Assert.Contains("rose", shift.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadingThatStopsMoving_IsStuck_FromWhereItStopped()
    {
        var v = Noisy(400);
        for (var i = 200; i < 300; i++)
        {
            v[i] = v[199];
        }

        var stuck = Assert.Single(SeriesAnomalies.Scan(Series(Inlet, v)).Anomalies, a => a.Kind == AnomalyKind.Stuck);

        // The run starts at sample 199, or a sample earlier if the noise repeated the held reading just before it.
        Assert.InRange(stuck.Onset, At(196), At(199));
        // Alone (no coupled series to vouch that the process moved), the full 30 readings are needed.
        Assert.Equal(stuck.Onset + TimeSpan.FromSeconds(29 * 10), stuck.Detected);
        Assert.Contains("30 needed", stuck.Evidence, StringComparison.Ordinal);
        Assert.True(stuck.Score >= 3);
    }

    /// <summary>A CDU temperature at 10 s: 121 readings of history that repeat the previous one <paramref name="repeats"/>
    /// times in 120, spread evenly, then the reading frozen at a value it did not hold just before.</summary>
    private static double[] FrozenAfter(int repeats, int frozen = 40)
    {
        var v = new double[121 + frozen];
        var step = 0;
        var due = 0.0;
        v[0] = 30;
        for (var i = 1; i <= 120; i++)
        {
            due += repeats / 120.0;
            if (due >= 1 - 1e-9)
            {
                due -= 1;
                v[i] = v[i - 1];
            }
            else
            {
                step = (step + 1) % 5;
                v[i] = 30 + (0.01 * step);
            }
        }

        for (var i = 121; i < v.Length; i++)
        {
            v[i] = 31;
        }

        return v;
    }

    /// <summary>The CDU's return, moving throughout: the coupled series that vouches the loop moves.</summary>
    private static SeriesSamples MovingReturn(int count) => Series(Labels.Metric("aida_cdu_return_celsius", ("asset", "cdu-1")), Noisy(count, level: 37));

    [Theory]
    // Laplace's rate (repeats + 1) / (pairs + 2) to the power n - 1 under 1e-8: 1/122 gives 4.8 (the floor 5
    // holds), 4/122 gives 7, 51/122 gives 22 (the most allowed, 12, holds). Without the coupled series, 12.
    [InlineData(0, true, 5)]
    [InlineData(3, true, 7)]
    [InlineData(50, true, 12)]
    [InlineData(0, false, 12)]
    public void FrozenReading_IsJudgedAfterTheRunItsOwnRepeatRateMakesImprobable_WhenItsCoupledSeriesMoves(int repeats, bool coupled, int needed)
    {
        var v = FrozenAfter(repeats);
        var supply = Series(Labels.Metric("aida_cdu_supply_celsius", ("asset", "cdu-1")), v);

        var stuck = Assert.Single(SeriesAnomalies.Scan(supply, new AnomalyOptions { StuckSamples = 12, ScanLevels = false }, coupled: coupled ? MovingReturn(v.Length) : null).Anomalies);

        Assert.Equal(AnomalyKind.Stuck, stuck.Kind);
        Assert.Equal(At(121), stuck.Onset);
        Assert.Equal(At(121 + needed - 1), stuck.Detected);
        Assert.Contains($"{needed} needed", stuck.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void FrozenRunShorterThanItsSeriesNeeds_IsNotStuck()
    {
        // History repeating 3 times in 120: 7 readings needed; 6 frozen readings then movement again is a live sensor.
        var v = FrozenAfter(3, frozen: 6).Concat(FrozenAfter(3)[1..121]).ToArray();
        var options = new AnomalyOptions { StuckSamples = 12, ScanLevels = false };

        var scan = SeriesAnomalies.Scan(Series(Labels.Metric("aida_cdu_supply_celsius"), v), options, coupled: MovingReturn(v.Length));

        Assert.DoesNotContain(scan.Anomalies, a => a.Kind == AnomalyKind.Stuck);
        // One more frozen reading is stuck.
        var seven = FrozenAfter(3, frozen: 7).Concat(FrozenAfter(3)[1..121]).ToArray();
        Assert.Contains(SeriesAnomalies.Scan(Series(Labels.Metric("aida_cdu_supply_celsius"), seven), options, coupled: MovingReturn(seven.Length)).Anomalies,
            a => a.Kind == AnomalyKind.Stuck && a.Onset == At(121));
    }

    [Fact]
    public void LiveFloatReading_TenSensorDays_IsNeverStuck()
    {
        // The twin's CDU temperature: 0.1 K of noise read to 0.01 K, 10 s apart, around a slow diurnal swing. Ten days
        // of it must not hold a run its repeat rate calls improbable (about 1 false run in 10,000 sensor-days is allowed).
        var random = new Random(17);
        var v = Enumerable.Range(0, 86_400)
            .Select(i => Math.Round((30 + Math.Sin(i * 2 * Math.PI / 8640) + (0.1 * Gaussian(random))) * 100) / 100).ToArray();

        var scan = SeriesAnomalies.Scan(Series(Labels.Metric("aida_cdu_return_celsius"), v), new AnomalyOptions { StuckSamples = 12, ScanLevels = false },
            coupled: Series(Labels.Metric("aida_cdu_supply_celsius"), Noisy(v.Length, level: 30)));

        Assert.DoesNotContain(scan.Anomalies, a => a.Kind == AnomalyKind.Stuck);
    }

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property RunNeeded_StaysInItsBounds_AndIsTheShortestImprobableRun() =>
        Prop.ForAll(Gen.Choose(0, 3).ArrayOf().ToArbitrary(), Gen.Choose(2, 40).ToArbitrary(), Gen.Choose(2, 40).ToArbitrary(),
            (levels, floor, most) =>
            {
                var o = new AnomalyOptions { StuckMinSamples = floor, StuckSamples = most };
                var v = levels.Select(l => 20 + (0.1 * l)).ToArray();
                var n = SeriesAnomalies.StuckRunNeeded(v, v.Length, 0.05, o);
                var pairs = Math.Min(v.Length, o.StuckHistorySamples) - 1;
                if (pairs < 29)
                {
                    return n == most;
                }

                var repeats = 0;
                for (var i = v.Length - pairs; i < v.Length; i++)
                {
                    repeats += v[i] == v[i - 1] ? 1 : 0;
                }

                var rate = (repeats + 1.0) / (pairs + 2.0);
                var least = Math.Min(floor, most);
                var improbable = Math.Pow(rate, n - 1) <= o.StuckFalseAlarmOdds * (1 + 1e-9);
                var shortest = n == least || Math.Pow(rate, n - 2) > o.StuckFalseAlarmOdds;
                return n >= least && n <= most && (n == most || (improbable && shortest));
            });

    [Fact]
    public void WithoutLevelScans_StuckAndDropoutsAreTheSame_AndNoOutlierOrShiftIsComputed()
    {
        // A spike, a level shift, a stuck run and a gap in one series: the live alerting scans without the level
        // detectors (it reads only stuck readings and dropouts) and must get exactly those of the full scan.
        var v = Noisy(700);
        v[100] += 5;
        for (var i = 250; i < 700; i++)
        {
            v[i] += 2;
        }

        for (var i = 400; i < 480; i++)
        {
            v[i] = v[399];
        }

        var samples = Series(Inlet, v).Samples.Where((_, i) => i is < 550 or > 560).ToList();
        var series = new SeriesSamples(Inlet, samples);

        var full = SeriesAnomalies.Scan(series).Anomalies;
        var light = SeriesAnomalies.Scan(series, new AnomalyOptions { ScanLevels = false }).Anomalies;

        Assert.Contains(full, a => a.Kind == AnomalyKind.Outlier);
        Assert.Contains(full, a => a.Kind == AnomalyKind.ChangePoint);
        Assert.Equal(full.Where(a => a.Kind is AnomalyKind.Stuck or AnomalyKind.Dropout), light);
        Assert.Contains(light, a => a.Kind == AnomalyKind.Stuck);
        Assert.Contains(light, a => a.Kind == AnomalyKind.Dropout);
    }

    [Fact]
    public void SeriesThatNeverMoves_IsNotStuck()
    {
        // A status point (pumps running = 2) is flat by nature.
        var scan = SeriesAnomalies.Scan(Series(Labels.Metric("aida_cdu_pumps_running"), [.. Enumerable.Repeat(2.0, 500)]));

        Assert.Empty(scan.Anomalies);
    }

    [Fact]
    public void FlatSeriesWithoutHistory_IsStuck_WhenItsCoupledSeriesMoves()
    {
        var supply = Series(Labels.Metric("aida_cdu_supply_celsius", ("asset", "cdu-1")), [.. Enumerable.Repeat(30.0, 100)]);
        var coupledReturn = Series(Labels.Metric("aida_cdu_return_celsius", ("asset", "cdu-1")), Noisy(100, level: 37));

        Assert.Empty(SeriesAnomalies.Scan(supply).Anomalies);
        var stuck = Assert.Single(SeriesAnomalies.Scan(supply, coupled: coupledReturn).Anomalies);
        Assert.Equal(AnomalyKind.Stuck, stuck.Kind);
        Assert.Contains("aida_cdu_return_celsius", stuck.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Gap_IsADropout_MeasuredInTheSeriesOwnInterval()
    {
        var series = Series(Inlet, Noisy(200));
        var samples = series.Samples.Where((_, i) => i < 100 || i >= 112).ToList();

        var dropout = Assert.Single(SeriesAnomalies.Scan(series with { Samples = samples }).Anomalies);

        Assert.Equal(AnomalyKind.Dropout, dropout.Kind);
        Assert.Equal(At(100), dropout.Onset);
        Assert.Equal(At(99 + 3), dropout.Detected);
        Assert.Equal(13, dropout.Score);
    }

    [Fact]
    public void SeriesThatStopsBeforeTheWindowEnds_HasAnOpenDropout()
    {
        var scan = SeriesAnomalies.Scan(Series(Inlet, Noisy(100)), windowEnd: At(200));

        var dropout = Assert.Single(scan.Anomalies);
        Assert.Equal(At(100), dropout.Onset);
    }

    [Fact]
    public void SeriesStartingMidWindow_ReportsItsFirstSample_AndNoDropoutBeforeIt()
    {
        var series = Series(Inlet, Noisy(300));
        var late = series with { Samples = [.. series.Samples.Skip(120)] };

        var scan = SeriesAnomalies.Scan(late, windowEnd: At(300));

        Assert.Equal(At(120), scan.FirstSample);
        Assert.Empty(scan.Anomalies);
    }

    [Fact]
    public void NonFiniteSamples_AreCountedAndSkipped_NeverPropagated()
    {
        var v = Noisy(500);
        v[300] = 29;
        var clean = SeriesAnomalies.Scan(Series(Inlet, v));
        for (var i = 55; i < 500; i += 50)
        {
            v[i] = i % 100 == 5 ? double.NaN : double.PositiveInfinity;
        }

        v[301] = StaleMarker.Value;
        var scan = SeriesAnomalies.Scan(Series(Inlet, v));

        Assert.Equal(10, scan.NonFiniteSamples);
        Assert.Equal(490, scan.FiniteSamples);
        Assert.Equal(clean.Anomalies.Select(a => (a.Kind, a.Onset)), scan.Anomalies.Select(a => (a.Kind, a.Onset)));
        Assert.All(scan.Anomalies, a => Assert.True(double.IsFinite(a.Score)));
    }

    [Fact]
    public void CounterThatGoesDown_IsAReset()
    {
        double[] energy = [0, 1e6, 2e6, 3e6, 50, 1e6 + 50];

        var reset = Assert.Single(SeriesAnomalies.Scan(Series(Labels.Metric("aida_rack_energy_joules_total"), energy)).Anomalies);

        Assert.Equal(AnomalyKind.CounterReset, reset.Kind);
        Assert.Equal(At(4), reset.Onset);
    }

    [Fact]
    public void DailyPattern_IsJudgedAgainstTheSameTimeOnEarlierDays()
    {
        // Every day at 08:00 the load steps up by 3 K for an hour: after two days that is normal for 08:00.
        var v = Noisy(8640 * 3);
        for (var i = 0; i < v.Length; i++)
        {
            var hour = i % 8640 / 360;
            if (hour == 8)
            {
                v[i] += 3;
            }
        }

        var outliers = SeriesAnomalies.Scan(Series(Inlet, v)).Anomalies.Where(a => a.Kind == AnomalyKind.Outlier).ToList();

        Assert.Contains(outliers, a => a.Onset == At(8 * 360));
        Assert.DoesNotContain(outliers, a => a.Onset >= At(2 * 8640));
    }

    [Fact]
    public async Task TwinsStuckReturnSensor_IsFoundStuck_WhereItFroze_AndItsNeighboursAreNot()
    {
        // sensor-stuck: cdu-h2-a's return temperature reading freezes at 02:00.
        var run = TwinTelemetry.Of("faults/sensor-stuck", TimeSpan.FromHours(3));
        var returns = await run.Query.QueryAsync("aida_cdu_return_celsius[3h]", run.End);
        var supplies = await run.Query.QueryAsync("aida_cdu_supply_celsius[3h]", run.End);

        // As the live alerting scans a CDU temperature: its partner vouching that the loop moves, 12 readings at most.
        var stuck = returns.Series.Select(s => SeriesAnomalies.Scan(s, new AnomalyOptions { StuckSamples = 12, ScanLevels = false }, run.End,
                supplies.Series.Single(p => p.Labels.Get("asset") == s.Labels.Get("asset"))))
            .SelectMany(s => s.Anomalies).Where(a => a.Kind == AnomalyKind.Stuck).ToList();

        var found = Assert.Single(stuck);
        Assert.Equal("cdu-h2-a", found.Series.Get("asset"));
        Assert.InRange(found.Onset, run.Start.AddHours(2).AddMinutes(-1), run.Start.AddHours(2).AddSeconds(10));
        // Issue 6's target for an abrupt fault: a float reading that stops moving is judged within a minute.
        Assert.True(found.Detected - run.Start.AddHours(2) <= TimeSpan.FromSeconds(60), $"{found.Detected - run.Start.AddHours(2)}");
    }

    [Fact]
    public void EmptySeries_ScansToNothing()
    {
        var scan = SeriesAnomalies.Scan(new SeriesSamples(Inlet, []), windowEnd: At(10));

        Assert.Equal(0, scan.FiniteSamples);
        Assert.Null(scan.FirstSample);
        Assert.Empty(scan.Anomalies);
    }

    [Fact]
    public void BadOptions_AreRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SeriesAnomalies.Scan(Series(Inlet, Noisy(10)), new AnomalyOptions { BaselineWindow = 1 }));

    [Theory]
    [InlineData(1, 1e-7, 120, "StuckMinSamples")]
    [InlineData(5, 0, 120, "StuckFalseAlarmOdds")]
    [InlineData(5, 1, 120, "StuckFalseAlarmOdds")]
    [InlineData(5, double.NaN, 120, "StuckFalseAlarmOdds")]
    [InlineData(5, 1e-7, -1, "StuckHistorySamples")]
    public void BadStuckOptions_AreRefused_NamingTheOption(int floor, double odds, int history, string option)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            SeriesAnomalies.Scan(Series(Inlet, Noisy(10)), new AnomalyOptions { StuckMinSamples = floor, StuckFalseAlarmOdds = odds, StuckHistorySamples = history }));

        Assert.Equal(option, e.ParamName);
    }

    private static readonly Gen<double> AnyValue = Gen.Frequency(
        (20, Gen.Choose(-1000, 1000).Select(v => v / 10.0)),
        (1, Gen.Elements(double.NaN, double.PositiveInfinity, double.NegativeInfinity, StaleMarker.Value)));

    [Property(MaxTest = 200, Replay = "1234567890123456789,987654321987654321")]
    public Property AnyInput_GivesFiniteScores_AndOnsetsNoLaterThanDetection() =>
        Prop.ForAll(AnyValue.ArrayOf().ToArbitrary(), Gen.Choose(1, 5).ToArbitrary(), (values, interval) =>
        {
            var scan = SeriesAnomalies.Scan(Series(Inlet, values, interval), new AnomalyOptions { BaselineWindow = 5, CusumReference = 5, StuckSamples = 4 });
            return scan.FiniteSamples + scan.NonFiniteSamples == values.Length
                && scan.Anomalies.All(a => double.IsFinite(a.Score) && a.Onset <= a.Detected);
        });
}
