using System.Globalization;
using Aida.Model.Config;
using Aida.Model.Scenarios;

namespace Aida.Model.Facility;

/// <summary>Loads and validates a factory YAML file. Every problem is a <see cref="ConfigException"/> naming file, line and field.</summary>
/// <remarks>
/// Racks, CDUs and CRAHs may be written one per entry or as a template with <c>count</c>: the id holds <c>{n}</c>
/// (or <c>{n:00}</c> for zero padding) and the entry stands for <c>count</c> assets numbered from <c>first</c> (default 1).
/// </remarks>
public static class FactoryLoader
{
    public static Factory Load(string path, string? displayName = null) => Read(ConfigNode.Load(path, displayName), path);

    public static Factory Parse(string yaml, string file = "factory.yaml") => Read(ConfigNode.Parse(yaml, file), file);

    private static Factory Read(ConfigNode root, string source)
    {
        var name = root.String("name");
        var description = root.String("description", "");

        var siteNode = root.Required("site");
        var site = new Site(
            siteNode.String("name"),
            siteNode.String("weather", ""),
            siteNode.NumberOr("latitude", 0, -90, 90),
            siteNode.NumberOr("longitude", 0, -180, 180))
        {
            GridCarbon = siteNode.String("grid_carbon", ""),
        };
        if (siteNode.Optional("design_dry_bulb_celsius") is not null)
        {
            site = site with { DesignDryBulbCelsius = siteNode.Number("design_dry_bulb_celsius", -60, 60), DesignDryBulbSource = Site.ConfiguredSource };
        }

        siteNode.RejectUnknown();

        var gpuNode = root.Required("gpu");
        var gpu = new GpuSpec(
            gpuNode.String("model", "gpu"),
            gpuNode.Number("max_power_watts", 1, 5000),
            gpuNode.Number("idle_power_watts", 0, 5000),
            gpuNode.Number("throttle_celsius", 40, 120),
            gpuNode.Number("shutdown_celsius", 40, 130),
            gpuNode.Number("thermal_resistance_k_per_watt", 0.001, 1),
            gpuNode.NumberOr("convective_share", 0.5, 0, 1),
            gpuNode.Number("heat_capacity_joules_per_kelvin", 1, 1e6));
        if (gpu.IdlePowerWatts >= gpu.MaxPowerWatts)
        {
            throw gpuNode.Error("idle_power_watts", "must be below max_power_watts");
        }

        if (gpu.ShutdownCelsius <= gpu.ThrottleCelsius)
        {
            throw gpuNode.Error("shutdown_celsius", "must be above throttle_celsius");
        }

        gpuNode.RejectUnknown();

        var rpNode = root.Required("rack_profile");
        var rackProfile = new RackProfile(
            rpNode.Integer("gpus", 72, 1, 1024),
            rpNode.Number("other_idle_watts", 0, 1e6),
            rpNode.Number("other_max_watts", 0, 1e6),
            rpNode.Number("liquid_fraction", 0, 1),
            rpNode.NumberOr("air_delta_celsius", 15, 1, 40),
            rpNode.NumberOr("coolant_litres", 40, 1, 10_000));
        rpNode.RejectUnknown();

        var halls = new List<Hall>();
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var h in root.List("halls", required: true))
        {
            var id = h.String("id");
            Claim(ids, h, id, "hall");
            halls.Add(new Hall(id, h.Line));
            h.RejectUnknown();
        }

        var power = ReadPower(root.Required("power"), ids, halls);
        var cooling = ReadCooling(root.Required("cooling"), ids, halls);

        var cduIds = cooling.Cdus.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var buswayIds = power.Busways.ToDictionary(b => b.Id, StringComparer.Ordinal);
        var racks = new List<Rack>();
        foreach (var r in root.List("racks", required: true))
        {
            var hall = RefHall(r, "hall", halls);
            var cdu = r.String("cdu");
            if (!cduIds.Contains(cdu))
            {
                throw r.Error("cdu", $"unknown CDU '{cdu}'");
            }

            var busways = new List<string>();
            foreach (var b in r.List("busways", required: true))
            {
                var bid = b.Scalar();
                if (!buswayIds.ContainsKey(bid))
                {
                    throw b.Error($"unknown busway '{bid}'");
                }

                busways.Add(bid);
            }

            var row = r.String("row", "");
            foreach (var id in Expand(r))
            {
                Claim(ids, r, id, "rack");
                racks.Add(new Rack(id, hall, row, cdu, busways.AsReadOnly(), r.Line));
            }

            r.RejectUnknown();
        }

