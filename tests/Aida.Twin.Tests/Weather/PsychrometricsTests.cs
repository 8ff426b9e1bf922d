using Aida.Twin.Weather;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Twin.Tests.Weather;

public class PsychrometricsTests
{
    [Property(MaxTest = 200, Replay = "1234567890123456789,987654321987654321")]
    public Property WetBulb_LiesBetweenDewPointAndDryBulb() =>
        Prop.ForAll(
            (from t in Gen.Choose(-200, 450) from depression in Gen.Choose(0, 300) select (t / 10.0, t / 10.0 - depression / 10.0)).ToArbitrary(),
            x =>
            {
                var wb = Psychrometrics.WetBulb(x.Item1, x.Item2, 101_325);
                return wb <= x.Item1 + 1e-6 && wb >= x.Item2 - 1e-6;
            });

    [Theory]
    [InlineData(20, 50)] // Stull (2011) check value: T 20 °C, RH 50 % -> Tw 13.7 °C
    [InlineData(30, 70)]
    [InlineData(35, 25)]
    [InlineData(10, 90)]
    public void WetBulb_AgreesWithStull2011_WithinOneKelvin(double t, double rh)
    {
        // Dew point from RH by inverting the Magnus saturation pressure.
        var e = rh / 100 * Psychrometrics.SaturationPressure(t);
        var lnRatio = Math.Log(e / 610.94);
        var dew = 243.04 * lnRatio / (17.625 - lnRatio);
        Assert.InRange(Psychrometrics.WetBulb(t, dew, 101_325) - Psychrometrics.WetBulbStull(t, rh), -1, 1);
    }

    [Fact]
    public void WetBulb_Saturated_EqualsDryBulb() =>
        Assert.Equal(25, Psychrometrics.WetBulb(25, 25, 101_325), 3);
}
