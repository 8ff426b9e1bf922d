using Aida.Twin.Simulation;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;

namespace Aida.Bench;

/// <summary>One simulated minute of the plant alone (60 steps of 1 s), per factory size.</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*TwinStep*'</c>. Results go in docs/benchmarks.md.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class TwinStepBenchmarks
{
    private Simulator _simulator = null!;

    [Params("ref-10mw", "ref-1gw")]
    public string Factory { get; set; } = "ref-10mw";

    [GlobalSetup]
    public void Setup()
    {
        var scenario = BenchScenario.For(Factory, TimeSpan.FromDays(30));
        _simulator = new Simulator(scenario, new SimulationOptions { NoOperator = true });
        _simulator.AdvanceSteps(60);
    }

    [Benchmark]
    public void OneSimulatedMinute() => _simulator.AdvanceSteps(60);
}
