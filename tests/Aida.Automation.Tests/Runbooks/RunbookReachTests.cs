using Aida.Automation.Runbooks;
using Aida.Automation.Tests.Safety;
using Aida.Model.Config;

namespace Aida.Automation.Tests.Runbooks;

/// <summary>What a lockout takes from the agent: the shipped runbooks' steps that would write an asset, and on which
/// faults, worked out from their bindings over the factory (the reference plant: chillers 1-2 duty, 3 standby).</summary>
public sealed class RunbookReachTests
{
    private static readonly IReadOnlyList<Runbook> Shipped = Runbook.LoadDirectory(BundledFiles.Shipped("runbooks"), SafetyEnvelopeTests.Factory);

    private static List<string> Said(string asset) => [.. RunbookReach.Of(SafetyEnvelopeTests.Factory, Shipped, asset).Select(w => w.Describe(asset))];

    [Fact]
    public void TheOnlyStandbyChiller_IsWhatEveryChillerTripStarts_WhileADutyChillerIsWrittenByNoRunbook()
    {
        var standby = Said("chiller-3");
        Assert.Contains("runbook chiller-trip would start_standby it on a chiller-trip of chiller-1 or chiller-2", standby);
        Assert.Contains("runbook heat-wave would start_standby it on a heat-wave", standby); // a site-wide fault: no asset named
        Assert.Empty(Said("chiller-1"));
    }

    [Fact]
    public void ALockedOutRack_CannotBeIsolatedOnItsOwnLeak_AndAUnitIsNamedForItsNeighboursFaults()
    {
        Assert.Contains("runbook leak would isolate_rack it on its own leak (and in its restore)", Said("h1-a01"));
        Assert.Contains("runbook cdu-pump-failure would move_workload it on a cdu-pump-failure of cdu-h1-a (in its rollback and restore)", Said("h1-a01"));
        Assert.Equal(["runbook crah-fan-failure would set_speed it on a crah-fan-failure of crah-h1-2, crah-h1-3 or crah-h1-4"], Said("crah-h1-1"));
        Assert.Contains("runbook power-swing would set_speed it on a power-swing of hall-1, h1-a01, h1-a02 or 38 more", Said("cdu-h1-a"));
    }

    [Fact]
    public void AnAssetNoRunbookNames_IsReachedByNone() =>
        Assert.Empty(RunbookReach.Of(SafetyEnvelopeTests.Factory, Shipped, "no-such-asset"));
}
