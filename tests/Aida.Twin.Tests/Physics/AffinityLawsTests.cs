using Aida.Twin.Physics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Twin.Tests.Physics;

public class AffinityLawsTests
{
    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property FanPower_ScalesWithTheCubeOfSpeed() =>
        Prop.ForAll(
            (from s in Gen.Choose(1, 100) from k in Gen.Choose(2, 30) select (s / 100.0, k / 10.0)).ToArbitrary(),
            x =>
            {
                var (speed, factor) = x;
                var ratio = AffinityLaws.Power(15_000, Math.Min(1, speed * factor)) / AffinityLaws.Power(15_000, speed);
                var expected = Math.Pow(Math.Min(1, speed * factor) / speed, 3);
                return Math.Abs(ratio - expected) < 1e-9 * expected;
            });

    [Fact]
    public void Flow_IsProportionalToSpeed() => Assert.Equal(15, AffinityLaws.Flow(30, 0.5), 9);
}
