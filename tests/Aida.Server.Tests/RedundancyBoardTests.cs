using Aida.Server.Api;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Server.Tests;

/// <summary>Each group's redundancy is worked out once for every caller within 10 s of plant time, and again at once when
/// the lockouts change: before, each call to <c>/api/redundancy</c> (every open dashboard page every 10 s) worked it out.</summary>
public sealed class RedundancyBoardTests
{
    private static readonly IReadOnlyDictionary<string, string> NoneLocked = new Dictionary<string, string>();

    [Fact]
    public async Task OneReading_ServesEveryCallerFor10sOfPlantTime_ButALockoutChangeIsReadAtOnce()
    {
        var plant = new FakeTimeProvider(DateTimeOffset.Parse("2025-07-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var store = new Tsdb(new TsdbOptions { Clock = plant });
        using var board = new RedundancyBoard(new EmbeddedQueryEngine(store), TestServer.Reference.Factory, plant);

        // Callers asking at the same plant time get one reading.
        var together = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => board.ReadAsync(NoneLocked, CancellationToken.None)));
        Assert.Equal(1, board.Evaluations);
        Assert.All(together, t => Assert.Same(together[0].Groups, t.Groups));
        Assert.Equal(plant.GetUtcNow(), together[0].At);

        plant.Advance(TimeSpan.FromSeconds(9.9));
        var cached = await board.ReadAsync(NoneLocked, CancellationToken.None);
        Assert.Equal((1, together[0].At), (board.Evaluations, cached.At));

        // chiller-1 locked out: read again now, with it out.
        var locked = await board.ReadAsync(new Dictionary<string, string> { ["chiller-1"] = "locked out" }, CancellationToken.None);
        Assert.Equal(2, board.Evaluations);
        Assert.Contains("chiller-1 (locked out)", locked.Groups.Single(g => g.Kind == "chiller").Out);
        Assert.DoesNotContain(cached.Groups.Single(g => g.Kind == "chiller").Out, o => o.StartsWith("chiller-1", StringComparison.Ordinal));

        // 10 s on: read again.
        plant.Advance(TimeSpan.FromSeconds(10));
        var later = await board.ReadAsync(new Dictionary<string, string> { ["chiller-1"] = "locked out" }, CancellationToken.None);
        Assert.Equal((3, plant.GetUtcNow()), (board.Evaluations, later.At));
    }
}
