using System.Net;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;
using Microsoft.AspNetCore.Builder;

namespace Aida.Cli;

/// <summary>A live run's telemetry: the store it records into, the API it serves and the remote store it forwards to,
/// each only when asked for.</summary>
internal sealed class LiveTelemetry : IAsyncDisposable
{
    private readonly Simulator _simulator;
    private Tsdb? _store;
    private WebApplication? _api;
    private RemoteWriteSender? _sender;
    private long _lastCompactHour = -1;

    private LiveTelemetry(Simulator simulator) => _simulator = simulator;

    public static async Task<LiveTelemetry> StartAsync(Simulator simulator, string? dataDirectory, string? listen, string? remoteWrite, TextWriter stdout, CancellationToken token)
    {
        var live = new LiveTelemetry(simulator);
        if (dataDirectory is null && listen is null && remoteWrite is null)
        {
            return live;
        }

        var endpoint = listen is null ? null : ApiHost.ParseListen(listen, "--listen");

        Uri? remote = null;
        if (remoteWrite is not null && (!Uri.TryCreate(remoteWrite, UriKind.Absolute, out remote) || remote.Scheme is not ("http" or "https")))
        {
            throw new BadInputException($"--remote-write: '{remoteWrite}' is not an http(s) URL");
        }

        // Samples carry plant time, which runs ahead of the wall clock at --speed above 1: the store keeps plant time.
        live._store = new Tsdb(new TsdbOptions
        {
            DataDirectory = dataDirectory is null ? null : Path.Combine(dataDirectory, "tsdb"),
            Clock = simulator.Clock,
        });
        ISampleAppender appender = live._store;
        if (remote is not null)
        {
            var buffer = dataDirectory is null
                ? Path.Combine(Path.GetTempPath(), $"aida-remote-write-{Environment.ProcessId}")
                : Path.Combine(dataDirectory, "remote-write-buffer");
            live._sender = new RemoteWriteSender(new RemoteWriteOptions { Url = remote, BufferDirectory = buffer });
            appender = new ForwardingAppender(live._store, live._sender);
            await stdout.WriteLineAsync($"forwarding every sample to {remote} (buffer {buffer})");
        }

        simulator.RecordTo(new PlantTelemetryRecorder(appender, simulator.Plant, simulator.GpuCatalog, simulator.Scenario.Factory.Site.Name));
        if (endpoint is not null)
        {
            live._api = await ApiHost.StartAsync(endpoint, live._store, simulator.Clock, acceptRemoteWrite: false, token);
            await stdout.WriteLineAsync($"Prometheus API on http://{endpoint}/ (add it to Grafana as a Prometheus data source)");
        }

        return live;
    }

    /// <summary>Called from the run loop: cuts a block once per simulated hour.</summary>
    public void Tick()
    {
        var hour = (long)(_simulator.Clock.Elapsed.TotalHours);
        if (_store is not null && hour != _lastCompactHour)
        {
            _lastCompactHour = hour;
            _store.Compact();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.StopAsync(CancellationToken.None);
            await _api.DisposeAsync();
        }

        if (_sender is not null)
        {
            using var flush = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _sender.FlushAsync(flush.Token);
            }
            catch (OperationCanceledException)
            {
                // Whatever is unsent stays in the disk buffer for the next run.
            }

            await _sender.DisposeAsync();
        }

        _store?.Dispose();
    }
}
