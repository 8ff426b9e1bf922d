namespace Aida.Server.Api;

/// <summary>Whether the run's control loop (the twin's steps and the agent's, or a network site's operator ticks) still
/// makes progress, on the wall clock: the loop beats each time it steps, and <c>/healthz</c>, <c>/metrics</c> and the
/// on-call watchdog read it without the plant's lock, so a loop wedged while holding that lock is still told.</summary>
/// <remarks>A process can serve its API, answer a liveness probe and keep posting its watchdog to Alertmanager while the
/// loop that operates the plant has stopped: a deadlock, a device call that never returns. Nothing operates the plant
/// then, and before this nothing said so. Beats are lock-free: the twin's loop beats at every hold of its lock.</remarks>
/// <param name="wall">The wall clock (not the plant's, which stops with the loop).</param>
/// <param name="stalledAfter">How long with no beat (or, before the first, since the loop started) the loop counts as
/// stalled.</param>
public sealed class LoopHeartbeat(TimeProvider wall, TimeSpan stalledAfter)
{
    /// <summary>The stall a run reports: six of a network site's 10 s operator ticks, longer than any device timeout a
    /// tick waits on, and a minute of the twin's loop that normally steps every 100 ms.</summary>
    public static readonly TimeSpan DefaultStalledAfter = TimeSpan.FromSeconds(60);

    private readonly long _started = wall.GetTimestamp();
    private long _lastBeat;
    private long _lastBeatAtTicks;
    private long _plantTicks;
    private long _behindBits;
    private long _beats;

    /// <summary>When (wall time) the loop started: when this heartbeat was made.</summary>
    public DateTimeOffset StartedAt { get; } = wall.GetUtcNow();

    /// <summary>Plant seconds the loop is to step per wall second (the twin's <c>--speed</c>; 1 for a network site), to
    /// judge how far behind it is in wall time.</summary>
    public double Speed { get; init; } = 1;

    /// <summary>How far behind its schedule, in wall time (plant time behind over <see cref="Speed"/>), the loop counts
    /// as lagging: the twin stepping slower than its speed on this machine, a network tick overrunning its interval.</summary>
    public static readonly TimeSpan LagAfter = TimeSpan.FromSeconds(30);

    /// <summary>How long with no beat counts as stalled.</summary>
    public TimeSpan StalledAfter { get; } = stalledAfter > TimeSpan.Zero
        ? stalledAfter
        : throw new ArgumentOutOfRangeException(nameof(stalledAfter), stalledAfter, "must be positive");

    /// <summary>The loop made progress: the plant is at <paramref name="plantTime"/>, <paramref name="behind"/> short of
    /// where its schedule has it (the twin's steps not yet taken at its speed; a network tick's overrun of its
    /// interval).</summary>
    public void Beat(DateTimeOffset plantTime, TimeSpan behind)
    {
        Interlocked.Exchange(ref _plantTicks, plantTime.UtcTicks);
        Interlocked.Exchange(ref _behindBits, BitConverter.DoubleToInt64Bits(Math.Max(0, behind.TotalSeconds)));
        Interlocked.Exchange(ref _lastBeatAtTicks, wall.GetUtcNow().UtcTicks);
        Interlocked.Exchange(ref _lastBeat, wall.GetTimestamp());
        Interlocked.Increment(ref _beats);
    }

    private (LoopHealth Health, long At)? _told;

