using System.Text.Json;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary><c>aida slo rules</c> and <c>aida slo status</c>, and the SLO statuses a live run records.</summary>
public class SloCommandTests
{
    private const string InletSlo = """
        apiVersion: openslo/v1
        kind: SLO
        metadata:
          name: rack-inlet
        spec:
          service: cooling
          indicator:
            metadata:
              name: rack-inlet-max
            spec:
              thresholdMetric:
                metricSource:
                  type: Prometheus
                  spec:
                    query: max_over_time(aida_rack_inlet_celsius[1m])
          timeWindow:
            - duration: 1d
              isRolling: true
          budgetingMethod: Timeslices
          objectives:
            - target: 0.99
              op: lte
              value: 27
              timeSliceWindow: 1m
        """;

    [Theory]
    [InlineData("slo")]
    [InlineData("slo", "rules")]
    [InlineData("slo", "status")]
    public void SloVerbs_HaveHelp(params string[] verb)
    {
        var (code, output, _) = Invoke([.. verb, "--help"]);

        Assert.Equal(0, code);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Contains(verb[^1], output, StringComparison.Ordinal);
    }

    [Fact]
    public void Rules_WritesRecordingAndAlertingRules()
    {
        var path = Scratch(InletSlo, "slos.yaml");
        var outFile = Path.Combine(Path.GetDirectoryName(path)!, "rules.yml");

        var (code, output, err) = Invoke("slo", "rules", path, "--out", outFile);

        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Contains("1 SLOs, 6 recording rules, 3 alerting rules", output, StringComparison.Ordinal);
        var rules = File.ReadAllText(outFile);
        Assert.Contains("record: \"slo:sli_error:ratio_rate1h\"", rules, StringComparison.Ordinal);
        Assert.Contains("alert: \"SLOBurnRatePage\"", rules, StringComparison.Ordinal);
    }

