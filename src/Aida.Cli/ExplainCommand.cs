using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Model.Scenarios;
using Aida.Model.Topology;
using Aida.Observability.Correlation;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using static Aida.Cli.AidaCommand;

namespace Aida.Cli;

/// <summary><c>aida explain</c>: the signals that moved first and most before a time, against one target series, by
/// lagged cross-correlation over the plant's topology.</summary>
internal static class ExplainCommand
{
    public static Command Build(TextWriter stdout)
    {
        var data = new Option<string>("--data") { Description = "A run's output directory (aida simulate --out DIR)", Required = true };
        var metric = new Option<string>("--metric")
        {
            Description = "The target: a PromQL series selector matching one series, e.g. 'aida_rack_gpu_max_temperature_celsius{rack=\"h1-a01\"}'",
            Required = true,
        };
        var at = new Option<string>("--at") { Description = "The end of the window: RFC 3339, Unix seconds or 'latest'", Required = true };
        var window = new Option<string>("--window") { Description = "How far back to look (Prometheus duration)", DefaultValueFactory = _ => "30m" };
        var step = new Option<string>("--step") { Description = "The grid the series are aligned on (Prometheus duration)", DefaultValueFactory = _ => "10s" };
        var maxLag = new Option<string?>("--max-lag") { Description = "The largest lead or lag looked for (default: a third of the window)" };
        var top = new Option<int>("--top") { Description = "How many signals to list", DefaultValueFactory = _ => 10 };
        var hops = new Option<int>("--hops") { Description = "Candidates: assets up to this many hops upstream of the target's (what feeds or cools it)", DefaultValueFactory = _ => 5 };
        var all = new Option<bool>("--all") { Description = "Candidates: every series in the store, not only the target's upstream neighbourhood" };
        var factory = new Option<string?>("--factory") { Description = "The factory the run simulated (file or bundled name); default: from the run's summary.json" };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table" };
        var command = new Command("explain", "List the signals that moved first and most before --at, relative to the --metric series: lead, coefficient and topology distance")
        {
            data, metric, at, window, step, maxLag, top, hops, all, factory, json,
        };
        command.SetAction(async (parse, token) =>
        {
            var request = new ExplainRequest(
                parse.GetValue(data)!, parse.GetValue(metric)!, parse.GetValue(at)!,
                ParseDuration(parse.GetValue(window), "--window")!.Value, ParseDuration(parse.GetValue(step), "--step")!.Value,
                ParseDuration(parse.GetValue(maxLag), "--max-lag"), parse.GetValue(top), parse.GetValue(hops), parse.GetValue(all), parse.GetValue(factory));
            var explanation = await ExplainAsync(request, token);
            await stdout.WriteAsync(parse.GetValue(json) ? Json(explanation) : Table(explanation));
            return Ok;
        });
        return command;
    }

    internal sealed record ExplainRequest(
        string Data, string Selector, string At, TimeSpan Window, TimeSpan Step, TimeSpan? MaxLag, int Top, int Hops, bool All, string? Factory);

    /// <param name="LeadSeconds">How long before the target the candidate moved (negative: after it).</param>
    internal sealed record Mover(Labels Series, string Asset, int? Distance, double LeadSeconds, double Coefficient, double Score);

    internal sealed record Explanation(
        Labels Target, string Asset, DateTimeOffset At, TimeSpan Window, TimeSpan Step, TimeSpan MaxLag, string Neighbourhood, int Candidates, IReadOnlyList<Mover> Movers);

