using System.Globalization;
using Aida.Model.Facility;
using Aida.Telemetry.Query;

namespace Aida.Observability.Derived;

/// <summary>What a group of units would have left to carry its load with one of them out of service (locked out for
/// work): the group's rated capacity without it (and without the units already out), against the peak load the
/// telemetry measured over the window before, and how many more units could then fail with that peak still carried
/// (N+k). What a facility engineer works out before signing a permit: taking chiller-3 out leaves two chillers for a
/// heat that needs two.</summary>
/// <param name="Asset">The unit that would be out.</param>
/// <param name="Group">The units that share its load, said for a person: <c>chillers</c>, <c>hall-1's CDUs</c>.</param>
/// <param name="Load">What they carry, as measured: <c>heat on facility water</c>, <c>air the racks of hall-1 draw</c>.</param>
/// <param name="Unit">The unit of <see cref="Capacity"/>, <see cref="Left"/> and <see cref="Peak"/>: <c>W</c> or
/// <c>m3/s</c> (a CRAH's rating is its airflow).</param>
/// <param name="Capacity">The group's rated capacity, every unit counted.</param>
/// <param name="AlreadyOut">Units of the group already out, each with why: a fault or maintenance the telemetry
/// reports, or another lockout the caller named.</param>
/// <param name="Left">Rated capacity without <see cref="Asset"/> and <see cref="AlreadyOut"/>.</param>
/// <param name="Peak">The highest load over the window (5-minute means), or null when the telemetry has none; for units
/// rated against the weather, the load at the worst moment for them (<see cref="Weather"/>).</param>
/// <param name="SpareNow">Units that could fail with the asset in service and the peak still carried (N+k's k; -1:
/// the peak is not carried even so), or null with no peak.</param>
/// <param name="SpareWithout">The same with the asset out.</param>
/// <param name="MadeUpBy">Who carries what the group cannot (<c>the chillers</c> for the economiser), or null when
/// nothing does and a shortfall is heat not removed.</param>
/// <param name="Weather">For units rated against the weather (the economiser's dry coolers or towers, whose duty scales
/// with the water entering them over the dry or wet bulb): that difference at the moment judged, the worst of the
/// window for the group, with <see cref="Left"/> and <see cref="Peak"/> then; null for the other groups.</param>
public sealed record SpareCapacityReading(
    string Asset,
    string Group,
    string Load,
    string Unit,
    int Units,
    double Capacity,
    IReadOnlyList<string> AlreadyOut,
    int UnitsLeft,
    double Left,
    double? Peak,
    DateTimeOffset? PeakAt,
    TimeSpan Window,
    int? SpareNow,
    int? SpareWithout,
    string? MadeUpBy,
    WeatherRating? Weather = null)
{
    /// <summary><c>short</c> (the peak is more than what is left), <c>none_to_spare</c> (carried at N),
    /// <c>spare</c> (N+1 or better), <c>not_measured</c> (no load in the window).</summary>
    public string Verdict => SpareWithout switch
    {
        null => "not_measured",
        < 0 => "short",
        0 => "none_to_spare",
        _ => "spare",
    };

    /// <summary>One line for a person: <c>chillers: 10.0 MW left of 15.0 MW without chiller-3, against a peak of 9.71
    /// MW of heat on facility water in the last 24 h (2026-12-07 14:05Z): carried with none to spare (N+1 now, N
    /// without it)</c>.</summary>
    public string Describe()
    {
        var without = AlreadyOut.Count == 0 ? Asset : $"{Asset} and {string.Join(", ", AlreadyOut)} already out";
        if (Weather is { } weather)
        {
            // Rated against the weather: what is left and the load at the worst moment of the window, which need not be
            // the load's peak (a smaller heat on a hotter afternoon).
            var rated = $"{Group}: {Amount(Capacity)} rated {weather.Rated}";
            if (Peak is not { } load || SpareNow is not { } k || SpareWithout is not { } kWithout || weather.Difference is not { } difference)
            {
                return $"{rated}, without {without}; no {Load} and {weather.Across} together in the last {Hours(Window)}, so not judged";
            }

            var then = $"{rated}, {Amount(Left)} left without {without} with {weather.Across} at {WeatherRating.Kelvin(difference)}, against {Amount(load)} of {Load} then, the worst of the last {Hours(Window)} for them ({PeakAt:yyyy-MM-dd HH:mm}Z)";
            return $"{then}: {Judged(kWithout, load, "then")} ({Redundancy(k)} now, {Redundancy(kWithout)} without it)";
        }

        var head = $"{Group}: {Amount(Left)} left of {Amount(Capacity)} without {without}";
        if (Peak is not { } peak || SpareNow is not { } now || SpareWithout is not { } after)
        {
            return $"{head}; no {Load} measured in the last {Hours(Window)}, so not judged";
        }

        var against = $"{head}, against a peak of {Amount(peak)} of {Load} in the last {Hours(Window)} ({PeakAt:yyyy-MM-dd HH:mm}Z)";
        return $"{against}: {Judged(after, peak, "at that peak")} ({Redundancy(now)} now, {Redundancy(after)} without it)";
    }

    private string Judged(int spare, double load, string when) => spare switch
    {
        < 0 when MadeUpBy is not null => $"{Amount(load - Left)} short {when}, which {MadeUpBy} make up",
        < 0 => $"{Amount(load - Left)} short {when}",
        0 => "carried with none to spare",
        _ => $"carried with {spare} to spare",
    };

    private static string Redundancy(int spare) => spare switch
    {
        < 0 => "short",
        0 => "N",
        _ => $"N+{spare}",
    };

    private static string Hours(TimeSpan window) => window.TotalHours >= 1 && window.TotalHours % 1 == 0
        ? $"{window.TotalHours.ToString(CultureInfo.InvariantCulture)} h"
        : $"{window.TotalMinutes.ToString(CultureInfo.InvariantCulture)} min";

    private string Amount(double value) => SpareCapacity.Amount(value, Unit);
}

