namespace Aida.Observability.Detection;

/// <summary>The names of the alerts <see cref="TelemetryAlerting"/> raises: what root-cause analysis reads.</summary>
public static class AlertNames
{
    public const string RackInletHigh = "RackInletHigh";
    public const string GpuNearSlowdown = "GpuNearSlowdown";

    /// <summary>One GPU (its DCGM temperature series) within the margin of its slowdown: the per-GPU alarm a site's own
    /// DCGM alerting raises, beside its rack's <see cref="GpuNearSlowdown"/>.</summary>
    public const string GpuTemperatureHigh = "GpuTemperatureHigh";
    public const string GpuThrottling = "GpuThrottling";
    public const string RackUnpowered = "RackUnpowered";
    public const string CduSupplyOffSetpoint = "CduSupplyOffSetpoint";
    public const string CduValveUnresponsive = "CduValveUnresponsive";

    /// <summary>A CDU's supply found off its setpoint by the telemetry (<see cref="CduSupplyOffSetpoint"/>,
    /// <see cref="CduValveUnresponsive"/>): a stuck valve's look, or a drifting supply reading's, which root cause tells
    /// apart by the CDU's energy balance.</summary>
    public static bool IsSupplyOffSetpoint(string name) => name is CduSupplyOffSetpoint or CduValveUnresponsive;

    /// <summary>A CDU's facility-water valve actuator reports its position apart from the one its controller commands:
    /// the actuator's own alarm (the twin's <c>valve_fault</c>), the stuck valve named by the equipment itself.</summary>
    public const string CduValveFault = "CduValveFault";
    public const string CduFlowLow = "CduFlowLow";
    public const string CduPumpFault = "CduPumpFault";
    public const string CoolantLevelLow = "CoolantLevelLow";
    public const string LeakDetected = "LeakDetected";
    public const string FacilityWaterHigh = "FacilityWaterHigh";
    public const string SetpointNotApplied = "SetpointNotApplied";
    public const string SpeedNotApplied = "SpeedNotApplied";
    public const string PowerLimitNotApplied = "PowerLimitNotApplied";
    public const string RunCommandNotApplied = "RunCommandNotApplied";
    public const string AssetFault = "AssetFault";
    public const string UtilityLost = "UtilityLost";
    public const string GeneratorNotRunning = "GeneratorNotRunning";
    public const string UpsOnBattery = "UpsOnBattery";
    public const string UpsBatteryLow = "UpsBatteryLow";
    public const string PowerSwing = "PowerSwing";
    public const string AmbientJump = "AmbientJump";
    public const string AmbientHigh = "AmbientHigh";
    public const string ColdPlateDrift = "ColdPlateDrift";
    public const string EconomiserDegraded = "EconomiserDegraded";
    /// <summary>A collector's device down (<c>aida_collector_up</c> 0 for the hold): its readings stop arriving. On the
    /// site-wide asset <see cref="TelemetryAsset"/>, so one link lost is one incident, whatever it carried.</summary>
    public const string CollectorDown = "CollectorDown";

    /// <summary>The asset of <see cref="CollectorDown"/>: the site's telemetry path, which the topology does not hold.</summary>
    public const string TelemetryAsset = "telemetry";

    public const string SensorStuck = "anomaly:stuck";
    public const string SensorDropout = "anomaly:dropout";
    public const string SensorNoise = "anomaly:noise";
    public const string EnergyBalance = "anomaly:energy-balance";
}
