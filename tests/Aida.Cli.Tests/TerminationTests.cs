using System.Diagnostics;
using System.Globalization;
using System.Text;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>Stopping aida with signals, as a shell user or a service manager does.</summary>
public class TerminationTests
{
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task ASecondSigterm_EndsTheProcessAt143_WithoutAnUnhandledException()
    {
        // Regression (session 13, aida compare stopped twice): System.CommandLine's termination handler set its result a
        // second time and the process aborted with an unhandled InvalidOperationException. Both signals must come while
        // the compare is going: they follow its first line, written as the runs start, and three agent runs of 6 h each
        // take tens of seconds (until session 33 the test waited for the first run to end, half a minute of CI).
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "aida.dll"), "compare", "--scenario", "reference", "--duration", "6h", "--modes", "agent", "--seeds", "1,2,3", "-j", "1", "--out", TempDir() })
        {
            start.ArgumentList.Add(arg);
        }

        using var compare = Process.Start(start)!;
        var err = new StringBuilder();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        compare.ErrorDataReceived += (_, e) =>
        {
            lock (err)
            {
                err.AppendLine(e.Data);
            }

            if (e.Data?.StartsWith("compare: 3 runs", StringComparison.Ordinal) == true)
            {
                started.TrySetResult();
            }
        };
        compare.OutputDataReceived += (_, _) => { };
        compare.BeginErrorReadLine();
        compare.BeginOutputReadLine();
        await started.Task.WaitAsync(TimeSpan.FromMinutes(5));

        for (var i = 0; i < 2; i++)
        {
            using var term = Process.Start("kill", ["-TERM", compare.Id.ToString(CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync();
        }

        await compare.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(143, compare.ExitCode);
        lock (err)
        {
            Assert.DoesNotContain("Unhandled exception", err.ToString(), StringComparison.Ordinal);
        }
    }
}
