using Aida.Model.Config;
using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Tests.OpenSlo;

public sealed class SloLoaderTests
{
    private const string Header = "apiVersion: openslo/v1\n";

    /// <summary>A minimal ratio SLO; <paramref name="target"/>, <paramref name="duration"/> and <paramref name="good"/>
    /// are put in as written.</summary>
    private static string RatioSlo(string target = "0.999", string duration = "28d", string good = "good_total") => Header + $$"""
        kind: SLO
        metadata:
          name: availability
        spec:
          service: power
          indicator:
            metadata:
              name: it-power
            spec:
              ratioMetric:
                counter: true
                good:
                  metricSource:
                    type: Prometheus
                    spec:
                      query: {{good}}
                total:
                  metricSource:
                    type: Prometheus
                    spec:
                      query: all_total
          timeWindow:
            - duration: {{duration}}
              isRolling: true
          budgetingMethod: Occurrences
          objectives:
            - target: {{target}}
        """;

    private static ConfigException Refused(string text) => Assert.Throws<ConfigException>(() => SloLoader.Parse(text, "slos.yaml"));

    [Fact]
    public void TheSyntheticPack_LoadsEveryKind_AndResolvesItsReferences()
    {
        var set = SyntheticPlant.Slos;

        Assert.Equal(["gpu-throttle-free", "rack-inlet-recommended"], set.Slos.Select(s => s.Name));
        var gpu = set.Find("gpu-throttle-free")!;
        Assert.Equal("cooling", gpu.Service);
        Assert.Equal(0.999, gpu.Objective.Target);
        Assert.Equal(TimeSpan.FromDays(30), gpu.Window.NominalLength);
        Assert.True(gpu.Window.IsRolling);
        Assert.Equal("slo_test_gpu_throttled_seconds_total", gpu.Sli.Ratio!.Bad!.Query);
        Assert.Equal("aida", gpu.Sli.Ratio.Total.DataSource);
        Assert.Same(BurnRateCondition.Workbook, gpu.AlertConditions);

        var inlet = set.Find("rack-inlet-recommended")!;
        Assert.Equal(BudgetingMethod.Timeslices, inlet.BudgetingMethod);
        Assert.Equal(ThresholdOperator.LessThanOrEqual, inlet.Objective.Operator);
        Assert.Equal(27, inlet.Objective.Value);
        Assert.Equal(TimeSpan.FromMinutes(1), inlet.Objective.TimeSliceWindow);
        var conditions = inlet.AlertConditions;
        Assert.Equal(["inlet-fast-burn", "inlet-slow-burn"], conditions.Select(c => c.Name));
        // The short window is a twelfth of OpenSLO's lookbackWindow, as in the Workbook.
        Assert.Equal(TimeSpan.FromMinutes(5), conditions[0].ShortWindow);
        Assert.Equal(TimeSpan.FromMinutes(2), conditions[0].AlertAfter);
        Assert.Equal(TimeSpan.FromHours(6), conditions[1].ShortWindow);
        Assert.Equal("facility-oncall", Assert.Single(inlet.AlertPolicies).NotificationTargets[0].Target);
        Assert.Single(set.Services);
        Assert.Single(set.DataSources);
    }

    [Fact]
    public void MalformedYaml_NamesFileAndLine()
    {
        var e = Refused(Header + "kind: SLO\nmetadata: [unclosed\n");

        Assert.StartsWith("slos.yaml:", e.Message, StringComparison.Ordinal);
        Assert.Contains("malformed YAML", e.Message, StringComparison.Ordinal);
        Assert.True(e.Line >= 2);
    }

