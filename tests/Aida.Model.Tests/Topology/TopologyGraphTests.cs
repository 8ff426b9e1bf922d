using Aida.Model.Facility;
using Aida.Model.Topology;

namespace Aida.Model.Tests.Topology;

public class TopologyGraphTests
{
    private readonly Factory _factory = FactoryLoader.Load(Repo.Factory("ref-10mw"));

    [Fact]
    public void Downstream_OfACdu_IsItsEightRacks()
    {
        var cooled = _factory.Topology.Downstream("cdu-h1-a", EdgeKind.Cools);
        Assert.Equal(8, cooled.Count);
        Assert.All(cooled, id => Assert.StartsWith("h1-a", id, StringComparison.Ordinal));
    }

    [Fact]
    public void Downstream_OfAUtilityFeed_ReachesEveryRackThroughItsSide()
    {
        var fed = _factory.Topology.Downstream("utility-a", EdgeKind.Feeds);
        Assert.Contains("tx-a", fed);
        Assert.Contains("ups-a", fed);
        Assert.Contains("bw-h2-a", fed);
        Assert.Equal(80, fed.Count(id => _factory.Topology.AssetKinds[id] == "rack"));
        Assert.DoesNotContain("ups-b", fed);
    }

    [Fact]
    public void Upstream_OfARack_NamesBothPowerPaths()
    {
        var up = _factory.Topology.Upstream("h2-c05", EdgeKind.Feeds);
        Assert.Contains("ups-a", up);
        Assert.Contains("ups-b", up);
        Assert.Contains("gen-a", up);
    }

    [Fact]
    public void Cooling_OfARack_GoesThroughCduAndFacilityWaterToHeatRejection()
    {
        var up = _factory.Topology.Upstream("h1-b01", EdgeKind.Cools);
        Assert.Equal("cdu-h1-b", up[0]);
        Assert.Contains(TopologyGraph.FacilityWaterLoop, up);
        Assert.Contains("chiller-1", up);
        Assert.Contains("dc-1", up);
    }
}
