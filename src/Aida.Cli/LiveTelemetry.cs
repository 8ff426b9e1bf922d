using System.Net;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Observability.Derived;
using Aida.Observability.Incidents;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Runs;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Query;
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
    private readonly TimeProvider _clock;
    private readonly DateTimeOffset _started;
    private Tsdb? _store;
    private WebApplication? _api;
    private RemoteWriteSender? _sender;
    private long _lastCompactHour = -1;
    private string? _compactFailing;
    private WalFailure? _walSaid;
    private string? _auditSaid;
    private DiskReserve? _reserve;
    private IReadOnlyList<string> _unkeptSaid = [];
    private DerivedSeriesWriter? _derived;
    private DateTimeOffset _nextDerived;
    private IncidentStore? _incidents;
    private IncidentPipeline? _pipeline;
    private DateTimeOffset _nextIncidentStep;
    private LiveSloAlerts? _sloAlerts;
    private Dictionary<string, SloDefinition> _slos = [];
    private DateTimeOffset _detectFrom;

    private LiveTelemetry(TimeProvider clock)
    {
        _clock = clock;
        _started = clock.GetUtcNow();
    }

    /// <summary>The store (null when the twin's run keeps no telemetry).</summary>
    public Tsdb? Store => _store;

    /// <summary>The bundled SLO pack, loaded once at the start: the store keeps its longest window
    /// (<see cref="RetentionFor"/>) and the run records its statuses (<see cref="SloRecording"/>); null without it.</summary>
    public SloSet? Slos { get; private init; }

    /// <summary>Where samples go: the store, or a forwarder in front of it.</summary>
    public ISampleAppender? Appender { get; private set; }

    /// <param name="agent">Aida's agent runs the plant: a store is kept even without a data directory (the agent reads
    /// it), and the agent's own incident pipeline replaces the run's.</param>
    public static async Task<LiveTelemetry> StartAsync(Simulator simulator, string? dataDirectory, string? listen, string? remoteWrite, TextWriter stdout, CancellationToken token, bool agent = false)
    {
        if (dataDirectory is null && listen is null && remoteWrite is null && !agent)
        {
            return new LiveTelemetry(simulator.Clock);
        }

        // Samples carry plant time, which runs ahead of the wall clock at --speed above 1: the store keeps plant time.
        var live = await OpenAsync(simulator.Clock, dataDirectory, listen, remoteWrite, stdout, token);
        simulator.RecordTo(new PlantTelemetryRecorder(live.Appender!, simulator.Plant, simulator.GpuCatalog, simulator.Scenario.Factory.Site.Name));
        live.DeriveFor(simulator.Scenario.Factory, agent ? null : dataDirectory, agent ? null : BundledSlos());
        return live;
    }

    /// <summary>The newest sample a data directory's store holds (null when it holds none): a restarted run resumes
    /// its plant time after it, since a sped-up run's plant time runs ahead of the wall clock and a store takes no
    /// sample older than its newest.</summary>
    public static DateTimeOffset? NewestSample(string dataDirectory)
    {
        var dir = Path.Combine(dataDirectory, "tsdb");
        if (!Directory.Exists(dir))
        {
            return null;
        }

        using var store = new Tsdb(new TsdbOptions { DataDirectory = dir, ReadOnly = true });
        return store.MaxTimeMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    /// <summary>A store on <paramref name="clock"/> (in memory without a data directory), served and forwarded when asked.</summary>
    public static async Task<LiveTelemetry> OpenAsync(TimeProvider clock, string? dataDirectory, string? listen, string? remoteWrite, TextWriter stdout, CancellationToken token)
    {
        var endpoint = listen is null ? null : ApiHost.ParseListen(listen, "--listen");
        Uri? remote = null;
        if (remoteWrite is not null && (!Uri.TryCreate(remoteWrite, UriKind.Absolute, out remote) || remote.Scheme is not ("http" or "https")))
        {
            throw new BadInputException($"--remote-write: '{remoteWrite}' is not an http(s) URL");
        }

        var live = new LiveTelemetry(clock) { Slos = BundledSlos() };
        live._store = new Tsdb(new TsdbOptions
        {
            DataDirectory = dataDirectory is null ? null : Path.Combine(dataDirectory, "tsdb"),
            Clock = clock,
            // A broken WAL waits for room beyond the disk reserve's, which the incidents and the audit log use first.
            KeepFree = 2 * DiskReserve.Size,
            Retention = RetentionFor(live.Slos),
        });
        if (dataDirectory is not null)
        {
            live._reserve = DiskReserve.In(dataDirectory);
        }

        live.Appender = live._store;
        if (remote is not null)
        {
            var buffer = dataDirectory is null
                ? Path.Combine(Path.GetTempPath(), $"aida-remote-write-{Environment.ProcessId}")
                : Path.Combine(dataDirectory, "remote-write-buffer");
            live._sender = new RemoteWriteSender(new RemoteWriteOptions { Url = remote, BufferDirectory = buffer });
            live.Appender = new ForwardingAppender(live._store, live._sender);
            await stdout.WriteLineAsync($"forwarding every sample to {remote} (buffer {buffer})");
        }

        if (endpoint is not null)
        {
            live._api = await ApiHost.StartAsync(endpoint, live._store, clock, acceptRemoteWrite: false, token);
            await stdout.WriteLineAsync($"Prometheus API on http://{endpoint}/ (add it to Grafana as a Prometheus data source)");
        }

        return live;
    }

    /// <summary>How often a live run writes its derived metrics (PUE, load factors, headroom, carbon).</summary>
    public static readonly TimeSpan DerivedPeriod = TimeSpan.FromMinutes(1);

    /// <summary>How long a live run's store keeps its telemetry: the longest window of <paramref name="slos"/> and a day
    /// more, since their budgets read that far back (as Sloth's and Pyrra's SLOs need Prometheus to keep their windows),
    /// and never less than the store's own default (15 d). With the bundled pack (28-day windows), 29 d.</summary>
    internal static TimeSpan RetentionFor(SloSet? slos)
    {
        var floor = new TsdbOptions().Retention;
        var longest = slos is null || slos.Slos.Count == 0 ? TimeSpan.Zero : slos.Slos.Max(s => s.Window.NominalLength);
        return longest + TimeSpan.FromDays(1) is var wanted && wanted > floor ? wanted : floor;
    }

    /// <summary>The bundled SLO pack (slos/), or null when it is not beside the binary.</summary>
    public static SloSet? BundledSlos() => BundledFiles.Root is null ? null : SloPack.Load(null);

    /// <summary>From now on, writes <paramref name="factory"/>'s derived metrics every <see cref="DerivedPeriod"/> of
    /// plant time (through the appender, so they are forwarded too); with a data directory, keeps incidents there, and
    /// folds <paramref name="slos"/>' burn-rate alerts into them as they fire.</summary>
    /// <param name="readingSource">Over the network: which collector and device deliver a stored series
    /// (<see cref="Aida.Observability.Detection.AlertingOptions.ReadingSource"/>).</param>
    public void DeriveFor(Factory factory, string? dataDirectory = null, SloSet? slos = null, Func<Aida.Telemetry.Series.Labels, (string Collector, string Device)?>? readingSource = null)
    {
        if (_store is null)
        {
            return;
        }

        var query = new EmbeddedQueryEngine(_store);
        _derived = new DerivedSeriesWriter(query, Appender!, factory, TelemetryRun.GridOf(factory), DerivedPeriod);
        _nextDerived = _clock.GetUtcNow() + DerivedPeriod;
        if (dataDirectory is not null)
        {
            // Alerts, incidents and their root causes, kept beside the telemetry (aida incidents list --db DIR/incidents.db).
            Directory.CreateDirectory(dataDirectory);
            _incidents = new IncidentStore(Path.Combine(dataDirectory, "incidents.db"), _clock);
            // Detection starts after a warm-up: a plant (or the twin) settling from its initial state is not an incident,
            // and the detectors need history to judge by.
            _detectFrom = _clock.GetUtcNow() + IncidentWarmUp;
            _pipeline = new IncidentPipeline(query, factory, _incidents, _detectFrom, new Aida.Observability.Detection.AlertingOptions { ReadingSource = readingSource });
            _nextIncidentStep = _clock.GetUtcNow() + IncidentWarmUp + IncidentPeriod;
            if (slos is not null)
            {
                // The SLOs' burn-rate alerts join the incidents (an SLO burning is a symptom too); their burn rates read
                // the run from its start.
                _sloAlerts = new LiveSloAlerts(query, slos, _clock.GetUtcNow());
                _slos = slos.Slos.ToDictionary(x => x.Name, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>How long after the start a live run begins to look for alerts.</summary>
    public static readonly TimeSpan IncidentWarmUp = TimeSpan.FromMinutes(30);

    /// <summary>How often a live run looks for new alerts and updates its incidents.</summary>
    public static readonly TimeSpan IncidentPeriod = TimeSpan.FromMinutes(1);

    /// <summary>The run's incidents (with a data directory and no agent), or null.</summary>
    public IncidentStore? Incidents => _incidents;

    /// <summary>The SLO burn-rate alerts the run steps beside its incidents (without the agent); null without SLOs.</summary>
    public LiveSloAlerts? SloAlerts => _sloAlerts;

    /// <summary>Incidents opened so far in this run.</summary>
    public int IncidentsOpened => _pipeline?.Incidents ?? 0;

    /// <summary>Writes more series at each tick (the SLOs' statuses, <see cref="SloRecording"/>), after the derived metrics and
    /// before a block is cut: a fast run catches up minutes hours old at a tick, which the store refuses once cut.</summary>
    public Action? AlsoRecord { get; set; }

    /// <summary>Called from the run loop: writes the derived metrics when due and cuts a block once per simulated hour.</summary>
    public void Tick()
    {
        for (; _derived is not null && _nextDerived <= _clock.GetUtcNow(); _nextDerived += DerivedPeriod)
        {
            _derived.WriteAsync(_nextDerived).GetAwaiter().GetResult();
        }

        AlsoRecord?.Invoke();

        if (_pipeline is not null && _nextIncidentStep <= _clock.GetUtcNow())
        {
            _pipeline.StepAsync(_clock.GetUtcNow()).GetAwaiter().GetResult();
            foreach (var burn in _sloAlerts?.StepAsync(_clock.GetUtcNow()).GetAwaiter().GetResult() ?? [])
            {
                if (burn.StartsAt > _detectFrom)
                {
                    _pipeline.Add(SloBurnAlerts.From(burn, _slos[burn.Slo]));
                }
            }

            _nextIncidentStep = _clock.GetUtcNow() + IncidentPeriod;
        }

        var hour = (long)(_clock.GetUtcNow() - _started).TotalHours;
        if (_store is not null && hour != _lastCompactHour)
        {
            _lastCompactHour = hour;
            try
            {
                _store.Compact();
                if (_compactFailing is not null)
                {
                    Log.WriteLine("aida run: the telemetry store cuts its blocks again");
                    _compactFailing = null;
                }
            }
            catch (IOException e)
            {
                // A full disk must not stop the plant's operation: the head keeps the samples, and the cut is tried again.
                if (_compactFailing != e.Message)
                {
                    Log.WriteLine($"aida run: the telemetry store could not cut a block ({e.Message}): its head keeps the samples in memory; tried again every hour of plant time");
                    _compactFailing = e.Message;
                }
            }
        }

        SayWal();
        SayDiskTrouble();
    }

    /// <summary>Where the run says what goes wrong with its data directory's disk (the run's stderr); nowhere by default.</summary>
    public TextWriter Log { get; set; } = TextWriter.Null;

    /// <summary>The run's audit log, whose entries held in memory while its disk refuses them are said; none by default.</summary>
    public Aida.Automation.Audit.AuditLog? Audit { get; set; }

    /// <summary>Writes again the kept files the disk refused (<see cref="KeptFile"/>); says once when a kept file, the audit
    /// log, the incident store or the remote-write buffer cannot be written and once when it is again; lists all that is
    /// held (<see cref="NotWritten"/>); gives back or takes again the disk reserve.</summary>
    private void SayDiskTrouble()
    {
        var unkept = KeptFile.Unwritten.Count == 0 ? [] : KeptFile.RetryUnwritten() == 0 ? [] : KeptFile.Unwritten;
        foreach (var file in unkept.Except(_unkeptSaid, StringComparer.Ordinal))
        {
            Log.WriteLine($"aida run: could not write {file}: kept in memory and written once the disk takes it; a restart before then reads it as it was");
        }

        foreach (var file in _unkeptSaid.Except(unkept, StringComparer.Ordinal))
        {
            Log.WriteLine($"aida run: wrote {file} again");
        }

        _unkeptSaid = unkept;
        var held = Audit?.Held ?? default;
        SayChange(ref _auditSaid, held.Why,
            why => $"aida run: the audit log cannot be written ({why}): its entries are sealed into the chain and held in memory, written in order once the disk takes them",
            _ => "aida run: the audit log writes again: the entries held in memory are written, in order");
        var incidents = IncidentsUnstored?.Invoke() ?? _pipeline?.Unstored ?? default;
        SayChange(ref _incidentsSaid, incidents.Why,
            why => $"aida run: the incident store cannot be written ({why}): {incidents.Alerts} alert(s) held, stored in order once it can; their incidents start no runbook until then",
            _ => "aida run: the incident store writes again: the alerts held are stored");
        SayChange(ref _bufferSaid, _sender?.BufferFailing,
            why => $"aida run: the remote-write buffer cannot be written ({why}): batches for the remote store are dropped until it can; the local store keeps every sample",
            _ => "aida run: the remote-write buffer writes again");

        var wal = _store?.WalFailing;
        NotWritten = [
            .. wal is null ? [] : new[] { $"the telemetry store's WAL since {wal.Since:yyyy-MM-ddTHH:mm:ssZ} ({wal.Message}): samples held in memory" },
            .. _compactFailing is null ? [] : new[] { $"the telemetry store's blocks ({_compactFailing})" },
            .. held.Entries == 0 ? [] : new[] { $"the audit log: {held.Entries} entries held since {held.Since:yyyy-MM-ddTHH:mm:ssZ} ({held.Why})" },
            .. incidents.Why is null ? [] : new[] { $"the incident store: {incidents.Alerts} alert(s) held, their incidents start no runbook ({incidents.Why})" },
            .. unkept.Select(f => $"{f}: a restart would read it as it was"),
            .. _sender?.BufferFailing is not { } buffer ? [] : new[] { $"the remote-write buffer ({buffer}): batches for the remote store dropped, {_sender.DroppedSamples} samples so far (the local store keeps them)" },
        ];
        // The disk reserve: given back at the first refused write, taken again once all is written and there is room.
        var trouble = NotWritten.Count > 0;
        if (trouble && _reserve?.Release() == true)
        {
            Log.WriteLine($"aida run: gave back the {DiskReserve.Size >> 20} MiB disk reserve in the data directory, for the incident store, the audit log and the kept files; the telemetry store waits for {2 * DiskReserve.Size >> 20} MiB free");
        }
        else if (!trouble && _reserve is { Held: false } reserve && reserve.TakeIfRoom())
        {
            Log.WriteLine($"aida run: took the {DiskReserve.Size >> 20} MiB disk reserve again");
        }
    }

    private string? _incidentsSaid;
    private string? _bufferSaid;

    /// <summary>What the run cannot write to its data directory's disk, as of the last tick, one line each (on-call's
    /// <c>AidaDataNotWritten</c>); none while everything is written.</summary>
    public IReadOnlyList<string> NotWritten { get; private set; } = [];

    /// <summary>The agent's alerts its incident store's disk refused, and why; without it, those of the run's own pipeline.</summary>
    public Func<(int Alerts, string? Why)>? IncidentsUnstored { get; set; }

    /// <summary>Says once when the store's WAL cannot be written, and once when it can again.</summary>
    private void SayWal() => SayChange(ref _walSaid, _store?.WalFailing,
        failing => $"aida run: the telemetry store cannot write its WAL ({failing.Message}): samples stay in memory, and are lost if Aida stops before they are written; tried again with a checkpoint of the head",
        said => $"aida run: the telemetry store writes its WAL again: the head checkpointed, failing since {said.Since:yyyy-MM-ddTHH:mm:ssZ}");

    /// <summary>Says <paramref name="failing"/> once when a trouble begins (<paramref name="now"/> set, nothing said
    /// before) and <paramref name="again"/> once when it ends, then remembers what holds now.</summary>
    private void SayChange<T>(ref T? said, T? now, Func<T, string> failing, Func<T, string> again)
        where T : class
    {
        if (now is not null && said is null)
        {
            Log.WriteLine(failing(now));
        }
        else if (now is null && said is not null)
        {
            Log.WriteLine(again(said));
        }

        said = now;
    }

    public async ValueTask DisposeAsync()
    {
        _incidents?.Dispose();
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
