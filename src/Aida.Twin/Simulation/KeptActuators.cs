using Aida.Model.Config;

namespace Aida.Twin.Simulation;

/// <summary>An actuator of the twin where a run left it: its last accepted command, the target it moves to (the command
/// unless it failed) and its value on the way.</summary>
public sealed record KeptActuator(string Actuator, double Command, double Target, double Value);

/// <summary>The twin's actuators moved from where its run began, kept in a file of <c>aida run</c>'s data directory
/// (<c>twin-actuators.json</c>) so that the twin started again there takes them up (<see cref="Simulator.TakeUp"/>):
/// a JSON list a person can read, written whole beside the file and moved over it.</summary>
public static class KeptActuators
{
    private sealed record Stored(string? Actuator, double? Command, double? Target, double? Value);

    /// <summary>The actuators kept in <paramref name="path"/> (none when it does not exist).</summary>
    /// <exception cref="FormatException">The file is not a list of kept actuators; the message names it and the entry.</exception>
    public static IReadOnlyList<KeptActuator> Read(string path) => KeptFile.Read<Stored, KeptActuator>(path, "the twin's actuators", (x, i) =>
        x is { Actuator.Length: > 0, Command: { } c, Target: { } t, Value: { } v }
            ? new KeptActuator(x.Actuator, c, t, v)
            : throw new FormatException($"{path}: entry {i}: actuator, command, target and value are required"));

    /// <summary>Writes <paramref name="kept"/> whole beside <paramref name="path"/> and moves it over.</summary>
    public static void Write(string path, IReadOnlyList<KeptActuator> kept) =>
        KeptFile.Write(path, kept.Select(k => new Stored(k.Actuator, k.Command, k.Target, k.Value)));
}
