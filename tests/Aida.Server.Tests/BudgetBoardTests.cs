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

        var slos = SloLoader.Load([.. new[] { "00-facility.yaml", "rack-inlet.yaml" }.Select(f => Aida.Model.Config.BundledFiles.Shipped("slos", f))]);
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

    [Fact]
    public async Task OnceTheRunRecordsTheBudgets_TheApiServesItsNewestEvaluation_AndTheRecordingOnlyMovesForward()
    {
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(start.AddMinutes(10));
        using var store = new Tsdb(new TsdbOptions { Clock = clock });
        var id = store.GetOrCreateSeries(Labels.From(("__name__", "aida_rack_inlet_celsius"), ("rack", "r0")));
        for (var m = 0; m <= 10; m++)
        {
            store.Append(id, start.AddMinutes(m).ToUnixTimeMilliseconds(), 24);
        }

        var slos = SloLoader.Load([.. new[] { "00-facility.yaml", "rack-inlet.yaml" }.Select(f => Aida.Model.Config.BundledFiles.Shipped("slos", f))]);
        using var board = new BudgetBoard(slos, new EmbeddedQueryEngine(store), clock);

        // An API call in the run's first minutes evaluates as of then; the recording's minutes up to it are not
        // evaluated again (its slices would count twice).
        Assert.Equal(clock.GetUtcNow(), (await board.ReadAsync(CancellationToken.None)).At);
        Assert.Null(await board.EvaluateAtAsync(start.AddMinutes(9), CancellationToken.None));
        var recorded = await board.EvaluateAtAsync(start.AddMinutes(11), CancellationToken.None);
        Assert.Equal(start.AddMinutes(11), recorded!.At);

        // Minutes later, with the loop behind, the API serves the newest recorded evaluation and makes none of its own,
        // which would put the loop's next minutes behind it.
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Same(recorded, await board.ReadAsync(CancellationToken.None));
        Assert.Equal(start.AddMinutes(12), (await board.EvaluateAtAsync(start.AddMinutes(12), CancellationToken.None))!.At);
    }
}
