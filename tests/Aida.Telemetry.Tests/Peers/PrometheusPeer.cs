namespace Aida.Telemetry.Tests.Peers;

/// <summary>A real Prometheus on 127.0.0.1 with the remote-write receiver on, in a throwaway directory.</summary>
internal sealed class PrometheusPeer : IAsyncDisposable
{
    private readonly PeerProcess _process;
    private readonly string _directory;

    private PrometheusPeer(string binary, int port, string directory, string scrapeConfigs)
    {
        _directory = directory;
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        var config = Path.Combine(directory, "prometheus.yml");
        File.WriteAllText(config, "global:\n  scrape_interval: 15s\n" + scrapeConfigs);
        _process = new PeerProcess(binary,
            [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory, "data")}", $"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"],
            new Uri(BaseUrl, "-/ready"));
    }

    public Uri BaseUrl { get; }

    public Uri WriteUrl => new(BaseUrl, "api/v1/write");

    /// <param name="scrapeConfigs">YAML appended to the configuration, e.g. a <c>scrape_configs:</c> section.</param>
    public static async Task<PrometheusPeer> StartAsync(string scrapeConfigs = "")
    {
        var binary = PeerProcess.Require("prometheus", "prometheus");
        var peer = new PrometheusPeer(binary, PeerProcess.FreePort(), PeerProcess.TempDirectory("aida-prom"), scrapeConfigs);
        await peer._process.StartAsync(TimeSpan.FromSeconds(60));
        return peer;
    }

    public string Output() => _process.Output();

    public ValueTask DisposeAsync()
    {
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
