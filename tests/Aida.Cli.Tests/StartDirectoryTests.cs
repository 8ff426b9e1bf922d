using System.Diagnostics;
using System.Text;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>Aida's web servers do not watch the directory they are started from. Before, ASP.NET Core's default host
/// put an inotify watch on it and on every directory under it, for an appsettings file Aida does not read: an
/// <c>aida run</c> started in /tmp held 14,007 watches; started in / it would walk the whole file system at start and
/// could spend the user's inotify limit (8,192 by default on many kernels).</summary>
public class StartDirectoryTests
{
    [Fact]
    public async Task AidaRun_ItsPrometheusApi_AndTheTwinsRedfishFace_PutNoWatchOnTheDirectoryTheyStartIn()
    {
        if (!Directory.Exists("/proc/self/fdinfo"))
        {
            Assert.Fail("this test reads the process's inotify watches from /proc (Linux)");
        }

        var start = TempDir();
        for (var i = 0; i < 300; i++)
        {
            Directory.CreateDirectory(Path.Combine(start, "sub", $"d{i}"));
        }

        // aida run serving the dashboard and API (AidaApi) and the Prometheus API on its own address (ApiHost).
        var port = FreePort();
        using (var run = Start(start, "run", "--mode", "human", "--speed", "60", "--status-every", "1h", "--urls", $"http://127.0.0.1:{port}", "--listen", $"127.0.0.1:{FreePort()}", "--data", Path.Combine(TempDir(), "data")))
        {
            await UntilSaid(run.Process, run.Output, $"Aida on http://127.0.0.1:{port}/");
            await UntilSaid(run.Process, run.Output, "aida run:");
            Assert.Equal(0, Watches(run.Process));
        }

        // aida twin serve: a Redfish service for the racks.
        using (var twin = Start(start, "twin", "serve", "--base-port", "0", "--speed", "60", "--status-every", "1h"))
        {
            await UntilSaid(twin.Process, twin.Output, "redfish ");
            Assert.Equal(0, Watches(twin.Process));
        }
    }

    /// <summary>The inotify watches <paramref name="process"/> holds, over all its inotify descriptors.</summary>
    private static int Watches(Process process) =>
        Directory.EnumerateFiles($"/proc/{process.Id}/fdinfo")
            .Select(f =>
            {
                try
                {
                    return File.ReadAllLines(f).Count(l => l.StartsWith("inotify wd:", StringComparison.Ordinal));
                }
                catch (IOException)
                {
                    return 0; // a descriptor closed meanwhile
                }
            })
            .Sum();

    private sealed record Running(Process Process, StringBuilder Output) : IDisposable
    {
        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
            }

            Process.Dispose();
        }
    }

    private static Running Start(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "aida.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        var output = new StringBuilder();
        DataReceivedEventHandler keep = (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += keep;
        process.ErrorDataReceived += keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Running(process, output);
    }

    private static async Task UntilSaid(Process process, StringBuilder output, string text)
    {
        string Text()
        {
            lock (output)
            {
                return output.ToString();
            }
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Text().Contains(text, StringComparison.Ordinal))
        {
            Assert.False(process.HasExited, $"aida stopped before it said '{text}': {Text()}");
            Assert.True(DateTime.UtcNow < deadline, $"aida did not say '{text}' within 60 s: {Text()}");
            await Task.Delay(100);
        }
    }
}
