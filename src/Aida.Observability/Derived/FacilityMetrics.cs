using System.Globalization;
using Aida.Model.Facility;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Observability.Derived;

/// <summary>Derived facility metrics from telemetry alone (any <see cref="IQueryEngine"/>, embedded or remote) and the
/// factory model: PUE, partial PUE per hall, CLF and PLF, thermal and power headroom, carbon.</summary>
/// <remarks>Energies over a range come from the raw samples, not from PromQL's extrapolating <c>increase</c>: counters
/// (<c>aida_*_energy_joules_total</c>) by their increase across resets, power gauges by trapezoidal integration; a
/// range boundary between two samples is interpolated. See docs/observability.md for each formula.</remarks>
public sealed class FacilityMetrics
{
    public const string FacilityEnergy = "aida_facility_energy_joules_total";
    public const string ItEnergy = "aida_it_energy_joules_total";
    public const string RackEnergy = "aida_rack_energy_joules_total";
    public const string UpsOutputPower = "aida_ups_output_power_watts";
    public const string TowerWater = "aida_cooling_tower_water_litres_total";

    /// <summary>The power points counted as cooling: chillers (and their condenser pumps), dry-cooler or cooling-tower fans,
    /// facility-water pumps, CDU pumps, CRAH fans.</summary>
    public static IReadOnlyList<string> CoolingPower { get; } =
    [
        "aida_chiller_power_watts", "aida_condenser_pump_power_watts", "aida_dry_cooler_fan_power_watts", "aida_cooling_tower_fan_power_watts",
        "aida_facility_water_pump_power_watts", "aida_cdu_pump_power_watts", "aida_crah_fan_power_watts",
    ];

    /// <summary>ASHRAE TC 9.9's recommended upper rack inlet temperature (Thermal Guidelines for Data Processing
    /// Environments, 5th ed., class A1-A4 recommended envelope 18-27 °C).</summary>
    public const double RecommendedInletCelsius = 27;

    // A range's first sample may sit up to one lookback before its start; the same 5 min PromQL uses.
    private static readonly TimeSpan Lookback = TimeSpan.FromMinutes(5);

    private readonly IQueryEngine _query;
    private readonly Factory _factory;

