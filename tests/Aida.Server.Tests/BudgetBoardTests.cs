using System.Text.Json;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Server.Api;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Server.Tests;

/// <summary>The budgets the API serves are those the agent's policy reads: with the readings it answers as lying left out.</summary>
public sealed class BudgetBoardTests
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

    [Fact]
    public async Task AReadingTheAgentLeftOut_IsLeftOutOfTheServedBudgets_AndListed()
    {
        // Two racks for two hours; r1 reads 30 °C for the last half hour, a sensor the agent answers as lying from 01:30.
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        var end = start.AddHours(2);
        using var store = new Tsdb(new TsdbOptions { Clock = new FakeTimeProvider(end) });
        for (var rack = 0; rack < 2; rack++)
        {
            var id = store.GetOrCreateSeries(Labels.From(("__name__", "aida_rack_inlet_celsius"), ("rack", $"r{rack}")));
            for (var m = 0; m <= 120; m++)
            {
                store.Append(id, start.AddMinutes(m).ToUnixTimeMilliseconds(), rack == 1 && m > 90 ? 30 : 24);
            }
        }

        var file = Path.Combine(Path.GetTempPath(), $"aida-board-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, InletSlo);
        var slos = SloLoader.Load([file]);
        File.Delete(file);
        var exclusions = new List<ReadingExclusion>();
        using var board = new BudgetBoard(slos, new EmbeddedQueryEngine(store), new FakeTimeProvider(end), () => [.. exclusions]);
        using var asRead = new BudgetBoard(slos, new EmbeddedQueryEngine(store), new FakeTimeProvider(end));
        exclusions.Add(new ReadingExclusion(Labels.From(("__name__", "aida_rack_inlet_celsius"), ("rack", "r1")), start.AddMinutes(90), null, "incident 1: sensor-noise on r1"));

        var served = await board.ReadAsync(CancellationToken.None);
        var plain = await asRead.ReadAsync(CancellationToken.None);

        Assert.True(plain.Slos[0].BudgetConsumed > 1, "as read, r1's hot half hour spends more than the budget");
        Assert.Equal(0, served.Slos[0].BudgetConsumed);
        var view = JsonDocument.Parse(JsonSerializer.Serialize(served.ToView(), AidaApi.Json)).RootElement;
        var listed = Assert.Single(view.GetProperty("excluded_readings").EnumerateArray());
        Assert.Equal("aida_rack_inlet_celsius{rack=\"r1\"}", listed.GetProperty("series").GetString());
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("until").ValueKind);
        Assert.Equal("incident 1: sensor-noise on r1", listed.GetProperty("reason").GetString());
        Assert.Empty(JsonDocument.Parse(JsonSerializer.Serialize(plain.ToView(), AidaApi.Json)).RootElement.GetProperty("excluded_readings").EnumerateArray());
    }
}