    /// <summary>Correlates the target with every candidate series on one grid and ranks them.</summary>
    /// <remarks>Rank: the peak |r| within ±max-lag, halved for a signal that moved after the target (an effect rather
    /// than a cause). The target's symptoms (<see cref="IsSymptom"/>) are not candidates, nor (without --all) per-GPU
    /// series: a rack's GPUs are its load and follow it. Series that do not vary in the window, or are missing for
    /// more than half of it, are left out, and so are counters (<c>_total</c>): a counter's value is its history.</remarks>
    internal static async Task<Explanation> ExplainAsync(ExplainRequest request, CancellationToken token)
    {
        if (request.Top < 1)
        {
            throw new BadInputException($"--top: {request.Top} must be at least 1");
        }

        if (request.Hops < 0)
        {
            throw new BadInputException($"--hops: {request.Hops} must not be negative");
        }

        var count = (int)(request.Window / request.Step) + 1;
        if (count < 4)
        {
            throw new BadInputException($"--window {PromDuration.Format(request.Window)} holds fewer than 4 steps of {PromDuration.Format(request.Step)}");
        }

        var maxLagSteps = (int)((request.MaxLag ?? request.Window / 3) / request.Step);
        maxLagSteps = Math.Clamp(maxLagSteps, 0, count - 1);
        if (!Directory.Exists(request.Data))
        {
            throw new BadInputException($"--data: no such directory '{request.Data}'");
        }

        var topology = TopologyGraph.Build(LoadFactory(request.Data, request.Factory));
        using var store = QueryCommand.OpenStore(request.Data);
        var engine = new EmbeddedQueryEngine(store);
        var newest = store.MaxTimeMs is { } max ? DateTimeOffset.FromUnixTimeMilliseconds(max) : DateTimeOffset.UnixEpoch;
        var at = QueryCommand.Time(request.At, "--at", newest);
        var range = $"[{(long)request.Window.TotalSeconds + (long)request.Step.TotalSeconds}s]";

        var targets = await SelectAsync(engine, $"{request.Selector}{range}", at, "--metric", token);
        if (targets.Count == 0)
        {
            throw new BadInputException($"--metric: '{request.Selector}' matches no series in the {PromDuration.Format(request.Window)} before {Stamp(at)}");
        }

        if (targets.Count > 1)
        {
            throw new BadInputException(
                $"--metric: '{request.Selector}' matches {targets.Count} series ({string.Join(", ", targets.Take(3).Select(t => t.Labels.ToString()))}{(targets.Count > 3 ? ", ..." : "")}); narrow it to one");
        }

        var target = targets[0];
        var asset = AssetOf(target.Labels);
        string neighbourhood;
        IReadOnlyList<string> candidateSelectors;
        if (request.All || !topology.Contains(asset))
        {
            neighbourhood = request.All ? "every series" : $"every series ('{asset}' is not in the factory's topology)";
            candidateSelectors = ["{__name__=~\".+\"}"];
        }
        else
        {
            var near = Upstream(topology, asset, request.Hops);
            neighbourhood = $"{asset} and {near.Count - 1} assets up to {request.Hops} hops upstream";
            candidateSelectors = CandidateSelectors(topology, near);
        }

        var found = new List<SeriesSamples>();
        foreach (var selector in candidateSelectors)
        {
            found.AddRange(await SelectAsync(engine, selector + range, at, "candidates", token));
        }

        var candidates = found.DistinctBy(s => s.Labels)
            .Where(s => !IsSymptom(s.Labels, target.Labels, asset) && (request.All || s.Labels.Get("gpu") is null)
                && !s.Labels.MetricName.EndsWith("_total", StringComparison.Ordinal))
            .OrderBy(s => s.Labels.ToString(), StringComparer.Ordinal)
            .ToList();

        var start = at - (request.Step * (count - 1));
        var maxGap = TimeSpan.FromTicks(Math.Max(request.Step.Ticks * 4, TimeSpan.FromMinutes(2).Ticks));
        var signals = new List<double[]> { SignalGrid.Align(target.Samples, start, request.Step, count, maxGap) };
        signals.AddRange(candidates.Select(c => SignalGrid.Align(c.Samples, start, request.Step, count, maxGap)));
        var set = SignalSet.From(signals, maxLagSteps);
        if (set.IsZeroVariance(0))
        {
            throw new BadInputException($"--metric: {target.Labels} does not move in the {PromDuration.Format(request.Window)} before {Stamp(at)}: nothing to explain");
        }

        var distances = Distances(topology, asset);
        var movers = new List<Mover>();
        var correlations = set.CorrelateWith(0, [.. Enumerable.Range(1, candidates.Count)]);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (set.IsZeroVariance(i + 1) || set.FilledSamples(i + 1) * 2 > count)
            {
                continue;
            }

            // A positive peak lag means the target leads; the candidate's lead is the opposite.
            var peak = correlations[i].Peak;
            var lead = -peak.Lag * request.Step.TotalSeconds;
            var score = Math.Abs(peak.Coefficient) * (lead < 0 ? 0.5 : 1);
            var candidateAsset = AssetOf(candidates[i].Labels);
            movers.Add(new Mover(candidates[i].Labels, candidateAsset, distances.TryGetValue(candidateAsset, out var d) ? d : null, lead, peak.Coefficient, score));
        }

