using Aida.Model.Scenarios;
using Aida.Twin.Workload;

namespace Aida.Twin.Tests.Workload;

public class WorkloadModelTests
{
    private static readonly TrainingJobSpec Job = new("job", [0, 1, 2, 3], 0.92, TimeSpan.Zero, null,
        TimeSpan.FromSeconds(12), 0.3, TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(90), 0.15, TimeSpan.FromHours(2), TimeSpan.FromMinutes(15));

    [Fact]
    public void TrainingRacks_MoveTogether_WithSyncDipsAndCheckpoints()
    {
        var model = new WorkloadModel(new WorkloadSpec([Job], [], 0.03), 6, DateTimeOffset.UnixEpoch, 5);
        var seen = new HashSet<double>();
        for (var t = 0; t < 4 * 3600; t++)
        {
            model.Step(t, 1);
            var u = model.Utilisation;
            Assert.True(u[0] == u[1] && u[1] == u[2] && u[2] == u[3], "all GPUs of a job share one utilisation");
            Assert.Equal(0.03, u[4]);
            seen.Add(Math.Round(u[0], 3));
        }

        Assert.Contains(0.92, seen);
        Assert.Contains(Math.Round(0.92 * 0.7, 3), seen); // synchronous dip at each collective step
        Assert.Contains(0.15, seen); // checkpoint
    }

    [Fact]
    public void Failures_DropTheJobToIdleForItsRestartTime()
    {
        var model = new WorkloadModel(new WorkloadSpec([Job], [], 0.03), 4, DateTimeOffset.UnixEpoch, 11);
        var idleSeconds = 0;
        for (var t = 0; t < 24 * 3600; t++)
        {
            model.Step(t, 1);
            idleSeconds += model.Utilisation[0] == 0.03 ? 1 : 0;
        }

        Assert.InRange(model.Interruptions, 3, 30); // MTBF 2 h over a day
        Assert.InRange(idleSeconds, (model.Interruptions - 1) * 15 * 60, (model.Interruptions * 15 * 60) + 1);
    }

    [Fact]
    public void Inference_FollowsTheDay()
    {
        var spec = new InferenceSpec("serve", [0, 1], 0.5, 0.3, 19, 0.0);
        var model = new WorkloadModel(new WorkloadSpec([], [spec], 0.03), 2, DateTimeOffset.UnixEpoch, 1);
        var byHour = new double[24];
        for (var t = 0; t < 86_400; t++)
        {
            model.Step(t, 1);
            byHour[t / 3600] = model.Utilisation[0];
        }

        Assert.InRange(Array.IndexOf(byHour, byHour.Max()), 18, 20);
        Assert.InRange(byHour.Max(), 0.79, 0.81);
        Assert.InRange(byHour.Min(), 0.19, 0.21);
    }

    private static readonly TrainingJobSpec Steady = Job with { MeanTimeBetweenFailures = TimeSpan.Zero };

    /// <summary>A job on racks 0-3 that never fails on its own, in a plant of <paramref name="racks"/> racks.</summary>
    private static WorkloadModel SteadyJobOn(int racks) => new(new WorkloadSpec([Steady], [], 0.03), racks, DateTimeOffset.UnixEpoch, 3);

    [Fact]
    public void ARackLostToThePlant_StallsTheJobForItsRestartAndTheWorkSinceItsCheckpoint_ThenItRunsWithoutTheRack()
    {
        var model = SteadyJobOn(5);
        var at = Home(5);
        var stalled = 0;
        for (var t = 0; t < 3 * 3600; t++)
        {
            // Rack 2 is isolated at 50 min (20 min after the checkpoint at 30 min) and back at 2 h.
            at[2] = t < 3000 || t >= 7200 ? 2 : Placement.Lost;
            model.Step(t, 1, at);
            stalled += model.PlantStalled[0] ? 1 : 0;
            Assert.Equal(model.PlantStalled[0], model.PlantStalled[2]);
            Assert.False(model.PlantStalled[4], "a rack in no job is never stalled");
            if (t is > 3000 and < 3000 + 900)
            {
                Assert.Equal(0.03, model.Utilisation[0]); // restarting: the whole job idle
            }

            if (t is > 3000 + 900 and < 7200)
            {
                Assert.Equal(0.03, model.Utilisation[2]); // the lost rack runs nothing
                Assert.True(model.Utilisation[0] > 0.1 && model.Utilisation[3] > 0.1, "the job runs on the racks it has left");
            }
        }

        // 15 min restart + the 20 min since the checkpoint redone, then 15 min to take the rack back.
        Assert.Equal((15 * 60) + (20 * 60) + (15 * 60), stalled);
        Assert.Equal(2, model.PlantRestarts);
        Assert.Equal(0, model.Interruptions);
        Assert.True(model.Utilisation[2] > 0.1, "the rack taken back runs the job again");
    }

    [Fact]
    public void WithEveryRackGone_TheJobWaitsStalled_AndRestartsWhenOneComesBack()
    {
        var model = SteadyJobOn(4);
        var at = Home(4);
        var stalled = 0;
        for (var t = 0; t < 3 * 3600; t++)
        {
            // An outage of every rack from 1 h to 1.5 h.
            for (var r = 0; r < 4; r++)
            {
                at[r] = t < 3600 || t >= 5400 ? r : Placement.Lost;
            }

            model.Step(t, 1, at);
            stalled += model.PlantStalled[1] ? 1 : 0;
        }

        // Lost at 1 h, right at a checkpoint (nothing redone); back at 1.5 h, running at 1.5 h + 15 min.
        Assert.Equal(1800 + 900, stalled);
        Assert.Equal(1, model.PlantRestarts);
    }

    [Fact]
    public void APlannedChange_AShareMovedOrPaused_StallsTheJobForItsRestartOnly()
    {
        var model = SteadyJobOn(6);
        var at = Home(6);
        var stalled = 0;
        for (var t = 0; t < 4 * 3600; t++)
        {
            // Rack 1's share moves to rack 5 at 50 min and home at 2 h; rack 3's is paused from 3 h.
            at[1] = t is >= 3000 and < 7200 ? 5 : 1;
            at[3] = t >= 3 * 3600 ? Placement.Held : 3;
            model.Step(t, 1, at);
            stalled += model.PlantStalled[0] ? 1 : 0;
        }

        Assert.Equal(3 * 15 * 60, stalled); // three checkpointed stops: nothing redone
        Assert.Equal(3, model.PlantRestarts);
        Assert.Equal(0.03, model.Utilisation[3]); // the held share runs nowhere
    }

    [Fact]
    public void RacksAtHome_NeverStallTheJob()
    {
        var model = SteadyJobOn(4);
        for (var t = 0; t < 3600; t++)
        {
            model.Step(t, 1, Home(4));
            Assert.False(model.PlantStalled[0]);
        }

        Assert.Equal(0, model.PlantRestarts);
    }

    private static int[] Home(int racks) => [.. Enumerable.Range(0, racks)];
}
