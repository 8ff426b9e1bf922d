using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Workload;

public class PlantStallTests
{
    [Fact]
    public void ALeakingRackIsolated_StallsItsHallsJobForTheRestart_NotForTheRepair()
    {
        // The leak trips at 02:00 and the digital operator isolates h1-c03 within minutes; hall 1's training job restarts
        // without it (15 min, then the work since its checkpoint, at most 30 min) and runs on while the rack is out.
        var sim = new Simulator(TestPlants.Bundled("faults/leak", "5h"), new SimulationOptions { Mode = OperatingMode.Digital });
        sim.Advance(7200);
        var waited = 0;
        while (sim.Truth("h1-c03/isolated") < 0.5)
        {
            Assert.True(waited++ < 1800, "the digital operator isolates the leaking rack within 30 min");
            sim.Advance(1);
        }

        sim.Advance(1);
        Assert.Equal(1, sim.Truth("h1-a01/job_stalled"));
        Assert.Equal(0, sim.Truth("h2-a01/job_stalled")); // inference: no job to stall

        sim.Advance(45 * 60);
        Assert.Equal(0, sim.Truth("h1-a01/job_stalled"));
        var running = 0;
        for (var minute = 0; minute < 60; minute++)
        {
            sim.Advance(60);
            Assert.Equal(1, sim.Truth("h1-c03/isolated"));
            running += sim.Truth("h1-a01/power") > 50_000 ? 1 : 0;
        }

        // The job runs on the racks it has left (its own failure, a 15 min restart, may fall in the hour).
        Assert.InRange(running, 40, 60);
        Assert.Equal(1, sim.Summary().TrainingPlantRestarts);
    }
}
