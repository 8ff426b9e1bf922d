namespace Aida.Telemetry.Collectors;

/// <summary>Delays between reconnect attempts: exponential from <c>initial</c> up to <c>max</c>, with "full jitter"
/// (a uniform draw between zero and the exponential bound), so that devices which failed together do not reconnect in
/// lockstep (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015).</summary>
/// <remarks>Randomness comes from the seeded <see cref="Random"/> given, so runs are reproducible.</remarks>
public sealed class ReconnectBackoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly Random _random;

    public ReconnectBackoff(TimeSpan initial, TimeSpan max, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        _initial = initial;
        _max = max;
        _random = random;
    }

    /// <summary>Failed attempts since the last <see cref="Reset"/>.</summary>
    public int Attempts { get; private set; }

    /// <summary>The delay before the next attempt; each call counts one more failure.</summary>
    public TimeSpan Next()
    {
        var bound = _initial.TotalMilliseconds * Math.Pow(2, Math.Min(Attempts, 30));
        bound = Math.Min(bound, _max.TotalMilliseconds);
        Attempts++;

        // Never less than a millisecond, so a tight failure loop cannot spin.
        return TimeSpan.FromMilliseconds(Math.Max(1, _random.NextDouble() * bound));
    }

    /// <summary>After a success: the next failure starts from the initial delay again.</summary>
    public void Reset() => Attempts = 0;
}
