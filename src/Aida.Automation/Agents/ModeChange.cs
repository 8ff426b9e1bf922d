using Aida.Automation.Actions;

namespace Aida.Automation.Agents;

/// <summary>A person's change of how the agent acts (<see cref="PlantAgent.ChangeMode"/>).</summary>
public sealed record ModeChange(AutomationMode From, AutomationMode To, string By, string Reason, DateTimeOffset At)
{
    /// <summary>One line for the audit log: <c>autonomous -> dry-run: REASON</c>.</summary>
    public string Text => $"{Name(From)} -> {Name(To)}: {Reason}";

    /// <summary>A mode as people and the API name it: <c>dry-run</c>, <c>supervised</c>, <c>autonomous</c>.</summary>
    public static string Name(AutomationMode mode) => mode switch
    {
        AutomationMode.DryRun => "dry-run",
        AutomationMode.Supervised => "supervised",
        _ => "autonomous",
    };

    /// <summary>The mode named <paramref name="name"/> (<see cref="Name"/>), or null.</summary>
    public static AutomationMode? Parse(string? name) => name switch
    {
        "dry-run" => AutomationMode.DryRun,
        "supervised" => AutomationMode.Supervised,
        "autonomous" => AutomationMode.Autonomous,
        _ => null,
    };
}
