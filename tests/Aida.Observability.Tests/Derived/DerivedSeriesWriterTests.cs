using Aida.Observability.Derived;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;

namespace Aida.Observability.Tests.Derived;

/// <summary>The derived metrics written back as series read like any other metric and agree with the direct computation.</summary>
public sealed class DerivedSeriesWriterTests
{
    private static TwinTelemetry Run => TwinTelemetry.Of("reference", TimeSpan.FromHours(2));

    private static GridIntensity Grid => GridIntensity.Load(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "carbon", "VA_hourly_2022.csv"));

    [Fact]
    public async Task Tick_WritesPueLoadFactorsHeadroomAndCarbon_AsTheDirectComputationGives()
    {
        var run = Run;
        using var derived = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var writer = new DerivedSeriesWriter(run.Query, derived, run.Factory, Grid, TimeSpan.FromMinutes(5));
        var at = run.Start + TimeSpan.FromMinutes(90);
        Assert.True(await writer.WriteAsync(at) > 0);
        Assert.Equal(0, writer.Skipped);

        var read = new EmbeddedQueryEngine(derived);
        var metrics = new FacilityMetrics(run.Query, run.Factory);
        Assert.Equal((await metrics.InstantPueAsync(at)).Pue, await One(read, "aida_pue{category=\"PUE3\"}", at));
        var factors = await metrics.LoadFactorsAsync(at - writer.Period, at);
        Assert.Equal(factors.Clf, await One(read, "aida_cooling_load_factor", at));
        Assert.Equal(factors.Plf, await One(read, "aida_power_load_factor", at));
        Assert.Equal(run.Factory.Halls.Count, (await read.QueryAsync("aida_partial_pue", at)).Series.Count);
        Assert.Equal(run.Factory.Racks.Count * 2, (await read.QueryAsync("aida_thermal_headroom_celsius", at)).Series.Count);
        // The least of every GPU, as the least of the per-GPU list (read without building it since session 35).
        var perGpu = (await metrics.ThermalHeadroomAsync(at)).Where(h => h.Quantity == "gpu_temperature").Min(h => h.Margin!.Value);
        Assert.Equal(perGpu, await One(read, "aida_gpu_thermal_headroom_min_celsius", at));
        Assert.True(perGpu > 0);
        Assert.Equal(Grid.GramsPerKwh(at), await One(read, "aida_grid_carbon_intensity_grams_per_kwh", at));
        // Each group's redundancy at its present load: the chillers, the dry coolers, each hall's CDUs, CRAHs and
        // busways, the UPS pair and its transformers.
        var redundancy = await new SpareCapacity(run.Query, run.Factory).NowAsync(at);
        Assert.Equal(10, (await read.QueryAsync("aida_redundancy_spare_units", at)).Series.Count);
        Assert.Equal((double)redundancy.Single(r => r.Kind == "chiller").Spare!.Value, await One(read, "aida_redundancy_spare_units{kind=\"chiller\",scope=\"site\"}", at));
        Assert.Equal((double)redundancy.Single(r => (r.Kind, r.Scope) == ("cdu", "hall-2")).Spare!.Value, await One(read, "aida_redundancy_spare_units{kind=\"cdu\",scope=\"hall-2\"}", at));

        // The carbon counter grows by each period's facility energy at that hour's intensity.
        var energy = await metrics.PueAsync(at - writer.Period, at);
        Assert.Equal(energy.FacilityKwh * Grid.GramsPerKwh(at), await One(read, "aida_carbon_emitted_grams_total", at), 1e-6);
    }

    [Fact]
    public async Task MissingTelemetry_SkipsThoseMetrics_KeepsTheOthers_ThrowsNothing()
    {
        var run = Run;
        using var derived = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var writer = new DerivedSeriesWriter(run.Query, derived, run.Factory, Grid, TimeSpan.FromMinutes(5));

        // A day before the run: no telemetry at all, but the grid's intensity is known.
        var before = run.Start - TimeSpan.FromDays(1);
        var written = await writer.WriteAsync(before);
        var names = string.Join(",", (await new EmbeddedQueryEngine(derived).QueryAsync("{site=\"leesburg-va\"}", before)).Series.Select(s => s.Labels.ToString()));
        Assert.True(written == 1, names);
        Assert.True(writer.Skipped >= 3);
        Assert.Contains("carbon: no aida_facility_energy_joules_total", writer.LastSkip ?? "", StringComparison.Ordinal);
        var read = new EmbeddedQueryEngine(derived);
        Assert.Single((await read.QueryAsync("aida_grid_carbon_intensity_grams_per_kwh", before)).Series);
        Assert.Empty((await read.QueryAsync("aida_pue", before)).Series);
    }

    [Fact]
    public async Task ASeriesWhoseInputsStop_IsMarkedStale_NotShownAtItsLastValueForTheLookback()
    {
        // Seen live (session 56): with every field device down, the dashboard went on showing PUE 1.122 for five
        // minutes after IT and facility power had gone.
        var run = Run;
        using var derived = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var writer = new DerivedSeriesWriter(run.Query, derived, run.Factory, Grid, TimeSpan.FromMinutes(1));
        var read = new EmbeddedQueryEngine(derived);
        var end = run.Start + TimeSpan.FromHours(2);

        // 4 min after the last sample the meters are still within the lookback; at 6 min they are gone.
        await writer.WriteAsync(end + TimeSpan.FromMinutes(4));
        Assert.Single((await read.QueryAsync("aida_pue", end + TimeSpan.FromMinutes(4))).Series);
        await writer.WriteAsync(end + TimeSpan.FromMinutes(6));
        Assert.Empty((await read.QueryAsync("aida_pue", end + TimeSpan.FromMinutes(6))).Series);
        Assert.Empty((await read.QueryAsync("aida_thermal_headroom_celsius", end + TimeSpan.FromMinutes(6))).Series);
        // What still has its inputs is written as ever.
        Assert.Single((await read.QueryAsync("aida_grid_carbon_intensity_grams_per_kwh", end + TimeSpan.FromMinutes(6))).Series);
    }

    private static async Task<double> One(EmbeddedQueryEngine query, string promql, DateTimeOffset at)
    {
        var series = (await query.QueryAsync(promql, at)).Series;
        return Assert.Single(series).Samples[^1].Value;
    }
}
