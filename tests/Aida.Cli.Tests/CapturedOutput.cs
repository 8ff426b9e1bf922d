namespace Aida.Cli.Tests;

/// <summary>What a command running on another thread prints, read while it prints.</summary>
/// <remarks>A <see cref="StringWriter"/> behind <see cref="TextWriter.Synchronized"/> serialises the writes, but a read of
/// the <see cref="StringWriter"/> itself raced them: <c>StringBuilder.ToString()</c> threw "Index was out of range"
/// in <c>FullDiskRunTests</c> under CI (session 56). Reads here take the same lock as the writes.</remarks>
internal sealed class CapturedOutput
{
    private readonly StringWriter _text = new();

    public CapturedOutput() => Writer = TextWriter.Synchronized(_text);

    /// <summary>The writer to hand the command: each call holds the lock <see cref="ToString"/> takes.</summary>
    public TextWriter Writer { get; }

    public override string ToString()
    {
        // The synchronized writer's methods lock the writer itself.
        lock (Writer)
        {
            return _text.ToString();
        }
    }
}
