using Aida.Protocols.Redfish;

namespace Aida.Protocols.Tests.Redfish;

public class PowerReadingsTests
{
    [Theory]
    [InlineData(415.0, "Enabled", null, null, 1.0)] // line power at the input
    [InlineData(0.0, "UnavailableOffline", null, null, 0.0)] // the busway dead
    [InlineData(0.0, "Enabled", 230.0, "Enabled", 1.0)] // one of two feeds lost: still powered
    [InlineData(415.0, "UnavailableOffline", null, null, 0.0)] // a voltage left over on a supply that says it is offline
    [InlineData(415.0, "Absent", 0.0, "Enabled", 0.0)]
    public void InputLive_IsOneWhileASupplyReadsLinePower(double volts, string state, double? otherVolts, string? otherState, double live)
    {
        List<PowerSupplyReading> supplies = [new("0", volts, state)];
        if (otherState is not null)
        {
            supplies.Add(new("1", otherVolts, otherState));
        }

        Assert.Equal(live, new PowerReadings([], null) { Supplies = supplies }.InputLive());
    }

    [Fact]
    public void InputLive_SaysNothingWithoutAVoltage()
    {
        Assert.Null(new PowerReadings([], null).InputLive());
        Assert.Null(new PowerReadings([], null) { Supplies = [new("0", null, "Enabled")] }.InputLive());
    }
}
