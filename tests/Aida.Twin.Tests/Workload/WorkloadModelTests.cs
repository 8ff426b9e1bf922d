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
}