/// <summary>How a group rated against the weather was judged: its units' duty scales with the water entering them
/// over the ambient (<c>capacity x difference / rated difference</c>, none at or below it), so a dry cooler rated 2.5 MW
/// at 15 K rejects 0.5 MW on an afternoon when the water returns 3 K above the dry bulb.</summary>
/// <param name="Across">What the difference is, said for a person: <c>facility water's return over the dry bulb</c>.</param>
/// <param name="Rated">The difference the units are rated at: <c>at 15 K</c>, or <c>at 11-15 K</c>.</param>
/// <param name="Difference">The difference at the moment judged (K), or null when the telemetry has none.</param>
public sealed record WeatherRating(string Across, string Rated, double? Difference)
{
    internal static string Kelvin(double k) => $"{k.ToString("0.0", CultureInfo.InvariantCulture)} K";
}

/// <summary>A group's redundancy at an instant: N+k at its present load (a 5-minute mean), the units in fault or
/// maintenance out. As the series <c>aida_redundancy_spare_units{kind,scope}</c>.</summary>
/// <param name="Kind">The units' kind, as the factory's topology names it: <c>chiller</c>, <c>cdu</c>, <c>ups</c>.</param>
/// <param name="Scope">Where: <c>site</c>, a hall (<c>hall-1</c>), or for UPSs and transformers the units of the group
/// joined by commas (<c>ups-a,ups-b</c>).</param>
/// <param name="Out">The units out, each with why: <c>chiller-1 (fault)</c>.</param>
/// <param name="Spare">N+k's k (-1: the units in service do not carry the load), or null with no load measured.</param>
/// <param name="Carries">What the load is, said for a person: <c>heat on facility water</c>.</param>
/// <param name="Weather">For units rated against the weather (the economiser's), the difference now that
/// <see cref="Left"/> is worked out at; null for the other groups.</param>
/// <param name="MadeUpBy">Who carries what the group cannot (<c>the chillers</c> for the economiser: a shortfall costs
/// energy, not cooling), or null.</param>
public sealed record RedundancyReading(string Kind, string Scope, string Group, string Carries, string Unit, int Units, IReadOnlyList<string> Out, double Capacity, double Left, double? Load, int? Spare, WeatherRating? Weather = null, string? MadeUpBy = null)
{
    /// <summary>How badly off it is, least redundant first: N+k's k, the economiser's short (what the chillers make up)
    /// counted as N, not measured last.</summary>
    public int Rank => Spare is not { } k ? int.MaxValue : MadeUpBy is null ? k : Math.Max(k, 0);

