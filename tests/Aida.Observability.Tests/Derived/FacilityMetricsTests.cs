using Aida.Observability.Derived;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;

namespace Aida.Observability.Tests.Derived;

public sealed class FacilityMetricsTests
{
    private static readonly TimeSpan RunLength = TimeSpan.FromHours(2);

    private static TwinTelemetry Run => TwinTelemetry.Of("reference", RunLength);

    [Fact]
    public async Task RunPue_FromTelemetry_MatchesTheTwinsOwnSummary()
    {
        var run = Run;
        var pue = await new FacilityMetrics(run.Query, run.Factory).PueAsync(run.Start, run.End);

        Assert.Equal(PueCategory.Pue3, pue.Category);
        Assert.Equal(run.Summary.ItEnergyKwh, pue.ItKwh, run.Summary.ItEnergyKwh * 0.002);
        Assert.Equal(run.Summary.FacilityEnergyKwh, pue.FacilityKwh, run.Summary.FacilityEnergyKwh * 0.002);
        Assert.Equal(run.Summary.Pue, pue.Pue, 0.002);
    }

    [Fact]
    public async Task HourlyPue_WeighsBackToTheRunPue()
    {
        var run = Run;
        var metrics = new FacilityMetrics(run.Query, run.Factory);

        var hours = await metrics.PueSeriesAsync(run.Start, run.End, TimeSpan.FromHours(1));
        var whole = await metrics.PueAsync(run.Start, run.End);

        Assert.Equal(2, hours.Count);
        Assert.Equal(whole.FacilityKwh, hours.Sum(h => h.FacilityKwh), 1e-6 * whole.FacilityKwh);
        Assert.Equal(whole.Pue, hours.Sum(h => h.FacilityKwh) / hours.Sum(h => h.ItKwh), 1e-9);
        Assert.All(hours, h => Assert.InRange(h.Pue, 1.05, 1.6));
    }

    [Fact]
    public async Task InstantPue_IsCloseToTheEnergyPue_OnASteadyLoad()
    {
        var run = Run;
        var metrics = new FacilityMetrics(run.Query, run.Factory);

        var instant = await metrics.InstantPueAsync(run.End - TimeSpan.FromMinutes(30));

        Assert.Equal(run.Summary.Pue, instant.Pue, 0.05);
    }

    [Theory]
    [InlineData("reference")]
    [InlineData("reference-tower")] // towers' fans and chillers' condenser pumps in place of dry coolers' fans
    public async Task LoadFactors_MatchTheTwinsCoolingAndLosses(string scenario)
    {
        var run = TwinTelemetry.Of(scenario, RunLength);
        var f = await new FacilityMetrics(run.Query, run.Factory).LoadFactorsAsync(run.Start, run.End);
        var it = run.Summary.ItEnergyKwh;

        Assert.Equal(run.Summary.CoolingEnergyKwh / it, f.Clf, 0.003);
        Assert.Equal(run.Summary.ElectricalLossesKwh / it, f.Plf, 0.003);
        Assert.Equal(run.Summary.MiscEnergyKwh, f.MiscKwh, 0.01);
    }

    [Fact]
    public async Task Wue_FromTheTowersMeters_MatchesTheTwinsOwnWater_AndADryPlantHasNone()
    {
        var run = TwinTelemetry.Of("reference-tower", RunLength);
        var water = await new FacilityMetrics(run.Query, run.Factory).WaterAsync(run.Start, run.End);

        Assert.NotNull(water);
        Assert.True(run.Summary.WaterLitres > 0);
        Assert.Equal(run.Summary.WaterLitres, water.Value.Litres, run.Summary.WaterLitres * 0.005);
        Assert.Equal(run.Summary.Wue, water.Value.Wue, 0.01);

        var dry = Run;
        Assert.Null(await new FacilityMetrics(dry.Query, dry.Factory).WaterAsync(dry.Start, dry.End));
    }

