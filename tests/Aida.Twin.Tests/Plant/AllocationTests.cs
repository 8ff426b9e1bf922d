using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Plant;

public class AllocationTests
{
    [Fact]
    public void Stepping_TheReferencePlant_AllocatesNothing()
    {
        // DESIGN.md "Performance shape": hot loops allocate nothing. Regression: enumerating the workload spec's lists
        // allocated an enumerator every step.
        var sim = new Simulator(TestPlants.Bundled("reference", "1d"), new SimulationOptions { NoOperator = true });
        sim.Advance(600);
        var before = GC.GetAllocatedBytesForCurrentThread();
        sim.Advance(600);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
