using System.Net;
using System.Text;
using Aida.Model.Plant;
using Aida.Protocols.Exposition;

namespace Aida.Twin.Wire.Scheduler;

/// <summary>Where <see cref="SchedulerExporterFace"/> listens.</summary>
public sealed record SchedulerFaceOptions
{
    /// <summary>The address the endpoint listens on (default 127.0.0.1).</summary>
    public IPAddress Host { get; init; } = IPAddress.Loopback;

    /// <summary>The port; 0 (the default) lets the system pick a free one.</summary>
    public int Port { get; init; }

    /// <summary>The scrape interval written into <see cref="SchedulerExporterFace.SiteCollectors"/>; default 10 s.</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>The workload scheduler's view of the plant as its Prometheus exporter serves it (a Slurm or Kubernetes site
/// runs one): one <c>/metrics</c> endpoint with each rack's <c>aida_rack_job_stalled</c>, 1 while the training job the
/// rack belongs to is stalled by the plant, with the point's own labels.</summary>
/// <remarks>Training goodput's SLI reads it; no facility device knows it. A point whose sensor is not reporting is left
/// out of the exposition, as an exporter drops a target it cannot read.</remarks>
public sealed class SchedulerExporterFace : IWireFace
{
    /// <summary>The metric served: the scheduler's point.</summary>
    public const string Metric = "aida_rack_job_stalled";

    private const string Help = "1 while the training job this rack belongs to is stalled by the plant (restarting without a rack, redoing work since its checkpoint, or restarting for a change of its racks).";

    private readonly IPlant _plant;
    private readonly SchedulerFaceOptions _options;
    private readonly List<(int Point, KeyValuePair<string, string>[] Labels)> _points = [];
    private LoopbackHttpEndpoint? _endpoint;

    public SchedulerExporterFace(IPlant plant, SchedulerFaceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(plant);
        _plant = plant;
        _options = options ?? new SchedulerFaceOptions();
        for (var i = 0; i < plant.Points.Count; i++)
        {
            var p = plant.Points[i];
            if (p.Metric == Metric)
            {
                _points.Add((i, [.. p.Labels.OrderBy(kv => kv.Key, StringComparer.Ordinal)]));
            }
        }
    }

    public IReadOnlyList<string> Endpoints { get; private set; } = [];

    /// <summary>The endpoint's URL once started.</summary>
    public Uri? Url => _endpoint?.Url;

    public Task StartAsync(CancellationToken ct)
    {
        _endpoint = new LoopbackHttpEndpoint(new IPEndPoint(_options.Host, _options.Port), "/metrics", Render);
        _endpoint.Start();
        Endpoints = [$"scheduler {_endpoint.Url}"];
        return Task.CompletedTask;
    }

    public string SiteCollectors() => new StringBuilder()
        .Append("  - type: scrape\n")
        .Append("    name: scheduler\n")
        .Append("    url: ").Append(_endpoint?.Url.ToString() ?? "(start the face first)").Append('\n')
        .Append("    interval: ").Append(Aida.Model.Config.PromDuration.Format(_options.ScrapeInterval)).Append('\n')
        .ToString();

    /// <summary>The exposition in the format the Accept header asks for.</summary>
    internal (string Body, string ContentType) Render(string? accept)
    {
        var format = ExpositionContentType.FromAccept(accept);
        var sb = new StringBuilder(_points.Count * 120);
        var writer = new ExpositionWriter(sb, format);
        writer.Family(Metric, Help, "gauge");
        foreach (var (point, labels) in _points)
        {
            var reading = _plant.Read(point);
            if (!reading.IsMissing)
            {
                writer.Sample(Metric, labels, reading.Value);
            }
        }

        writer.Finish();
        return (sb.ToString(), ExpositionContentType.Of(format));
    }

    public async ValueTask DisposeAsync()
    {
        if (_endpoint is not null)
        {
            await _endpoint.DisposeAsync().ConfigureAwait(false);
            _endpoint = null;
        }
    }
}
