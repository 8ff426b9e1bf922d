using Aida.Model.Scenarios;

namespace Aida.Twin.Simulation;

/// <summary>The scenario speed is measured on: every rack of a factory in one training job at 0.9, 1 s steps, no faults.</summary>
public static class BenchScenario
{
    public static Scenario For(string factory, TimeSpan duration)
    {
        var yaml = $"""
            name: bench
            factory: {factory}
            duration: {(long)Math.Ceiling(duration.TotalSeconds)}s
            step: 1s
            seed: 1
            workload:
              training:
                - name: bench-job
                  racks: [all]
                  utilisation: 0.9
            """;
        return ScenarioLoader.Parse(yaml, "bench", Directory.GetCurrentDirectory());
    }
}