    [Fact]
    public async Task PartialPue_OfTheHalls_AddsUpToTheFacility()
    {
        var run = Run;
        var metrics = new FacilityMetrics(run.Query, run.Factory);

        var halls = await metrics.PartialPueAsync(run.Start, run.End);
        var pue = await metrics.PueAsync(run.Start, run.End);

        Assert.Equal(run.Factory.Halls.Count, halls.Count);
        Assert.Equal(pue.FacilityKwh, halls.Sum(h => h.ItKwh + h.OverheadKwh), pue.FacilityKwh * 0.002);
        Assert.All(halls, h => Assert.InRange(h.PartialPue, 1.0, 2.0));
    }

    [Fact]
    public async Task ThermalHeadroom_CoversEveryRackAndGpu_BelowTheirLimits()
    {
        var run = Run;
        var headroom = await new FacilityMetrics(run.Query, run.Factory).ThermalHeadroomAsync(run.End);

        Assert.Equal(2 * run.Factory.Racks.Count, headroom.Count(h => h.Quantity != "gpu_temperature"));
        Assert.Equal(run.Factory.GpuCount, headroom.Count(h => h.Quantity == "gpu_temperature"));
        Assert.All(headroom, h => Assert.True(h.Margin > 0, $"{h.Asset} {h.Quantity}: {h.Measured} against {h.Limit}"));
        var gpu = headroom.First(h => h.Quantity == "gpu_temperature");
        Assert.Equal(run.Factory.Gpu.ThrottleCelsius, gpu.Limit);
        Assert.Equal(gpu.Limit - gpu.Measured, gpu.Margin);
    }

    [Fact]
    public async Task LeastGpuHeadroom_IsTheSlowdownLessTheHottestFiniteReading_AndNoneWithoutReadings()
    {
        var factory = Run.Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var metrics = new FacilityMetrics(new Aida.Telemetry.Query.EmbeddedQueryEngine(store), factory);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);
        Assert.Null(await metrics.LeastGpuHeadroomAsync(at));

