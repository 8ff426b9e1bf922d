using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Aida.Telemetry.Tests.Peers;

/// <summary>One real server process on 127.0.0.1, started in the foreground, polled until ready while checked to be
/// alive, and stopped by its PID (docs PEERS.md).</summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly string _binary;
    private readonly IReadOnlyList<string> _arguments;
    private readonly Func<Task<bool>> _ready;
    private readonly string _readyWhat;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    public PeerProcess(string binary, IReadOnlyList<string> arguments, Uri readyUrl)
    {
        _binary = binary;
        _arguments = arguments;
        _readyWhat = $"at {readyUrl}";
        _environment = new Dictionary<string, string>();
        _ready = async () =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            try
            {
                using var response = await http.GetAsync(readyUrl);
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        };
    }

    /// <summary>A peer whose readiness is a probe (a TCP port that accepts, a socket file that exists), run with extra
    /// environment variables.</summary>
    public PeerProcess(string binary, IReadOnlyList<string> arguments, Func<bool> ready, string readyWhat, IReadOnlyDictionary<string, string>? environment = null)
    {
        _binary = binary;
        _arguments = arguments;
        _ready = () => Task.FromResult(ready());
        _readyWhat = readyWhat;
        _environment = environment ?? new Dictionary<string, string>();
    }

    /// <summary>Whether something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static bool Accepts(int port)
    {
        try
        {
            using var tcp = new TcpClient();
            tcp.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public int? Pid => _process?.Id;

    /// <summary>The full path of a peer binary; fails the test when it is missing and CI=true, skips it otherwise.</summary>
    public static string Require(string name, string package)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
        if (path is not null)
        {
            return path;
        }

        var message = $"peer binary '{name}' is not on PATH (apt-get install {package}); see docs PEERS.md";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail("CI=true requires the real peers: " + message);
        }

        Skip.If(true, message);
        return "";
    }

    /// <summary>A TCP port free on 127.0.0.1 at the time of asking.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string TempDirectory(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public async Task StartAsync(TimeSpan timeout)
    {
        var info = new ProcessStartInfo(_binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in _arguments)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (k, v) in _environment)
        {
            info.Environment[k] = v;
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {_binary}");
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Path.GetFileName(_binary)} exited with {_process.ExitCode} before it was ready:\n{Output()}");
            }

            if (await _ready())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                Stop();
                throw new TimeoutException($"{Path.GetFileName(_binary)} not ready {_readyWhat} within {timeout}:\n{Output()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Stops the process by PID: SIGTERM so it flushes its data (as <c>kill PID; wait PID</c>), SIGKILL if it
    /// has not exited within 20 s.</summary>
    public void Stop()
    {
        var p = _process;
        if (p is null)
        {
            return;
        }

        _process = null;
        using (p)
        {
            if (!p.HasExited)
            {
                using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                {
                    kill.WaitForExit();
                }

                if (!p.WaitForExit(TimeSpan.FromSeconds(20)))
                {
                    p.Kill();
                }
            }

            p.WaitForExit();
        }
    }

    public string Output() => string.Join('\n', _output);

    public void Dispose() => Stop();

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }
}
