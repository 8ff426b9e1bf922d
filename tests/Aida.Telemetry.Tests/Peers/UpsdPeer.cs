namespace Aida.Telemetry.Tests.Peers;

/// <summary>A real upsd with the dummy-ups driver on 127.0.0.1, in a throwaway directory; <see cref="WriteDummy"/> edits the
/// file the driver re-reads (about every 3 s).</summary>
internal sealed class UpsdPeer : IDisposable
{
    public const string Ups = "dummy";

    /// <summary>The upsd user that may run instant commands and set variables; its password has a space (quoted).</summary>
    public const string User = "aida";

    public const string Password = "two words";

    /// <summary>A user upsd knows that may do neither.</summary>
    public const string Watcher = "watcher";

    private readonly string _directory;
    private readonly PeerProcess _driver;
    private readonly PeerProcess _upsd;

    private UpsdPeer(string directory, int port)
    {
        _directory = directory;
        Port = port;
        var state = Path.Combine(directory, "state");
        Directory.CreateDirectory(state);
        File.WriteAllText(Path.Combine(directory, "ups.conf"), $"[{Ups}]\n  driver = dummy-ups\n  port = dummy.dev\n  desc = \"Aida test UPS\"\n");
        File.WriteAllText(Path.Combine(directory, "upsd.conf"), $"LISTEN 127.0.0.1 {port}\nMAXAGE 30\n");
        File.WriteAllText(Path.Combine(directory, "upsd.users"),
            $"[{User}]\n  password = \"{Password}\"\n  instcmds = all\n  actions = SET\n[{Watcher}]\n  password = {Watcher}\n");
        WriteDummy("OL");
        var env = new Dictionary<string, string> { ["NUT_CONFPATH"] = directory, ["NUT_STATEPATH"] = state, ["NUT_ALTPIDPATH"] = state };
        var socket = Path.Combine(state, "dummy-ups-" + Ups);
        _driver = new PeerProcess("/lib/nut/dummy-ups", ["-a", Ups, "-F", "-u", "root"], () => File.Exists(socket), $"(socket {socket})", env);
        _upsd = new PeerProcess("/lib/nut/upsd", ["-F", "-u", "root"], () => PeerProcess.Accepts(port), $"on port {port}", env);
    }

    public int Port { get; }

    public static async Task<UpsdPeer> StartNewAsync()
    {
        if (!File.Exists("/lib/nut/upsd") || !File.Exists("/lib/nut/dummy-ups"))
        {
            const string message = "/lib/nut/upsd or /lib/nut/dummy-ups is missing (apt-get install nut-server); see docs PEERS.md";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail("CI=true requires the real peers: " + message);
            }

            Skip.If(true, message);
        }

        var peer = new UpsdPeer(PeerProcess.TempDirectory("aida-nut"), PeerProcess.FreePort());
        try
        {
            await peer._driver.StartAsync(TimeSpan.FromSeconds(30));
            await peer._upsd.StartAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            peer.Dispose();
            throw;
        }

        return peer;
    }

    /// <summary>Rewrites the dummy driver's data file with the given status and fixed readings.</summary>
    public void WriteDummy(string status, double charge = 87, long uptime = 86_400)
    {
        var text = $"ups.status: {status}\nbattery.charge: {charge.ToString(System.Globalization.CultureInfo.InvariantCulture)}\nbattery.runtime: 1800\ndevice.uptime: {uptime}\n" +
                   "input.voltage: 230.1\noutput.voltage: 229.8\nups.load: 23\nups.mfr: Aida Test\nbattery.charge.low: 20\ninput.eco.switchable: ECO\n";
        var path = Path.Combine(_directory, "dummy.dev");
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Waits (bounded) until upsd has the driver's first readings: right after start it answers
    /// <c>ERR DATA-STALE</c> or lacks the variables.</summary>
    public async Task WaitForDataAsync(Aida.Protocols.Nut.NutClient client, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            try
            {
                await client.GetVarAsync(Ups, "input.voltage", default);
                return;
            }
            catch (Aida.Protocols.Nut.NutErrorException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public string Output() => _driver.Output() + "\n" + _upsd.Output();

    public void Dispose()
    {
        _upsd.Dispose();
        _driver.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
