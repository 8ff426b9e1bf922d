using Aida.Model.Config;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Slurm;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.Collectors.Slurm;

/// <summary>Slurm's hostlists, the tools' output read, the site entry's errors, and a poll's series against scripted tools
/// (the real cluster: <see cref="Peers.SlurmPeerTests"/>).</summary>
public class SlurmCollectorTests
{
    [Theory]
    [InlineData("h1-a01-n[1-3]", "h1-a01-n1 h1-a01-n2 h1-a01-n3")]
    [InlineData("n[08-10],login1", "n08 n09 n10 login1")]
    [InlineData("r[1-2]-n[1,3]", "r1-n1 r1-n3 r2-n1 r2-n3")]
    [InlineData("gpu7", "gpu7")]
    public void Hostlist_Expands(string expression, string names) => Assert.Equal(names.Split(' '), SlurmHostlist.Expand(expression));

    [Theory]
    [InlineData("n[1-3", "not closed")]
    [InlineData("n1-3]", "without '['")]
    [InlineData("n[3-1]", "runs backwards")]
    [InlineData("n[a-b]", "not a number")]
    [InlineData("n[1-99999999]", "more than 100000 names")]
    [InlineData("n1,,n2", "an empty name")]
    [InlineData("n 1", "a space")]
    [InlineData("n[1-[2]]", "a bracket inside a bracket")]
    public void Hostlist_RefusesWhatIsNotOne_NamingTheFault(string expression, string fault) =>
        Assert.Contains(fault, Assert.Throws<FormatException>(() => SlurmHostlist.Expand(expression)).Message, StringComparison.Ordinal);

    [Fact]
    public void ToolsOutput_IsRead_AndWhatIsNotItsFormatIsNamed()
    {
        var nodes = SlurmSnapshot.ParseNodes("n1|idle|none\nn2|drained|aida: workload paused\nn2|drained|aida: workload paused\nn3|draining|fan swap | ticket 42\n");
        Assert.Equal(3, nodes.Count);
        Assert.True(nodes["n2"].Drained);
        Assert.Equal("fan swap | ticket 42", nodes["n3"].Reason);
        Assert.Equal("", nodes["n1"].Reason);
        var jobs = SlurmSnapshot.ParseJobs("17|RUNNING|n[1-2]\n18|PENDING|\n19_3|SUSPENDED|n3\n");
        Assert.Equal(["n1", "n2"], jobs[0].Nodes);
        Assert.Empty(jobs[1].Nodes);
        Assert.Contains("not node|state|reason", Assert.Throws<SlurmToolException>(() => SlurmSnapshot.ParseNodes("garbage")).Message, StringComparison.Ordinal);
        Assert.Contains("job 20 on 'n[1-'", Assert.Throws<SlurmToolException>(() => SlurmSnapshot.ParseJobs("20|RUNNING|n[1-")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APoll_WritesEachRacksSeries_AndAFailedToolMarksThemStale()
    {
        using var rig = new CollectorRig();
        var tools = new ScriptedTools
        {
            ["sinfo"] = "a1|drained|aida: workload paused\na2|draining|aida: workload paused\nb1|allocated|none\n",
            ["squeue"] = "7|SUSPENDED|a[1-2]\n8|RUNNING|b1\n9|PENDING|\n",
        };
        var racks = new[]
        {
            new SlurmRack("rack-a", "a[1-2]", ["a1", "a2"], new Dictionary<string, string> { ["hall"] = "h1" }),
            new SlurmRack("rack-b", "b1", ["b1"], new Dictionary<string, string> { ["hall"] = "h1" }),
        };
        var collector = new SlurmCollector(rig.Settings("scheduler"), tools, racks);
        Assert.True(await collector.PollOnceAsync(rig.Sink, default), rig.Log.ToString());
        Assert.Equal(1, rig.Last("aida_rack_workload_paused", ("rack", "rack-a"), ("hall", "h1"), ("site", "s1")));
        Assert.Equal(0, rig.Last("aida_rack_workload_moved", ("rack", "rack-a")));
        Assert.Equal(1, rig.Last("slurm_rack_jobs_suspended", ("rack", "rack-a")));
        Assert.Equal(2, rig.Last("slurm_rack_nodes_drained", ("rack", "rack-a")));
        Assert.Equal(0, rig.Last("aida_rack_workload_paused", ("rack", "rack-b")));
        Assert.Equal(1, rig.Last("slurm_rack_jobs_running", ("rack", "rack-b")));

        // The controller down: the tool fails, an error of the device, every rack's series stale.
        tools.Failure = "'squeue -h -o %i|%T|%N' exited 1: slurm_load_jobs error: Unable to contact slurm controller (connect failure)";
        rig.Fake.Advance(TimeSpan.FromSeconds(30));
        Assert.False(await collector.PollOnceAsync(rig.Sink, default));
        Assert.Contains("Unable to contact slurm controller", rig.Log.ToString(), StringComparison.Ordinal);
        Assert.True(StaleMarker.Is(rig.Last("aida_rack_workload_paused", ("rack", "rack-b"))));
        Assert.False(rig.Sink.HealthOf("slurm", "scheduler").Up);
        Assert.Equal(0, rig.Sink.HealthOf("slurm", "scheduler").Malformed);

        // Output that is not the format asked for: malformed as well.
        tools.Failure = null;
        tools["squeue"] = "7|RUNNING\n";
        rig.Fake.Advance(TimeSpan.FromSeconds(30));
        Assert.False(await collector.PollOnceAsync(rig.Sink, default));
        Assert.Equal(1, rig.Sink.HealthOf("slurm", "scheduler").Malformed);
        Assert.Contains("squeue printed '7|RUNNING', not job|state|nodes", rig.Log.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("    racks:\n      - {rack: r1, nodes: \"n[1-\"}\n", "racks[0].nodes", "not closed")]
    [InlineData("    racks:\n      - {rack: r1, nodes: n1}\n      - {rack: r2, nodes: \"n[1-2]\"}\n", "racks[1].nodes", "node 'n1' is also in rack 'r1'")]
    [InlineData("    racks:\n      - {rack: r1, nodes: n1}\n      - {rack: r1, nodes: n2}\n", "racks[1].rack", "listed twice")]
    [InlineData("    racks:\n      - {rack: r1, nodes: n1, labels: {1x: a}}\n", "racks[0].labels", "not a valid label name")]
    [InlineData("    racks:\n      - {rack: r1, nodes: n1}\n    commands: [pause, stop]\n", "commands[1]", "'stop' is not a command")]
    [InlineData("    racks:\n      - {rack: r1, nodes: n1, node: n2}\n", "node", "")]
    [InlineData("    interval: 10s\n", "racks", "")]
    public void SiteFile_NamesBadFields(string fields, string where, string what)
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [SlurmCollector.Type] = SlurmCollector.Create }, TimeProvider.System);
        var e = Assert.Throws<ConfigException>(() => loader.Parse("site: s\ncollectors:\n  - type: slurm\n    name: sched\n" + fields, "f"));
        Assert.Contains(where, e.Message, StringComparison.Ordinal);
        Assert.Contains(what, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SiteFile_CommandsChooseTheWriters()
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [SlurmCollector.Type] = SlurmCollector.Create }, TimeProvider.System);
        var site = loader.Parse("site: s\ncollectors:\n  - type: slurm\n    name: sched\n    commands: [move]\n    racks:\n      - {rack: r1, nodes: \"n[1-2]\"}\n", "f");
        Assert.Equal(["r1/workload_move"], ((SlurmCollector)site.Collectors.Single()).Writers.Select(w => w.Actuator));
    }

