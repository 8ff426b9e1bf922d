namespace Aida.Model.Plant;

/// <summary>Receives every sample the plant's sensors take, as they take them: the feed a telemetry store records.</summary>
/// <remarks>Called on the simulation thread; implementations must be quick and must not throw.</remarks>
public interface IPlantSampleSink
{
    /// <summary>A point was sampled; <paramref name="value"/> is NaN when the sensor did not report.</summary>
    void PointSampled(int point, long timestampMs, double value);

    /// <summary>Every GPU was sampled at once (a DCGM exporter collection): per-GPU arrays in <see cref="IGpuCatalog.Gpus"/> order.</summary>
    /// <param name="clockEventReasons">Why each GPU runs below full clocks (<see cref="GpuClockEvents"/> bits), as DCGM reports it.</param>
    void GpusSampled(long timestampMs, ReadOnlySpan<float> temperatureCelsius, ReadOnlySpan<float> powerWatts, ReadOnlySpan<float> utilisationPercent, ReadOnlySpan<uint> clockEventReasons);
}

/// <summary>The GPUs of a plant, for labelling their telemetry as the DCGM exporter does.</summary>
public interface IGpuCatalog
{
    IReadOnlyList<GpuInfo> Gpus { get; }
}

/// <param name="Gpu">Index within its host, as DCGM's <c>gpu</c> label.</param>
/// <param name="Hostname">The compute tray the GPU sits in.</param>
public sealed record GpuInfo(string Rack, string Hall, string Row, string Hostname, int Gpu, string Uuid, string ModelName);
