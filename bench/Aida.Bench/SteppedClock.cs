namespace Aida.Bench;

/// <summary>A clock a benchmark's setup moves by hand (an audit log's entries 10 s apart, a store's end).</summary>
internal sealed class SteppedClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}
