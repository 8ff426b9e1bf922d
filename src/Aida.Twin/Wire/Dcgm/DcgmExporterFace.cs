using System.Globalization;
using System.Net;
using System.Text;
using Aida.Model.Plant;
using Aida.Protocols.Exposition;

namespace Aida.Twin.Wire.Dcgm;

/// <summary>How <see cref="DcgmExporterFace"/> groups GPUs into hosts groups and serves them.</summary>
public sealed record DcgmFaceOptions
{
    /// <summary>Racks per <c>/metrics</c> endpoint; 0 (the default) serves one endpoint per hall.</summary>
    public int RacksPerGroup { get; init; }

    /// <summary>The address the endpoints listen on (default 127.0.0.1).</summary>
    public IPAddress Host { get; init; } = IPAddress.Loopback;

    /// <summary>The first port; groups take consecutive ports. 0 (the default) lets the system pick free ones.</summary>
    public int FirstPort { get; init; }

    /// <summary>The scrape interval written into <see cref="DcgmExporterFace.SiteCollectors"/>; default 5 s.</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>The plant's GPUs as DCGM exporters serve them: one <c>/metrics</c> endpoint per host group (per hall, or per N
/// racks) on 127.0.0.1 (or <see cref="DcgmFaceOptions.Host"/>), in the Prometheus text format or OpenMetrics as the scraper asks.</summary>
/// <remarks>
/// Fed through <see cref="IPlantSampleSink.GpusSampled"/> (attach it to the simulator, beside the store's recorder); point
/// samples are ignored. Each GPU is served with the DCGM exporter's names and labels (<c>gpu</c>, <c>UUID</c>,
/// <c>device</c>, <c>modelName</c>, <c>Hostname</c>), plus <c>hall</c> and <c>rack</c>, the labels a site adds by relabelling:
/// <c>DCGM_FI_DEV_GPU_TEMP</c> (°C), <c>DCGM_FI_DEV_POWER_USAGE</c> (W), <c>DCGM_FI_DEV_GPU_UTIL</c> (%) and
/// <c>DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION</c> (mJ since start, a counter integrated from power),
/// <c>DCGM_FI_DEV_CLOCKS_EVENT_REASONS</c> (the bitmask of why the GPU runs below full clocks: <see cref="GpuClockEvents"/>;
/// the twin sets SW thermal slowdown while it holds a GPU at its slowdown temperature, SW power cap while a limit holds
/// it), and, given the plant's
/// points, <c>DCGM_FI_DEV_POWER_MGMT_LIMIT</c> (W): the power limit each GPU enforces, its rack's <c>gpu_power_limit</c>
/// point, as the driver reports it whatever a BMC was told (a limit written over Redfish that the GPUs never took shows
/// here as the old one). Before the first GPU sample an endpoint serves only the metadata lines; a GPU whose rack's limit
/// has not been sampled yet has no limit line.
/// </remarks>
public sealed class DcgmExporterFace : IWireFace, IPlantSampleSink
{
    private static readonly (string Name, string Help, string Type)[] Fields =
    [
        ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", "gauge"),
        ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", "gauge"),
        ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", "gauge"),
        ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "Total energy consumption since boot (in mJ).", "counter"),
        (GpuClockEvents.Metric, "Current clock event reasons (bitmask of DCGM_CLOCKS_EVENT_REASON_*).", "gauge"),
        ("DCGM_FI_DEV_POWER_MGMT_LIMIT", "Power management limit (in W).", "gauge"),
    ];

    private const int LimitField = 5;

    private readonly IReadOnlyList<GpuInfo> _gpus;
    private readonly DcgmFaceOptions _options;
    private readonly List<(string Name, int[] Gpus)> _groups = [];
    private readonly KeyValuePair<string, string>[][] _labels;
    private readonly List<LoopbackHttpEndpoint> _endpoints = [];
    private readonly object _gate = new();
    private readonly float[] _temperature;
    private readonly float[] _power;
    private readonly float[] _utilisation;
    private readonly double[] _energyMillijoules;
    private readonly uint[] _clockEvents;
    private readonly Dictionary<int, string> _limitPoints = [];
    private readonly Dictionary<string, double> _rackLimit = new(StringComparer.Ordinal);
    private long _lastSampleMs = -1;

    /// <param name="gpus">The GPUs served, in the order their samples arrive.</param>
    /// <param name="options">Host groups, address and ports.</param>
    /// <param name="points">The plant's points: each rack's <c>gpu_power_limit</c> is served per GPU as
    /// <c>DCGM_FI_DEV_POWER_MGMT_LIMIT</c> (left out: no limit is served).</param>
    public DcgmExporterFace(IGpuCatalog gpus, DcgmFaceOptions? options = null, IReadOnlyList<PointInfo>? points = null)
    {
        ArgumentNullException.ThrowIfNull(gpus);
        _gpus = gpus.Gpus;
        _options = options ?? new DcgmFaceOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.RacksPerGroup);
        _temperature = new float[_gpus.Count];
        _power = new float[_gpus.Count];
        _utilisation = new float[_gpus.Count];
        _energyMillijoules = new double[_gpus.Count];
        _clockEvents = new uint[_gpus.Count];
        _labels = new KeyValuePair<string, string>[_gpus.Count][];
        for (var g = 0; g < _gpus.Count; g++)
        {
            var gpu = _gpus[g];
            var index = gpu.Gpu.ToString(CultureInfo.InvariantCulture);
            _labels[g] =
            [
                new("gpu", index), new("UUID", gpu.Uuid), new("device", "nvidia" + index), new("modelName", gpu.ModelName),
                new("Hostname", gpu.Hostname), new("hall", gpu.Hall), new("rack", gpu.Rack),
            ];
        }

