using System.Text.Json;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida explain over a simulated CDU pump failure: cdu-h1-a loses its pumps at 02:00 and its racks (row A of
/// hall 1) heat up.</summary>
public sealed class ExplainCommandTests
{
    private static readonly Lazy<string> PumpFailureRun = new(() =>
    {
        var dir = TempDir();
        var (code, _, err) = Invoke("simulate", "--scenario", "faults/cdu-pump-failure", "--duration", "2h15m", "--out", dir);
        return code == 0 ? dir : throw new InvalidOperationException(err);
    });

    private const string RackGpuMax = "aida_rack_gpu_max_temperature_celsius{rack=\"h1-a03\"}";
    private const string OneGpu = "DCGM_FI_DEV_GPU_TEMP{rack=\"h1-a03\", Hostname=\"h1-a03-tray05\", gpu=\"1\"}";

    private static List<JsonElement> Signals(string metric, string at = "2025-07-01T02:10:00Z")
    {
        var (code, output, err) = Invoke("explain", "--data", PumpFailureRun.Value, "--metric", metric, "--at", at, "--json");
        Assert.True(code == 0, err);
        return [.. JsonDocument.Parse(output).RootElement.GetProperty("signals").EnumerateArray()];
    }

    [Theory]
    [InlineData(RackGpuMax)] // a rack's hottest GPU
    [InlineData(OneGpu)] // one GPU's DCGM temperature
    public void GpuTemperature_OfTheFailedCdusRack_IsExplainedByThatCdusFlowFirst(string metric)
    {
        var signals = Signals(metric);

        // The pumps stopped before the GPUs heated: flow leads, falls as temperature rises, one hop away.
        var top = signals.Take(5).ToList();
        Assert.All(top, s => Assert.Equal("cdu-h1-a", s.GetProperty("asset").GetString()));
        var flow = Assert.Single(signals.Take(3), s => s.GetProperty("series").GetString()!.StartsWith("aida_cdu_flow_kg_per_second", StringComparison.Ordinal));
        Assert.True(flow.GetProperty("lead_seconds").GetDouble() >= 0);
        Assert.True(flow.GetProperty("coefficient").GetDouble() < -0.8);
        Assert.Equal(1, flow.GetProperty("hops").GetInt32());
        Assert.Contains(signals, s => s.GetProperty("series").GetString()!.StartsWith("aida_cdu_return_celsius{asset=\"cdu-h1-a\"", StringComparison.Ordinal) || s.GetProperty("series").GetString()!.StartsWith("aida_facility_water", StringComparison.Ordinal));
    }

    [Fact]
    public void Candidates_AreTheTargetsUpstreamNeighbourhood_NotItsSymptoms()
    {
        var signals = Signals(RackGpuMax);

        Assert.Equal(10, signals.Count);
        Assert.DoesNotContain(signals, s => s.GetProperty("asset").GetString() is "cdu-h1-b" or "h1-a04");
        Assert.DoesNotContain(signals, s => s.GetProperty("series").GetString()!.StartsWith("DCGM_FI_DEV_GPU_TEMP", StringComparison.Ordinal));
    }

    [Fact]
    public void Table_NamesTheTargetAndRanksTheSignals()
    {
        var (code, output, err) = Invoke("explain", "--data", PumpFailureRun.Value, "--metric", RackGpuMax, "--at", "2025-07-01T02:10:00Z", "--top", "3");

        Assert.True(code == 0, err);
        Assert.Contains("(asset h1-a03)", output, StringComparison.Ordinal);
        Assert.Contains("  1  +10s", output, StringComparison.Ordinal);
        Assert.Contains("aida_cdu_flow_kg_per_second{asset=\"cdu-h1-a\"", output, StringComparison.Ordinal);
        Assert.DoesNotContain("  4  ", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--data", "/nonexistent/run", "no such directory '/nonexistent/run'")] // unknown data dir
    [InlineData("--metric", "aida_no_such_metric{rack=\"h1-a03\"}", "matches no series")] // a selector matching nothing
    [InlineData("--metric", "aida_rack_gpu_max_temperature_celsius", "matches 80 series")] // more than one series
    [InlineData("--metric", "rate(aida_rack_power_watts", "--metric:")] // not PromQL
    [InlineData("--at", "yesterday-ish", "--at: 'yesterday-ish' is not a time")] // a bad time
    [InlineData("--window", "30", "--window:")] // a bad duration
    [InlineData("--factory", "no-such-factory", "--factory: no factory file 'no-such-factory'")] // an unknown factory
    public void BadInput_ExitsTwoWithOneClearLine(string option, string value, string message)
    {
        var args = new Dictionary<string, string>
        {
            ["--data"] = PumpFailureRun.Value, ["--metric"] = RackGpuMax, ["--at"] = "2025-07-01T02:10:00Z",
        };
        args[option] = value;

        var (code, _, err) = Invoke(["explain", .. args.SelectMany(a => new[] { a.Key, a.Value })]);

        Assert.Equal(2, code);
        Assert.Contains(message, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void ARunOfAnUnbundledScenario_FindsItsFactoryInTheSummary()
    {
        var scenario = Scratch("name: my-own-run\nfactory: ref-10mw\nstart: 2025-07-01T00:00:00Z\nduration: 1h\n");
        var dir = TempDir();
        var (code, _, err) = Invoke("simulate", "--scenario", scenario, "--duration", "40m", "--out", dir, "--slos", "none");
        Assert.True(code == 0, err);
        Assert.Contains("\"factory\": \"ref-10mw\"", File.ReadAllText(Path.Combine(dir, "summary.json")), StringComparison.Ordinal);
        (code, _, err) = Invoke("explain", "--data", dir, "--metric", RackGpuMax, "--at", "2025-07-01T00:35:00Z", "--window", "20m");
        Assert.True(code == 0, err);
    }

    [Fact]
    public void Help_NamesTheOptions()
    {
        var (code, output, _) = Invoke("explain", "--help");

        Assert.Equal(0, code);
        foreach (var option in new[] { "--data", "--metric", "--at", "--window", "--top", "--factory", "--json" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ADataDirWithoutATelemetryStore_IsBadInput()
    {
        var (code, _, err) = Invoke("explain", "--data", TempDir(), "--metric", RackGpuMax, "--at", "latest", "--factory", "ref-10mw");

        Assert.Equal(2, code);
        Assert.Contains("no telemetry store", err, StringComparison.Ordinal);
    }
}