        var ranked = movers
            .OrderByDescending(m => m.Score).ThenByDescending(m => m.LeadSeconds).ThenBy(m => m.Series.ToString(), StringComparer.Ordinal)
            .Take(request.Top).ToList();
        return new Explanation(target.Labels, asset, at, request.Window, request.Step, request.Step * maxLagSteps, neighbourhood, candidates.Count, ranked);
    }

    /// <summary>Whether <paramref name="candidate"/> is the target's symptom rather than a possible explanation: the
    /// target's own metric anywhere, a histogram bucket, or the same quantity (temperature, power) on the target's
    /// own asset (a rack's other GPU temperatures and its hottest-GPU reading, for one GPU's temperature).</summary>
    internal static bool IsSymptom(Labels candidate, Labels target, string targetAsset) =>
        candidate.MetricName == target.MetricName
        || candidate.MetricName.EndsWith("_bucket", StringComparison.Ordinal)
        || (AssetOf(candidate) == targetAsset && Quantity(candidate.MetricName) is { } q && q == Quantity(target.MetricName));

    /// <summary>The physical quantity a metric's name says it measures, when it says so: the unit suffix of Aida's
    /// names, or the DCGM field's name.</summary>
    private static string? Quantity(string metric) =>
        metric.EndsWith("_celsius", StringComparison.Ordinal) || metric.Contains("_TEMP", StringComparison.Ordinal) ? "temperature"
        : metric.EndsWith("_watts", StringComparison.Ordinal) || metric.Contains("_POWER_USAGE", StringComparison.Ordinal) ? "power"
        : null;

    /// <summary>The topology asset a series belongs to: its <c>asset</c> label, else its <c>rack</c>, else its
    /// <c>hall</c>, else its <c>site</c>.</summary>
    internal static string AssetOf(Labels labels) =>
        labels.Get("asset") is { Length: > 0 } a ? a
        : labels.Get("rack") is { Length: > 0 } r ? r
        : labels.Get("hall") is { Length: > 0 } h ? h
        : labels.Get("site") ?? "";

    /// <summary>The factory of the run: <c>--factory</c>, else the factory named in the run's summary.json, else the
    /// scenario named there (bundled scenarios are looked up by name, also under <c>faults/</c>).</summary>
    private static Factory LoadFactory(string data, string? factory)
    {
        if (factory is not null)
        {
            var path = BundledFiles.Resolve(factory, "factories");
            return File.Exists(path) ? FactoryLoader.Load(path) : throw new BadInputException($"--factory: no factory file '{factory}'");
        }

        var summary = Path.Combine(data, "summary.json");
        string? scenario = null;
        if (File.Exists(summary))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(summary));
                scenario = doc.RootElement.TryGetProperty("scenario", out var s) ? s.GetString() : null;

                // Runs since the summary names its factory: a bundled factory is found by that name.
                if (doc.RootElement.TryGetProperty("factory", out var f) && f.GetString() is { Length: > 0 } named
                    && BundledFiles.Resolve(named, "factories") is var factoryPath && File.Exists(factoryPath))
                {
                    return FactoryLoader.Load(factoryPath);
                }
            }
            catch (JsonException e)
            {
                throw new BadInputException($"--data: '{summary}' is not JSON ({e.Message}); pass --factory", e);
            }
        }

        foreach (var name in scenario is null ? [] : new[] { scenario, $"faults/{scenario}" })
        {
            if (File.Exists(BundledFiles.Resolve(name, "scenarios")))
            {
                return ScenarioLoader.Load(name).Factory;
            }
        }

        throw new BadInputException(scenario is null
            ? $"--data: '{data}' has no summary.json naming its scenario; pass --factory"
            : $"--data: the run's scenario '{scenario}' is not a bundled scenario, so its factory is unknown; pass --factory");
    }

    private static async Task<IReadOnlyList<SeriesSamples>> SelectAsync(EmbeddedQueryEngine engine, string promql, DateTimeOffset at, string what, CancellationToken token)
    {
        try
        {
            var result = await engine.QueryAsync(promql, at, token);
            return result.Type == ResultType.Matrix ? result.Series : throw new BadInputException($"{what}: '{promql}' is not a series selector");
        }
        catch (QueryException e)
        {
            throw new BadInputException($"{what}: {e.Message}", e);
        }
    }

    /// <summary>The asset and what it depends on (incoming feeds and cools edges) within <paramref name="hops"/>.</summary>
    private static List<string> Upstream(TopologyGraph topology, string asset, int hops)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { asset };
        var order = new List<string> { asset };
        var frontier = new List<string> { asset };
        for (var hop = 0; hop < hops && frontier.Count > 0; hop++)
        {
            var next = new List<string>();
            foreach (var at in frontier)
            {
                foreach (var e in topology.Incoming(at))
                {
                    if (seen.Add(e.From))
                    {
                        order.Add(e.From);
                        next.Add(e.From);
                    }
                }
            }

            frontier = next;
        }

        return order;
    }

    /// <summary>Undirected hop counts from <paramref name="asset"/> to every asset it reaches.</summary>
    private static Dictionary<string, int> Distances(TopologyGraph topology, string asset)
    {
        var distance = new Dictionary<string, int>(StringComparer.Ordinal) { [asset] = 0 };
        var queue = new Queue<string>();
        queue.Enqueue(asset);
        while (queue.Count > 0)
        {
            var at = queue.Dequeue();
            foreach (var n in topology.Outgoing(at).Select(e => e.To).Concat(topology.Incoming(at).Select(e => e.From)))
            {
                if (distance.TryAdd(n, distance[at] + 1))
                {
                    queue.Enqueue(n);
                }
            }
        }

        return distance;
    }

    /// <summary>Selectors for the series of the given assets: racks by <c>rack</c>, halls by <c>hall</c> alone (not
    /// their racks' or CDUs'), everything else by <c>asset</c>.</summary>
    private static List<string> CandidateSelectors(TopologyGraph topology, List<string> assets)
    {
        static string Alternatives(IEnumerable<string> ids) => string.Join('|', ids.Select(Regex.Escape)).Replace("\\", "\\\\", StringComparison.Ordinal);
        var kinds = assets.ToLookup(a => topology.AssetKinds.TryGetValue(a, out var k) ? k : "");
        var parts = new List<string>();
        if (kinds["rack"].Any())
        {
            parts.Add($"{{rack=~\"{Alternatives(kinds["rack"])}\"}}");
        }

        if (kinds["hall"].Any())
        {
            parts.Add($"{{hall=~\"{Alternatives(kinds["hall"])}\", asset=\"\", rack=\"\"}}");
        }

        var others = assets.Where(a => !kinds["rack"].Contains(a) && !kinds["hall"].Contains(a)).ToList();
        if (others.Count > 0)
        {
            parts.Add($"{{asset=~\"{Alternatives(others)}\"}}");
        }

        return parts;
    }

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Table(Explanation e)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"target   {e.Target} (asset {e.Asset})");
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"window   {PromDuration.Format(e.Window)} to {Stamp(e.At)}, step {PromDuration.Format(e.Step)}, lags up to ±{PromDuration.Format(e.MaxLag)}; {e.Candidates} candidates: {e.Neighbourhood}");
        sb.AppendLine();
        sb.AppendLine("  #  lead     r       hops  score  series");
        for (var i = 0; i < e.Movers.Count; i++)
        {
            var m = e.Movers[i];
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{i + 1,3}  {Lead(m.LeadSeconds),-7}  {Format(m.Coefficient, "+0.000;-0.000"),-6}  {(m.Distance?.ToString(CultureInfo.InvariantCulture) ?? "-"),4}  {Format(m.Score, "0.000")}  {m.Series}");
        }

        sb.AppendLine("(lead: how long before the target the signal moved; negative: after it. r < 0: they move in opposite directions)");
        return sb.ToString();
    }

    private static string Lead(double seconds) =>
        seconds == 0 ? "0s" : (seconds > 0 ? "+" : "-") + PromDuration.Format(TimeSpan.FromSeconds(Math.Abs(seconds)));

    private static string Json(Explanation e) => JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("target", e.Target.ToString());
            w.WriteString("asset", e.Asset);
            w.WriteString("at", Stamp(e.At));
            w.WriteNumber("window_seconds", e.Window.TotalSeconds);
            w.WriteNumber("step_seconds", e.Step.TotalSeconds);
            w.WriteNumber("max_lag_seconds", e.MaxLag.TotalSeconds);
            w.WriteString("neighbourhood", e.Neighbourhood);
            w.WriteNumber("candidates", e.Candidates);
            w.WriteStartArray("signals");
            foreach (var m in e.Movers)
            {
                w.WriteStartObject();
                w.WriteString("series", m.Series.ToString());
                w.WriteString("asset", m.Asset);
                if (m.Distance is { } d)
                {
                    w.WriteNumber("hops", d);
                }
                else
                {
                    w.WriteNull("hops");
                }

                w.WriteNumber("lead_seconds", m.LeadSeconds);
                w.WriteNumber("coefficient", Math.Round(m.Coefficient, 4));
                w.WriteNumber("score", Math.Round(m.Score, 4));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
}
