using System.CommandLine;
using System.Globalization;
using System.Text;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Rules;
using Aida.Telemetry.Query;
using static Aida.Cli.AidaCommand;

namespace Aida.Cli;

/// <summary><c>aida slo</c>: SLOs as code (OpenSLO v1): export Prometheus rules, print budgets and burn rates of a run.</summary>
internal static class SloCommand
{
    public static Command Build(TextWriter stdout)
    {
        var command = new Command("slo", "SLOs as code (OpenSLO v1 YAML): Prometheus rule export and error-budget status");
        command.Subcommands.Add(Rules(stdout));
        command.Subcommands.Add(Status(stdout));
        return command;
    }

    private static Argument<string[]> Files() =>
        new("files") { Description = "OpenSLO v1 YAML files (Service, SLI, SLO, AlertPolicy, AlertCondition, AlertNotificationTarget, DataSource)", Arity = ArgumentArity.OneOrMore };

    private static Command Rules(TextWriter stdout)
    {
        var files = Files();
        var output = new Option<string?>("--out", "-o") { Description = "Write the rule file here instead of standard output" };
        var command = new Command("rules",
            "Write Prometheus recording rules (the error ratio of each SLO per window) and multi-window burn-rate alerting rules; check them with promtool check rules")
        {
            files, output,
        };
        command.SetAction(parse =>
        {
            var paths = parse.GetValue(files)!;
            var set = SloLoader.Load(paths);
            var text = PrometheusRuleExporter.Export(set, [$"Prometheus rules for {set.Slos.Count} SLOs, written by aida slo rules from: {string.Join(' ', paths)}"]);
            if (parse.GetValue(output) is { } path)
            {
                File.WriteAllText(path, text);
                stdout.WriteLine($"{path}: {set.Slos.Count} SLOs, {set.Slos.Sum(s => PrometheusRuleExporter.RecordedWindows(s).Count)} recording rules, {set.Slos.Sum(PrometheusRuleExporter.AlertingRules)} alerting rules");
            }
            else
            {
                stdout.Write(text);
            }

            return Ok;
        });
        return command;
    }

    private static Command Status(TextWriter stdout)
    {
        var files = Files();
        var data = new Option<string>("--data")
        {
            Description = "A run's output directory (aida simulate --out DIR) or its tsdb directory",
            Required = true,
        };
        var at = new Option<string?>("--at") { Description = "Evaluation time, RFC 3339 or Unix seconds (default: the newest sample)" };
        var exclude = new Option<string[]>("--exclude")
        {
            Description = "Leave a reading diagnosed lying out of the time-slice SLIs that read it over a span: SELECTOR@FROM..UNTIL "
                + "(UNTIL empty: still out), e.g. 'aida_rack_inlet_celsius{rack=\"h2-b04\"}@2025-07-01T02:00:00Z..2025-07-01T08:00:00Z'; repeatable",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("status", "Print each SLO's attained SLI, error budget consumed and remaining, burn rates, time to exhaustion and firing alerts over a stored run")
        {
            files, data, at, exclude,
        };
        command.SetAction(async (parse, token) =>
        {
            var set = SloLoader.Load(parse.GetValue(files)!);
            using var store = QueryCommand.OpenStore(parse.GetValue(data)!);
            var newest = store.MaxTimeMs is { } max ? DateTimeOffset.FromUnixTimeMilliseconds(max) : DateTimeOffset.UnixEpoch;
            var when = parse.GetValue(at) is { } t ? QueryCommand.Time(t, "--at", newest) : newest;
            IReadOnlyList<ReadingExclusion> exclusions = [.. (parse.GetValue(exclude) ?? []).Select(x => Exclusion(x, newest))];
            var evaluator = new SloEvaluator(new EmbeddedQueryEngine(store), exclusions: () => exclusions);
            IReadOnlyList<SloStatus> statuses;
            try
            {
                statuses = await evaluator.EvaluateAsync(set, when, token);
            }
            catch (QueryException e)
            {
                throw new BadInputException($"query: {e.Message}");
            }

            await stdout.WriteAsync(Table(statuses, when));
            foreach (var x in exclusions)
            {
                var slos = set.Slos.Where(s => SloCorrections.Reads(s, x.Series.MetricName)).Select(s => s.Name).ToList();
                stdout.WriteLine($"\nleft out: {x.Series} from {x.From:u}{(x.Until is { } u ? $" until {u:u}" : "")}: "
                    + (slos.Count == 0 ? "no time-slice SLO reads it" : string.Join(", ", slos)));
            }

            return Ok;
        });
        return command;
    }

    /// <summary>An <c>--exclude</c> value: <c>SELECTOR@FROM..UNTIL</c>, the selector's matchers all <c>=</c>.</summary>
    internal static ReadingExclusion Exclusion(string text, DateTimeOffset newest)
    {
        var cut = text.LastIndexOf("}@", StringComparison.Ordinal);
        var span = cut < 0 ? null : text[(cut + 2)..].Split("..");
        if (span is not { Length: 2 })
        {
            throw new BadInputException($"--exclude: '{text}' is not SELECTOR@FROM..UNTIL (e.g. 'aida_rack_inlet_celsius{{rack=\"h2-b04\"}}@2025-07-01T02:00:00Z..2025-07-01T08:00:00Z')");
        }

        var from = QueryCommand.Time(span[0], "--exclude", newest);
        DateTimeOffset? until = span[1].Length == 0 ? null : QueryCommand.Time(span[1], "--exclude", newest);
        try
        {
            return ReadingExclusion.Of(text[..(cut + 1)], from, until, "--exclude");
        }
        catch (ArgumentException e)
        {
            throw new BadInputException($"--exclude: {e.Message}");
        }
    }

    internal static string Table(IReadOnlyList<SloStatus> statuses, DateTimeOffset at)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"SLO status at {at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC");
        foreach (var s in statuses)
        {
            sb.AppendLine();
            sb.AppendLine($"{s.Name} ({s.Service})  objective {Percent(s.Objective, "0.###")} over {SliQueries.FormatDuration(s.Window)}");
            if (!s.HasData)
            {
                sb.AppendLine("  no events in the window: no budget spent");
            }
            else
            {
                sb.AppendLine($"  attained {Percent(s.Attained, "0.####")}  budget consumed {Percent(s.BudgetConsumed, "0.##")}  remaining {Percent(s.BudgetRemaining, "0.##")}");
            }

            sb.AppendLine("  burn rate  " + string.Join("  ", s.BurnRates.Select(b => $"{SliQueries.FormatDuration(b.Key)} {Format(b.Value, "0.###")}x")));
            sb.AppendLine("  exhausted " + s.TimeToExhaustion switch
            {
                null => "never at the 1h burn rate",
                { } d when d == TimeSpan.Zero => "already",
                { } d => $"in {Aida.Model.Config.PromDuration.Format(TimeSpan.FromMinutes(Math.Ceiling(d.TotalMinutes)))} at the 1h burn rate",
            });
            sb.AppendLine("  alerts    " + (s.FiringAlerts.Count == 0
                ? "none"
                : string.Join(", ", s.FiringAlerts.Select(c => $"{c.Severity} {c.Name} ({Format(c.Threshold, "0.##")}x over {SliQueries.FormatDuration(c.LongWindow)} and {SliQueries.FormatDuration(c.ShortWindow)})"))));
        }

        return sb.ToString();
    }

    private static string Percent(double fraction, string format) => (fraction * 100).ToString(format, CultureInfo.InvariantCulture) + " %";
}
