using System.Diagnostics;
using Aida.Telemetry.Collectors.Slurm;

namespace Aida.Telemetry.Tests.Peers;

/// <summary>A real Slurm cluster on 127.0.0.1 in a throwaway directory: munged, slurmctld and one slurmd per node (Debian's
/// slurmd runs several on one host, each named with <c>-N</c> on its own port), every node in one partition.</summary>
internal sealed class SlurmPeer : IDisposable
{
    private static readonly string[] Binaries = ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/scontrol", "/usr/bin/sbatch", "/usr/bin/sinfo", "/usr/bin/squeue"];

    private readonly string _directory;
    private readonly List<PeerProcess> _processes = [];

    private SlurmPeer(string directory, IReadOnlyList<string> nodes)
    {
        _directory = directory;
        Nodes = nodes;
        Conf = Path.Combine(directory, "slurm.conf");
        Tools = new SlurmCommandLine("/usr/bin", Conf);
    }

    public IReadOnlyList<string> Nodes { get; }

    /// <summary>The <c>SLURM_CONF</c> the tools need.</summary>
    public string Conf { get; }

    public SlurmCommandLine Tools { get; }

    public static async Task<SlurmPeer> StartNewAsync(params string[] nodes)
    {
        if (Binaries.FirstOrDefault(b => !File.Exists(b)) is { } missing)
        {
            var message = $"{missing} is missing (apt-get install slurmctld slurmd slurm-client munge); see scripts/test";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail("CI=true requires the real peers: " + message);
            }

            Skip.If(true, message);
        }

        var dir = PeerProcess.TempDirectory("aida-slurm");
        var peer = new SlurmPeer(dir, nodes);
        try
        {
            await peer.StartAsync();
        }
        catch
        {
            peer.Dispose();
            throw;
        }

        return peer;
    }

    private async Task StartAsync()
    {
        var munge = Path.Combine(_directory, "munge");
        Directory.CreateDirectory(munge);
        var key = Path.Combine(munge, "munge.key");
        File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite); // munged refuses a key others may read
        }
        var socket = Path.Combine(munge, "munge.sock");
        Start(new PeerProcess("/usr/sbin/munged", ["-F", "--key-file=" + key, "--socket=" + socket, "--pid-file=" + Path.Combine(munge, "munged.pid"),
            "--log-file=" + Path.Combine(munge, "munged.log"), "--seed-file=" + Path.Combine(munge, "seed"), "--force"], () => File.Exists(socket), $"(socket {socket})"));
        await _processes[^1].StartAsync(TimeSpan.FromSeconds(30));

        var controller = PeerProcess.FreePort();
        var ports = Nodes.Select(_ => PeerProcess.FreePort()).ToList();
        foreach (var d in new[] { "state", "spool", "log" })
        {
            Directory.CreateDirectory(Path.Combine(_directory, d));
        }

        var conf = string.Join('\n',
            "ClusterName=aida",
            "SlurmctldHost=localhost(127.0.0.1)",
            $"SlurmctldPort={controller}",
            "AuthType=auth/munge",
            $"AuthInfo=socket={socket}",
            "CredType=cred/munge",
            "SlurmUser=root",
            "SlurmdUser=root",
            $"StateSaveLocation={_directory}/state",
            $"SlurmdSpoolDir={_directory}/spool/%n",
            $"SlurmctldPidFile={_directory}/slurmctld.pid",
            $"SlurmdPidFile={_directory}/slurmd-%n.pid",
            $"SlurmdLogFile={_directory}/log/slurmd-%n.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "SchedulerType=sched/builtin",
            "SelectType=select/linear",
            "ReturnToService=2",
            "MpiDefault=none",
            "JobRequeue=1",
            string.Join('\n', Nodes.Select((n, i) => $"NodeName={n} NodeHostname=localhost NodeAddr=127.0.0.1 Port={ports[i]} CPUs=1 State=UNKNOWN")),
            "PartitionName=gpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            "");
        File.WriteAllText(Conf, conf);
        var env = new Dictionary<string, string> { ["SLURM_CONF"] = Conf };
        Start(new PeerProcess("/usr/sbin/slurmctld", ["-D", "-i", "-f", Conf], () => PeerProcess.Accepts(controller), $"on port {controller}", env));
        await _processes[^1].StartAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < Nodes.Count; i++)
        {
            var port = ports[i];
            Start(new PeerProcess("/usr/sbin/slurmd", ["-D", "-N", Nodes[i], "-f", Conf], () => PeerProcess.Accepts(port), $"on port {port}", env));
            await _processes[^1].StartAsync(TimeSpan.FromSeconds(30));
        }

        // Ready when every node reports idle.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var nodes = SlurmSnapshot.ParseNodes(await Tools.RunAsync("sinfo", ["-h", "-N", "-o", "%N|%T|%E"], default));
            if (Nodes.All(n => nodes.TryGetValue(n, out var node) && node.State == "idle"))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "the Slurm nodes did not come up idle: " + string.Join(", ", nodes.Values) + "\n" + Output());
            await Task.Delay(200);
        }
    }

    /// <summary>Submits a batch job that sleeps on <paramref name="node"/>; its id.</summary>
    public string Submit(string node, string name)
    {
        var info = new ProcessStartInfo("/usr/bin/sbatch") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--parsable", "--requeue", "-w", node, "-J", name, "-o", "/dev/null", "--wrap", "sleep 3600" })
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["SLURM_CONF"] = Conf;
        using var p = Process.Start(info)!;
        var id = p.StandardOutput.ReadToEnd().Trim();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"sbatch failed: {err}");
        return id.Split(';')[0];
    }

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds on the cluster as read now.</summary>
    public async Task<SlurmSnapshot> UntilAsync(Func<SlurmSnapshot, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var now = await SlurmSnapshot.ReadAsync(Tools, default);
            if (condition(now))
            {
                return now;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{what} within 60 s: nodes {string.Join(", ", now.Nodes.Values)}; jobs {string.Join(", ", now.Jobs)}\n{Output()}");
            await Task.Delay(200);
        }
    }

    public string Output() => string.Join("\n", _processes.Select(p => p.Output()));

    public void Dispose()
    {
        try
        {
            using var cancel = Process.Start(new ProcessStartInfo("/usr/bin/scancel", ["--full", "-u", "root"]) { UseShellExecute = false, Environment = { ["SLURM_CONF"] = Conf } });
            cancel?.WaitForExit(10_000);
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }

        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            _processes[i].Dispose();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Start(PeerProcess process) => _processes.Add(process);
}
