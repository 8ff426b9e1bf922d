namespace Aida.Twin.Simulation;

/// <summary>The simulator's clock: a <see cref="TimeProvider"/> that moves only when the loop advances it.</summary>
/// <remarks>Live and simulated runs share every line of pipeline code; only the clock differs (STYLE.md, "Time, randomness, determinism").</remarks>
public sealed class VirtualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks;

    public DateTimeOffset Start { get; } = start;

    public TimeSpan Elapsed => TimeSpan.FromTicks(_ticks);

    public override DateTimeOffset GetUtcNow() => Start.AddTicks(_ticks);

    public override long GetTimestamp() => _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        _ticks += by.Ticks;
    }
}
