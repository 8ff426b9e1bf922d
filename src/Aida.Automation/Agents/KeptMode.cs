using Aida.Automation.Actions;
using Aida.Model.Config;

namespace Aida.Automation.Agents;

/// <summary>The agent's mode as a person last changed it, kept in a file of a live run's data directory
/// (<c>agent-mode.json</c>) so that the agent started again there acts as that person left it
/// (<see cref="PlantAgent.TakeUpMode"/>).</summary>
public static class KeptMode
{
    private sealed record Stored(string? From, string? To, string? By, string? Reason, DateTimeOffset? At);

    /// <summary>The change kept in <paramref name="path"/>, or null when there is none.</summary>
    /// <exception cref="FormatException">The file is broken; the message names it and what is wrong.</exception>
    public static ModeChange? Read(string path)
    {
        var kept = KeptFile.Read<Stored, ModeChange>(path, "agent mode changes", (x, i) =>
            x is { By.Length: > 0, Reason.Length: > 0, At: { } at } && ModeChange.Parse(x.From) is { } from && ModeChange.Parse(x.To) is { } to
                ? new ModeChange(from, to, x.By, x.Reason, at)
                : throw new FormatException($"{path}: entry {i}: from and to (dry-run, supervised or autonomous), by, reason and at are required"));
        return kept.Count == 0 ? null : kept[^1];
    }

    /// <summary>Keeps <paramref name="change"/> in <paramref name="path"/> (written whole beside it and moved over).</summary>
    public static void Write(string path, ModeChange change) =>
        KeptFile.Write(path, [new Stored(ModeChange.Name(change.From), ModeChange.Name(change.To), change.By, change.Reason, change.At)]);
}
