using System.Globalization;
using Aida.Model.Plant;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors;

/// <summary>A plant over the network: its points are read from what a site's collectors stored, its actuators written
/// through their <see cref="IActuatorWriter"/>s, so operators and agents run on real devices (or the twin over the wire)
/// as they run on the embedded twin.</summary>
/// <remarks>
/// <para>The points are the plant's design (the factory's points, from facility as code); a point reads as the latest
/// sample, within <see cref="Lookback"/> (Prometheus' lookback delta), of the series named and labelled exactly as the
/// point. A point no collector delivers, a staleness marker or an older sample reads as missing, as a silent sensor does.</para>
/// <para>The actuators are the writers the site's collectors declare (the first in the site file where several write
/// the same actuator), with the range of the same-named actuator of the design (unbounded when the design has none). A write is refused when out of range, and otherwise blocks until the
/// device confirms it by read-back (<see cref="WriteStatus.Accepted"/>) or fails (<see cref="WriteStatus.Unconfirmed"/>,
/// with the reason logged), for at most <see cref="WriteTimeout"/>. Safe to call from several threads.</para>
/// <para>A write to a device that is down (its collector's polls fail, <c>deviceDown</c>) whose last write failed too is
/// not sent again: it fails at once (<see cref="WriteStatus.NotSent"/>) until the collector reaches the
/// device again. Sent, each would wait for an answer for up to <see cref="WriteTimeout"/>: over a path that drops packets
/// the ten CDU setpoints a blind optimiser writes each plan could hold the agent's tick (and a runbook for another
/// fault with it) for up to 100 s.</para>
/// <para>It says when each actuator's device was last reached again after its collector lost it
/// (<see cref="IDeviceAvailability"/>): a device back from an outage may have restarted with its own settings.</para>
/// </remarks>
public sealed class NetworkPlant : IPlant, IDeviceAvailability
{
    /// <summary>How old the latest sample of a point may be and still be read (Prometheus' default lookback delta).</summary>
    public static readonly TimeSpan Lookback = TimeSpan.FromMinutes(5);