    public FacilityMetrics(IQueryEngine query, Factory factory)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(factory);
        _query = query;
        _factory = factory;
    }

    /// <summary>Facility power over IT power at <paramref name="at"/> (the newest samples within 5 min): category 3,
    /// as <c>aida_it_power_watts</c> sums the rack inputs.</summary>
    public async Task<PueReading> InstantPueAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var facility = await ScalarAsync("sum(aida_facility_power_watts)", at, cancellationToken);
        var it = await ScalarAsync("sum(aida_it_power_watts)", at, cancellationToken);
        if (facility is null || it is null)
        {
            throw new InvalidOperationException($"no aida_facility_power_watts and aida_it_power_watts within 5 min of {at:O}");
        }

        return new PueReading(at, at, facility.Value / 1000, it.Value / 1000, Ratio(facility.Value, it.Value), PueCategory.Pue3);
    }

    /// <summary>Energy-based PUE over [start, end]: facility energy / IT energy (ISO/IEC 30134-2). The category follows
    /// the IT meter found: <c>aida_it_energy_joules_total</c> or the racks' counters (PUE3, rack input), else the UPS
    /// output power integrated (PUE1).</summary>
    /// <exception cref="InvalidOperationException">No facility energy counter, or no IT meter of any category.</exception>
    public async Task<PueReading> PueAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        CheckRange(start, end);
        var facility = await CounterKwhAsync(FacilityEnergy, start, end, cancellationToken)
            ?? throw new InvalidOperationException($"no {FacilityEnergy} between {start:O} and {end:O}: facility energy is not metered");
        var (it, category) = await ItKwhAsync(start, end, cancellationToken);
        return new PueReading(start, end, facility, it, Ratio(facility, it), category);
    }

    /// <summary>Energy-based PUE per consecutive <paramref name="period"/> (an hour, a day) from <paramref name="start"/>;
    /// the last period ends at <paramref name="end"/>.</summary>
    public async Task<IReadOnlyList<PueReading>> PueSeriesAsync(DateTimeOffset start, DateTimeOffset end, TimeSpan period, CancellationToken cancellationToken = default)
    {
        CheckRange(start, end);
        if (period <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, "the period must be positive");
        }

        var facility = await RawAsync(FacilityEnergy, start, end, cancellationToken);
        var (itSeries, category) = await ItMeterAsync(start, end, cancellationToken);
        var result = new List<PueReading>();
        for (var from = start; from < end; from += period)
        {
            var to = from + period < end ? from + period : end;
            var f = Sum(facility, from, to, counter: true) / 3.6e6;
            var i = Sum(itSeries, from, to, counter: category == PueCategory.Pue3) / 3.6e6;
            result.Add(new PueReading(from, to, f, i, Ratio(f, i), category));
        }

        return result;
    }

    /// <summary>CLF and PLF over [start, end]: metered cooling energy / IT energy, and electrical losses / IT energy,
    /// where the losses are facility - IT - cooling - the factory's lighting and offices (<see cref="Factory.MiscPowerWatts"/>,
    /// not metered).</summary>
    public async Task<LoadFactors> LoadFactorsAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        var pue = await PueAsync(start, end, cancellationToken);
        var cooling = 0.0;
        foreach (var metric in CoolingPower)
        {
            cooling += Sum(await RawAsync(metric, start, end, cancellationToken), start, end, counter: false) / 3.6e6;
        }

        var misc = _factory.MiscPowerWatts * (end - start).TotalSeconds / 3.6e6;
        var losses = pue.FacilityKwh - pue.ItKwh - cooling - misc;
        return new LoadFactors(pue.ItKwh, cooling, losses, misc, Ratio(cooling, pue.ItKwh), Ratio(losses, pue.ItKwh));
    }

    /// <summary>Partial PUE of every hall of the factory over [start, end]: (IT_h + the hall's CDU pumps and CRAH fans +
    /// IT_h / IT x everything else the facility drew) / IT_h, so the halls' overheads add up to the facility's.</summary>
    public async Task<IReadOnlyList<HallPue>> PartialPueAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        var pue = await PueAsync(start, end, cancellationToken);
        var racks = await RawAsync(RackEnergy, start, end, cancellationToken);
        var pumps = await RawAsync("aida_cdu_pump_power_watts", start, end, cancellationToken);
        var fans = await RawAsync("aida_crah_fan_power_watts", start, end, cancellationToken);
        var itByHall = _factory.Halls.ToDictionary(h => h.Id, h => Sum(ByHall(racks, h.Id), start, end, counter: true) / 3.6e6);
        var ownByHall = _factory.Halls.ToDictionary(h => h.Id, h =>
            (Sum(ByHall(pumps, h.Id), start, end, counter: false) + Sum(ByHall(fans, h.Id), start, end, counter: false)) / 3.6e6);
        var itTotal = itByHall.Values.Sum();
        var shared = pue.FacilityKwh - itTotal - ownByHall.Values.Sum();
        return
        [
            .. _factory.Halls.Select(h =>
            {
                var it = itByHall[h.Id];
                var overhead = ownByHall[h.Id] + (itTotal > 0 ? shared * it / itTotal : 0);
                return new HallPue(h.Id, it, overhead, Ratio(it + overhead, it));
            }),
        ];
    }

    /// <summary>Thermal headroom at <paramref name="at"/>: per rack, the hottest GPU to the GPU's slowdown temperature
    /// (<see cref="GpuSpec.ThrottleCelsius"/>) and the inlet to <see cref="RecommendedInletCelsius"/>; per GPU
    /// (<c>DCGM_FI_DEV_GPU_TEMP</c>, asset <c>rack/gpu</c>) to the slowdown temperature. Racks of the factory without a
    /// reading are listed with no margin.</summary>
    public async Task<IReadOnlyList<Headroom>> ThermalHeadroomAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var limit = _factory.Gpu.ThrottleCelsius;
        var result = await RackThermalHeadroomAsync(at, cancellationToken);
        var gpus = await _query.QueryAsync(GpuTemperature, at, cancellationToken);
        foreach (var s in gpus.Series.OrderBy(s => s.Labels.Get("rack"), StringComparer.Ordinal).ThenBy(s => int.TryParse(s.Labels.Get("gpu"), out var g) ? g : -1))
        {
            if (s.Samples.Count > 0 && double.IsFinite(s.Samples[^1].Value))
            {
                result.Add(Margin($"{s.Labels.Get("rack")}/{s.Labels.Get("gpu")}", "gpu_temperature", s.Samples[^1].Value, limit));
            }
        }

        return result;
    }

    /// <summary>Per rack, as <see cref="ThermalHeadroomAsync"/>: the hottest GPU to the GPU's slowdown temperature and the
    /// inlet to <see cref="RecommendedInletCelsius"/> (racks without a reading listed with no margin).</summary>
    public async Task<List<Headroom>> RackThermalHeadroomAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var limit = _factory.Gpu.ThrottleCelsius;
        var gpuMax = await ByLabelAsync("aida_rack_gpu_max_temperature_celsius", "rack", at, cancellationToken);
        var inlet = await ByLabelAsync("aida_rack_inlet_celsius", "rack", at, cancellationToken);
        var result = new List<Headroom>(_factory.Racks.Count * 2);
        foreach (var rack in _factory.Racks)
        {
            result.Add(Margin(rack.Id, "gpu_max_temperature", gpuMax.GetValueOrDefault(rack.Id), limit));
            result.Add(Margin(rack.Id, "inlet_temperature", inlet.GetValueOrDefault(rack.Id), RecommendedInletCelsius));
        }

        return result;
    }

    /// <summary>The least headroom of any GPU at <paramref name="at"/>: the slowdown temperature less the hottest DCGM
    /// temperature (<c>DCGM_FI_DEV_GPU_TEMP</c>, finite readings only), as the least of <see cref="ThermalHeadroomAsync"/>'s
    /// per-GPU entries; null when no GPU reports. What the derived series writer records each minute: at 1 GW the
    /// per-GPU list (576,000 entries, named and sorted) cost the agent most of its time for one number
    /// (docs/benchmarks.md).</summary>
    public async Task<double?> LeastGpuHeadroomAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var gpus = await _query.QueryAsync(GpuTemperature, at, cancellationToken);
        var hottest = double.NegativeInfinity;
        foreach (var s in gpus.Series)
        {
            if (s.Samples.Count > 0 && double.IsFinite(s.Samples[^1].Value))
            {
                hottest = Math.Max(hottest, s.Samples[^1].Value);
            }
        }

        return double.IsFinite(hottest) ? _factory.Gpu.ThrottleCelsius - hottest : null;
    }

    private const string GpuTemperature = "DCGM_FI_DEV_GPU_TEMP";

    /// <summary>Power headroom at <paramref name="at"/>: per UPS, its rating minus its output; per transformer, its
    /// rating (VA x power factor) minus its load; per utility feed, its capacity minus the load of its transformers.
    /// Assets of the factory without a reading are listed with no margin.</summary>
    public async Task<IReadOnlyList<Headroom>> PowerHeadroomAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var ups = await ByLabelAsync(UpsOutputPower, "asset", at, cancellationToken);
        var tx = await ByLabelAsync("aida_transformer_load_watts", "asset", at, cancellationToken);
        var result = new List<Headroom>();
        foreach (var u in _factory.Power.Ups)
        {
            result.Add(Margin(u.Id, "output_power", ups.GetValueOrDefault(u.Id), u.RatedWatts));
        }

        foreach (var t in _factory.Power.Transformers)
        {
            result.Add(Margin(t.Id, "load", tx.GetValueOrDefault(t.Id), t.RatedVa * t.PowerFactor));
        }

        foreach (var feed in _factory.Power.Feeds)
        {
            var loads = _factory.Power.Transformers.Where(t => t.Feed == feed.Id).Select(t => tx.GetValueOrDefault(t.Id)).ToList();
            double? load = loads.Count > 0 && loads.All(l => l is not null) ? loads.Sum(l => l!.Value) : null;
            result.Add(Margin(feed.Id, "load", load, feed.CapacityWatts));
        }

        return result;
    }

    /// <summary>Carbon over [start, end]: each UTC hour's facility energy x that hour's grid intensity, in kgCO2, and CUE
    /// = kgCO2 / IT kWh.</summary>
    public async Task<CarbonReading> CarbonAsync(DateTimeOffset start, DateTimeOffset end, GridIntensity grid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var pue = await PueAsync(start, end, cancellationToken);
        var facility = await RawAsync(FacilityEnergy, start, end, cancellationToken);
        var grams = 0.0;
        var from = start;
        while (from < end)
        {
            var hourEnd = new DateTimeOffset(from.UtcDateTime.Date.AddHours(from.UtcDateTime.Hour + 1), TimeSpan.Zero);
            var to = hourEnd < end ? hourEnd : end;
            grams += Sum(facility, from, to, counter: true) / 3.6e6 * grid.GramsPerKwh(from);
            from = to;
        }

        var kg = grams / 1000;
        return new CarbonReading(start, end, pue.FacilityKwh, pue.ItKwh, kg, Ratio(kg, pue.ItKwh));
    }

    /// <summary>Water over [start, end] from the cooling towers' make-up meters (<see cref="TowerWater"/>), and WUE; null
    /// when the site meters no water (a dry plant).</summary>
    public async Task<WaterReading?> WaterAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        CheckRange(start, end);
        var series = await RawAsync(TowerWater, start, end, cancellationToken);
        if (series.Count == 0)
        {
            return null;
        }

        var litres = Sum(series, start, end, counter: true);
        var (it, _) = await ItKwhAsync(start, end, cancellationToken);
        return new WaterReading(start, end, litres, it, Ratio(litres, it));
    }

    private async Task<(double Kwh, PueCategory Category)> ItKwhAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var (series, category) = await ItMeterAsync(start, end, ct);
        return (Sum(series, start, end, counter: category == PueCategory.Pue3) / 3.6e6, category);
    }

    /// <summary>The best IT meter the telemetry holds: the site IT counter, the rack counters (both at the rack input,
    /// PUE3), or the UPS outputs (PUE1).</summary>
    private async Task<(IReadOnlyList<SeriesSamples> Series, PueCategory Category)> ItMeterAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        foreach (var metric in (string[])[ItEnergy, RackEnergy])
        {
            var series = await RawAsync(metric, start, end, ct);
            if (series.Count > 0)
            {
                return (series, PueCategory.Pue3);
            }
        }

        var ups = await RawAsync(UpsOutputPower, start, end, ct);
        if (ups.Count > 0)
        {
            return (ups, PueCategory.Pue1);
        }

        throw new InvalidOperationException($"no IT meter between {start:O} and {end:O}: none of {ItEnergy}, {RackEnergy}, {UpsOutputPower}");
    }

    private async Task<double?> CounterKwhAsync(string metric, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var series = await RawAsync(metric, start, end, ct);
        return series.Count == 0 ? null : Sum(series, start, end, counter: true) / 3.6e6;
    }

    /// <summary>Raw samples of <paramref name="selector"/> from one lookback before start to end (an instant query of a
    /// range selector, which every Prometheus-compatible API answers with the stored samples).</summary>
    private async Task<IReadOnlyList<SeriesSamples>> RawAsync(string selector, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var span = (long)(end - start + Lookback).TotalMilliseconds;
        var result = await _query.QueryAsync(string.Create(CultureInfo.InvariantCulture, $"{selector}[{span}ms]"), end, ct);
        return result.Series;
    }

    private static double Sum(IReadOnlyList<SeriesSamples> series, DateTimeOffset start, DateTimeOffset end, bool counter)
    {
        var (from, to) = (start.ToUnixTimeMilliseconds(), end.ToUnixTimeMilliseconds());
        var total = 0.0;
        foreach (var s in series)
        {
            total += counter ? SampleRange.CounterIncrease(s.Samples, from, to) : SampleRange.Integral(s.Samples, from, to);
        }

        return total;
    }

    private static List<SeriesSamples> ByHall(IReadOnlyList<SeriesSamples> series, string hall) =>
        [.. series.Where(s => s.Labels.Get("hall") == hall)];

    private async Task<double?> ScalarAsync(string promql, DateTimeOffset at, CancellationToken ct)
    {
        var result = await _query.QueryAsync(promql, at, ct);
        return result.Series.Count == 1 && result.Series[0].Samples.Count > 0 && double.IsFinite(result.Series[0].Samples[0].Value)
            ? result.Series[0].Samples[0].Value
            : null;
    }

    private async Task<Dictionary<string, double?>> ByLabelAsync(string metric, string label, DateTimeOffset at, CancellationToken ct)
    {
        var result = await _query.QueryAsync(metric, at, ct);
        var map = new Dictionary<string, double?>(StringComparer.Ordinal);
        foreach (var s in result.Series)
        {
            if (s.Labels.Get(label) is { } key && s.Samples.Count > 0 && double.IsFinite(s.Samples[^1].Value))
            {
                map[key] = s.Samples[^1].Value;
            }
        }

        return map;
    }

    private static Headroom Margin(string asset, string quantity, double? measured, double limit) =>
        new(asset, quantity, measured, limit, measured is { } m ? limit - m : null);

    /// <summary>A ratio that is 0 rather than NaN or infinite when the denominator is 0 (no IT load).</summary>
    private static double Ratio(double numerator, double denominator) => denominator > 0 ? numerator / denominator : 0;

    private static void CheckRange(DateTimeOffset start, DateTimeOffset end)
    {
        if (end <= start)
        {
            throw new ArgumentException($"the range must end after it starts: {start:O} to {end:O}");
        }
    }
}
