using Aida.Model.Config;

namespace Aida.Automation.Safety;

/// <summary>The lockouts holding, kept in a file of a live run's data directory (<c>lockouts.json</c>) so that a guard
/// started again there holds them too (<see cref="Lockouts.TakeUp"/>): a restart hands no locked-out asset back to the
/// agent.</summary>
public static class KeptLockouts
{
    /// <summary>The file's name in a data directory.</summary>
    public const string FileName = "lockouts.json";

    private sealed record Stored(string? Asset, string? By, string? Reason, DateTimeOffset? Since, DateTimeOffset? Until);

    /// <summary>The lockouts kept in <paramref name="path"/>; none when it does not exist.</summary>
    /// <exception cref="FormatException">The file is broken; the message names it, the entry and what is wrong.</exception>
    public static IReadOnlyList<Lockout> Read(string path) => KeptFile.Read<Stored, Lockout>(path, "lockouts", (x, i) =>
        x is { Asset.Length: > 0, By.Length: > 0, Reason.Length: > 0, Since: { } since } && (x.Until is null || x.Until > since)
            ? new Lockout(x.Asset, x.By, x.Reason, since, x.Until)
            : throw new FormatException($"{path}: entry {i}: asset, by, reason and since are required, and until (if given) after since"));

    /// <summary>Keeps <paramref name="held"/> in <paramref name="path"/> (written whole beside it and moved over).</summary>
    public static void Write(string path, IEnumerable<Lockout> held) =>
        KeptFile.Write(path, held.Select(l => new Stored(l.Asset, l.By, l.Reason, l.Since, l.Until)));

    /// <summary>Has <paramref name="lockouts"/> hold what <paramref name="path"/> keeps and keep every change there.</summary>
    /// <exception cref="FormatException">The file is broken, or names an asset this plant does not have.</exception>
    public static IReadOnlyList<Lockout> Attach(Lockouts lockouts, string path)
    {
        var kept = Read(path);
        lockouts.Changed = now => Write(path, now);
        try
        {
            return lockouts.TakeUp(kept);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }
}