    /// <summary>The longest a write may take, read-back included.</summary>
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);

    private readonly ISeriesSource _store;
    private readonly TimeProvider _clock;
    private readonly TextWriter _log;
    private readonly LabelMatcher[][] _matchers;
    private readonly int[] _labelCounts;
    private readonly IActuatorWriter[] _writers;
    private readonly Func<IActuatorWriter, bool>? _deviceDown;
    private readonly Func<IActuatorWriter, DeviceReturn?>? _returnOf;
    // Per actuator: 1 when its last write was sent and not confirmed.
    private readonly int[] _lastFailed;

    /// <param name="design">The plant's points and actuators by design (names, metrics, labels, ranges).</param>
    /// <param name="store">The store the site's collectors write into.</param>
    /// <param name="writers">The site's actuator writers.</param>
    /// <param name="log">Where failed writes are reported.</param>
    /// <param name="deviceDown">Whether a writer's device is down by its collector (null: never known).</param>
    /// <param name="returnOf">When and how a writer's device last came back: its collector reached it again after losing
    /// it, or found it restarted (<see cref="IDeviceAvailability"/>; null: never known).</param>
    public NetworkPlant(IPlant design, ISeriesSource store, IReadOnlyList<IActuatorWriter> writers, TimeProvider clock, TextWriter log, Func<IActuatorWriter, bool>? deviceDown = null, Func<IActuatorWriter, DeviceReturn?>? returnOf = null)
    {
        ArgumentNullException.ThrowIfNull(design);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(writers);
        _store = store;
        _clock = clock;
        _log = log;
        Points = design.Points;
        _matchers = new LabelMatcher[Points.Count][];
        _labelCounts = new int[Points.Count];
        for (var i = 0; i < Points.Count; i++)
        {
            var p = Points[i];
            _matchers[i] = PointSeries.Matchers(p);
            _labelCounts[i] = p.Labels.Count + (p.Labels.ContainsKey(Labels.MetricNameLabel) ? 0 : 1);
        }

        var byName = design.Actuators.ToDictionary(a => a.Name, StringComparer.Ordinal);
        var actuators = new List<ActuatorInfo>();
        var chosen = new List<IActuatorWriter>();
        var shadowed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var w in writers)
        {
            if (actuators.Exists(a => a.Name == w.Actuator))
            {
                shadowed.Add(w.Actuator);
                continue;
            }

            var slash = w.Actuator.IndexOf('/', StringComparison.Ordinal);
            var asset = slash > 0 ? w.Actuator[..slash] : w.Actuator;
            actuators.Add(byName.TryGetValue(w.Actuator, out var d)
                ? d with { Index = actuators.Count }
                : new ActuatorInfo(actuators.Count, w.Actuator, asset, "", double.NegativeInfinity, double.PositiveInfinity, double.PositiveInfinity));
            chosen.Add(w);
        }

        if (shadowed.Count > 0)
        {
            log.WriteLine($"network plant: {shadowed.Count} actuators have more than one writer; the first in the site file writes each ({string.Join(", ", shadowed)})");
        }

        Actuators = actuators;
        _writers = [.. chosen];
        _deviceDown = deviceDown;
        _returnOf = returnOf;
        _lastFailed = new int[_writers.Length];
    }

    public IReadOnlyList<PointInfo> Points { get; }

    public IReadOnlyList<ActuatorInfo> Actuators { get; }

    public DeviceReturn? ReturnOf(int actuator) =>
        (uint)actuator < (uint)_writers.Length ? _returnOf?.Invoke(_writers[actuator]) : null;

    public bool WritesHeldBack(int actuator) =>
        (uint)actuator < (uint)_writers.Length && Volatile.Read(ref _lastFailed[actuator]) == 1 && _deviceDown?.Invoke(_writers[actuator]) == true;

    public PointReading Read(int point)
    {
        var now = _clock.GetUtcNow();
        if ((uint)point >= (uint)Points.Count)
        {
            return new PointReading(double.NaN, now);
        }

        var end = now.ToUnixTimeMilliseconds();
        foreach (var series in _store.Select(end - (long)Lookback.TotalMilliseconds, end, _matchers[point]))
        {
            if (series.Labels.Count != _labelCounts[point] || series.Samples.Count == 0)
            {
                continue; // the same metric with more labels: another series
            }

            var last = series.Samples[^1];
            var at = DateTimeOffset.FromUnixTimeMilliseconds(last.TimestampMs);
            return StaleMarker.Is(last.Value) ? new PointReading(double.NaN, at) : new PointReading(last.Value, at);
        }

        return new PointReading(double.NaN, now);
    }

    public WriteResult Write(int actuator, double value)
    {
        if ((uint)actuator >= (uint)Actuators.Count)
        {
            return new WriteResult(WriteStatus.UnknownActuator, $"no actuator with index {actuator}");
        }

        var info = Actuators[actuator];
        if (!double.IsFinite(value))
        {
            return new WriteResult(WriteStatus.NotANumber, $"{info.Name}: {value} is not a number");
        }

        if (value < info.Min || value > info.Max)
        {
            return new WriteResult(WriteStatus.OutOfRange, string.Create(CultureInfo.InvariantCulture, $"{info.Name}: {value} {info.Unit} is outside [{info.Min}, {info.Max}]"));
        }

        if (WritesHeldBack(actuator))
        {
            return new WriteResult(WriteStatus.NotSent, string.Create(CultureInfo.InvariantCulture,
                $"{info.Name}: {value} not sent: its device is down (its collector's polls fail) and the last write to it failed; writes go again once the collector reaches it"));
        }

        using var timeout = new CancellationTokenSource(WriteTimeout);
        ActuatorWriteOutcome outcome;
        try
        {
            // IPlant writes are synchronous: the caller (an operator's tick) waits for the device as it would for the twin.
            outcome = Task.Run(() => _writers[actuator].WriteAsync(value, timeout.Token), timeout.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            outcome = new ActuatorWriteOutcome(false, double.NaN, $"no confirmation within {WriteTimeout.TotalSeconds:0} s");
        }

        Volatile.Write(ref _lastFailed[actuator], outcome.Confirmed ? 0 : 1);
        if (outcome.Confirmed)
        {
            return new WriteResult(WriteStatus.Accepted, "");
        }

        var message = string.Create(CultureInfo.InvariantCulture, $"{info.Name}: writing {value} was not confirmed: {outcome.Problem}");
        lock (_log)
        {
            _log.WriteLine($"{_clock.GetUtcNow():O} network plant: {message}");
        }

        return new WriteResult(WriteStatus.Unconfirmed, message);
    }
}