    /// <summary>One line for a person: <c>chillers at N: 10.0 MW in service (of 15.0 MW; chiller-3 (locked out) out)
    /// for 8.69 MW of heat on facility water</c>.</summary>
    public string Describe()
    {
        var at = Weather is { Difference: { } difference } weather ? $" with {weather.Across} at {WeatherRating.Kelvin(difference)}" : "";
        var service = $"{SpareCapacity.Amount(Left, Unit)} in service{at} (of {SpareCapacity.Amount(Capacity, Unit)}{(Weather is { } r ? $" rated {r.Rated}" : "")}{(Out.Count == 0 ? "" : $"; {string.Join(", ", Out)} out")})";
        return (Load, Spare) switch
        {
            ({ } load, < 0) => $"{Group} short: {service} for {SpareCapacity.Amount(load, Unit)} of {Carries}, {SpareCapacity.Amount(load - Left, Unit)} not carried{(MadeUpBy is null ? "" : $" (which {MadeUpBy} make up)")}",
            ({ } load, { } k) => $"{Group} at {(k == 0 ? "N" : $"N+{k}")}: {service} for {SpareCapacity.Amount(load, Unit)} of {Carries}",
            ({ }, _) when Weather is { Difference: null } => $"{Group}: {SpareCapacity.Amount(Capacity, Unit)} rated {Weather.Rated}; no {Weather.Across} measured",
            _ => $"{Group}: {service}; no {Carries} measured",
        };
    }
}

/// <summary>Works out <see cref="SpareCapacityReading"/>s from the factory's ratings and the telemetry's loads.</summary>
/// <remarks>
/// <para>The groups and the loads they carry, each from telemetry only:</para>
/// <list type="bullet">
/// <item>chillers: the heat on facility water, flow x c_p x (return - supply): what they carry when free cooling
/// gives nothing (a hot afternoon);</item>
/// <item>dry coolers or cooling towers (the economiser): the same heat; what they cannot take the chillers make up;</item>
/// <item>a hall's CDUs: the heat their coolant carries, summed over them;</item>
/// <item>a hall's CRAHs, by airflow: the air the hall's racks draw, their air heat ((1 - liquid fraction) x rack power)
/// over ρ c_p ΔT_rack (ASHRAE Fundamentals 2021 ch. 1: 1.2 kg/m3, 1,006 J/(kg K));</item>
/// <item>UPSs and transformers: the output (load) of those that feed the same halls;</item>
/// <item>a hall's busways: the power of its racks.</item>
/// </list>
/// <para>Other assets (a rack, a hall, a generator, a utility feed) have no group: null.</para>
/// </remarks>
public sealed class SpareCapacity
{
    /// <summary>Water's specific heat, as the CDU energy balance takes it (Incropera et al., 7th ed., Table A.6).</summary>
    private const double WaterSpecificHeat = Anomalies.CduEnergyBalance.WaterSpecificHeat;

    /// <summary>Standard air, kg/m3, and its specific heat, J/(kg K) (ASHRAE Fundamentals 2021, ch. 1).</summary>
    private const double AirDensity = 1.2;

    private const double AirSpecificHeat = 1006;

    private static readonly TimeSpan Step = TimeSpan.FromMinutes(5);

    private readonly IQueryEngine _query;
    private readonly Factory _factory;
    private readonly IReadOnlyDictionary<string, string> _kinds;

