using System.Diagnostics;
using Aida.Telemetry.Tests.Peers;

namespace Aida.Reliability.Tests.Peers;

/// <summary>A real server on 127.0.0.1 in a throwaway directory: a Prometheus that evaluates a rule file every second
/// and takes remote-write, or an Alertmanager with one do-nothing receiver and no cluster listener.</summary>
internal sealed class LocalPeer : IDisposable
{
    private readonly PeerProcess _process;
    private readonly string _directory;

    private LocalPeer(PeerProcess process, string directory, Uri baseUrl)
    {
        _process = process;
        _directory = directory;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    public Uri WriteUrl => new(BaseUrl, "api/v1/write");

    public static Task<LocalPeer> StartPrometheusAsync(string rules) =>
        StartAsync("prometheus", "prometheus", "aida-slo-prom", (directory, address) =>
        {
            var ruleFile = Path.Combine(directory, "slo-rules.yml");
            File.WriteAllText(ruleFile, rules);
            var config = Path.Combine(directory, "prometheus.yml");
            File.WriteAllText(config, $"global:\n  evaluation_interval: 1s\nrule_files:\n  - {ruleFile}\n");
            return [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory, "data")}", $"--web.listen-address={address}", "--web.enable-remote-write-receiver"];
        });

    /// <param name="config">An Alertmanager configuration's text (docs/examples/alertmanager.yml, say); null for one
    /// do-nothing receiver.</param>
    public static Task<LocalPeer> StartAlertmanagerAsync(string? config = null) =>
        StartAsync("prometheus-alertmanager", "prometheus-alertmanager", "aida-slo-am", (directory, address) =>
        {
            var file = Path.Combine(directory, "alertmanager.yml");
            File.WriteAllText(file, config ?? "route:\n  receiver: default\nreceivers:\n  - name: default\n");
            return [$"--config.file={file}", $"--storage.path={Path.Combine(directory, "data")}", $"--web.listen-address={address}", "--cluster.listen-address="];
        });

    private static async Task<LocalPeer> StartAsync(string binaryName, string package, string prefix, Func<string, string, IReadOnlyList<string>> arguments)
    {
        var binary = PeerProcess.Require(binaryName, package);
        var directory = PeerProcess.TempDirectory(prefix);
        var address = $"127.0.0.1:{PeerProcess.FreePort()}";
        var baseUrl = new Uri($"http://{address}/");
        var peer = new LocalPeer(new PeerProcess(binary, arguments(directory, address), new Uri(baseUrl, "-/ready")), directory, baseUrl);
        try
        {
            await peer._process.StartAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            peer.Dispose();
            throw;
        }

        return peer;
    }

    public string Output() => _process.Output();

    public void Dispose()
    {
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Runs <c>promtool check rules</c> on a file.</summary>
internal static class Promtool
{
    public static (int Code, string Output) CheckRules(string file) => PeerTool.Run("promtool", "prometheus", "check", "rules", file);
}

/// <summary>Runs a peer's command-line tool (from its Debian package) to its end: its exit code and what it printed.</summary>
internal static class PeerTool
{
    public static (int Code, string Output) Run(string name, string package, params string[] arguments)
    {
        var binary = PeerProcess.Require(name, package);
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }
}
