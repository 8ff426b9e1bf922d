using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Aida.Telemetry.CrashHost;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Xunit.Abstractions;

namespace Aida.Telemetry.Tests.Storage;

public sealed class TsdbCrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aida-tsdb-crash-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, true);
        }
    }

    [Fact]
    public async Task KilledWriter_KeepsEveryFlushedSample_AndNothingCorrupt()
    {
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var lines = Channel.CreateUnbounded<string>();
        using var host = new Process
        {
            StartInfo = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                ArgumentList = { HostAssembly(), _dir, start.ToString(CultureInfo.InvariantCulture) },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        host.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lines.Writer.TryWrite(e.Data);
            }
        };
        host.Start();
        host.BeginOutputReadLine();

        var lastFlushed = long.MinValue;
        var flushes = 0;
        try
        {
            while (flushes < 5)
            {
                var line = await lines.Reader.ReadAsync(timeout.Token);
                if (line.StartsWith("flushed ", StringComparison.Ordinal))
                {
                    lastFlushed = long.Parse(line["flushed ".Length..], CultureInfo.InvariantCulture);
                    flushes++;
                }
            }
        }
        finally
        {
            host.Kill();
            await host.WaitForExitAsync(CancellationToken.None);
        }

        using var db = new Tsdb(new TsdbOptions { DataDirectory = _dir });
        output.WriteLine($"last reported flush at sample {lastFlushed - start}; recovery: {db.Recovery}; problems: {string.Join("; ", db.Recovery.Problems)}");
        for (var s = 0; s < CrashSeries.Count; s++)
        {
            var samples = db.Select(long.MinValue, long.MaxValue, [new LabelMatcher("series", MatcherType.Equal, s.ToString(CultureInfo.InvariantCulture))]).Single().Samples;
            Assert.True(samples[^1].TimestampMs >= lastFlushed, $"series {s}: last sample {samples[^1].TimestampMs}, flushed up to {lastFlushed}");
            for (var i = 0; i < samples.Count; i++)
            {
                // Contiguous from the first sample, each value exactly what the host wrote, markers included.
                Assert.Equal(start + i, samples[i].TimestampMs);
                Assert.Equal(BitConverter.DoubleToUInt64Bits(CrashSeries.Value(s, i)), BitConverter.DoubleToUInt64Bits(samples[i].Value));
            }
        }

        Assert.Equal(CrashSeries.Count, db.Stats.SeriesCount);
    }

    private static string HostAssembly()
    {
        // bin/<configuration>/<framework>/ of this project, mirrored by the host's output directory.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = here.Name;
        var configuration = here.Parent!.Name;
        var path = Path.GetFullPath(Path.Combine(here.FullName, "..", "..", "..", "..", "Aida.Telemetry.CrashHost", "bin", configuration, framework, "Aida.Telemetry.CrashHost.dll"));
        Assert.True(File.Exists(path), $"crash host not built at {path}");
        return path;
    }
}
