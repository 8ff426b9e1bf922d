using Aida.Reliability.Frontier;

namespace Aida.Reliability.Tests.Frontier;

public class SweepSpecTests
{
    [Fact]
    public void TryParse_ReadsParameterRangeAndStep()
    {
        Assert.True(SweepSpec.TryParse("facility_water_supply=18..34:2", out var spec, out var problem), problem);
        Assert.Equal(SweepParameter.FacilityWaterSupply, spec!.Parameter);
        Assert.Equal([18, 20, 22, 24, 26, 28, 30, 32, 34], spec.Values);
    }

    [Fact]
    public void Values_IncludeTheEndDespiteBinaryFractions()
    {
        // 0.1 is not exact in binary: ten additions must still land on 20 and include it.
        Assert.True(SweepSpec.TryParse("cdu_supply=19..20:0.1", out var spec, out _));
        Assert.Equal(11, spec!.Values.Count);
        Assert.Equal(20, spec.Values[^1], 9);
    }

    [Fact]
    public void Values_StopBeforeAStepPastTheEnd()
    {
        Assert.True(SweepSpec.TryParse("crah_supply=18..23:2", out var spec, out _));
        Assert.Equal([18, 20, 22], spec!.Values);
    }

    [Theory]
    // Not the PARAM=FROM..TO:STEP form.
    [InlineData("facility_water_supply", "expected PARAM=FROM..TO:STEP")]
    [InlineData("facility_water_supply=18..34", "expected PARAM=FROM..TO:STEP")]
    [InlineData("", "expected PARAM=FROM..TO:STEP")]
    // A parameter nobody can set.
    [InlineData("chiller_colour=1..2:1", "unknown parameter 'chiller_colour'")]
    // Numbers that are not.
    [InlineData("cdu_supply=a..30:1", "must be numbers")]
    [InlineData("cdu_supply=20..30:NaN", "must be numbers")]
    // An empty range and a step that never gets there.
    [InlineData("facility_water_supply=34..18:2", "empty range")]
    [InlineData("facility_water_supply=18..34:0", "STEP must be above zero")]
    [InlineData("facility_water_supply=18..34:-2", "STEP must be above zero")]
    // Outside the plant's hard limits (facility water 10-45 °C).
    [InlineData("facility_water_supply=5..20:5", "must stay within 10..45")]
    // Too many simulations.
    [InlineData("facility_water_supply=10..45:0.01", "more than 100 points")]
    public void TryParse_RefusesBadInputSayingWhy(string text, string expected)
    {
        Assert.False(SweepSpec.TryParse(text, out var spec, out var problem));
        Assert.Null(spec);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }
}
