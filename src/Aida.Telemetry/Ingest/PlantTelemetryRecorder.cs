using Aida.Model.Plant;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Ingest;

/// <summary>Records a plant's sensor and GPU samples into a store: facility points under Aida's metric names,
/// GPUs under the DCGM exporter's (<c>DCGM_FI_DEV_GPU_TEMP</c>, <c>DCGM_FI_DEV_POWER_USAGE</c>, <c>DCGM_FI_DEV_GPU_UTIL</c>).</summary>
/// <remarks>A sensor that stops reporting gets one staleness marker, as Prometheus writes when a series disappears from a scrape.</remarks>
public sealed class PlantTelemetryRecorder : IPlantSampleSink
{
    public const string GpuTemperature = "DCGM_FI_DEV_GPU_TEMP";
    public const string GpuPower = "DCGM_FI_DEV_POWER_USAGE";
    public const string GpuUtilisation = "DCGM_FI_DEV_GPU_UTIL";

    private readonly ISampleAppender _store;
    private readonly int[] _pointSeries;
    private readonly bool[] _pointStale;
    private readonly int[] _gpuTemp;
    private readonly int[] _gpuPower;
    private readonly int[] _gpuUtil;

    // One GPU sampling as one batch (every GPU's temperature, then power, then utilisation): the store takes its lock,
    // reads its clock and checks its write-ahead log once, not three times per GPU.
    private readonly int[] _gpuBatchSeries;
    private readonly long[] _gpuBatchTimes;
    private readonly double[] _gpuBatchValues;

    public PlantTelemetryRecorder(ISampleAppender store, IPlant plant, IGpuCatalog gpus, string site)
    {
        _store = store;
        _pointSeries = plant.Points.Select(p => store.GetOrCreateSeries(PointSeries.Labels(p))).ToArray();
        _pointStale = new bool[_pointSeries.Length];
        var labels = gpus.Gpus.Select(g => new (string, string)[]
        {
            ("site", site), ("hall", g.Hall), ("rack", g.Rack), ("Hostname", g.Hostname), ("gpu", g.Gpu.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("UUID", g.Uuid), ("modelName", g.ModelName),
        }).ToList();
        _gpuTemp = labels.Select(l => store.GetOrCreateSeries(Labels.Metric(GpuTemperature, l))).ToArray();
        _gpuPower = labels.Select(l => store.GetOrCreateSeries(Labels.Metric(GpuPower, l))).ToArray();
        _gpuUtil = labels.Select(l => store.GetOrCreateSeries(Labels.Metric(GpuUtilisation, l))).ToArray();
        _gpuBatchSeries = [.. _gpuTemp, .. _gpuPower, .. _gpuUtil];
        _gpuBatchTimes = new long[_gpuBatchSeries.Length];
        _gpuBatchValues = new double[_gpuBatchSeries.Length];
    }

    /// <summary>Samples the store refused (out of order, duplicates, out of bounds): zero in a healthy run.</summary>
    public long Rejected { get; private set; }

    /// <summary>Samples stored.</summary>
    public long Written { get; private set; }

    public void PointSampled(int point, long timestampMs, double value)
    {
        if (double.IsNaN(value))
        {
            if (!_pointStale[point])
            {
                _pointStale[point] = true;
                Count(_store.Append(_pointSeries[point], timestampMs, StaleMarker.Value));
            }

            return;
        }

        _pointStale[point] = false;
        Count(_store.Append(_pointSeries[point], timestampMs, value));
    }

    /// <remarks>Clock event reasons are not recorded: the twin's own points count each rack's throttled GPUs
    /// (<c>aida_rack_gpus_throttled</c>); over the wire <see cref="Collectors.DcgmRollup"/> counts them from DCGM.</remarks>
    public void GpusSampled(long timestampMs, ReadOnlySpan<float> temperatureCelsius, ReadOnlySpan<float> powerWatts, ReadOnlySpan<float> utilisationPercent, ReadOnlySpan<uint> clockEventReasons)
    {
        var gpus = _gpuTemp.Length;
        var values = _gpuBatchValues.AsSpan();
        for (var g = 0; g < gpus; g++)
        {
            values[g] = temperatureCelsius[g];
            values[gpus + g] = powerWatts[g];
            values[(2 * gpus) + g] = utilisationPercent[g];
        }

        Array.Fill(_gpuBatchTimes, timestampMs);
        var stored = _store.AppendBatch(_gpuBatchSeries, _gpuBatchTimes, _gpuBatchValues, default);
        Written += stored;
        Rejected += _gpuBatchSeries.Length - stored;
    }

    private void Count(AppendStatus status)
    {
        if (status is AppendStatus.Ok)
        {
            Written++;
        }
        else
        {
            Rejected++;
        }
    }
}
