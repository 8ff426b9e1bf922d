using System.CommandLine;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Model.Scenarios;

namespace Aida.Cli;

/// <summary><c>aida validate</c>: check factory and scenario files without running them.</summary>
internal static class ValidateCommand
{
    public static Command Build(TextWriter stdout)
    {
        var files = new Argument<string[]>("files") { Description = "Factory or scenario YAML files (a file with a 'factory:' key is a scenario)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("validate", "Check factory and scenario files; errors name file, line and field") { files };
        command.SetAction(parse =>
        {
            foreach (var file in parse.GetValue(files)!)
            {
                var path = BundledFiles.Resolve(file, "scenarios");
                var isScenario = File.Exists(path) && File.ReadLines(path).Any(l => l.StartsWith("factory:", StringComparison.Ordinal));
                if (isScenario)
                {
                    var s = ScenarioLoader.Load(file);
                    stdout.WriteLine($"{file}: ok (scenario '{s.Name}' on {s.Factory.Name}, {Aida.Model.Config.PromDuration.Format(s.Duration)}, {s.Faults.Count} faults)");
                }
                else
                {
                    var f = FactoryLoader.Load(BundledFiles.Resolve(file, "factories"), file);
                    stdout.WriteLine($"{file}: ok (factory '{f.Name}': {f.Halls.Count} halls, {f.Racks.Count} racks, {f.GpuCount} GPUs, {f.DesignItPowerWatts / 1e6:0.0} MW IT at full load)");
                }
            }

            return AidaCommand.Ok;
        });
        return command;
    }
}