        // A broken sensor's NaN or +Inf is no reading: it would make the least headroom NaN or minus infinity.
        foreach (var (gpu, value) in new[] { ("0", 70.0), ("1", 74.5), ("2", double.NaN), ("3", double.PositiveInfinity) })
        {
            var id = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("DCGM_FI_DEV_GPU_TEMP", ("rack", "h1-a01"), ("gpu", gpu)));
            store.Append(id, at.ToUnixTimeMilliseconds() - 10_000, value);
        }

        Assert.Equal(factory.Gpu.ThrottleCelsius - 74.5, await metrics.LeastGpuHeadroomAsync(at));
        var listed = (await metrics.ThermalHeadroomAsync(at)).Where(h => h.Quantity == "gpu_temperature").ToList();
        Assert.Equal(2, listed.Count);
        Assert.Equal(listed.Min(h => h.Margin), await metrics.LeastGpuHeadroomAsync(at));
    }

    [Fact]
    public async Task PowerHeadroom_IsRatingMinusReading_ForEveryUpsTransformerAndFeed()
    {
        var run = Run;
        var headroom = await new FacilityMetrics(run.Query, run.Factory).PowerHeadroomAsync(run.End);

        var p = run.Factory.Power;
        Assert.Equal(p.Ups.Count + p.Transformers.Count + p.Feeds.Count, headroom.Count);
        var ups = headroom.Single(h => h.Asset == p.Ups[0].Id);
        Assert.Equal(p.Ups[0].RatedWatts, ups.Limit);
        Assert.InRange(ups.Margin!.Value, 0, ups.Limit);
        Assert.All(headroom, h => Assert.NotNull(h.Measured));
    }

    [Fact]
    public async Task Carbon_IsFacilityEnergyTimesTheHourlyIntensity()
    {
        var run = Run;
        var grid = GridIntensity.Load(Path.Combine(CarbonData, "VA_hourly_2022.csv"));
        var metrics = new FacilityMetrics(run.Query, run.Factory);

        var carbon = await metrics.CarbonAsync(run.Start, run.End, grid);
        var hours = await metrics.PueSeriesAsync(run.Start, run.End, TimeSpan.FromHours(1));

        var expected = hours.Sum(h => h.FacilityKwh * grid.GramsPerKwh(h.Start)) / 1000;
        Assert.Equal(expected, carbon.KgCo2, expected * 1e-9);
        Assert.Equal(carbon.KgCo2 / carbon.ItKwh, carbon.Cue, 1e-12);

        // 1 July 2025 00:00 UTC reads 1 July 2022 00:00 UTC.
        Assert.Equal(grid.GramsPerKwh(new DateTimeOffset(2022, 7, 1, 0, 30, 0, TimeSpan.Zero)), grid.GramsPerKwh(run.Start));
    }

    [Fact]
    public void GridIntensity_FillsMissingHours_AndMapsTheLeapDayOntoThe28th()
    {
        var grid = GridIntensity.Load(Path.Combine(CarbonData, "VA_hourly_2022.csv"));

        Assert.Equal(23, grid.FilledHours);
        var gap = grid.GramsPerKwh(new DateTimeOffset(2022, 3, 13, 7, 0, 0, TimeSpan.Zero));
        Assert.True(double.IsFinite(gap) && gap > 0);
        Assert.Equal(grid.GramsPerKwh(new DateTimeOffset(2022, 2, 28, 13, 0, 0, TimeSpan.Zero)), grid.GramsPerKwh(new DateTimeOffset(2024, 2, 29, 13, 59, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void GridIntensity_RefusesABadFile_NamingTheLine()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "timestamp,avg_CI\n2022-01-01 00:00:00+00:00,341.4\n2022-01-01 01:00:00+00:00,oops\n");
            var e = Assert.Throws<FormatException>(() => GridIntensity.Load(path));
            Assert.Contains(":3:", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task CounterReset_AndGaps_DoNotBreakTheEnergy()
    {
        // 1 kW for an hour on both meters, the IT meter restarting half way and missing ten minutes.
        using var store = new Tsdb(new TsdbOptions());
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        var facility = store.GetOrCreateSeries(Labels.Metric(FacilityMetrics.FacilityEnergy));
        var it = store.GetOrCreateSeries(Labels.Metric(FacilityMetrics.ItEnergy));
        for (var s = 0; s <= 3600; s += 10)
        {
            var t = start.AddSeconds(s).ToUnixTimeMilliseconds();
            store.Append(facility, t, 2000.0 * s);
            if (s is < 1200 or > 1800)
            {
                store.Append(it, t, s < 1800 ? 1000.0 * s : 1000.0 * (s - 1800));
            }
        }

        var pue = await new FacilityMetrics(new EmbeddedQueryEngine(store), TwinTelemetryFactory).PueAsync(start, start.AddHours(1));

        // 1.0 kWh of IT energy except what the reset hid: the step across the restart counts only the new counter.
        Assert.Equal(2.0, pue.FacilityKwh, 1e-9);
        Assert.InRange(pue.ItKwh, 0.8, 1.0);
        Assert.True(double.IsFinite(pue.Pue));
    }

    [Fact]
    public async Task MissingMeters_AreAClearError()
    {
        using var store = new Tsdb(new TsdbOptions());
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        var metrics = new FacilityMetrics(new EmbeddedQueryEngine(store), TwinTelemetryFactory);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => metrics.PueAsync(start, start.AddHours(1)));
        Assert.Contains(FacilityMetrics.FacilityEnergy, e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => metrics.PueAsync(start, start));
    }

    [Fact]
    public async Task AssetsWithoutTelemetry_AreListedWithoutAMargin()
    {
        using var store = new Tsdb(new TsdbOptions());
        var headroom = await new FacilityMetrics(new EmbeddedQueryEngine(store), TwinTelemetryFactory).PowerHeadroomAsync(DateTimeOffset.UnixEpoch.AddDays(1));

        Assert.NotEmpty(headroom);
        Assert.All(headroom, h => Assert.Null(h.Margin));
    }

    private static Aida.Model.Facility.Factory TwinTelemetryFactory => Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;

    private static string CarbonData
    {
        get
        {
            for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            {
                var candidate = Path.Combine(dir, "shared", "data", "carbon");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            return "/work/shared/data/carbon";
        }
    }
}
