namespace Aida.Telemetry.Collectors.Slurm;

/// <summary>A node as <c>sinfo</c> reports it: its state (<c>idle</c>, <c>allocated</c>, <c>mixed</c>, <c>drained</c>,
/// <c>draining</c>, <c>down*</c>, …) and the reason an administrator (or Aida) gave for draining it.</summary>
public sealed record SlurmNode(string Name, string State, string Reason)
{
    /// <summary>Whether it takes no new jobs: drained, or draining (its jobs finish, no new ones start).</summary>
    public bool Drained => State.Contains("drain", StringComparison.Ordinal);
}

/// <summary>A job as <c>squeue</c> reports it: its state (<c>RUNNING</c>, <c>SUSPENDED</c>, <c>PENDING</c>, …) and the
/// nodes it holds (none while pending).</summary>
public sealed record SlurmJob(string Id, string State, IReadOnlyList<string> Nodes);

/// <summary>One rack as a Slurm cluster runs it: its name (the plant's rack id), the hostlist of its nodes, and the labels
/// its series carry.</summary>
public sealed record SlurmRack(string Name, string Hostlist, IReadOnlyList<string> Nodes, IReadOnlyDictionary<string, string> Labels);

/// <summary>The cluster at one moment: every node and every job not finished.</summary>
public sealed record SlurmSnapshot(IReadOnlyDictionary<string, SlurmNode> Nodes, IReadOnlyList<SlurmJob> Jobs)
{
    /// <summary>The drain reason Aida gives when it pauses a rack's jobs.</summary>
    public const string PauseReason = "aida: workload paused";

    /// <summary>The drain reason Aida gives when it moves a rack's jobs elsewhere.</summary>
    public const string MoveReason = "aida: workload moved";

    /// <summary><c>sinfo</c> and <c>squeue</c> now.</summary>
    public static async Task<SlurmSnapshot> ReadAsync(ISlurmTools tools, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var nodes = ParseNodes(await tools.RunAsync("sinfo", ["-h", "-N", "-o", "%N|%T|%E"], ct).ConfigureAwait(false));
        var jobs = ParseJobs(await tools.RunAsync("squeue", ["-h", "-o", "%i|%T|%N"], ct).ConfigureAwait(false));
        return new SlurmSnapshot(nodes, jobs);
    }

    /// <summary><c>sinfo -h -N -o "%N|%T|%E"</c>: a line per node and partition (a node in two partitions is listed
    /// twice, kept once).</summary>
    public static IReadOnlyDictionary<string, SlurmNode> ParseNodes(string text)
    {
        var nodes = new Dictionary<string, SlurmNode>(StringComparer.Ordinal);
        foreach (var line in Lines(text))
        {
            var f = line.Split('|', 3);
            if (f.Length != 3 || f[0].Length == 0 || f[1].Length == 0)
            {
                throw new SlurmToolException($"sinfo printed '{Shorten(line)}', not node|state|reason", malformed: true);
            }

            nodes.TryAdd(f[0], new SlurmNode(f[0], f[1], f[2] == "none" ? "" : f[2]));
        }

        return nodes;
    }

    /// <summary><c>squeue -h -o "%i|%T|%N"</c>: a line per job, its nodes as a hostlist.</summary>
    public static IReadOnlyList<SlurmJob> ParseJobs(string text)
    {
        var jobs = new List<SlurmJob>();
        foreach (var line in Lines(text))
        {
            var f = line.Split('|');
            if (f.Length != 3 || f[0].Length == 0 || f[1].Length == 0)
            {
                throw new SlurmToolException($"squeue printed '{Shorten(line)}', not job|state|nodes", malformed: true);
            }

            IReadOnlyList<string> held;
            try
            {
                held = f[2].Length == 0 || f[2] == "(null)" ? [] : SlurmHostlist.Expand(f[2]);
            }
            catch (FormatException e)
            {
                throw new SlurmToolException($"squeue printed job {f[0]} on '{Shorten(f[2])}': {e.Message}", malformed: true, e);
            }

            jobs.Add(new SlurmJob(f[0], f[1], held));
        }

        return jobs;
    }

    private Dictionary<string, List<int>>? _jobsByNode;

    /// <summary>The jobs holding a node of <paramref name="rack"/> in one of <paramref name="states"/>, in squeue's order.</summary>
    public IReadOnlyList<SlurmJob> JobsOn(SlurmRack rack, params string[] states)
    {
        ArgumentNullException.ThrowIfNull(rack);
        // Indexed once per snapshot: a poll asks for every rack, and a cluster has thousands of jobs.
        if (_jobsByNode is null)
        {
            var index = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (var i = 0; i < Jobs.Count; i++)
            {
                foreach (var node in Jobs[i].Nodes)
                {
                    if (!index.TryGetValue(node, out var list))
                    {
                        index[node] = list = [];
                    }

                    list.Add(i);
                }
            }

            _jobsByNode = index;
        }

        var held = new SortedSet<int>();
        foreach (var node in rack.Nodes)
        {
            if (_jobsByNode.TryGetValue(node, out var list))
            {
                held.UnionWith(list);
            }
        }

        return [.. held.Select(i => Jobs[i]).Where(j => states.Contains(j.State, StringComparer.Ordinal))];
    }

    /// <summary>The rack's nodes Slurm does not know (a typo in the site file, a node removed).</summary>
    public IReadOnlyList<string> Unknown(SlurmRack rack) => [.. rack.Nodes.Where(n => !Nodes.ContainsKey(n))];

    /// <summary>The rack's nodes drained with <paramref name="reason"/> (Aida's own drains).</summary>
    public IReadOnlyList<string> DrainedFor(SlurmRack rack, string reason) =>
        [.. rack.Nodes.Where(n => Nodes.TryGetValue(n, out var node) && node.Drained && node.Reason.StartsWith(reason, StringComparison.Ordinal))];

    /// <summary>1 while the rack's jobs are paused by Aida: a node of it drained for the pause, and no job running on it.</summary>
    public double Paused(SlurmRack rack) => DrainedFor(rack, PauseReason).Count > 0 && JobsOn(rack, "RUNNING").Count == 0 ? 1 : 0;

    /// <summary>1 while the rack's jobs are moved away by Aida: a node of it drained for the move, and no job running on it
    /// (requeued jobs wait or run elsewhere; a job an administrator suspended there stays, drawing little). A requeued job
    /// may still be completing there, stopping its processes (a training job checkpoints on SIGTERM, within Slurm's
    /// KillWait): it is on its way out, and counts as moved, so a write is confirmed within seconds, not the job's
    /// checkpoint time.</summary>
    public double Moved(SlurmRack rack) => DrainedFor(rack, MoveReason).Count > 0 && JobsOn(rack, "RUNNING").Count == 0 ? 1 : 0;

    private static IEnumerable<string> Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0);

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