    [Fact]
    public async Task APause_NamesInEachNodesDrainReason_TheJobsRunningOnThatNode()
    {
        // Regression: every node's reason named every job of the rack, so a rack of many jobs had reasons of any length.
        var tools = new RecordingTools();
        tools.Outputs["sinfo"].Enqueue("n1|allocated|none\nn2|allocated|none\nn3|allocated|none\nn4|idle|none\n");
        tools.Outputs["squeue"].Enqueue("17|RUNNING|n[1-2]\n18|RUNNING|n3\n");
        tools.Outputs["sinfo"].Enqueue("n1|drained|aida: workload paused (suspended 17)\nn2|drained|aida: workload paused (suspended 17)\n" +
            "n3|drained|aida: workload paused (suspended 18)\nn4|drained|aida: workload paused\n");
        tools.Outputs["squeue"].Enqueue("17|SUSPENDED|n[1-2]\n18|SUSPENDED|n3\n");
        var rack = new SlurmRack("r1", "n[1-4]", ["n1", "n2", "n3", "n4"], new Dictionary<string, string>());
        var writer = new SlurmWorkloadWriter(tools, rack, move: false, TimeSpan.FromSeconds(5), TimeProvider.System);

        var outcome = await writer.WriteAsync(1, default);

        Assert.True(outcome.Confirmed, outcome.Problem);
        Assert.Equal(
            [
                "update NodeName=n1,n2 State=DRAIN Reason=aida: workload paused (suspended 17)",
                "update NodeName=n3 State=DRAIN Reason=aida: workload paused (suspended 18)",
                "update NodeName=n4 State=DRAIN Reason=aida: workload paused",
                "suspend 17,18",
            ],
            tools.Scontrol);
    }

    internal static SlurmCollector Load(CollectorRig rig, string entries)
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [SlurmCollector.Type] = SlurmCollector.Create }, rig.Clock);
        return Assert.IsType<SlurmCollector>(loader.Parse("site: s1\ncollectors:\n" + entries, "site.yaml").Collectors.Single());
    }

    /// <summary>Tools that print, per tool, the first output queued until the first <c>scontrol</c>, then the next (the
    /// last again once one is left), and record each <c>scontrol</c> command line.</summary>
    private sealed class RecordingTools : ISlurmTools
    {
        public Dictionary<string, Queue<string>> Outputs { get; } = new() { ["sinfo"] = new(), ["squeue"] = new() };

        public List<string> Scontrol { get; } = [];

        public Task<string> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken ct)
        {
            if (tool == "scontrol")
            {
                Scontrol.Add(string.Join(' ', arguments));
                return Task.FromResult("");
            }

            // The cluster as it was until the first scontrol, then as it is after.
            var queue = Outputs[tool];
            if (queue.Count > 1 && Scontrol.Count > 0)
            {
                queue.Dequeue();
            }

            return Task.FromResult(queue.Peek());
        }
    }

    /// <summary>Tools that print what the test set for each, or fail with <see cref="Failure"/>.</summary>
    private sealed class ScriptedTools : Dictionary<string, string>, ISlurmTools
    {
        public string? Failure { get; set; }

        public Task<string> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken ct) =>
            Failure is not null ? Task.FromException<string>(new SlurmToolException(Failure)) : Task.FromResult(this[tool]);
    }
}
