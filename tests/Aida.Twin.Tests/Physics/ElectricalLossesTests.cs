using Aida.Model.Facility;
using Aida.Twin.Physics;

namespace Aida.Twin.Tests.Physics;

public class ElectricalLossesTests
{
    [Theory]
    [InlineData(0.25, 0.94, 0.97)] // TWIN.md: double conversion 94-97 % at 25-100 % load
    [InlineData(0.5, 0.94, 0.97)]
    [InlineData(1.0, 0.94, 0.97)]
    [InlineData(0.2, 0.85, 0.90)] // and ~85-90 % at 20 %
    public void DoubleConversion_FollowsTheTypicalCurve(double load, double min, double max) =>
        Assert.InRange(ElectricalLosses.UpsEfficiency(UpsMode.DoubleConversion, load), min, max);

    [Fact]
    public void EcoMode_IsAbout99Percent() =>
        Assert.InRange(ElectricalLosses.UpsEfficiency(UpsMode.Eco, 0.5), 0.985, 0.995);

    [Fact]
    public void TransformerLoss_IsNoLoadPlusSquareOfLoad()
    {
        var t = new Transformer("tx", "feed", 16e6, 16e3, 130e3, 1.0);
        Assert.Equal(16e3, ElectricalLosses.Transformer(t, 0), 6);
        Assert.Equal(16e3 + 130e3, ElectricalLosses.Transformer(t, 16e6), 6);
        Assert.Equal(16e3 + (130e3 / 4), ElectricalLosses.Transformer(t, 8e6), 6);

        // ~1-1.5 % at rated load (TWIN.md).
        Assert.InRange(ElectricalLosses.Transformer(t, 16e6) / 16e6, 0.005, 0.015);
    }
}