    [Fact]
    public void Rules_OnAnObjectiveOutsideZeroOne_ExitsTwoNamingFileLineAndField()
    {
        var path = Scratch(InletSlo.Replace("target: 0.99", "target: 99", StringComparison.Ordinal), "slos.yaml");

        var (code, _, err) = Invoke("slo", "rules", path);

        Assert.Equal(2, code);
        Assert.StartsWith($"aida: {path}:21: spec.objectives[0].target: 99 is outside (0, 1)", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_WithoutAStore_ExitsTwo()
    {
        var path = Scratch(InletSlo, "slos.yaml");

        var (code, _, err) = Invoke("slo", "status", "--data", "/nonexistent/run", path);

        Assert.Equal(2, code);
        Assert.Contains("--data: no telemetry store in '/nonexistent/run'", err, StringComparison.Ordinal);
    }

    /// <summary>Two racks for two hours, one sample a minute; rack r1 runs at 30 °C for the last 30 minutes.</summary>
    private static string TwoRacksStore()
    {
        var dir = TempDir();
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        using var store = new Tsdb(new TsdbOptions { DataDirectory = dir, Retention = TimeSpan.FromDays(3650) });
        for (var rack = 0; rack < 2; rack++)
        {
            var id = store.GetOrCreateSeries(Labels.From(("__name__", "aida_rack_inlet_celsius"), ("rack", $"r{rack}")));
            for (var m = 0; m <= 120; m++)
            {
                store.Append(id, start.AddMinutes(m).ToUnixTimeMilliseconds(), rack == 1 && m > 90 ? 30 : 24);
            }
        }

        return dir;
    }

    [Fact]
    public void Status_WithAReadingLeftOut_CountsNeitherItsSlicesNorItsBreach()
    {
        // r1's hot half hour is a sensor a person found lying: left out from 01:30 on, the SLO spends nothing, and r0's
        // slices still count (121 + r1's 91 before 01:31).
        var dir = TwoRacksStore();
        var path = Scratch(InletSlo, "slos.yaml");

        var (code, output, err) = Invoke("slo", "status", "--data", dir, path, "--exclude", "aida_rack_inlet_celsius{rack=\"r1\"}@2025-07-01T01:30:00Z..");

        Assert.Equal("", err);
        Assert.Equal(0, code);
        Assert.Contains("attained 100 %  budget consumed 0 %", output, StringComparison.Ordinal);
        Assert.Contains("left out: aida_rack_inlet_celsius{rack=\"r1\"} from 2025-07-01 01:30:00Z: rack-inlet", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("aida_rack_inlet_celsius{rack=\"r1\"}", "is not SELECTOR@FROM..UNTIL")]
    [InlineData("aida_rack_inlet_celsius{rack=~\"r.*\"}@2025-07-01T01:30:00Z..", "with = matchers only")]
    [InlineData("aida_rack_inlet_celsius{}@2025-07-01T01:30:00Z..", "no label names the series")]
    [InlineData("aida_rack_inlet_celsius{rack=\"\"}@2025-07-01T01:30:00Z..", "matches every series without the label")]
    [InlineData("aida_rack_inlet_celsius{rack=\"r1\"}@2025-07-01T01:30:00Z..2025-07-01T01:00:00Z", "is not after from")]
    [InlineData("aida_rack_inlet_celsius{rack=\"r1\"}@yesterday..", "'yesterday' is not a time")]
    public void Status_WithAMalformedExclusion_ExitsTwo_NamingIt(string exclude, string problem)
    {
        var dir = TwoRacksStore();
        var path = Scratch(InletSlo, "slos.yaml");

        var (code, _, err) = Invoke("slo", "status", "--data", dir, path, "--exclude", exclude);

        Assert.Equal(2, code);
        Assert.StartsWith("aida: --exclude: ", err, StringComparison.Ordinal);
        Assert.Contains(problem, err, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_PrintsBudgetAndBurnRatesOfAStoredRun()
    {
        var dir = TwoRacksStore();
        var path = Scratch(InletSlo, "slos.yaml");
        var (code, output, err) = Invoke("slo", "status", "--data", dir, path);

        Assert.Equal("", err);
        Assert.Equal(0, code);
        Assert.Contains("SLO status at 2025-07-01 02:00:00 UTC", output, StringComparison.Ordinal);
        Assert.Contains("rack-inlet (cooling)  objective 99 % over 1d", output, StringComparison.Ordinal);
        // 30 of 2 x 121 rack-minutes hot: 12.4 % bad against a 1 % budget.
        Assert.Contains("budget consumed 1239.67 %", output, StringComparison.Ordinal);
        Assert.Contains("exhausted already", output, StringComparison.Ordinal);
        Assert.Contains("page page-fast-burn", output, StringComparison.Ordinal);
    }

    /// <summary>Regression (session 57's closing note): the SLO series were recorded only by the run's API, so a run with
    /// <c>--urls none</c> kept no budget history in its store.</summary>
    [Fact]
    public void ARunWithoutItsApi_RecordsTheSloStatusesOnceAPlantMinute_AsItsApiWould()
    {
        var dir = TempDir();
        var run = Invoke("run", "--data", dir, "--duration", "30m", "--speed", "100000", "--status-every", "30m", "--urls", "none");
        Assert.True(run.Code == 0, run.Err);

        var counted = Invoke("query", "--data", dir, "count_over_time(aida_slo_burn_rate{slo=\"gpu-throttle-free\",window=\"1h\"}[2h])", "--json");
        Assert.True(counted.Code == 0, counted.Err);
        var result = Assert.Single(JsonDocument.Parse(counted.Out).RootElement.GetProperty("data").GetProperty("result").EnumerateArray());
        Assert.Equal("30", result.GetProperty("value")[1].GetString());

        // Each SLO's budget left, a whole one or less, and the efficiency regime granted: one of three, never two.
        var left = Invoke("query", "--data", dir, "aida_slo_error_budget_remaining_ratio", "--json");
        var budgets = JsonDocument.Parse(left.Out).RootElement.GetProperty("data").GetProperty("result").EnumerateArray().ToList();
        Assert.True(budgets.Count >= 5, left.Out);
        Assert.All(budgets, b => Assert.InRange(double.Parse(b.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture), -100, 1));
        var regime = Invoke("query", "--data", dir, "sum by (domain) (aida_efficiency_regime)", "--json");
        Assert.All(JsonDocument.Parse(regime.Out).RootElement.GetProperty("data").GetProperty("result").EnumerateArray(),
            d => Assert.Equal("1", d.GetProperty("value")[1].GetString()));
    }

    /// <summary>A live run's store kept 15 days while the bundled SLOs' budgets read 28-day windows: after 15 days
    /// (or a restart) they counted half their window. It now keeps the longest window and a day.</summary>
    [Fact]
    public void ALiveRunsStore_KeepsTheLongestSloWindowAndADay_NeverLessThanTheStoresDefault()
    {
        var bundled = LiveTelemetry.BundledSlos();
        Assert.NotNull(bundled);
        Assert.Equal(28, bundled.Slos.Max(s => s.Window.NominalLength).TotalDays);
        Assert.Equal(TimeSpan.FromDays(29), LiveTelemetry.RetentionFor(bundled));
        Assert.Equal(TimeSpan.FromDays(15), LiveTelemetry.RetentionFor(null));
        // A pack whose longest window is a day: the store's default still holds.
        var daily = Aida.Reliability.OpenSlo.SloLoader.Load([Scratch(InletSlo, "slos.yaml")]);
        Assert.Equal(TimeSpan.FromDays(15), LiveTelemetry.RetentionFor(daily));
    }
}