        var misc = root.Optional("misc");
        var miscWatts = misc?.NumberOr("lighting_and_office_kw", 0, 0, 1e6) * 1000 ?? 0;
        misc?.RejectUnknown();
        root.RejectUnknown();

        if (racks.Count == 0)
        {
            throw root.Error("racks", "a factory needs at least one rack");
        }

        return new Factory(name, description, site, gpu, rackProfile, halls.AsReadOnly(), racks.AsReadOnly(), power, cooling, miscWatts, source);
    }

    private static PowerChain ReadPower(ConfigNode node, Dictionary<string, string> ids, List<Hall> halls)
    {
        var feeds = new List<UtilityFeed>();
        foreach (var f in node.List("utility_feeds", required: true))
        {
            var id = f.String("id");
            Claim(ids, f, id, "utility feed");
            feeds.Add(new UtilityFeed(id, f.Number("capacity_kw", 1, 1e7) * 1000));
            f.RejectUnknown();
        }

        var feedIds = feeds.Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
        var generators = new List<Generator>();
        foreach (var g in node.List("generators"))
        {
            var id = g.String("id");
            Claim(ids, g, id, "generator");
            generators.Add(new Generator(id, Ref(g, "feed", feedIds, "utility feed"), g.Number("capacity_kw", 1, 1e7) * 1000,
                g.Duration("start_time", TimeSpan.FromSeconds(10))));
            g.RejectUnknown();
        }

        var transformers = new List<Transformer>();
        foreach (var t in node.List("transformers", required: true))
        {
            var id = t.String("id");
            Claim(ids, t, id, "transformer");
            transformers.Add(new Transformer(id, Ref(t, "feed", feedIds, "utility feed"),
                t.Number("rated_kva", 1, 1e7) * 1000,
                t.Number("no_load_loss_kw", 0, 1e5) * 1000,
                t.Number("load_loss_kw", 0, 1e5) * 1000,
                t.NumberOr("power_factor", 0.95, 0.5, 1)));
            t.RejectUnknown();
        }

        var txIds = transformers.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        var ups = new List<Ups>();
        var modes = new Dictionary<string, UpsMode> { ["double-conversion"] = UpsMode.DoubleConversion, ["eco"] = UpsMode.Eco };
        foreach (var u in node.List("ups", required: true))
        {
            var id = u.String("id");
            Claim(ids, u, id, "UPS");
            ups.Add(new Ups(id, Ref(u, "transformer", txIds, "transformer"), u.Number("rated_kw", 1, 1e7) * 1000,
                u.Enum("mode", UpsMode.DoubleConversion, modes), u.Duration("runtime_at_rated_load", TimeSpan.FromMinutes(5), allowZero: false)));
            u.RejectUnknown();
        }

        var upsIds = ups.Select(u => u.Id).ToHashSet(StringComparer.Ordinal);
        var busways = new List<Busway>();
        foreach (var b in node.List("busways", required: true))
        {
            var id = b.String("id");
            Claim(ids, b, id, "busway");
            busways.Add(new Busway(id, Ref(b, "ups", upsIds, "UPS"), RefHall(b, "hall", halls), b.Number("rated_kw", 1, 1e7) * 1000,
                b.NumberOr("loss_fraction_at_rated", 0.01, 0, 0.2)));
            b.RejectUnknown();
        }

        node.RejectUnknown();
        return new PowerChain(feeds.AsReadOnly(), generators.AsReadOnly(), transformers.AsReadOnly(), ups.AsReadOnly(), busways.AsReadOnly());
    }

    private static CoolingChain ReadCooling(ConfigNode node, Dictionary<string, string> ids, List<Hall> halls)
    {
        var fwNode = node.Required("facility_water");
        var fw = new FacilityWater(
            fwNode.Number("supply_setpoint_celsius", SetpointLimits.FacilityWaterMin, SetpointLimits.FacilityWaterMax),
            fwNode.Integer("pumps", 3, 1, 64),
            fwNode.Integer("pumps_required", 2, 1, 64),
            fwNode.Number("design_flow_kg_per_s", 1, 1e6),
            fwNode.Number("pump_power_kw_at_design", 0, 1e5) * 1000,
            fwNode.Number("volume_litres", 1, 1e8));
        if (fw.PumpsRequired > fw.Pumps)
        {
            throw fwNode.Error("pumps_required", $"{fw.PumpsRequired} is more than the {fw.Pumps} pumps installed");
        }

        fwNode.RejectUnknown();

        // The power side is read first, so feed ids are already claimed as "utility feed".
        var feedIds = ids.Where(kv => kv.Value == "utility feed").Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);

        // Heat-rejection units on a utility feed: each entry (or template) read, its ids claimed, its fields checked.
        List<T> FedUnits<T>(string list, string kind, Func<ConfigNode, string, string, T> make)
        {
            var units = new List<T>();
            foreach (var d in node.List(list))
            {
                var feed = Ref(d, "feed", feedIds, "utility feed");
                foreach (var id in Expand(d))
                {
                    Claim(ids, d, id, kind);
                    units.Add(make(d, id, feed));
                }

                d.RejectUnknown();
            }

            return units;
        }

        // The entering water's difference from the ambient at the unit's rated capacity: above its approach, which is the
        // leaving water's.
        static double RatedItd(ConfigNode d, double fallback)
        {
            var itd = d.NumberOr("rated_itd_celsius", fallback, 1, 60);
            var approach = d.Number("approach_celsius", 0.5, 30);
            return itd > approach
                ? itd
                : throw d.Error("rated_itd_celsius", $"{itd.ToString(CultureInfo.InvariantCulture)} K is not above approach_celsius ({approach.ToString(CultureInfo.InvariantCulture)} K): the water enters warmer than it leaves");
        }

        var dryCoolers = FedUnits("dry_coolers", "dry cooler", (d, id, feed) => new DryCooler(id, d.Number("capacity_kw", 1, 1e6) * 1000,
            d.Number("approach_celsius", 0.5, 30), d.Number("fan_power_kw", 0, 1e4) * 1000, d.Boolean("standby", false), feed,
            RatedItd(d, DryCooler.DefaultRatedItd)));
        var towers = FedUnits("cooling_towers", "cooling tower", (d, id, feed) => new CoolingTower(id, d.Number("capacity_kw", 1, 1e6) * 1000,
            d.Number("approach_celsius", 0.5, 30), d.Number("fan_power_kw", 0, 1e4) * 1000, d.NumberOr("cycles_of_concentration", 4, 1.5, 20),
            d.Boolean("standby", false), feed, RatedItd(d, CoolingTower.DefaultRatedItd)));

        if (dryCoolers.Count > 0 && towers.Count > 0)
        {
            throw node.Error("cooling_towers", $"the economiser is either dry coolers or cooling towers; this file has {dryCoolers.Count} dry cooler(s) and {towers.Count} tower(s)");
        }

        var chillers = new List<Chiller>();
        var condensers = new Dictionary<string, CondenserKind> { ["air"] = CondenserKind.Air, ["water"] = CondenserKind.Water };
        foreach (var c in node.List("chillers"))
        {
            var feed = Ref(c, "feed", feedIds, "utility feed");
            var condenser = c.Enum("condenser", CondenserKind.Air, condensers);
            if (condenser == CondenserKind.Water && towers.Count == 0)
            {
                throw c.Error("condenser", "a water-cooled chiller needs cooling_towers to reject its condenser heat; this file has none");
            }

            var pump = c.NumberOr("condenser_pump_kw", 0, 0, 1e4) * 1000;
            if (condenser == CondenserKind.Air && pump > 0)
            {
                throw c.Error("condenser_pump_kw", "an air-cooled chiller has no condenser water pump; set condenser: water or remove it");
            }

            foreach (var id in Expand(c))
            {
                Claim(ids, c, id, "chiller");
                chillers.Add(new Chiller(id, c.Number("capacity_kw", 1, 1e6) * 1000,
                    c.NumberOr("carnot_fraction", 0.5, 0.1, 0.9),
                    c.NumberOr("condenser_approach_celsius", 12, 1, 40),
                    c.NumberOr("min_condensing_celsius", 25, 0, 60),
                    c.NumberOr("min_power_fraction", 0.1, 0, 1),
                    c.Boolean("standby", false), feed, c.Duration("restart_time", TimeSpan.FromMinutes(5)), condenser, pump));
            }

            c.RejectUnknown();
        }

        if (dryCoolers.Count + towers.Count + chillers.Count == 0)
        {
            throw node.Error("a factory needs at least one dry cooler, cooling tower or chiller to reject heat");
        }

        var cdus = new List<Cdu>();
        foreach (var c in node.List("cdus", required: true))
        {
            var hall = RefHall(c, "hall", halls);
            var pumps = c.Integer("pumps", 2, 1, 16);
            var required = c.Integer("pumps_required", 1, 1, 16);
            if (required > pumps)
            {
                throw c.Error("pumps_required", $"{required} is more than the {pumps} pumps installed");
            }

            var cap = c.Number("capacity_kw", 1, 1e5) * 1000;
            var flow = c.Number("design_flow_kg_per_s", 0.1, 1e4);
            var pumpPower = c.Number("pump_power_kw_at_design", 0, 1e4) * 1000;
            var eff = c.NumberOr("hx_effectiveness", 0.8, 0.1, 0.99);
            var setpoint = c.Number("supply_setpoint_celsius", SetpointLimits.CduSupplyMin, SetpointLimits.CduSupplyMax);
            var litres = c.NumberOr("coolant_litres", 400, 1, 1e6);
            foreach (var id in Expand(c))
            {
                Claim(ids, c, id, "CDU");
                cdus.Add(new Cdu(id, hall, cap, pumps, required, flow, pumpPower, eff, setpoint, litres, c.Line));
            }

            c.RejectUnknown();
        }

        var crahs = new List<Crah>();
        foreach (var c in node.List("crahs", required: true))
        {
            var hall = RefHall(c, "hall", halls);
            var airflow = c.Number("airflow_m3_per_s", 0.1, 1e4);
            var fan = c.Number("fan_power_kw_at_design", 0, 1e4) * 1000;
            var approach = c.NumberOr("coil_approach_celsius", 3, 0.5, 20);
            var setpoint = c.Number("supply_setpoint_celsius", SetpointLimits.CrahSupplyMin, SetpointLimits.CrahSupplyMax);
            var standby = c.Boolean("standby", false);
            foreach (var id in Expand(c))
            {
                Claim(ids, c, id, "CRAH");
                crahs.Add(new Crah(id, hall, airflow, fan, approach, setpoint, standby, c.Line));
            }

            c.RejectUnknown();
        }

        node.RejectUnknown();
        return new CoolingChain(fw, dryCoolers.AsReadOnly(), chillers.AsReadOnly(), cdus.AsReadOnly(), crahs.AsReadOnly(), towers.AsReadOnly());
    }

    /// <summary>The ids an entry stands for: itself, or <c>count</c> ids from a template holding <c>{n}</c>.</summary>
    private static IEnumerable<string> Expand(ConfigNode node)
    {
        var id = node.String("id");
        var count = node.Integer("count", 0, 1, 1_000_000);
        if (count == 0)
        {
            if (id.Contains('{', StringComparison.Ordinal))
            {
                throw node.Error("id", $"'{id}' is a template but the entry has no count");
            }

            yield return id;
            yield break;
        }

        var first = node.Integer("first", 1, 0, int.MaxValue);
        var open = id.IndexOf("{n", StringComparison.Ordinal);
        var close = open < 0 ? -1 : id.IndexOf('}', open);
        if (open < 0 || close < 0)
        {
            throw node.Error("id", $"'{id}' needs a {{n}} placeholder when count is given");
        }

        var format = close > open + 2 && id[open + 2] == ':' ? id[(open + 3)..close] : "";
        for (var n = first; n < first + count; n++)
        {
            yield return string.Concat(id.AsSpan(0, open), n.ToString(format, CultureInfo.InvariantCulture), id.AsSpan(close + 1));
        }
    }

    private static void Claim(Dictionary<string, string> ids, ConfigNode node, string id, string kind)
    {
        if (!ids.TryAdd(id, kind))
        {
            throw node.Error("id", $"'{id}' is already used by a {ids[id]}");
        }
    }

    private static string Ref(ConfigNode node, string field, HashSet<string> known, string kind)
    {
        var value = node.String(field);
        return known.Contains(value) ? value : throw node.Error(field, $"unknown {kind} '{value}'");
    }

    private static string RefHall(ConfigNode node, string field, List<Hall> halls)
    {
        var value = node.String(field);
        return halls.Exists(h => h.Id == value) ? value : throw node.Error(field, $"unknown hall '{value}'");
    }
}
