using Aida.Twin.Physics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Twin.Tests.Physics;

public class ChillerPhysicsTests
{
    private static double Cop(double water, double ambient) => ChillerPhysics.Cop(0.5, water, ambient, 12, 30);

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property Cop_RisesWithWarmerWater() =>
        Prop.ForAll(
            (from w in Gen.Choose(50, 300) from dw in Gen.Choose(1, 100) from a in Gen.Choose(-100, 450) select (w / 10.0, dw / 10.0, a / 10.0)).ToArbitrary(),
            x => Cop(x.Item1 + x.Item2, x.Item3) >= Cop(x.Item1, x.Item3));

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property Cop_FallsWithHotterAmbient_AndStaysPositive() =>
        Prop.ForAll(
            (from w in Gen.Choose(50, 300) from a in Gen.Choose(-100, 450) from da in Gen.Choose(1, 100) select (w / 10.0, a / 10.0, da / 10.0)).ToArbitrary(),
            x => Cop(x.Item1, x.Item2 + x.Item3) <= Cop(x.Item1, x.Item2) && Cop(x.Item1, x.Item2 + x.Item3) > 0);

    [Fact]
    public void Cop_AtAhriAirCooledConditions_IsAboutThree()
    {
        // AHRI 550/590 air-cooled rating: 6.7 °C leaving water, 35 °C ambient; real units ~2.8-3.5.
        Assert.InRange(Cop(6.7, 35), 2.8, 3.6);
    }
}
