namespace Aida.Twin.Operators;

/// <summary>What an alarm is about; each kind has its own manual fix.</summary>
internal enum AlarmKind
{
    GpuHot,
    RackInletHot,
    FacilityWaterHot,
    CduSupplyHot,
    CduNoFlow,
    PumpFault,
    ChillerFault,
    CrahFault,
    Leak,
    OnBattery,
    UtilityLost,
    SensorSilent,
}

/// <summary>An alarm on one asset, as a threshold rule raised it from sensor readings.</summary>
internal sealed class Alarm(AlarmKind kind, string asset, double raisedAt)
{
    public AlarmKind Kind { get; } = kind;

    public string Asset { get; } = asset;

    public double RaisedAt { get; } = raisedAt;

    public double NoticeAt { get; set; } = double.NaN;

    public double FixAt { get; set; } = double.NaN;

    public bool Fixed { get; set; }

    public bool WrongFixDone { get; set; }

    public double ClearedAt { get; set; } = double.NaN;

    public string Key => $"{Kind}:{Asset}";
}
