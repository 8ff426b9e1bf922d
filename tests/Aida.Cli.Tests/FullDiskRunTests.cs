using System.Globalization;
using Aida.Telemetry.Tests.Storage;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary><c>aida run</c> on a data directory whose disk fills: before, the first refused write (the telemetry WAL, then
/// the audit log, then the twin's kept actuators) ended the run with "internal error: IOException: No space left on
/// device", and with it the agent's operation of the plant. On a real 8 MiB tmpfs.</summary>
public class FullDiskRunTests
{
    [SkippableFact]
    public async Task OnAFullDisk_TheAgentGoesOnOperating_SaysWhatItCannotWrite_AndOnceFreedLosesNoSampleNorAuditEntry()
    {
        using var disk = SmallDisk.Mount(8 << 10);
        using var alertmanager = await Aida.Reliability.Tests.Peers.LocalPeer.StartAlertmanagerAsync();
        var data = Path.Combine(disk.Path, "data");
        var stderr = new CapturedOutput();
        var stdout = new CapturedOutput();
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => AidaCommand.RunAsync(
            ["run", "--mode", "agent", "--speed", "600", "--status-every", "1h", "--urls", "none", "--data", data, "--duration", "4h", "--alertmanager", alertmanager.BaseUrl.ToString()],
            stdout.Writer, stderr.Writer, stop.Token));
        string Err() => stderr.ToString();

        await Until(run, () => Err().Contains("the telemetry store cannot write its WAL (No space left on device", StringComparison.Ordinal), Err);
        // The WAL's segment can be refused while a few pages are still free, and the audit log may take them, as under
        // CI once (its write never refused, the test failed): fill what is left, and again whatever the store frees, so
        // the agent's next entry is refused.
        var fillers = new List<string>();
        await Until(run, () =>
        {
            fillers.Add(disk.FillUp());
            return Err().Contains("aida run: the audit log cannot be written (SQLite Error 13", StringComparison.Ordinal);
        }, Err);
        // On-call is paged, naming what is held.
        await Until(run, () => AlertDescription(alertmanager, "AidaDataNotWritten") is { } d && d.Contains("the telemetry store's WAL since", StringComparison.Ordinal), Err);

        fillers.ForEach(File.Delete);
        disk.Grow(256 << 10);
        await Until(run, () => Err().Contains("aida run: the telemetry store writes its WAL again", StringComparison.Ordinal)
            && Err().Contains("aida run: the audit log writes again", StringComparison.Ordinal), Err);
        await Until(run, () => AlertDescription(alertmanager, "AidaDataNotWritten") is null, Err);
        Assert.Equal(0, await run);
        Assert.DoesNotContain("internal error", Err(), StringComparison.Ordinal);

        // Every entry the agent sealed while the disk was full is on it, chained; and every 10 s sample of the 4 hours.
        var verify = Invoke("audit", "verify", "--data", data);
        Assert.True(verify.Code == 0, verify.Out + verify.Err);
        var all = Invoke("query", "--data", data, "count_over_time(aida_it_power_watts[6h])", "--at", Start(stdout).AddHours(5).ToString("O", CultureInfo.InvariantCulture));
        Assert.True(all.Code == 0, all.Err);
        Assert.Matches(@"\}  1441\n", all.Out); // every 10 s from 0 to 4 h
    }

    [SkippableFact]
    public async Task ALeakFoundWhileTheDiskIsFull_IsStoredAsAnIncident_AndItsRunbookIsolatesTheRack_OnTheDiskReserve()
    {
        // Before, the leak's incident could not be stored, so its runbook never ran: "agent: not found", the rack's GPUs
        // shut down by their own protection. Now the run gives back its 32 MiB reserve at the first refused write.
        using var disk = SmallDisk.Mount(120 << 10);
        var data = Path.Combine(disk.Path, "data");
        var stderr = new CapturedOutput();
        var stdout = new CapturedOutput();
        var run = Task.Run(() => AidaCommand.RunAsync(
            ["run", "--scenario", "faults/leak", "--mode", "agent", "--speed", "600", "--status-every", "1h", "--urls", "none", "--data", data, "--duration", "4h"],
            stdout.Writer, stderr.Writer, CancellationToken.None));
        await Until(run, () => stdout.ToString().Contains("aida run: leak", StringComparison.Ordinal), stderr.ToString);
        Assert.True(File.Exists(Path.Combine(data, "disk-reserve")), "no disk reserve taken: " + stderr);
        var filler = disk.FillUp();

        // The leak starts 2 h in; at the 3 h status line it has been handled on the full disk, which is then freed, so
        // the summary's read of the incidents at the end does not meet it.
        await Until(run, () => stdout.ToString().Split('\n').Count(l => l.StartsWith("20", StringComparison.Ordinal)) >= 4, stderr.ToString);
        Assert.Contains("aida run: gave back the 32 MiB disk reserve in the data directory", stderr.ToString(), StringComparison.Ordinal);
        File.Delete(filler);

        Assert.Equal(0, await run);
        var said = stderr.ToString();
        Assert.DoesNotContain("internal error", said, StringComparison.Ordinal);
        Assert.Matches(@"fault +leak on h1-c03 from 2 h to 8 h; agent: found after [\d.]+ min, runbook leak Succeeded", stdout.ToString());
        var verify = Invoke("audit", "verify", "--data", data);
        Assert.True(verify.Code == 0, verify.Out + verify.Err);
    }

    /// <summary>The description of the active alert named <paramref name="name"/> in Alertmanager; null when none.</summary>
    private static string? AlertDescription(Aida.Reliability.Tests.Peers.LocalPeer alertmanager, string name)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var alerts = System.Text.Json.JsonDocument.Parse(http.GetStringAsync(new Uri(alertmanager.BaseUrl, "api/v2/alerts")).GetAwaiter().GetResult());
        return alerts.RootElement.EnumerateArray()
            .Where(a => a.GetProperty("labels").TryGetProperty("alertname", out var n) && n.GetString() == name)
            .Select(a => a.GetProperty("annotations").GetProperty("description").GetString())
            .FirstOrDefault();
    }

    /// <summary>The plant clock's start, from the run's first status line.</summary>
    private static DateTimeOffset Start(CapturedOutput stdout)
    {
        var line = stdout.ToString().Split('\n').First(l => l.StartsWith("20", StringComparison.Ordinal));
        return DateTimeOffset.ParseExact(line[..19], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
    }

    private static async Task Until(Task<int> run, Func<bool> done, Func<string> said)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!done())
        {
            Assert.False(run.IsCompleted, "aida run stopped: " + said());
            Assert.True(DateTime.UtcNow < deadline, "not within 120 s: " + said());
            await Task.Delay(100);
        }
    }
}