    public SpareCapacity(IQueryEngine query, Factory factory)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(factory);
        _query = query;
        _factory = factory;
        _kinds = factory.Topology.AssetKinds;
    }

    /// <summary>The look-back for the peak load (default 24 h: a day's heat and load cycle).</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromHours(24);

    /// <summary>What <paramref name="asset"/>'s group would have left with it out, judged at <paramref name="at"/>
    /// against the peak load over the <see cref="Window"/> before; null for an asset with no group (a rack) or one the
    /// factory does not have.</summary>
    /// <param name="alsoOut">Other units out over the work, each with why (<c>locked out</c>), beside those the
    /// telemetry reports in fault or maintenance.</param>
    public async Task<SpareCapacityReading?> WithoutAsync(string asset, DateTimeOffset at, IReadOnlyDictionary<string, string>? alsoOut = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(asset);
        if (Group(asset) is not { } group)
        {
            return null;
        }

        var outOf = await OutOfServiceAsync(group.Units.Select(u => u.Id).Where(u => u != asset).ToList(), at, cancellationToken);
        foreach (var (unit, why) in alsoOut ?? new Dictionary<string, string>())
        {
            if (unit != asset && group.Units.Any(u => u.Id == unit))
            {
                outOf.TryAdd(unit, why);
            }
        }

        var worst = await WorstAsync(group, asset, outOf, at, cancellationToken);
        return new SpareCapacityReading(
            asset,
            group.Name,
            group.Load,
            group.Unit,
            group.Units.Count,
            group.Units.Sum(u => u.Rating),
            [.. group.Units.Where(u => outOf.ContainsKey(u.Id)).Select(u => $"{u.Id} ({outOf[u.Id]})")],
            group.Units.Count(u => u.Id != asset && !outOf.ContainsKey(u.Id)),
            worst?.Left ?? group.Units.Where(u => u.Id != asset && !outOf.ContainsKey(u.Id)).Sum(u => u.Rating),
            worst?.Load,
            worst?.At,
            Window,
            worst?.SpareNow,
            worst?.SpareWithout,
            group.MadeUpBy,
            group.Weather(worst?.Difference));
    }

    /// <summary>Every group's redundancy at <paramref name="at"/>: the chillers, the economiser's units, each hall's
    /// CDUs, CRAHs and busways, each set of UPSs and of transformers feeding the same halls; in that order.</summary>
    /// <param name="alsoOut">Units out beside those the telemetry reports in fault or maintenance (the lockouts held),
    /// each with why.</param>
    public async Task<IReadOnlyList<RedundancyReading>> NowAsync(DateTimeOffset at, IReadOnlyDictionary<string, string>? alsoOut = null, CancellationToken cancellationToken = default)
    {
        var groups = Groups().ToList();
        var outOf = await OutOfServiceAsync([.. groups.SelectMany(g => g.Group.Units.Select(u => u.Id))], at, cancellationToken);
        foreach (var (unit, why) in alsoOut ?? new Dictionary<string, string>())
        {
            outOf.TryAdd(unit, why);
        }

        // Groups that carry one load read it once: the chillers and the economiser the facility water's heat, a hall's
        // CRAHs and busways its racks' power.
        var loads = new Dictionary<string, double?>(StringComparer.Ordinal);
        var result = new List<RedundancyReading>(groups.Count);
        foreach (var (kind, scope, group) in groups)
        {
            if (!loads.TryGetValue(group.Promql, out var raw))
            {
                loads[group.Promql] = raw = Last(await _query.QueryAsync(group.Promql, at, cancellationToken));
            }

            double? difference = null;
            if (group.AcrossPromql is { } across && !loads.TryGetValue(across, out difference))
            {
                loads[across] = difference = Last(await _query.QueryAsync(across, at, cancellationToken));
            }

            var value = raw * group.Scale;
            var available = group.Units.Where(u => !outOf.ContainsKey(u.Id)).Select(u => u.RatingAt(difference)).ToList();
            result.Add(new RedundancyReading(kind, scope, group.Name, group.Load, group.Unit, group.Units.Count, [.. group.Units.Where(u => outOf.ContainsKey(u.Id)).Select(u => $"{u.Id} ({outOf[u.Id]})")],
                group.Units.Sum(u => u.Rating), available.Sum(), value,
                value is { } l && (group.AcrossPromql is null || difference is not null) ? UnitsToSpare(available, l) : null, group.Weather(difference), group.MadeUpBy));
        }

        return result;
    }

    /// <summary>Each group once, by kind and scope, with a unit of it to work it out from.</summary>
    private IEnumerable<(string Kind, string Scope, UnitGroup Group)> Groups()
    {
        var cooling = _factory.Cooling;
        foreach (var first in new[] { cooling.Chillers.Select(c => c.Id), cooling.DryCoolers.Select(c => c.Id), cooling.CoolingTowers.Select(c => c.Id) }.Select(ids => ids.FirstOrDefault()).OfType<string>())
        {
            yield return (_kinds[first], "site", Group(first)!);
        }

        foreach (var hall in _factory.Halls.Select(h => h.Id))
        {
            foreach (var first in new[] { cooling.Cdus.FirstOrDefault(c => c.Hall == hall)?.Id, cooling.Crahs.FirstOrDefault(c => c.Hall == hall)?.Id, _factory.Power.Busways.FirstOrDefault(b => b.Hall == hall)?.Id }.OfType<string>())
            {
                yield return (_kinds[first], hall, Group(first)!);
            }
        }

        HashSet<string> seen = new(StringComparer.Ordinal);
        foreach (var ups in _factory.Power.Ups)
        {
            if (seen.Add(ups.Id))
            {
                var sharing = SharingHalls(ups.Id);
                seen.UnionWith(sharing.Select(u => u.Id));
                yield return ("ups", string.Join(',', sharing.Select(u => u.Id)), Group(ups.Id)!);
                var transformer = Group(ups.Transformer);
                if (transformer is not null)
                {
                    yield return ("transformer", string.Join(',', transformer.Units.Select(t => t.Id)), transformer);
                }
            }
        }
    }

    /// <summary>A capacity or load for a person: watts as MW (two decimals at most) or kW, airflow in its unit.</summary>
    internal static string Amount(double value, string unit) => unit == "W"
        ? (Math.Abs(value) >= 1e6 ? $"{(value / 1e6).ToString("0.0#", CultureInfo.InvariantCulture)} MW" : $"{(value / 1e3).ToString("0", CultureInfo.InvariantCulture)} kW")
        : $"{value.ToString("0.0", CultureInfo.InvariantCulture)} {unit}";

    /// <summary>How many units of <paramref name="ratings"/> could fail, the largest first, with <paramref name="load"/>
    /// still carried by the rest: N+k's k; -1 when all of them together do not carry it.</summary>
    internal static int UnitsToSpare(IReadOnlyList<double> ratings, double load)
    {
        var sorted = ratings.OrderDescending().ToList();
        var rest = sorted.Sum();
        if (rest < load)
        {
            return -1;
        }

        var spare = 0;
        while (spare < sorted.Count && rest - sorted[spare] >= load)
        {
            rest -= sorted[spare];
            spare++;
        }

        return spare;
    }

    /// <summary>A unit of a group: its rating, and for one rated against the weather its duty at a difference (K).</summary>
    private sealed record GroupUnit(string Id, double Rating, Func<double, double>? At = null)
    {
        /// <summary>Its duty at <paramref name="difference"/>: its rating when not rated against the weather; none with no
        /// difference measured.</summary>
        public double RatingAt(double? difference) => At is null ? Rating : difference is { } d ? At(d) : 0;
    }

    /// <param name="Across">For units rated against the weather: the difference, said for a person.</param>
    /// <param name="AcrossPromql">Its query (one series, K).</param>
    /// <param name="RatedAt">The differences the units are rated at, said: <c>at 15 K</c>.</param>
    private sealed record UnitGroup(string Name, string Load, string Unit, IReadOnlyList<GroupUnit> Units, string Promql, double Scale, string? MadeUpBy, string? Across = null, string? AcrossPromql = null, string? RatedAt = null)
    {
        public WeatherRating? Weather(double? difference) => Across is null ? null : new(Across, RatedAt!, difference);
    }

    private UnitGroup? Group(string asset)
    {
        var cooling = _factory.Cooling;
        const string FacilityHeat = "avg_over_time(aida_facility_water_flow_kg_per_second[5m]) * (avg_over_time(aida_facility_water_return_celsius[5m]) - avg_over_time(aida_facility_water_supply_celsius[5m]))";
        switch (_kinds.GetValueOrDefault(asset))
        {
            case "chiller":
                return new("chillers", "heat on facility water", "W", [.. cooling.Chillers.Select(c => new GroupUnit(c.Id, c.CapacityWatts))], $"sum({FacilityHeat})", WaterSpecificHeat, null);
            case "dry-cooler":
                return new("dry coolers", "heat on facility water", "W", [.. cooling.DryCoolers.Select(c => new GroupUnit(c.Id, c.CapacityWatts, c.CapacityAt))], $"sum({FacilityHeat})", WaterSpecificHeat, "the chillers",
                    "facility water's return over the dry bulb", EnteringOver("aida_ambient_dry_bulb_celsius"), RatedAt(cooling.DryCoolers.Select(c => c.RatedItdCelsius)));
            case "cooling-tower":
                return new("cooling towers", "heat on facility water", "W", [.. cooling.CoolingTowers.Select(c => new GroupUnit(c.Id, c.CapacityWatts, c.CapacityAt))], $"sum({FacilityHeat})", WaterSpecificHeat, "the chillers",
                    "facility water's return over the wet bulb", EnteringOver("aida_ambient_wet_bulb_celsius"), RatedAt(cooling.CoolingTowers.Select(c => c.RatedItdCelsius)));
            case "cdu":
            {
                var hall = cooling.Cdus.Single(c => c.Id == asset).Hall;
                var cdus = cooling.Cdus.Where(c => c.Hall == hall).ToList();
                var match = $"{{asset=~\"{AnyOf(cdus.Select(c => c.Id))}\"}}";
                return new($"{hall}'s CDUs", "heat on their coolant", "W", [.. cdus.Select(c => new GroupUnit(c.Id, c.CapacityWatts))],
                    $"sum(avg_over_time(aida_cdu_flow_kg_per_second{match}[5m]) * (avg_over_time(aida_cdu_return_celsius{match}[5m]) - avg_over_time(aida_cdu_supply_celsius{match}[5m])))",
                    WaterSpecificHeat, null);
            }

            case "crah":
            {
                var hall = cooling.Crahs.Single(c => c.Id == asset).Hall;
                var rack = _factory.RackProfile;
                return new($"{hall}'s CRAHs", $"air the racks of {hall} draw", "m3/s", [.. cooling.Crahs.Where(c => c.Hall == hall).Select(c => new GroupUnit(c.Id, c.AirflowM3PerS))],
                    $"sum(avg_over_time(aida_rack_power_watts{{hall=\"{hall}\"}}[5m]))",
                    (1 - rack.LiquidFraction) / (AirDensity * AirSpecificHeat * rack.AirDeltaCelsius), null);
            }

            case "busway":
            {
                var hall = _factory.Power.Busways.Single(b => b.Id == asset).Hall;
                return new($"{hall}'s busways", $"{hall}'s rack power", "W", [.. _factory.Power.Busways.Where(b => b.Hall == hall).Select(b => new GroupUnit(b.Id, b.RatedWatts))],
                    $"sum(avg_over_time(aida_rack_power_watts{{hall=\"{hall}\"}}[5m]))", 1, null);
            }

            case "ups":
            {
                var ups = SharingHalls(asset);
                return new("UPSs feeding the same halls", "UPS output", "W", [.. ups.Select(u => new GroupUnit(u.Id, u.RatedWatts))],
                    $"sum(avg_over_time(aida_ups_output_power_watts{{asset=~\"{AnyOf(ups.Select(u => u.Id))}\"}}[5m]))", 1, null);
            }

            case "transformer":
            {
                var feeding = _factory.Power.Ups.Where(u => u.Transformer == asset).Select(u => u.Id).FirstOrDefault();
                var ups = feeding is null ? [] : SharingHalls(feeding);
                var txs = _factory.Power.Transformers.Where(t => t.Id == asset || ups.Any(u => u.Transformer == t.Id)).ToList();
                return new("transformers feeding the same halls", "transformer load", "W", [.. txs.Select(t => new GroupUnit(t.Id, t.RatedVa * t.PowerFactor))],
                    $"sum(avg_over_time(aida_transformer_load_watts{{asset=~\"{AnyOf(txs.Select(t => t.Id))}\"}}[5m]))", 1, null);
            }

            default:
                return null;
        }
    }

    /// <summary>A PromQL regex matching exactly these ids, as a string literal's content (its backslashes doubled).</summary>
    private static string AnyOf(IEnumerable<string> ids) =>
        string.Join('|', ids.Select(id => System.Text.RegularExpressions.Regex.Escape(id).Replace("\\", "\\\\", StringComparison.Ordinal)));

    /// <summary>The UPSs with a busway into a hall that <paramref name="ups"/> feeds (the 2N pair of a block), in
    /// factory order.</summary>
    private List<Ups> SharingHalls(string ups)
    {
        var busways = _factory.Power.Busways;
        var halls = busways.Where(b => b.Ups == ups).Select(b => b.Hall).ToHashSet(StringComparer.Ordinal);
        var sharing = busways.Where(b => halls.Contains(b.Hall)).Select(b => b.Ups).ToHashSet(StringComparer.Ordinal);
        sharing.Add(ups);
        return [.. _factory.Power.Ups.Where(u => sharing.Contains(u.Id))];
    }

    private async Task<Dictionary<string, string>> OutOfServiceAsync(List<string> units, DateTimeOffset at, CancellationToken ct)
    {
        var outOf = new Dictionary<string, string>(StringComparer.Ordinal);
        if (units.Count == 0)
        {
            return outOf;
        }

        // Every unit's flag in one query, kept for the units asked about (a 1 GW plant's every unit would not fit in a
        // regex matcher).
        var asked = units.ToHashSet(StringComparer.Ordinal);
        foreach (var (metric, why) in new[] { ("aida_asset_fault", "fault"), ("aida_asset_maintenance", "maintenance") })
        {
            var result = await _query.QueryAsync(metric, at, ct);
            foreach (var s in result.Series)
            {
                if (s.Labels.Get("asset") is { } unit && asked.Contains(unit) && s.Samples.Count > 0 && s.Samples[^1].Value >= 0.5)
                {
                    outOf.TryAdd(unit, why);
                }
            }
        }

        return outOf;
    }

    /// <summary>The moment of the window when <paramref name="asset"/>'s group would be worst off with it and
    /// <paramref name="outOf"/> out (fewest units to spare, then least margin): for ratings that do not change, the
    /// load's peak (the first, if it peaks twice); for units rated against the weather, maybe a smaller load on a hotter
    /// afternoon. Null when the window has no load (or, rated against the weather, no load with a difference beside it).</summary>
    private async Task<Moment?> WorstAsync(UnitGroup group, string asset, Dictionary<string, string> outOf, DateTimeOffset at, CancellationToken ct)
    {
        var loads = await _query.QueryRangeAsync(group.Promql, at - Window, at, Step, ct);
        Dictionary<long, double>? differences = null;
        if (group.AcrossPromql is { } across)
        {
            differences = [];
            foreach (var sample in (await _query.QueryRangeAsync(across, at - Window, at, Step, ct)).Series.SelectMany(s => s.Samples).Where(s => double.IsFinite(s.Value)))
            {
                differences.TryAdd(sample.TimestampMs, sample.Value);
            }
        }

        var inService = group.Units.Where(u => !outOf.ContainsKey(u.Id)).ToList();
        Moment? worst = null;
        foreach (var sample in loads.Series.SelectMany(s => s.Samples))
        {
            var load = sample.Value * group.Scale;
            double? difference = null;
            if (differences is not null)
            {
                if (!differences.TryGetValue(sample.TimestampMs, out var d))
                {
                    continue;
                }

                difference = d;
            }

            if (!double.IsFinite(load))
            {
                continue;
            }

            var available = inService.Select(u => u.RatingAt(difference)).ToList();
            var left = inService.Where(u => u.Id != asset).Select(u => u.RatingAt(difference)).ToList();
            var moment = new Moment(load, DateTimeOffset.FromUnixTimeMilliseconds(sample.TimestampMs), difference, left.Sum(), UnitsToSpare(available, load), UnitsToSpare(left, load));
            if (worst is null || moment.SpareWithout < worst.SpareWithout || (moment.SpareWithout == worst.SpareWithout && moment.Left - moment.Load < worst.Left - worst.Load))
            {
                worst = moment;
            }
        }

        return worst;
    }

    private sealed record Moment(double Load, DateTimeOffset At, double? Difference, double Left, int SpareNow, int SpareWithout);

    /// <summary>The last value of an instant query's first series, or null when it has none (or not a number).</summary>
    private static double? Last(QueryResult result) =>
        result.Series.Count > 0 && result.Series[0].Samples.Count > 0 && double.IsFinite(result.Series[0].Samples[^1].Value) ? result.Series[0].Samples[^1].Value : null;

    /// <summary>Facility water entering the economiser (its return) over an ambient, 5-minute means: what the
    /// economiser's units are rated against.</summary>
    private static string EnteringOver(string ambient) =>
        $"avg(avg_over_time(aida_facility_water_return_celsius[5m])) - avg(avg_over_time({ambient}[5m]))";

    /// <summary>The rated differences said for a person: <c>at 15 K</c>, or <c>at 11-15 K</c> when they differ.</summary>
    private static string RatedAt(IEnumerable<double> itds)
    {
        var all = itds.ToList();
        var (low, high) = (all.Min(), all.Max());
        return low == high ? $"at {WeatherRating.Kelvin(low)}" : $"at {low.ToString("0.#", CultureInfo.InvariantCulture)}-{WeatherRating.Kelvin(high)}";
    }
}
