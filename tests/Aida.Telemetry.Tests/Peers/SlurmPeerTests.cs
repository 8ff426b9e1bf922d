using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Slurm;
using Aida.Telemetry.Tests.Collectors;
using Aida.Telemetry.Tests.Collectors.Slurm;

namespace Aida.Telemetry.Tests.Peers;

/// <summary>The Slurm collector and its workload writers against a real Slurm (Debian's slurmctld and slurmd, munge).</summary>
public class SlurmPeerTests
{
    [SkippableFact]
    public async Task ARacksJobs_PausedAndResumed_ThenMovedAwayAndTheNodesReturned_AsTheSiteEntryWrites_AndEachStepCollected()
    {
        using var slurm = await SlurmPeer.StartNewAsync("h1-a01-n1", "h1-a01-n2", "h1-a02-n1");
        var train = slurm.Submit("h1-a01-n1", "train");
        var debug = slurm.Submit("h1-a01-n2", "debug");
        var infer = slurm.Submit("h1-a02-n1", "infer");
        await slurm.UntilAsync(s => s.Jobs.Count(j => j.State == "RUNNING") == 3, "the three jobs running");

        // An administrator holds one job of the rack (suspended): Aida's pause and its undoing leave it so.
        await slurm.Tools.RunAsync("scontrol", ["suspend", debug], default);

        using var rig = new CollectorRig(TimeProvider.System);
        var collector = SlurmCollectorTests.Load(rig,
            $"  - type: slurm\n    name: scheduler\n    conf: {slurm.Conf}\n    timeout: 10s\n    racks:\n" +
            "      - {rack: h1-a01, nodes: \"h1-a01-n[1-2]\", labels: {hall: hall-1, row: A}}\n" +
            "      - {rack: h1-a02, nodes: h1-a02-n1, labels: {hall: hall-1, row: A}}\n");
        Assert.True(await collector.PollOnceAsync(rig.Sink, default), rig.Log.ToString());
        Assert.Equal(1, rig.Last("slurm_rack_jobs_running", ("rack", "h1-a01"), ("hall", "hall-1"), ("row", "A")));
        Assert.Equal(0, rig.Last("aida_rack_workload_paused", ("rack", "h1-a01")));
        var writers = collector.Writers.ToDictionary(w => w.Actuator);
        Assert.Equal(["h1-a01/workload_move", "h1-a01/workload_pause", "h1-a02/workload_move", "h1-a02/workload_pause"], writers.Keys.Order(StringComparer.Ordinal));

        // Pause: the rack's nodes drained, its running job suspended and named in the reason of the node it runs on (the
        // other node runs none of Aida's); the other rack's job untouched.
        var paused = await writers["h1-a01/workload_pause"].WriteAsync(1, default);
        Assert.True(paused.Confirmed, paused.Problem + slurm.Output());
        var now = await SlurmSnapshot.ReadAsync(slurm.Tools, default);
        Assert.Equal("SUSPENDED", now.Jobs.Single(j => j.Id == train).State);
        Assert.Equal("RUNNING", now.Jobs.Single(j => j.Id == infer).State);
        Assert.Equal(($"{SlurmSnapshot.PauseReason} (suspended {train})", SlurmSnapshot.PauseReason), (now.Nodes["h1-a01-n1"].Reason, now.Nodes["h1-a01-n2"].Reason));
        Assert.True(await collector.PollOnceAsync(rig.Sink, default), rig.Log.ToString());
        Assert.Equal(1, rig.Last("aida_rack_workload_paused", ("rack", "h1-a01")));
        Assert.Equal(2, rig.Last("slurm_rack_jobs_suspended", ("rack", "h1-a01")));
        Assert.Equal(2, rig.Last("slurm_rack_nodes_drained", ("rack", "h1-a01")));
        Assert.Equal(0, rig.Last("aida_rack_workload_paused", ("rack", "h1-a02")));

        // Resumed: Aida's job runs again, the administrator's stays suspended, the nodes take jobs again.
        var resumed = await writers["h1-a01/workload_pause"].WriteAsync(0, default);
        Assert.True(resumed.Confirmed, resumed.Problem + slurm.Output());
        now = await SlurmSnapshot.ReadAsync(slurm.Tools, default);
        Assert.Equal("RUNNING", now.Jobs.Single(j => j.Id == train).State);
        Assert.Equal("SUSPENDED", now.Jobs.Single(j => j.Id == debug).State);
        Assert.DoesNotContain(now.Nodes.Values, n => n.Drained);

        // Paused again, then moved: the move takes the job the pause suspended, not the administrator's.
        Assert.True((await writers["h1-a01/workload_pause"].WriteAsync(1, default)).Confirmed);

        // Moved: the rack drained for the move, its job requeued (completing, then waiting: the other rack's one node is busy).
        var moved = await writers["h1-a01/workload_move"].WriteAsync(1, default);
        Assert.True(moved.Confirmed, moved.Problem + slurm.Output());
        now = await SlurmSnapshot.ReadAsync(slurm.Tools, default);
        Assert.Empty(now.JobsOn(new SlurmRack("h1-a01", "h1-a01-n[1-2]", ["h1-a01-n1", "h1-a01-n2"], new Dictionary<string, string>()), "RUNNING"));
        Assert.Contains(now.Jobs, j => j.Id == train && j.State is "COMPLETING" or "PENDING");
        Assert.Equal("SUSPENDED", now.Jobs.Single(j => j.Id == debug).State);
        Assert.All(new[] { "h1-a01-n1", "h1-a01-n2" }, n => Assert.Equal(SlurmSnapshot.MoveReason, now.Nodes[n].Reason));
        Assert.True(await collector.PollOnceAsync(rig.Sink, default), rig.Log.ToString());
        Assert.Equal(1, rig.Last("aida_rack_workload_moved", ("rack", "h1-a01")));

        // Back: the nodes returned; the requeued job starts again where and when the scheduler puts it (Slurm holds a
        // requeued job for a while: its reason BeginTime).
        var back = await writers["h1-a01/workload_move"].WriteAsync(0, default);
        Assert.True(back.Confirmed, back.Problem + slurm.Output());
        now = await SlurmSnapshot.ReadAsync(slurm.Tools, default);
        Assert.DoesNotContain(now.Nodes.Values, n => n.Drained);
        Assert.Contains(now.Jobs, j => j.Id == train && j.State is "COMPLETING" or "PENDING" or "RUNNING");

        // A node Slurm does not know: an error naming it, for the collector and for a write.
        var typo = SlurmCollectorTests.Load(rig, $"  - type: slurm\n    name: typo\n    conf: {slurm.Conf}\n    racks:\n      - {{rack: h1-a09, nodes: \"h1-a09-n[1-2]\"}}\n");
        Assert.False(await typo.PollOnceAsync(rig.Sink, default));
        Assert.Contains("rack h1-a09: Slurm knows no node h1-a09-n1, h1-a09-n2", rig.Log.ToString(), StringComparison.Ordinal);
        var refused = await typo.Writers[0].WriteAsync(1, default);
        Assert.False(refused.Confirmed);
        Assert.Contains("Slurm knows no node h1-a09-n1, h1-a09-n2 of rack h1-a09", refused.Problem, StringComparison.Ordinal);
    }
}
