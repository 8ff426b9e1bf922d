namespace Aida.Twin.Plant;

/// <summary>Energy and extremes accumulated over a run, from the plant's true state (evaluation only).</summary>
internal sealed class PlantTotals
{
    public double ItJoules;
    public double ChillerJoules;
    public double DryCoolerJoules;
    public double CoolingTowerJoules;
    public double CondenserPumpJoules;

    /// <summary>Water the cooling towers drew: evaporation and blowdown (the make-up), litres.</summary>
    public double WaterLitres;
    public double FacilityPumpJoules;
    public double CduPumpJoules;
    public double CrahFanJoules;
    public double TransformerLossJoules;
    public double UpsLossJoules;
    public double BuswayLossJoules;
    public double MiscJoules;
    public double HeatRejectedJoules;
    public double HeatIntoWaterJoules;
    public double MaxRackInlet = double.MinValue;
    public double MaxGpuTemp = double.MinValue;
    public double MaxFacilityWaterSupply = double.MinValue;
    public double GpuThrottledSeconds;
    public double GpuShutdownSeconds;
    public double GpuPausedSeconds;
    public double GpuCappedSeconds;
    public double UpsOnBatterySeconds;
    public double MinUpsBattery = 1;
    public double ItUnpoweredRackSeconds;
    public double EconomiserSeconds;

    public double CoolingJoules => ChillerJoules + DryCoolerJoules + CoolingTowerJoules + CondenserPumpJoules + FacilityPumpJoules + CduPumpJoules + CrahFanJoules;

    public double LossJoules => TransformerLossJoules + UpsLossJoules + BuswayLossJoules;

    public double FacilityJoules => ItJoules + CoolingJoules + LossJoules + MiscJoules;
}
