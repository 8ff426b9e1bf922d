using System.Globalization;
using Aida.Model.Facility;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Observability.Derived;

/// <summary>Writes the derived metrics back into the store as series, every period of telemetry time, so dashboards,
/// alerts and <c>aida query</c> read PUE, load factors, headroom and carbon like any other metric:
/// <list type="bullet">
/// <item><c>aida_pue{category="PUE3"}</c>: facility power over IT power now;</item>
/// <item><c>aida_partial_pue{hall}</c>, <c>aida_cooling_load_factor</c>, <c>aida_power_load_factor</c>: over the last period, from energy;</item>
/// <item><c>aida_thermal_headroom_celsius{asset,quantity}</c> per rack (hottest GPU to slowdown, inlet to 27 °C) and
/// <c>aida_gpu_thermal_headroom_min_celsius</c> (the least of every GPU);</item>
/// <item><c>aida_power_headroom_watts{asset,quantity}</c> per UPS, transformer and utility feed;</item>
/// <item><c>aida_redundancy_spare_units{kind,scope}</c>: N+k's k of each group of units that share a load (the chillers,
/// a hall's CDUs, a pair of UPSs) at its present load, -1 when short (<see cref="SpareCapacity.NowAsync"/>);</item>
/// <item><c>aida_grid_carbon_intensity_grams_per_kwh</c> and the counter <c>aida_carbon_emitted_grams_total</c> (each period's
/// facility energy at that hour's intensity), when the site names a grid-carbon file.</item>
/// </list>
/// A metric whose inputs are missing at a tick (a collector down, the run just started) is skipped for that tick and
/// counted in <see cref="Skipped"/> with the reason in <see cref="LastSkip"/>; the others are still written. A series
/// written at the tick before and not at this one is marked stale, as Prometheus marks a recording rule's series that
/// leave its result: a query then finds none, rather than the last value for the five minutes of its lookback (a PUE
/// shown for minutes after every meter stopped answering).</summary>
public sealed class DerivedSeriesWriter
{
    private readonly FacilityMetrics _metrics;
    private readonly SpareCapacity _capacity;
    private readonly RecordedSeries _recorded;
    private readonly GridIntensity? _grid;
    private double _carbonGrams;

    public DerivedSeriesWriter(IQueryEngine query, ISampleAppender store, Factory factory, GridIntensity? grid, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.FromSeconds(1));
        _metrics = new FacilityMetrics(query, factory);
        _capacity = new SpareCapacity(query, factory);
        _recorded = new RecordedSeries(store ?? throw new ArgumentNullException(nameof(store)), factory.Site.Name);
        _grid = grid;
        Period = period;
    }

    /// <summary>The spacing of ticks and the range the load factors and partial PUE cover.</summary>
    public TimeSpan Period { get; }

    /// <summary>Derived metrics left out at some tick because their inputs were missing.</summary>
    public long Skipped { get; private set; }

    public string? LastSkip { get; private set; }

    /// <summary>Computes every derived metric at <paramref name="at"/> and appends them stamped <paramref name="at"/>.</summary>
    /// <returns>How many samples were stored.</returns>
    public async Task<int> WriteAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var ms = at.ToUnixTimeMilliseconds();
        var from = at - Period;
        var written = 0;

        var (pueOk, p) = await TryAsync("pue", () => _metrics.InstantPueAsync(at, cancellationToken));
        if (pueOk)
        {
            written += Put("aida_pue", [("category", $"PUE{(int)p.Category}")], ms, p.Pue);
        }

        var (_, halls) = await TryAsync("partial_pue", () => _metrics.PartialPueAsync(from, at, cancellationToken));
        foreach (var h in halls ?? [])
        {
            written += Put("aida_partial_pue", [("hall", h.Hall)], ms, h.PartialPue);
        }

        var (factorsOk, f) = await TryAsync("load_factors", () => _metrics.LoadFactorsAsync(from, at, cancellationToken));
        if (factorsOk)
        {
            written += Put("aida_cooling_load_factor", [], ms, f.Clf);
            written += Put("aida_power_load_factor", [], ms, f.Plf);
        }

        var (_, thermal) = await TryAsync("thermal_headroom", () => _metrics.RackThermalHeadroomAsync(at, cancellationToken));
        foreach (var t in thermal ?? [])
        {
            if (t.Margin is { } margin)
            {
                written += Put("aida_thermal_headroom_celsius", [("asset", t.Asset), ("quantity", t.Quantity)], ms, margin);
            }
        }

        // The least of every GPU, without a headroom per GPU: at 1 GW that list (576,000 named, sorted entries a minute)
        // was most of the agent's time (docs/benchmarks.md, GpuHeadroomBenchmarks).
        var (_, gpuMin) = await TryAsync("thermal_headroom", () => _metrics.LeastGpuHeadroomAsync(at, cancellationToken));
        if (gpuMin is { } least)
        {
            written += Put("aida_gpu_thermal_headroom_min_celsius", [], ms, least);
        }

        var (_, power) = await TryAsync("power_headroom", () => _metrics.PowerHeadroomAsync(at, cancellationToken));
        foreach (var h in power ?? [])
        {
            if (h.Margin is { } margin)
            {
                written += Put("aida_power_headroom_watts", [("asset", h.Asset), ("quantity", h.Quantity)], ms, margin);
            }
        }

        var (_, redundancy) = await TryAsync("redundancy", () => _capacity.NowAsync(at, cancellationToken: cancellationToken));
        foreach (var r in redundancy ?? [])
        {
            if (r.Spare is { } spare)
            {
                written += Put("aida_redundancy_spare_units", [("kind", r.Kind), ("scope", r.Scope)], ms, spare);
            }
        }

        if (_grid is not null)
        {
            var intensity = _grid.GramsPerKwh(at);
            written += Put("aida_grid_carbon_intensity_grams_per_kwh", [], ms, intensity);
            var (energyOk, e) = await TryAsync("carbon", () => _metrics.PueAsync(from, at, cancellationToken));
            if (energyOk)
            {
                _carbonGrams += e.FacilityKwh * intensity;
                written += Put("aida_carbon_emitted_grams_total", [], ms, _carbonGrams);
            }
        }

        _recorded.EndTick(ms);
        return written;
    }

    /// <summary>The computation's result, or (false, default) with the reason recorded when its inputs are missing.</summary>
    private async Task<(bool Ok, T Value)> TryAsync<T>(string what, Func<Task<T>> compute)
    {
        try
        {
            return (true, await compute());
        }
        catch (InvalidOperationException e)
        {
            Skipped++;
            LastSkip = $"{what}: {e.Message}";
            return (false, default!);
        }
    }

    private int Put(string name, (string Name, string Value)[] labels, long ms, double value)
    {
        if (!double.IsFinite(value))
        {
            Skipped++;
            LastSkip = $"{name}: {value.ToString(CultureInfo.InvariantCulture)} is not a finite value";
            return 0;
        }

        return _recorded.Put(name, labels, ms, value) ? 1 : 0;
    }
}
