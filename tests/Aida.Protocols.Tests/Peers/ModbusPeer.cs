using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Aida.Protocols.Tests.Peers;

/// <summary>A real pymodbus 3.0 Modbus TCP server (Debian's python3-pymodbus) on 127.0.0.1 running
/// <c>Peers/modbus_server.py</c>, a power meter whose map the script documents; started in the foreground, ready when
/// it accepts a TCP connection, stopped by its PID.</summary>
internal sealed class ModbusPeer : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private const string PymodbusDirectory = "/usr/lib/python3/dist-packages/pymodbus";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ModbusPeer(Process process, int port)
    {
        _process = process;
        Endpoint = new IPEndPoint(IPAddress.Loopback, port);
    }

    public IPEndPoint Endpoint { get; }

    /// <summary>Starts the peer; fails the test when pymodbus is missing and CI=true, skips it otherwise.</summary>
    public static async Task<ModbusPeer> StartAsync()
    {
        if (!File.Exists(Python) || !Directory.Exists(PymodbusDirectory))
        {
            var message = "the Modbus peer needs Debian's /usr/bin/python3 with python3-pymodbus (apt-get install python3-pymodbus python3-serial); see docs PEERS.md";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail("CI=true requires the real peers: " + message);
            }

            Skip.If(true, message);
        }

        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var script = Path.Combine(AppContext.BaseDirectory, "Peers", "modbus_server.py");
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Python} {script}");
        var peer = new ModbusPeer(process, port);
        process.OutputDataReceived += (_, e) => peer.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => peer.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (process.HasExited)
            {
                var output = peer.Output();
                peer.Dispose();
                throw new InvalidOperationException($"modbus_server.py exited with {process.ExitCode} before it was ready:\n{output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(peer.Endpoint);
                return peer;
            }
            catch (SocketException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                var output = peer.Output();
                peer.Dispose();
                throw new TimeoutException($"modbus_server.py did not accept connections on {peer.Endpoint} within 30 s:\n{output}");
            }

            // Readiness polling of a starting process, not timing of the code under test.
            await Task.Delay(100);
        }
    }

    public string Output() => string.Join('\n', _output);

    /// <summary>Kills the process by its PID and waits for it.</summary>
    public void Dispose()
    {
        using (_process)
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.WaitForExit();
        }
    }

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