    [Fact]
    public void AnSliQueryThatDoesNotParse_NamesTheQueryField()
    {
        var e = Refused(RatioSlo(good: "\"sum(rate(good_total[5m]\""));

        Assert.Equal("spec.indicator.spec.ratioMetric.good.metricSource.spec.query", e.Field);
        Assert.Equal(17, e.Line);
        Assert.Contains("PromQL does not parse", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("slos.yaml:17: spec.indicator.spec.ratioMetric.good.metricSource.spec.query: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARatioQueryThatIsNotASelector_AsksForASelectorOrTheWindowPlaceholder()
    {
        var e = Refused(RatioSlo(good: "\"sum(good_total)\""));

        Assert.Contains("{{.window}}", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ARatioQueryWithTheWindowPlaceholder_Loads()
    {
        var set = SloLoader.Parse(RatioSlo(good: "\"sum(increase(good_total[{{.window}}]))\""), "slos.yaml");

        Assert.True(set.Slos[0].Sli.Ratio!.Good!.IsWindowTemplate);
        Assert.Contains("increase(good_total[1h])", SliQueries.ErrorRatio(set.Slos[0], TimeSpan.FromHours(1)), StringComparison.Ordinal);
    }

    private static string Annotated(string domains) => RatioSlo().Replace(
        "  name: availability\n", $"  name: availability\n  annotations:\n    aida.io/risk-domains: {domains}\n", StringComparison.Ordinal);

    [Theory]
    [InlineData("cooling", RiskDomains.Cooling)]
    [InlineData("power", RiskDomains.Power)]
    [InlineData("cooling, power", RiskDomains.All)]
    [InlineData("none", RiskDomains.None)]
    public void TheRiskDomainsAnnotation_NamesWhichEfficiencyMovesCanSpendTheBudget(string text, RiskDomains expected)
    {
        Assert.Equal(expected, SloLoader.Parse(Annotated(text), "slos.yaml").Slos[0].RiskDomains);
    }

    [Fact]
    public void WithoutTheAnnotation_AnSloCarriesEveryDomainsRisk()
    {
        Assert.Equal(RiskDomains.All, SloLoader.Parse(RatioSlo(), "slos.yaml").Slos[0].RiskDomains);
    }

    [Theory]
    [InlineData("heat")]
    [InlineData("cooling, none")]
    [InlineData("\"\"")]
    public void AnUnknownRiskDomain_IsRefusedAtTheAnnotation(string text)
    {
        var e = Refused(Annotated(text));

        Assert.Equal("metadata.annotations.aida.io/risk-domains", e.Field);
        Assert.Equal(6, e.Line);
        Assert.Contains("domain", e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.5")] // above 1
    [InlineData("1")] // 100 % leaves no budget
    [InlineData("0")] // nothing to meet
    [InlineData("-0.2")] // negative
    public void AnObjectiveOutsideZeroOne_IsRefusedAtTheTarget(string target)
    {
        var e = Refused(RatioSlo(target: target));

        Assert.Equal("spec.objectives[0].target", e.Field);
        Assert.Equal(28, e.Line);
        Assert.Contains("outside (0, 1)", e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("thirty days")] // words
    [InlineData("30")] // no unit
    [InlineData("0d")] // zero
    [InlineData("30x")] // unknown unit
    public void AWindowThatIsNotADuration_IsRefusedAtTheDuration(string duration)
    {
        var e = Refused(RatioSlo(duration: duration));

        Assert.Equal("spec.timeWindow[0].duration", e.Field);
        Assert.Equal(24, e.Line);
        Assert.Contains("is not a duration", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ARollingQuarter_IsRefused_ACalendarQuarterLoads()
    {
        var rolling = Refused(RatioSlo(duration: "1Q"));
        Assert.Contains("calendar windows", rolling.Problem, StringComparison.Ordinal);

        var text = RatioSlo().Replace("    - duration: 28d\n      isRolling: true\n",
            "    - duration: 1Q\n      isRolling: false\n      calendar:\n        startTime: 2025-01-01 00:00:00\n        timeZone: UTC\n", StringComparison.Ordinal);
        var window = SloLoader.Parse(text, "slos.yaml").Slos[0].Window;

        Assert.False(window.IsRolling);
        var (start, end) = window.PeriodAt(new DateTimeOffset(2025, 8, 15, 12, 0, 0, TimeSpan.Zero));
        Assert.Equal(new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero), start);
        Assert.Equal(new DateTimeOffset(2025, 10, 1, 0, 0, 0, TimeSpan.Zero), end);
    }

    [Fact]
    public void AnUnknownKind_IsRefusedAtTheKind()
    {
        var e = Refused(Header + "kind: Dashboard\nmetadata:\n  name: x\nspec: {}\n");

        Assert.Equal("slos.yaml:2: kind: unknown kind 'Dashboard' (expected one of: Service, SLI, SLO, AlertPolicy, AlertCondition, AlertNotificationTarget, DataSource)", e.Message);
    }

    [Fact]
    public void AnUnknownField_IsRefusedWhereItIsWritten()
    {
        var e = Refused(RatioSlo().Replace("  service: power\n", "  service: power\n  servce: typo\n", StringComparison.Ordinal));

        Assert.Equal("slos.yaml:7: spec.servce: unknown field", e.Message);
    }

    [Fact]
    public void AReferenceToNothing_IsRefusedAtTheReference()
    {
        var text = Header + "kind: SLO\nmetadata:\n  name: a\nspec:\n  service: s\n  indicatorRef: missing\n  timeWindow:\n    - duration: 7d\n      isRolling: true\n" +
            "  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.99\n";

        var e = Refused(text);

        Assert.Equal("slos.yaml:7: spec.indicatorRef: no SLI named 'missing'", e.Message);
    }

    [Fact]
    public void AnotherApiVersion_IsRefused()
    {
        var e = Refused("apiVersion: openslo/v2alpha\nkind: Service\nmetadata:\n  name: a\nspec: {}\n");

        Assert.Equal("slos.yaml:1: apiVersion: 'openslo/v2alpha' is not supported (expected openslo/v1)", e.Message);
    }

    [Fact]
    public void AMissingFile_IsAConfigError()
    {
        var e = Assert.Throws<ConfigException>(() => SloLoader.Load(["no-such-slos.yaml"]));

        Assert.Equal("no-such-slos.yaml: file not found", e.Message);
    }
}
