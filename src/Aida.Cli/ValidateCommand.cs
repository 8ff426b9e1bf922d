using System.CommandLine;
using Aida.Automation.Runbooks;
using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Model.Scenarios;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary><c>aida validate</c>: check factory, scenario, runbook, safety-envelope and site files without running them.</summary>
internal static class ValidateCommand
{
    public static Command Build(TextWriter stdout)
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Factory, scenario, runbook, safety-envelope or site YAML files, told apart by their top-level keys: 'factory:' a scenario, 'triggers:' a runbook, 'limits:' an envelope, 'collectors:' a site",
            Arity = ArgumentArity.OneOrMore,
        };
        var factoryOption = new Option<string>("--factory")
        {
            Description = "The factory runbooks, envelopes and sites are checked against (the assets a runbook names, the actuators an envelope's rules govern, the actuators a site writes)",
            DefaultValueFactory = _ => "ref-10mw",
        };
        var command = new Command("validate", "Check factory, scenario, runbook, safety-envelope and site files; errors name file, line and field") { files, factoryOption };
        command.SetAction(parse =>
        {
            Factory? checkedAgainst = null;
            Factory Against() => checkedAgainst ??= FactoryLoader.Load(BundledFiles.Resolve(parse.GetValue(factoryOption)!, "factories"), parse.GetValue(factoryOption));
            foreach (var file in parse.GetValue(files)!)
            {
                var path = BundledFiles.Resolve(file, "scenarios");
                switch (KindOf(path))
                {
                    case "scenario":
                        var s = ScenarioLoader.Load(file);
                        stdout.WriteLine($"{file}: ok (scenario '{s.Name}' on {s.Factory.Name}, {PromDuration.Format(s.Duration)}, {s.Faults.Count} faults)");
                        break;
                    case "runbook":
                        var book = Runbook.Load(path, Against());
                        stdout.WriteLine($"{file}: ok (runbook '{book.Name}' on {Against().Name}: triggers {string.Join(", ", book.Triggers)}; {book.Steps.Count} steps, {book.Rollback.Count} rollback, {book.Restores.Count} restore entries{(book.Approval ? "; needs approval" : "")})");
                        break;
                    case "envelope":
                        var spec = SafetyEnvelopeSpec.Load(path);
                        var actuators = DesignActuators(Against());
                        spec.CheckAgainst(actuators);
                        var governed = actuators.Count(a => spec.RuleFor(a) is not null);
                        stdout.WriteLine($"{file}: ok (safety envelope: {spec.Rules.Count} rules governing {governed} of {Against().Name}'s {actuators.Count} actuators; at most {spec.MaxWritesPerMinute} writes a minute)");
                        break;
                    case "site":
                        stdout.WriteLine($"{file}: ok ({DescribeSite(path, Against())})");
                        break;
                    default:
                        var f = FactoryLoader.Load(BundledFiles.Resolve(file, "factories"), file);
                        stdout.WriteLine($"{file}: ok (factory '{f.Name}': {f.Halls.Count} halls, {f.Racks.Count} racks, {f.GpuCount} GPUs, {f.DesignItPowerWatts / 1e6:0.0} MW IT at full load)");
                        break;
                }
            }

            return AidaCommand.Ok;
        });
        return command;
    }

    /// <summary>What a YAML file is, by its top-level keys (a missing file reads as a factory, whose loader names it).</summary>
    private static string KindOf(string path)
    {
        if (!File.Exists(path))
        {
            return "factory";
        }

        var keys = File.ReadLines(path).Where(l => l.Length > 0 && char.IsLetter(l[0])).Select(l => l.Split(':')[0]).ToHashSet(StringComparer.Ordinal);
        return keys.Contains("factory") ? "scenario" : keys.Contains("triggers") ? "runbook" : keys.Contains("limits") ? "envelope"
            : keys.Contains("collectors") ? "site" : "factory";
    }

    /// <summary>A site file loaded as <c>aida run --plant network</c> loads it (every collector built, so every field is
    /// checked), and what it lets an agent write against the factory's design: the design's actuators with no writer
    /// (the agent cannot move them there), and the written ones the design lacks (no agent writes them).</summary>
    private static string DescribeSite(string path, Factory factory)
    {
        var site = CollectorCatalog.Load(path, TimeProvider.System);
        try
        {
            var kinds = site.Collectors.GroupBy(c => c.Kind).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Key} {g.Count()}");
            var written = CollectorCatalog.Writers(site).Select(w => w.Actuator).ToList();
            var distinct = written.ToHashSet(StringComparer.Ordinal);
            var design = DesignActuators(factory);
            var unwritten = design.Where(a => !distinct.Contains(a)).ToList();
            var foreign = distinct.Where(a => !design.Contains(a)).Order(StringComparer.Ordinal).ToList();
            var text = $"site '{site.Name}': {site.Collectors.Count} collectors ({string.Join(", ", kinds)}); writes {distinct.Count} actuators; " +
                $"{design.Count - unwritten.Count} of {factory.Name}'s {design.Count} by design";
            if (unwritten.Count > 0)
            {
                var kindsUnwritten = unwritten.GroupBy(a => a[(a.IndexOf('/', StringComparison.Ordinal) + 1)..]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}");
                text += $"; no writer for {unwritten.Count} (an agent cannot move them here: {string.Join(", ", kindsUnwritten)})";
            }

            if (foreign.Count > 0)
            {
                text += $"; {foreign.Count} written that {factory.Name} does not have (no agent writes them: {string.Join(", ", foreign.Take(5))}{(foreign.Count > 5 ? ", …" : "")})";
            }

            if (written.Count > distinct.Count)
            {
                text += $"; {written.Count - distinct.Count} written by more than one collector (the first in the file writes)";
            }

            return text;
        }
        finally
        {
            foreach (var c in site.Collectors.OfType<IDisposable>())
            {
                c.Dispose();
            }
        }
    }

    /// <summary>Every actuator the factory's plant has by design: the twin's, as a network site's design catalogue.</summary>
    private static List<string> DesignActuators(Factory factory)
    {
        var reference = ScenarioLoader.Load("reference");
        var plant = new Simulator(reference with { Factory = factory, Faults = [] }, new SimulationOptions { Duration = TimeSpan.FromSeconds(1) }).Plant;
        return [.. plant.Actuators.Select(a => a.Name)];
    }
}
