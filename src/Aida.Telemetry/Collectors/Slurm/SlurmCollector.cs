using Aida.Model.Config;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors.Slurm;

/// <summary>The workload scheduler of a GPU cluster as Aida sees it: polls Slurm (<c>sinfo</c>, <c>squeue</c>) every interval
/// for each rack's nodes and jobs, and writes the racks' <c>workload_pause</c> and <c>workload_move</c> through
/// <c>scontrol</c> (<see cref="SlurmWorkloadWriter"/>), so that an agent on a real site can take heat off a struggling
/// cooling branch by pausing or moving jobs, as it does on the twin.</summary>
/// <remarks>
/// Site-file entry (<c>type: slurm</c>): <c>racks</c> (a list of <c>{rack, nodes, labels}</c>: the plant's rack id, its nodes
/// as a Slurm hostlist, the labels its series carry beside <c>rack</c>), <c>bin</c> (where the tools are, default
/// <c>/usr/bin</c>), <c>conf</c> (optional <c>SLURM_CONF</c>), <c>rack_label</c> (default <c>rack</c>), <c>commands</c>
/// (<c>[pause, move]</c> by default; <c>[]</c> to only read), plus the common fields. Per rack and poll:
/// <c>aida_rack_workload_paused</c>, <c>aida_rack_workload_moved</c> (as the plant names them), <c>slurm_rack_jobs_running</c>,
/// <c>slurm_rack_jobs_suspended</c>, <c>slurm_rack_nodes_drained</c>. A rack with a node Slurm does not know is an error of
/// the device naming the node, its series stale; a tool that fails marks every rack's series stale.
/// </remarks>
public sealed class SlurmCollector : ICollector, IActuatorSource
{
    public const string Type = "slurm";

    private readonly CollectorSettings _settings;
    private readonly ISlurmTools _tools;
    private readonly IReadOnlyList<SlurmRack> _racks;
    private readonly Dictionary<string, Labels> _rackLabels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Labels>> _previous = new(StringComparer.Ordinal);

    public SlurmCollector(CollectorSettings settings, ISlurmTools tools, IReadOnlyList<SlurmRack> racks, string rackLabel = "rack", bool pause = true, bool move = true)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(racks);
        _settings = settings;
        _tools = tools;
        _racks = racks;
        var writers = new List<IActuatorWriter>();
        foreach (var r in racks)
        {
            _rackLabels[r.Name] = Labels.From(settings.Labels.Pairs().Append(new(rackLabel, r.Name)).Concat(r.Labels));

            if (pause)
            {
                writers.Add(new SlurmWorkloadWriter(tools, r, move: false, settings.Timeout, settings.Clock));
            }

            if (move)
            {
                writers.Add(new SlurmWorkloadWriter(tools, r, move: true, settings.Timeout, settings.Clock));
            }
        }