    /// <summary>A line for the run's log when, since the last call, the loop has stalled or steps again, or has fallen
    /// <see cref="LagAfter"/> behind its schedule or caught up, else null (each said once, not at every look). Called
    /// from one thread: the run's watch.</summary>
    public string? Changed()
    {
        var now = Now();
        var at = wall.GetTimestamp();
        var before = _told;
        _told = (now, at);
        if ((before?.Health.Stalled ?? false) != now.Stalled)
        {
            return now.Stalled
                ? $"aida run: {now.Said}"
                : $"aida run: the control loop steps again (stalled since {before!.Value.Health.LastBeat ?? StartedAt:yyyy-MM-ddTHH:mm:ssZ}): {now.Said}";
        }

        if (now.Stalled || (before?.Health.Lagging ?? false) == now.Lagging)
        {
            return null;
        }

        if (!now.Lagging)
        {
            return $"aida run: the control loop has caught up with its schedule: {now.Said}";
        }

        // How fast it steps: plant time over wall time since the last look.
        var rate = before is { Health.PlantTime: { } from } b && now.PlantTime is { } to && wall.GetElapsedTime(b.At, at) > TimeSpan.Zero
            ? $"; it stepped {(to - from).TotalSeconds / wall.GetElapsedTime(b.At, at).TotalSeconds:0} plant seconds a second since the look before"
            : "";
        return $"aida run: the control loop falls behind its schedule: {Plant(now.BehindSeconds)} of plant time behind at {Speed:0.##}x{rate} (a slower --speed keeps up on this machine)";
    }

    private static string Plant(double seconds) => seconds switch
    {
        >= 86400 => $"{seconds / 86400:0.#} d",
        >= 3600 => $"{seconds / 3600:0.#} h",
        >= 60 => $"{seconds / 60:0.#} min",
        _ => $"{seconds:0} s",
    };

    /// <summary>The loop's health now.</summary>
    public LoopHealth Now()
    {
        var beats = Interlocked.Read(ref _beats);
        var last = Interlocked.Read(ref _lastBeat);
        var since = wall.GetElapsedTime(beats == 0 ? _started : last);
        var stalled = since >= StalledAfter;
        DateTimeOffset? lastAt = beats == 0 ? null : new DateTimeOffset(Interlocked.Read(ref _lastBeatAtTicks), TimeSpan.Zero);
        DateTimeOffset? plant = beats == 0 ? null : new DateTimeOffset(Interlocked.Read(ref _plantTicks), TimeSpan.Zero);
        var behind = BitConverter.Int64BitsToDouble(Interlocked.Read(ref _behindBits));
        var lagging = beats > 0 && behind / Speed >= LagAfter.TotalSeconds;
        var said = (beats, stalled) switch
        {
            (0, false) => $"starting: no step yet, {since.TotalSeconds:0} s after the loop started",
            (0, true) => $"stalled: the control loop has made no step in the {since.TotalSeconds:0} s since it started at {StartedAt:yyyy-MM-ddTHH:mm:ssZ}; nothing operates the plant",
            (_, true) => $"stalled: the control loop has made no step for {since.TotalSeconds:0} s (the last at {lastAt:yyyy-MM-ddTHH:mm:ssZ}, plant time {plant:yyyy-MM-ddTHH:mm:ssZ}); nothing operates the plant",
            _ => $"stepping: the last step {since.TotalSeconds:0.0} s ago, plant time {plant:yyyy-MM-ddTHH:mm:ssZ}, {behind:0.#} s behind its schedule",
        };
        return new LoopHealth(stalled, beats, lastAt, since, plant, behind, said) { Lagging = lagging };
    }
}

/// <summary>The control loop's health (<see cref="LoopHeartbeat.Now"/>).</summary>
/// <param name="Stalled">No beat for the heartbeat's <see cref="LoopHeartbeat.StalledAfter"/>.</param>
/// <param name="Beats">Steps made since the loop started.</param>
/// <param name="LastBeat">When (wall time) the loop last stepped; null before its first step.</param>
/// <param name="Since">Wall time since the last step (or since the loop started, before its first).</param>
/// <param name="PlantTime">The plant's time at the last step; null before the first.</param>
/// <param name="BehindSeconds">How far the loop was behind its schedule at the last step, in seconds.</param>
/// <param name="Said">One line for a person.</param>
public sealed record LoopHealth(bool Stalled, long Beats, DateTimeOffset? LastBeat, TimeSpan Since, DateTimeOffset? PlantTime, double BehindSeconds, string Said)
{
    /// <summary>At its last step the loop was <see cref="LoopHeartbeat.LagAfter"/> or more behind its schedule in wall
    /// time: it steps, but slower than it should.</summary>
    public bool Lagging { get; init; }
}
