using System.Globalization;
using Aida.Model.Config;
using Aida.Model.Facility;

namespace Aida.Model.Scenarios;

/// <summary>Loads and validates a scenario YAML file and the factory it names.</summary>
public static class ScenarioLoader
{
    /// <summary>Loads a scenario by path or bundled name (<c>reference</c>, <c>faults/chiller-trip</c>).</summary>
    public static Scenario Load(string nameOrPath)
    {
        var path = BundledFiles.Resolve(nameOrPath, "scenarios");
        var root = ConfigNode.Load(path, nameOrPath == path ? path : DisplayName(path));
        return Read(root, Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public static Scenario Parse(string yaml, string file, string directory) => Read(ConfigNode.Parse(yaml, file), directory);

    /// <summary>How a file is named in messages: relative to the current directory, or to the bundle for bundled files.</summary>
    internal static string DisplayName(string path)
    {
        var full = Path.GetFullPath(path);
        foreach (var root in new[] { Directory.GetCurrentDirectory(), BundledFiles.Root })
        {
            if (root is not null && full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                return Path.GetRelativePath(root, full);
            }
        }

        return full;
    }

    private static Scenario Read(ConfigNode root, string directory)
    {
        var name = root.String("name");
        var description = root.String("description", "");
        var factoryNode = root.Required("factory");
        var factoryPath = BundledFiles.Resolve(factoryNode.Scalar(), "factories", directory);
        if (!File.Exists(factoryPath))
        {
            throw factoryNode.Error($"factory file '{factoryNode.Scalar()}' not found");
        }

        var factory = FactoryLoader.Load(factoryPath, DisplayName(factoryPath));

        var weather = ReadWeather(root.Optional("weather"), factory, factoryPath, directory);
        factory = WithDesignConditions(factory, weather);
        var startNode = root.Optional("start");
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        if (startNode is not null &&
            !DateTimeOffset.TryParse(startNode.Scalar(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out start))
        {
            throw startNode.Error($"'{startNode.Scalar()}' is not a date and time (use e.g. 2025-07-01T00:00:00Z)");
        }

        var duration = root.Duration("duration", allowZero: false);
        var step = root.Duration("step", TimeSpan.FromSeconds(1), allowZero: false);
        if (step > TimeSpan.FromSeconds(10))
        {
            throw root.Error("step", "must be at most 10s: GPU thermal time constants are tens of seconds");
        }

        var seed = root.Integer("seed", 1, 0);
        var workload = ReadWorkload(root.Optional("workload"), factory);
        var faults = new List<FaultSpec>();
        foreach (var f in root.List("faults"))
        {
            faults.Add(ReadFault(f, factory, duration));
        }

        var setpoints = ReadSetpoints(root.Optional("setpoints"), factory);
        var writes = new List<ScheduledWrite>();
        foreach (var w in root.List("writes"))
        {
            writes.Add(ReadWrite(w, duration));
        }

        var telemetry = root.Optional("telemetry");
        var gpuInterval = telemetry?.Duration("gpu_interval", TimeSpan.FromSeconds(30), allowZero: false) ?? TimeSpan.FromSeconds(30);
        if (gpuInterval < step)
        {
            throw telemetry!.Error("gpu_interval", $"must be at least the step ({PromDuration.Format(step)})");
        }

        telemetry?.RejectUnknown();
        root.RejectUnknown();
        return new Scenario(name, description, factory, weather, start, duration, step, seed, workload, faults, setpoints, root.File)
        {
            GpuTelemetryInterval = gpuInterval,
            Writes = writes,
        };
    }

    /// <summary>The scenario run on another weather file (a climate of <c>aida compare</c>): its site's design dry bulb
    /// follows the file unless the factory file set it.</summary>
    public static Scenario WithWeatherFile(Scenario scenario, string epwPath)
    {
        var weather = scenario.Weather with { EpwPath = epwPath };
        return scenario with { Weather = weather, Factory = WithDesignConditions(scenario.Factory, weather) };
    }

    private static Factory WithDesignConditions(Factory factory, WeatherSpec weather)
    {
        if (factory.Site.DesignDryBulbConfigured)
        {
            return factory;
        }

        var design = weather.EpwPath is { } epw ? EpwDesignConditions.CoolingDryBulb(epw) : null;
        var site = factory.Site with
        {
            DesignDryBulbCelsius = design,
            DesignDryBulbSource = design is null ? "" : $"the 0.4 % cooling dry bulb of {Path.GetFileName(weather.EpwPath)}",
        };
        return factory with { Site = site };
    }

    private static WeatherSpec ReadWeather(ConfigNode? node, Factory factory, string factoryPath, string directory)
    {
        var synthetic = new SyntheticWeatherSpec(13, 11, 5, 6);
        string? epw = factory.Site.Weather.Length > 0 ? factory.Site.Weather : null;
        var epwBase = Path.GetDirectoryName(Path.GetFullPath(factoryPath))!;
        if (node is not null)
        {
            var epwNode = node.Optional("epw");
            var syn = node.Optional("synthetic");
            if (epwNode is not null && syn is not null)
            {
                throw node.Error("give either epw or synthetic, not both");
            }

            if (epwNode is not null)
            {
                epw = epwNode.Scalar();
                epwBase = directory;
            }

            if (syn is not null)
            {
                epw = null;
                synthetic = new SyntheticWeatherSpec(
                    syn.NumberOr("mean_celsius", 13, -40, 50),
                    syn.NumberOr("seasonal_amplitude_celsius", 11, 0, 40),
                    syn.NumberOr("daily_amplitude_celsius", 5, 0, 20),
                    syn.NumberOr("dew_point_depression_celsius", 6, 0, 40));
                syn.RejectUnknown();
            }

            node.RejectUnknown();
        }

        if (epw is null)
        {
            return new WeatherSpec(null, synthetic);
        }

        var path = BundledFiles.Resolve(epw, "weather", epwBase);
        if (!File.Exists(path))
        {
            var where = node?.Optional("epw") ?? node;
            throw where is not null
                ? where.Error($"weather file '{epw}' not found")
                : new ConfigException(factory.SourceFile, 0, "site.weather", $"weather file '{epw}' not found");
        }

        return new WeatherSpec(path, synthetic);
    }

    private static WorkloadSpec ReadWorkload(ConfigNode? node, Factory factory)
    {
        if (node is null)
        {
            return new WorkloadSpec([], [], 0.03);
        }

        var claimed = new Dictionary<int, string>();
        var training = new List<TrainingJobSpec>();
        foreach (var t in node.List("training"))
        {
            var name = t.String("name");
            var racks = Racks(t, factory, claimed, name);
            var start = t.Duration("start", TimeSpan.Zero);
            var endNode = t.Optional("end");
            TimeSpan? end = endNode?.AsDuration();
            if (end <= start)
            {
                throw endNode!.Error("must be after start");
            }

            training.Add(new TrainingJobSpec(name, racks,
                t.NumberOr("utilisation", 0.92, 0, 1), start, end,
                t.Duration("sync_period", TimeSpan.FromSeconds(12)),
                t.NumberOr("sync_dip", 0.3, 0, 1),
                t.Duration("checkpoint_every", TimeSpan.FromMinutes(30)),
                t.Duration("checkpoint_duration", TimeSpan.FromSeconds(90)),
                t.NumberOr("checkpoint_utilisation", 0.15, 0, 1),
                t.Duration("mean_time_between_failures", TimeSpan.FromHours(8)),
                t.Duration("restart_time", TimeSpan.FromMinutes(15))));
            t.RejectUnknown();
        }

        var inference = new List<InferenceSpec>();
        foreach (var i in node.List("inference"))
        {
            var name = i.String("name");
            var racks = Racks(i, factory, claimed, name);
            var mean = i.NumberOr("mean", 0.5, 0, 1);
            var amplitude = i.NumberOr("amplitude", 0.25, 0, 1);
            inference.Add(new InferenceSpec(name, racks, mean, amplitude, i.NumberOr("peak_hour_utc", 19, 0, 24), i.NumberOr("noise", 0.05, 0, 0.5)));
            i.RejectUnknown();
        }

        var idle = node.NumberOr("idle_utilisation", 0.03, 0, 1);
        node.RejectUnknown();
        return new WorkloadSpec(training, inference, idle);
    }

    private static List<int> Racks(ConfigNode job, Factory factory, Dictionary<int, string> claimed, string name)
    {
        var result = new List<int>();
        foreach (var r in job.List("racks", required: true))
        {
            var id = r.Scalar();
            var matched = false;
            for (var i = 0; i < factory.Racks.Count; i++)
            {
                if (id == "all" || factory.Racks[i].Id == id || factory.Racks[i].Hall == id || $"{factory.Racks[i].Hall}/{factory.Racks[i].Row}" == id)
                {
                    matched = true;
                    if (!claimed.TryAdd(i, name))
                    {
                        throw r.Error($"rack '{factory.Racks[i].Id}' already runs '{claimed[i]}'");
                    }

                    result.Add(i);
                }
            }

            if (!matched)
            {
                throw r.Error($"unknown rack or hall '{id}'");
            }
        }

        return result;
    }

    private static FaultSpec ReadFault(ConfigNode f, Factory factory, TimeSpan duration)
    {
        var kindNode = f.Required("kind");
        if (!FaultCatalog.TryParse(kindNode.Scalar(), out var entry))
        {
            throw kindNode.Error($"unknown fault kind '{kindNode.Scalar()}' (expected one of: {string.Join(", ", FaultCatalog.All.Select(e => e.Name))})");
        }

        var pointLike = entry.AssetKinds[0] is "point" or "actuator";
        var assetNode = pointLike || (entry.AssetKinds.Contains("site") && !f.Has("asset")) ? null : f.Required("asset");
        var asset = assetNode?.Scalar() ?? "site";
        string? point = null;
        if (pointLike)
        {
            // Point and actuator names are checked against the plant's catalogue when the twin is built.
            point = f.String(entry.AssetKinds[0]);
        }
        else if (asset != "site" || !entry.AssetKinds.Contains("site"))
        {
            var kinds = factory.Topology.AssetKinds;
            if (!kinds.TryGetValue(asset, out var kind))
            {
                throw assetNode!.Error($"unknown asset '{asset}'");
            }

            if (!entry.AssetKinds.Contains(kind))
            {
                throw assetNode!.Error($"'{asset}' is a {kind}; {entry.Name} applies to: {string.Join(", ", entry.AssetKinds)}");
            }
        }

        var start = f.Duration("start", TimeSpan.Zero);
        if (start >= duration)
        {
            throw f.Error("start", $"{PromDuration.Format(start)} is not within the scenario's duration {PromDuration.Format(duration)}");
        }

        TimeSpan? end = null;
        if (f.Optional("duration") is { } d)
        {
            end = start + d.AsDuration(allowZero: false);
        }

        var parameters = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (pname, range) in entry.Parameters)
        {
            if (f.Optional(pname) is { } p)
            {
                parameters[pname] = p.AsNumber(range.Min, range.Max);
            }
        }

        if (entry.Kind == FaultKind.CduPumpFailure)
        {
            var cdu = factory.Cooling.Cdus.First(c => c.Id == asset);
            if (parameters.TryGetValue("pumps", out var n) && n > cdu.Pumps)
            {
                throw f.Error("pumps", $"{n} is more than the {cdu.Pumps} pumps of {asset}");
            }
        }

        f.RejectUnknown();
        return new FaultSpec(entry.Kind, asset, point, start, end, parameters, f.Line);
    }

    private static ScheduledWrite ReadWrite(ConfigNode w, TimeSpan duration)
    {
        var at = w.Duration("at", TimeSpan.Zero);
        if (at >= duration)
        {
            throw w.Error("at", $"{PromDuration.Format(at)} is not within the scenario's duration {PromDuration.Format(duration)}");
        }

        // The actuator's name and range are checked against the plant's catalogue when the twin is built.
        var actuator = w.String("actuator");
        var value = w.Required("value").AsNumber();
        w.RejectUnknown();
        return new ScheduledWrite(at, actuator, value, w.Line);
    }

    private static SetpointSpec ReadSetpoints(ConfigNode? node, Factory factory)
    {
        if (node is null)
        {
            return new SetpointSpec(null, null, null, []);
        }

        // Ranges are the plant's physical limits (the actuator ranges of the twin), so a scenario cannot start outside them.
        var fw = node.Optional("facility_water_supply_celsius")?.AsNumber(SetpointLimits.FacilityWaterMin, SetpointLimits.FacilityWaterMax);
        var cdu = node.Optional("cdu_supply_celsius")?.AsNumber(SetpointLimits.CduSupplyMin, SetpointLimits.CduSupplyMax);
        var crah = node.Optional("crah_supply_celsius")?.AsNumber(SetpointLimits.CrahSupplyMin, SetpointLimits.CrahSupplyMax);
        var maintenance = new List<string>();
        foreach (var m in node.List("maintenance"))
        {
            var id = m.Scalar();
            var slash = id.IndexOf('/', StringComparison.Ordinal);
            var asset = slash >= 0 ? id[..slash] : id;
            if (!factory.Topology.Contains(asset))
            {
                throw m.Error($"unknown asset '{asset}'");
            }

            maintenance.Add(id);
        }

        node.RejectUnknown();
        return new SetpointSpec(fw, cdu, crah, maintenance);
    }
}

/// <summary>Physical limits of the plant's setpoints, shared by config validation and the twin's actuators.</summary>
public static class SetpointLimits
{
    // Facility water: ASHRAE liquid-cooling classes span W17 to W45 (ASHRAE TC 9.9, 2021); we allow 10-45 °C.
    public const double FacilityWaterMin = 10;
    public const double FacilityWaterMax = 45;

    // CDU secondary (technology cooling system) supply: ASHRAE TC 9.9 S-classes up to ~50 °C; below 15 °C risks condensation.
    public const double CduSupplyMin = 15;
    public const double CduSupplyMax = 50;

    // CRAH supply air: ASHRAE recommended inlet envelope 18-27 °C.
    public const double CrahSupplyMin = 14;
    public const double CrahSupplyMax = 30;
}
