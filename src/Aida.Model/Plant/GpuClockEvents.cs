namespace Aida.Model.Plant;

/// <summary>Why a GPU runs below its full clocks, as NVML's clock event reasons (formerly "clocks throttle reasons") report
/// it and DCGM serves it (field 112, <c>DCGM_FI_DEV_CLOCKS_EVENT_REASONS</c>, named <c>DCGM_FI_DEV_CLOCK_THROTTLE_REASONS</c>
/// before DCGM 3.2): a bitmask.</summary>
/// <remarks>Bit values from NVIDIA's NVML API reference, "Clocks Event Reasons" (<c>nvmlClocksEventReason*</c> in nvml.h).</remarks>
public static class GpuClockEvents
{
    /// <summary>The name DCGM 3.2 and later give the field.</summary>
    public const string Metric = "DCGM_FI_DEV_CLOCKS_EVENT_REASONS";

    /// <summary>The field's name before DCGM 3.2 (still served by older exporters).</summary>
    public const string LegacyMetric = "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS";

    /// <summary>The GPU is held under its power limit (<c>nvmlClocksEventReasonSwPowerCap</c>).</summary>
    public const uint SwPowerCap = 0x4;

    /// <summary>The driver slows the clocks to keep the GPU under its maximum operating temperature
    /// (<c>nvmlClocksEventReasonSwThermalSlowdown</c>).</summary>
    public const uint SwThermalSlowdown = 0x20;

    /// <summary>The hardware cuts the clocks by a factor of 2 or more because the GPU is too hot
    /// (<c>nvmlClocksEventReasonHwThermalSlowdown</c>).</summary>
    public const uint HwThermalSlowdown = 0x40;

    /// <summary>Either thermal slowdown: what counts as a thermally throttled GPU.</summary>
    public const uint Thermal = SwThermalSlowdown | HwThermalSlowdown;

    /// <summary>Whether a served bitmask (a float from an exposition) has a thermal slowdown bit set.</summary>
    public static bool IsThermal(double reasons) =>
        double.IsFinite(reasons) && reasons >= 0 && reasons < 18446744073709551616.0 && (((ulong)reasons) & Thermal) != 0;
}
