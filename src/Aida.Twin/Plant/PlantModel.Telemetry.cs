using Aida.Model.Plant;

namespace Aida.Twin.Plant;

internal sealed partial class PlantModel
{
    private IPlantSampleSink? _sink;
    private double _gpuInterval;
    private double _gpuNextSample;
    private float[] _gpuTempReadout = [];
    private float[] _gpuPowerReadout = [];
    private float[] _gpuUtilReadout = [];
    private IReadOnlyList<GpuInfo>? _gpuInfo;

    /// <summary>GPUs in state-array order. In an NVL72 rack each compute tray holds 4 GPUs (18 trays).</summary>
    public IReadOnlyList<GpuInfo> Gpus => _gpuInfo ??= BuildGpuInfo();

    /// <summary>Sends every sensor sample, and every GPU each <paramref name="gpuInterval"/>, to <paramref name="sink"/>.</summary>
    public void AttachSink(IPlantSampleSink sink, TimeSpan gpuInterval)
    {
        _sink = sink;
        _gpuInterval = gpuInterval.TotalSeconds;
        _gpuNextSample = Now;
        _sensors.Sink = sink;
        _sensors.StartMs = _start.ToUnixTimeMilliseconds();
        _gpuTempReadout = new float[_gpuTemp.Length];
        _gpuPowerReadout = new float[_gpuTemp.Length];
        _gpuUtilReadout = new float[_gpuTemp.Length];
    }

    private void SampleGpus()
    {
        if (_sink is null || Now + 1e-9 < _gpuNextSample)
        {
            return;
        }

        _gpuNextSample = Now + _gpuInterval;
        var n = _gpusPerRack;
        for (var r = 0; r < _rackUtil.Length; r++)
        {
            var on = _rackPowered[r] && _actuators.Value(_aRackIsolate[r]) < 0.5;
            // DCGM reports GPU utilisation as a whole percentage: what the GPUs run, after pauses and moves (a paused
            // rack once reported its jobs' utilisation as if they ran).
            var u = MathF.Round((float)(_effectiveUtil[r] * 100));
            for (var g = r * n; g < (r + 1) * n; g++)
            {
                // DCGM reports the GPU temperature in whole degrees.
                _gpuTempReadout[g] = MathF.Round(_gpuTemp[g]);
                _gpuPowerReadout[g] = _gpuPower[g];
                _gpuUtilReadout[g] = on && !_gpuDown[g] ? u : 0;
            }
        }

        _sink.GpusSampled(_start.ToUnixTimeMilliseconds() + (long)Math.Round(Now * 1000), _gpuTempReadout, _gpuPowerReadout, _gpuUtilReadout, _gpuClockEvents);
    }

    /// <summary>FNV-1a: a stable hash (string.GetHashCode is randomised per process, and UUIDs must not change between runs).</summary>
    private static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    private List<GpuInfo> BuildGpuInfo()
    {
        var list = new List<GpuInfo>(_gpuTemp.Length);
        foreach (var rack in _f.Racks)
        {
            for (var g = 0; g < _gpusPerRack; g++)
            {
                var tray = (g / 4) + 1;
                var uuid = $"GPU-{Fnv1a(rack.Id) ^ (uint)g:x8}-{_f.Name}-{rack.Id}-{g:00}";
                list.Add(new GpuInfo(rack.Id, rack.Hall, rack.Row, $"{rack.Id}-tray{tray:00}", g % 4, uuid, _f.Gpu.Model));
            }
        }

        return list;
    }
}
