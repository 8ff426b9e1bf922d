using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aida.Telemetry.Storage;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary><c>aida run</c> as an operator starts it: a process with no arguments but its address and data directory,
/// killed with SIGKILL and started again. The first start issues an admin key; a kill loses no audit entry and no more
/// telemetry than the store's WAL flush interval; the restart resumes the plant clock after the kept telemetry, and
/// SIGTERM stops it cleanly.</summary>
[Collection(WireTiming.Name)]
public class RunRestartTests
{
    private const double Speed = 60;

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task AKill9_LosesNoAuditEntry_NorMoreTelemetryThanTheWalFlushInterval_AndTheRestartResumes()
    {
        var dir = TempDir();
        var port = FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var first = Start(dir, port);
        await UntilUp(http, first);
        var keyFile = Path.Combine(dir, "admin.key");
        Assert.True(File.Exists(keyFile), "the first start wrote no admin key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        var admin = (await File.ReadAllTextAsync(keyFile)).Trim();
        Assert.Equal(HttpStatusCode.OK, (await Get(http, "/api/factory", admin)).StatusCode);
        var page = await http.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);

        // Audited work: a fan trim the guard lets through, a rack isolation that waits for an approver.
        Assert.Equal(HttpStatusCode.Accepted, (await Post(http, "/api/actions", admin, """{"kind":"set_speed","asset":"cdu-h1-a","value":0.9,"reason":"trim"}""")).StatusCode);
        var isolation = await Post(http, "/api/actions", admin, """{"kind":"isolate_rack","asset":"h1-a02","value":1,"reason":"drip"}""");
        Assert.Equal(HttpStatusCode.Accepted, isolation.StatusCode);
        var isolationId = (await Json(isolation)).GetProperty("id").GetString();
        var audited = (await Json(await Get(http, "/api/audit?limit=10000", admin))).EnumerateArray()
            .Select(e => (e.GetProperty("sequence").GetInt64(), e.GetProperty("hash").GetString())).ToArray();
        Assert.NotEmpty(audited);
        var newestServed = await NewestItPowerSample(http, admin);

        first.Kill(); // SIGKILL: nothing flushed on the way out
        await first.WaitForExitAsync();

        // Offline, as an operator would check after a crash: the chain is intact and holds every entry served before.
        Assert.Equal(0, Invoke("audit", "verify", "--data", dir).Code);
        var kept = AuditEntries(dir);
        foreach (var (sequence, hash) in audited)
        {
            Assert.Equal(hash, kept[sequence]);
        }

        // The isolation still waiting for an approver is kept beside the audit log (before session 35 the restart lost it).
        var waiting = Assert.Single(Aida.Automation.Actions.KeptActions.Read(Path.Combine(dir, "pending-actions.json")));
        Assert.Equal((isolationId, "h1-a02"), (waiting.Id, waiting.Asset));

        DateTimeOffset newestKept;
        using (var store = new Tsdb(new TsdbOptions { DataDirectory = Path.Combine(dir, "tsdb") }))
        {
            newestKept = DateTimeOffset.FromUnixTimeMilliseconds(store.MaxTimeMs!.Value);
        }

        // The WAL is flushed every TsdbOptions.WalFlushInterval of the store's clock, which is plant time here: Speed
        // times that in plant time is a wall-clock interval's worth, a looser bound than the store promises.
        var allowed = TimeSpan.FromSeconds(new TsdbOptions().WalFlushInterval.TotalSeconds * Speed);
        Assert.True(newestKept >= newestServed - allowed, $"kept up to {newestKept:O}, served {newestServed:O}: lost more than {allowed}");

        using var second = Start(dir, port);
        var output = await UntilUp(http, second);
        Assert.DoesNotContain("first start", output(), StringComparison.Ordinal);
        Assert.Contains("resuming", output(), StringComparison.Ordinal);
        Assert.Contains($"resuming: 1 action(s) proposed over the API wait for an approver again ({isolationId} until", output(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Get(http, "/api/factory", admin)).StatusCode);
        // Approved after the restart, under its id (the plant clock resumed after the kept telemetry, so its 15 min of
        // plant time are 15 s of wall time at this speed, from the restart).
        var approved = await Post(http, $"/api/actions/{isolationId}/approve", admin, "{}");
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        Assert.Equal("executed", (await Json(approved)).GetProperty("state").GetString());
        Assert.Empty(Aida.Automation.Actions.KeptActions.Read(Path.Combine(dir, "pending-actions.json")));
        Assert.Equal(HttpStatusCode.Accepted, (await Post(http, "/api/actions", admin, """{"kind":"set_speed","asset":"cdu-h1-b","value":0.9,"reason":"trim"}""")).StatusCode);
        var resumed = await NewestItPowerSample(http, admin);
        Assert.True(resumed > newestKept, $"the restarted run's newest sample {resumed:O} is not after the kept {newestKept:O}");

        second.StandardInput.Close();
        using (var term = Process.Start("kill", ["-TERM", second.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        await second.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("mean time to fix", output(), StringComparison.Ordinal); // the summary: a clean stop
        Assert.Equal(0, Invoke("audit", "verify", "--data", dir).Code);
        Assert.True(AuditEntries(dir).Count > kept.Count, "the restarted run appended nothing to the audit log");
    }

    /// <summary>Every entry of the run's audit log: its hash by sequence number.</summary>
    private static Dictionary<long, string> AuditEntries(string dir)
    {
        using var log = new Aida.Automation.Audit.AuditLog(Path.Combine(dir, "audit.db"), TimeProvider.System);
        var entries = log.Read().ToDictionary(e => e.Sequence, e => e.Hash);
        return entries;
    }

    private static Process Start(string dir, int port)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "aida.dll"), "run", "--speed", Speed.ToString(CultureInfo.InvariantCulture), "--status-every", "1h", "--urls", $"http://127.0.0.1:{port}", "--data", dir })
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    private static async Task<Func<string>> UntilUp(HttpClient http, Process run)
    {
        var output = new StringBuilder();
        run.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        run.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        run.BeginOutputReadLine();
        run.BeginErrorReadLine();
        string Text()
        {
            lock (output)
            {
                return output.ToString();
            }
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(run.HasExited, "aida run stopped before it answered: " + Text());
            try
            {
                if ((await http.GetAsync("/healthz")).IsSuccessStatusCode && Text().Contains("aida run:", StringComparison.Ordinal))
                {
                    return Text;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        Assert.Fail("aida run did not answer within 60 s: " + Text());
        return Text;
    }

    /// <summary>The newest IT-power sample the run serves, polled until there is one.</summary>
    private static async Task<DateTimeOffset> NewestItPowerSample(HttpClient http, string key)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var result = (await Json(await Get(http, "/api/v1/query?query=timestamp(aida_it_power_watts)", key))).GetProperty("data").GetProperty("result");
            if (result.GetArrayLength() > 0)
            {
                var seconds = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
                return DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
            }

            await Task.Delay(100);
        }

        Assert.Fail("no IT power sample within 60 s");
        return default;
    }

    private static async Task<HttpResponseMessage> Get(HttpClient http, string path, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request);
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}
