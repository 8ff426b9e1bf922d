using System.CommandLine;
using Aida.Model.Config;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Runs;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary>The SLOs a run is judged by: the bundled facility pack (<c>slos/</c>) or the files given, and their
/// evaluation over a finished run's store.</summary>
internal static class SloPack
{
    internal static Option<string?> Option() => new("--slos")
    {
        Description = "OpenSLO v1 file or directory of them to evaluate over the run (default: the bundled facility pack, slos/; 'none' to skip)",
    };

    /// <summary>Loads <paramref name="path"/> (a file, or every .yaml in a directory, in ordinal order), the bundled
    /// pack when null, nothing for <c>none</c>.</summary>
    public static SloSet? Load(string? path)
    {
        if (path == "none")
        {
            return null;
        }

        var target = path ?? (BundledFiles.Root is { } root ? Path.Combine(root, "slos") : throw new BadInputException("--slos: the bundled SLO pack (slos/) is not beside the binary; give --slos PATH"));
        string[] files;
        if (Directory.Exists(target))
        {
            files = Directory.GetFiles(target, "*.yaml");
            Array.Sort(files, StringComparer.Ordinal);
            if (files.Length == 0)
            {
                throw new BadInputException($"--slos: no .yaml files in '{target}'");
            }
        }
        else if (File.Exists(target))
        {
            files = [target];
        }
        else
        {
            throw new BadInputException($"--slos: '{target}': no such file or directory");
        }

        return SloLoader.Load(files);
    }

    /// <summary>Every SLO of <paramref name="set"/> over the whole run in <paramref name="store"/>.</summary>
    /// <param name="exclusions">Readings to leave out of the SLIs that read them (a sensor answered as lying); none: as read.</param>
    public static IReadOnlyList<RunSloResult> Evaluate(SloSet set, Tsdb store, SimulationSummary summary, DateTimeOffset start, IReadOnlyList<ReadingExclusion>? exclusions = null)
    {
        var engine = new EmbeddedQueryEngine(store);
        var end = start + TimeSpan.FromSeconds(summary.DurationSeconds);
        try
        {
            return new RunSloEvaluator(engine, exclusions).EvaluateAsync(set, start, end).GetAwaiter().GetResult();
        }
        catch (QueryException e)
        {
            throw new BadInputException($"--slos: an SLI query failed over the run: {e.Message}");
        }
    }

    /// <summary>The summary with each SLO's outcome.</summary>
    public static SimulationSummary WithSlos(SimulationSummary summary, IReadOnlyList<RunSloResult> results) => summary with
    {
        Slos = results.Select(Outcome).ToList(),
    };

    /// <summary>The summary with each SLO's outcome as read and, for an SLO whose SLI reads one of
    /// <paramref name="exclusions"/>, with them left out (<see cref="SloOutcome.Corrected"/>).</summary>
    public static SimulationSummary Judge(SloSet set, Tsdb store, SimulationSummary summary, DateTimeOffset start, IReadOnlyList<ReadingExclusion> exclusions)
    {
        var judged = WithSlos(summary, Evaluate(set, store, summary, start));
        if (exclusions.Count == 0)
        {
            return judged;
        }

        var corrected = Evaluate(set, store, summary, start, exclusions).ToDictionary(r => r.Name, StringComparer.Ordinal);
        var applies = set.Slos.Where(x => SloCorrections.For(x, exclusions).Count > 0).Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
        return judged with
        {
            Slos = judged.Slos!.Select(o => applies.Contains(o.Name) ? o with { Corrected = Outcome(corrected[o.Name]) } : o).ToList(),
        };
    }

    private static SloOutcome Outcome(RunSloResult r) => new(r.Name, r.Objective, r.Attained, r.BudgetConsumed, r.BudgetRemaining, r.AlertsFired);
}
