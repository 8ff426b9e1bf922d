namespace Aida.Telemetry.Tests.Peers;

/// <summary>A real Mosquitto broker on 127.0.0.1 with persistence in a throwaway directory, so that <see cref="Stop"/> then
/// <see cref="StartAsync"/> is a broker restart that keeps sessions and queued QoS 1 messages.</summary>
internal sealed class MosquittoPeer : IDisposable
{
    private readonly string _binary;
    private readonly string _directory;
    private readonly string _config;
    private PeerProcess? _process;

    private MosquittoPeer(string binary, int port, string directory)
    {
        _binary = binary;
        _directory = directory;
        Port = port;
        _config = Path.Combine(directory, "mosquitto.conf");
        File.WriteAllText(_config,
            $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {directory}/\nautosave_interval 0\nlog_dest stderr\nuser root\n");
    }

    public int Port { get; }

    public static async Task<MosquittoPeer> StartNewAsync()
    {
        var binary = PeerProcess.Require("mosquitto", "mosquitto");
        var peer = new MosquittoPeer(binary, PeerProcess.FreePort(), PeerProcess.TempDirectory("aida-mqtt"));
        await peer.StartAsync();
        return peer;
    }

    public async Task StartAsync()
    {
        _process = new PeerProcess(_binary, ["-c", _config], () => PeerProcess.Accepts(Port), $"on port {Port}");
        await _process.StartAsync(TimeSpan.FromSeconds(30));
    }

    public void Stop()
    {
        _process?.Stop();
        _process = null;
    }

    public string Output() => _process?.Output() ?? "";

    public void Dispose()
    {
        Stop();
        Directory.Delete(_directory, recursive: true);
    }
}