        Writers = writers;
    }

    public string Name => _settings.Name;

    public string Kind => Type;

    public IReadOnlyList<IActuatorWriter> Writers { get; }

    /// <summary>Builds a collector from its site-file entry (registered as <c>slurm</c>).</summary>
    public static ICollector Create(ConfigNode entry, CollectorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(settings);
        var bin = entry.String("bin", "/usr/bin");
        var conf = entry.OptionalString("conf");
        var rackLabel = entry.String("rack_label", "rack");
        if (!LabelRules.IsValidLabelName(rackLabel))
        {
            throw entry.Error("rack_label", $"'{rackLabel}' is not a valid label name");
        }

        var racks = new List<SlurmRack>();
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in entry.List("racks", required: true))
        {
            var rack = item.String("rack");
            if (rack.Length == 0 || rack.Any(c => char.IsWhiteSpace(c) || c == '/'))
            {
                throw item.Error("rack", $"'{rack}' is not a rack id");
            }

            if (racks.Exists(r => r.Name == rack))
            {
                throw item.Error("rack", $"rack '{rack}' is listed twice");
            }

            var hostlist = item.String("nodes");
            IReadOnlyList<string> nodes;
            try
            {
                nodes = SlurmHostlist.Expand(hostlist);
            }
            catch (FormatException e)
            {
                throw item.Error("nodes", e.Message);
            }

            foreach (var n in nodes)
            {
                if (!owner.TryAdd(n, rack))
                {
                    throw item.Error("nodes", $"node '{n}' is also in rack '{owner[n]}'");
                }
            }

            var labels = SiteLoader.ReadLabels(item, "labels");
            item.RejectUnknown();
            racks.Add(new SlurmRack(rack, hostlist, nodes, labels.Pairs().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)));
        }

        var pause = true;
        var move = true;
        if (entry.Optional("commands") is not null)
        {
            pause = move = false;
            foreach (var c in entry.List("commands"))
            {
                switch (c.Scalar())
                {
                    case "pause":
                        pause = true;
                        break;
                    case "move":
                        move = true;
                        break;
                    default:
                        throw c.Error($"'{c.Scalar()}' is not a command (pause, move)");
                }
            }
        }

        return new SlurmCollector(settings, new SlurmCommandLine(bin, conf), racks, rackLabel, pause, move);
    }

    public async Task RunAsync(CollectorSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sink);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await PollOnceAsync(sink, ct).ConfigureAwait(false);
                await Task.Delay(_settings.Interval, _settings.Clock, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>One poll: the cluster read once, every rack's series written (or marked stale). Whether it worked.</summary>
    public async Task<bool> PollOnceAsync(CollectorSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var clock = _settings.Clock;
        var start = clock.GetTimestamp();
        using var timeout = new CancellationTokenSource(_settings.Timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        SlurmSnapshot snapshot;
        try
        {
            snapshot = await SlurmSnapshot.ReadAsync(_tools, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SlurmToolException || (e is OperationCanceledException && timeout.IsCancellationRequested && !ct.IsCancellationRequested))
        {
            var problem = e is SlurmToolException ? e.Message : $"no answer within {_settings.Timeout.TotalSeconds} s";
            if (e is SlurmToolException { Malformed: true })
            {
                sink.Malformed(Kind, Name, problem);
            }

            sink.Error(Kind, Name, problem);
            var at = clock.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var r in _racks)
            {
                MarkStale(sink, r, at);
            }

            return false;
        }

        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var allOk = true;
        foreach (var r in _racks)
        {
            if (snapshot.Unknown(r) is { Count: > 0 } unknown)
            {
                allOk = false;
                sink.Error(Kind, Name, $"rack {r.Name}: Slurm knows no node {string.Join(", ", unknown)} ({r.Hostlist})");
                MarkStale(sink, r, now);
                continue;
            }

            var written = new List<Labels>();
            void Write(string metric, double value)
            {
                var labels = _rackLabels[r.Name].With(Labels.MetricNameLabel, metric);
                written.Add(labels);
                sink.Sample(Kind, Name, labels, now, value);
            }

            Write("aida_rack_workload_paused", snapshot.Paused(r));
            Write("aida_rack_workload_moved", snapshot.Moved(r));
            Write("slurm_rack_jobs_running", snapshot.JobsOn(r, "RUNNING").Count);
            Write("slurm_rack_jobs_suspended", snapshot.JobsOn(r, "SUSPENDED").Count);
            Write("slurm_rack_nodes_drained", r.Nodes.Count(n => snapshot.Nodes[n].Drained));
            _previous[r.Name] = written;
        }

        if (allOk)
        {
            sink.Up(Kind, Name, clock.GetElapsedTime(start));
        }

        return allOk;
    }

    private void MarkStale(CollectorSink sink, SlurmRack rack, long at)
    {
        if (_previous.Remove(rack.Name, out var labels))
        {
            foreach (var l in labels)
            {
                sink.Stale(Kind, Name, l, at);
            }
        }
    }
}
