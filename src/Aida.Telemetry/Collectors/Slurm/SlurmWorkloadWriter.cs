using System.Globalization;

namespace Aida.Telemetry.Collectors.Slurm;

/// <summary>Writes a rack's <c>workload_pause</c> or <c>workload_move</c> through Slurm, and confirms it by reading the
/// cluster back (<see cref="SlurmSnapshot.Paused"/>, <see cref="SlurmSnapshot.Moved"/>) every <see cref="PollEvery"/> until
/// it reads the value written, for at most the timeout.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>Pause 1: drains the rack's nodes not drained already (<c>scontrol update NodeName=… State=DRAIN
/// Reason="aida: workload paused (suspended 17,18)"</c>, each node naming the jobs running on it: no new job starts
/// there) and suspends the jobs running on them
/// (<c>scontrol suspend</c>: they keep their nodes and memory, their GPUs idle). Pause 0: resumes the jobs the reason
/// names that are still suspended (not a job an administrator suspended; after Aida restarts too: the record is
/// Slurm's) and returns the nodes Aida drained for the pause (<c>State=RESUME</c>).</item>
/// <item>Move 1: drains the nodes with <c>Reason="aida: workload moved"</c> (those drained for Aida's pause too) and
/// requeues the jobs running on them and those its pause suspended (<c>scontrol requeue</c>: Slurm starts them again on
/// other nodes, from their last checkpoint). Move 0: returns the nodes Aida drained for the move; jobs come back as the
/// scheduler places them.</item>
/// </list>
/// A node someone else drained (maintenance) keeps its state and reason: Aida neither drains it again nor returns it.
/// </remarks>
public sealed class SlurmWorkloadWriter(ISlurmTools tools, SlurmRack rack, bool move, TimeSpan timeout, TimeProvider clock) : IActuatorWriter
{
    /// <summary>How often the cluster is read back while waiting.</summary>
    public static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(500);

    public string Actuator { get; } = rack.Name + (move ? "/workload_move" : "/workload_pause");

    public async Task<ActuatorWriteOutcome> WriteAsync(double value, CancellationToken ct)
    {
        if (value is not (0 or 1))
        {
            return new ActuatorWriteOutcome(false, double.NaN, $"{value.ToString(CultureInfo.InvariantCulture)} is neither 1 nor 0");
        }

        using var limit = new CancellationTokenSource(timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, limit.Token);
        var last = double.NaN;
        var reason = move ? SlurmSnapshot.MoveReason : SlurmSnapshot.PauseReason;
        try
        {
            var now = await SlurmSnapshot.ReadAsync(tools, linked.Token).ConfigureAwait(false);
            if (now.Unknown(rack) is { Count: > 0 } unknown)
            {
                return new ActuatorWriteOutcome(false, double.NaN, $"Slurm knows no node {string.Join(", ", unknown)} of rack {rack.Name} ({rack.Hostlist})");
            }

            if (value == 1)
            {
                // A move takes the running jobs and those Aida's pause suspended; a node drained for the pause is drained
                // for the move instead. A job or node an administrator holds stays as it is.
                var running = now.JobsOn(rack, "RUNNING");
                var jobs = running.Select(j => j.Id).Concat(move ? Suspended(now) : []).ToList();
                var ids = string.Join(',', jobs);
                var paused = move ? now.DrainedFor(rack, SlurmSnapshot.PauseReason) : [];
                var free = rack.Nodes.Where(n => !now.Nodes[n].Drained || paused.Contains(n)).ToList();

                // A pause names the jobs it suspends in the drain reason, so that its undoing (after a restart too) resumes
                // those and not a job an administrator suspended: each node the jobs running on it, so a reason is as
                // long as one node's jobs, not the whole rack's. Nodes with the same reason are drained together.
                string Why(string node) =>
                    move || running.Where(j => j.Nodes.Contains(node)).Select(j => j.Id).ToList() is not { Count: > 0 } onNode
                        ? reason
                        : $"{reason} (suspended {string.Join(',', onNode)})";
                foreach (var same in free.GroupBy(Why, StringComparer.Ordinal))
                {
                    await Scontrol(["update", "NodeName=" + string.Join(',', same), "State=DRAIN", "Reason=" + same.Key], linked.Token).ConfigureAwait(false);
                }

                if (jobs.Count > 0)
                {
                    await Scontrol([move ? "requeue" : "suspend", ids], linked.Token).ConfigureAwait(false);
                }
            }
            else
            {
                if (!move && Suspended(now) is { Count: > 0 } suspended)
                {
                    await Scontrol(["resume", string.Join(',', suspended)], linked.Token).ConfigureAwait(false);
                }

                if (now.DrainedFor(rack, reason) is { Count: > 0 } ours)
                {
                    await Scontrol(["update", "NodeName=" + string.Join(',', ours), "State=RESUME"], linked.Token).ConfigureAwait(false);
                }
            }

            while (true)
            {
                now = await SlurmSnapshot.ReadAsync(tools, linked.Token).ConfigureAwait(false);
                last = move ? now.Moved(rack) : now.Paused(rack);
                if (last == value)
                {
                    return new ActuatorWriteOutcome(true, last, null);
                }

                await Task.Delay(PollEvery, clock, linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new ActuatorWriteOutcome(false, last,
                $"rack {rack.Name} did not read {(move ? "moved" : "paused")} {value.ToString(CultureInfo.InvariantCulture)} within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s (its nodes {rack.Hostlist}; drained by someone else, or jobs that would not {(move ? "requeue" : "suspend")}?)");
        }
        catch (SlurmToolException e)
        {
            return new ActuatorWriteOutcome(false, last, e.Message);
        }
    }

    /// <summary>The jobs Aida's pause suspended (named in its drain reasons on the rack's nodes) that are suspended still.</summary>
    private List<string> Suspended(SlurmSnapshot now)
    {
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in now.DrainedFor(rack, SlurmSnapshot.PauseReason))
        {
            var why = now.Nodes[node].Reason;
            var open = why.IndexOf("(suspended ", StringComparison.Ordinal);
            var close = open < 0 ? -1 : why.IndexOf(')', open);
            if (close > open)
            {
                named.UnionWith(why[(open + "(suspended ".Length)..close].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
        }

        return [.. now.JobsOn(rack, "SUSPENDED").Select(j => j.Id).Where(named.Contains)];
    }

    private Task<string> Scontrol(IReadOnlyList<string> arguments, CancellationToken ct) => tools.RunAsync("scontrol", arguments, ct);
}