        BuildGroups();
        var racks = _gpus.Select(g => g.Rack).ToHashSet(StringComparer.Ordinal);
        foreach (var p in points ?? [])
        {
            if (racks.Contains(p.Asset) && p.Name == $"{p.Asset}/gpu_power_limit")
            {
                _limitPoints[p.Index] = p.Asset;
            }
        }
    }

    public IReadOnlyList<string> Endpoints { get; private set; } = [];

    /// <summary>The host groups: a name (<c>dcgm-HALL</c> or <c>dcgm-FIRSTRACK</c>) and its GPUs' indexes.</summary>
    public IReadOnlyList<(string Name, int[] Gpus)> Groups => _groups;

    /// <summary>The URL of each group's endpoint once started, in <see cref="Groups"/> order.</summary>
    public IReadOnlyList<Uri> Urls => _endpoints.Select(e => e.Url).ToList();

    public Task StartAsync(CancellationToken ct)
    {
        for (var i = 0; i < _groups.Count; i++)
        {
            var group = i;
            var port = _options.FirstPort == 0 ? 0 : _options.FirstPort + i;
            var endpoint = new LoopbackHttpEndpoint(new IPEndPoint(_options.Host, port), "/metrics", accept => Render(group, accept));
            endpoint.Start();
            _endpoints.Add(endpoint);
        }

        Endpoints = _groups.Select((g, i) => $"dcgm {g.Name} {_endpoints[i].Url}").ToList();
        return Task.CompletedTask;
    }

    public string SiteCollectors()
    {
        var sb = new StringBuilder();
        var interval = Aida.Model.Config.PromDuration.Format(_options.ScrapeInterval);
        for (var i = 0; i < _groups.Count; i++)
        {
            sb.Append("  - type: scrape\n")
              .Append("    name: ").Append(_groups[i].Name).Append('\n')
              .Append("    url: ").Append(_endpoints.Count > i ? _endpoints[i].Url.ToString() : "(start the face first)").Append('\n')
              .Append("    interval: ").Append(interval).Append('\n');
        }

        return sb.ToString();
    }

    public void PointSampled(int point, long timestampMs, double value)
    {
        if (_limitPoints.TryGetValue(point, out var rack))
        {
            lock (_gate)
            {
                _rackLimit[rack] = value;
            }
        }
    }

    public void GpusSampled(long timestampMs, ReadOnlySpan<float> temperatureCelsius, ReadOnlySpan<float> powerWatts, ReadOnlySpan<float> utilisationPercent, ReadOnlySpan<uint> clockEventReasons)
    {
        lock (_gate)
        {
            var n = Math.Min(_gpus.Count, temperatureCelsius.Length);

            var dt = _lastSampleMs < 0 ? 0 : Math.Max(0, timestampMs - _lastSampleMs); // ms, so W x ms = mJ
            for (var g = 0; g < n; g++)
            {
                // Trapezoidal integration of power between samples.
                _energyMillijoules[g] += dt * (_power[g] + powerWatts[g]) / 2.0;
                _temperature[g] = temperatureCelsius[g];
                _power[g] = powerWatts[g];
                _utilisation[g] = utilisationPercent[g];
                _clockEvents[g] = g < clockEventReasons.Length ? clockEventReasons[g] : 0;
            }

            _lastSampleMs = timestampMs;
        }
    }

    /// <summary>One group's exposition in the format the Accept header asks for.</summary>
    internal (string Body, string ContentType) Render(int group, string? accept)
    {
        var format = ExpositionContentType.FromAccept(accept);
        var sb = new StringBuilder(_groups[group].Gpus.Length * 4 * 200);
        var writer = new ExpositionWriter(sb, format);
        lock (_gate)
        {
            for (var f = 0; f < Fields.Length; f++)
            {
                if (f == LimitField && _limitPoints.Count == 0)
                {
                    continue;
                }

                writer.Family(Fields[f].Name, Fields[f].Help, Fields[f].Type);
                if (_lastSampleMs < 0)
                {
                    continue;
                }

                foreach (var g in _groups[group].Gpus)
                {
                    double value = f switch
                    {
                        0 => _temperature[g],
                        1 => _power[g],
                        2 => _utilisation[g],
                        3 => Math.Round(_energyMillijoules[g]),
                        4 => _clockEvents[g],
                        _ => _rackLimit.GetValueOrDefault(_gpus[g].Rack, double.NaN),
                    };
                    if (f == LimitField && !double.IsFinite(value))
                    {
                        continue;
                    }

                    writer.Sample(Fields[f].Name, _labels[g], value);
                }
            }
        }

        writer.Finish();
        return (sb.ToString(), ExpositionContentType.Of(format));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var e in _endpoints)
        {
            await e.DisposeAsync().ConfigureAwait(false);
        }

        _endpoints.Clear();
    }

    private void BuildGroups()
    {
        var byKey = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var order = new List<string>();
        var rackOrder = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var g = 0; g < _gpus.Count; g++)
        {
            var gpu = _gpus[g];
            string key;
            if (_options.RacksPerGroup == 0)
            {
                key = gpu.Hall;
            }
            else
            {
                if (!rackOrder.TryGetValue(gpu.Rack, out var r))
                {
                    r = rackOrder.Count;
                    rackOrder[gpu.Rack] = r;
                }

                key = (r / _options.RacksPerGroup).ToString(CultureInfo.InvariantCulture);
            }

            if (!byKey.TryGetValue(key, out var list))
            {
                list = [];
                byKey[key] = list;
                order.Add(key);
            }

            list.Add(g);
        }

        foreach (var key in order)
        {
            var members = byKey[key];
            var name = _options.RacksPerGroup == 0 ? "dcgm-" + key : "dcgm-" + _gpus[members[0]].Rack;
            _groups.Add((name, [.. members]));
        }
    }
}
