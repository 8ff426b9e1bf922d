namespace Aida.Telemetry.Tests.Peers;

/// <summary>A real single-node VictoriaMetrics on 127.0.0.1; <see cref="Stop"/> and <see cref="StartAsync()"/> restart it on
/// the same port and data directory, for outage tests.</summary>
internal sealed class VictoriaMetricsPeer : IAsyncDisposable
{
    private readonly PeerProcess _process;
    private readonly string _directory;

    private VictoriaMetricsPeer(string binary, int port, string directory)
    {
        _directory = directory;
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        _process = new PeerProcess(binary,
            [$"-httpListenAddr=127.0.0.1:{port}", $"-storageDataPath={Path.Combine(directory, "data")}", "-retentionPeriod=1d", "-search.latencyOffset=0s", "-search.disableCache"],
            new Uri(BaseUrl, "health"));
    }

    public Uri BaseUrl { get; }

    public Uri WriteUrl => new(BaseUrl, "api/v1/write");

    public static async Task<VictoriaMetricsPeer> StartNewAsync()
    {
        var binary = PeerProcess.Require("victoria-metrics", "victoria-metrics");
        var peer = new VictoriaMetricsPeer(binary, PeerProcess.FreePort(), PeerProcess.TempDirectory("aida-vm"));
        await peer.StartAsync();
        return peer;
    }

    public Task StartAsync() => _process.StartAsync(TimeSpan.FromSeconds(60));

    public void Stop() => _process.Stop();

    public string Output() => _process.Output();

    public ValueTask DisposeAsync()
    {
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
