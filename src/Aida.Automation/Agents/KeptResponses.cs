using System.Text.Json.Serialization;
using Aida.Automation.Actions;
using Aida.Automation.Runbooks;
using Aida.Model.Config;

namespace Aida.Automation.Agents;

/// <summary>The agent's responses in progress (a runbook waiting for approval or running, or finished with its restore
/// waiting for the repair), kept in a file of a live run's data directory (<c>agent-responses.json</c>) so that the agent
/// started again there takes them up (<see cref="PlantAgent.Resume"/>). JSON a person can read: per response its
/// incident, cause, runbook, its state, the actuators it changed and has let go of, when each restore entry ran, the
/// readings its thresholds count from, and for a running one the step it is on.</summary>
public static class KeptResponses
{
    private sealed record Stored(
        long Incident, DateTimeOffset Opened, string? FaultKind, string? Asset, string? Runbook, RunbookState State, DateTimeOffset Started,
        DateTimeOffset? Finished, List<string>? Changed, List<string>? Released, List<DateTimeOffset?>? RestoredAt, Dictionary<string, double>? AtStart,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DecidedBy = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Step = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StepText = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? StepStarted = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Dictionary<string, double>? StepValues = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<KeptActions.Stored?>? StepWaiting = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<List<KeptActions.Stored?>?>? RestoreWaiting = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<List<StoredWrite?>?>? RestoreRefused = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<StoredNotice?>? Notices = null);

    private sealed record StoredWrite(string? Actuator, double? Value);

    private sealed record StoredNotice(DateTimeOffset? At, int? Line, string? Message,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Severity = null);

    /// <summary>The responses kept in <paramref name="path"/>, in order (none when it does not exist).</summary>
    /// <exception cref="FormatException">The file is not a list of kept responses; the message names it and the entry.</exception>
    public static IReadOnlyList<KeptResponse> Read(string path) => KeptFile.Read<Stored, KeptResponse>(path, "the agent's responses", (x, i) =>
    {
        if (x is null || x.Incident <= 0 || string.IsNullOrEmpty(x.FaultKind) || string.IsNullOrEmpty(x.Asset) || string.IsNullOrEmpty(x.Runbook)
            || x.Changed is null || x.Released is null || x.RestoredAt is null)
        {
            throw new FormatException($"{path}: entry {i}: incident (a positive number), fault_kind, asset, runbook, changed, released and restored_at are required");
        }

        if (x.State is RunbookState.NotStarted)
        {
            throw new FormatException($"{path}: entry {i}: state must be waiting-for-approval, running, succeeded or rolled-back, not {x.State}");
        }

        if (x.State is RunbookState.Running && (x.Step is not >= 0 || string.IsNullOrEmpty(x.StepText)))
        {
            throw new FormatException($"{path}: entry {i}: a running run needs step (0 or more) and step_text");
        }

        var progress = new RunbookProgress(x.State, x.Started, x.Finished, x.Changed, x.Released, x.RestoredAt, x.AtStart ?? [])
        {
            DecidedBy = x.DecidedBy,
            Step = x.Step ?? 0,
            StepText = x.StepText,
            StepStarted = x.StepStarted,
            StepValues = x.StepValues ?? [],
            StepWaiting = [.. (x.StepWaiting ?? []).Select((w, j) => KeptActions.Stored.Checked(w, $"{path}: entry {i}: step_waiting {j + 1}"))],
            RestoreWaiting = [.. (x.RestoreWaiting ?? []).Select((entry, e) => (IReadOnlyList<KeptAction>)[.. (entry ?? []).Select((w, j) =>
                KeptActions.Stored.Checked(w, $"{path}: entry {i}: restore_waiting {e + 1}: action {j + 1}"))])],
            RestoreRefused = [.. (x.RestoreRefused ?? []).Select((entry, e) => (IReadOnlyList<RefusedWrite>)[.. (entry ?? []).Select((w, j) =>
                w is { Actuator.Length: > 0, Value: { } value } && double.IsFinite(value) ? new RefusedWrite(w.Actuator, value)
                    : throw new FormatException($"{path}: entry {i}: restore_refused {e + 1}: write {j + 1}: actuator and value (a number) are required"))])],
            Notices = [.. (x.Notices ?? []).Select((n, j) => n is { At: { } at, Line: > 0, Message.Length: > 0 }
                ? new RunbookNotice(at, n.Line.Value, n.Message) { Severity = n.Severity }
                : throw new FormatException($"{path}: entry {i}: notice {j + 1}: at, line (a positive number) and message are required"))],
        };
        var entries = progress.RestoredAt.Count;
        if ((progress.RestoreWaiting.Count != 0 && progress.RestoreWaiting.Count != entries) || (progress.RestoreRefused.Count != 0 && progress.RestoreRefused.Count != entries))
        {
            throw new FormatException($"{path}: entry {i}: restore_waiting and restore_refused have one list per restore entry ({progress.RestoredAt.Count}, as restored_at)");
        }

        return new KeptResponse(x.Incident, x.Opened, x.FaultKind, x.Asset, x.Runbook, progress);
    });

    /// <summary>Writes <paramref name="kept"/> whole beside <paramref name="path"/> and moves it over: a crash leaves the old
    /// or the new list, never half of one.</summary>
    public static void Write(string path, IEnumerable<KeptResponse> kept)
    {
        ArgumentNullException.ThrowIfNull(kept);
        KeptFile.Write(path, kept.Select(Store));
    }

    private static Stored Store(KeptResponse k)
    {
        var p = k.Progress;
        var running = p.State == RunbookState.Running;
        return new Stored(k.Incident, k.Opened, k.FaultKind, k.Asset, k.Runbook, p.State, p.Started, p.Finished, [.. p.Changed], [.. p.Released], [.. p.RestoredAt],
            new Dictionary<string, double>(p.AtStart, StringComparer.Ordinal), p.DecidedBy,
            running ? p.Step : null, running ? p.StepText : null, running ? p.StepStarted : null,
            running ? new Dictionary<string, double>(p.StepValues, StringComparer.Ordinal) : null,
            running && p.StepWaiting.Count > 0 ? [.. p.StepWaiting.Select(KeptActions.Stored.Of)] : null,
            p.RestoreWaiting.Count > 0 ? [.. p.RestoreWaiting.Select(e => e.Select(KeptActions.Stored.Of).ToList<KeptActions.Stored?>())] : null,
            p.RestoreRefused.Count > 0 ? [.. p.RestoreRefused.Select(e => e.Select(w => new StoredWrite(w.Actuator, w.Value)).ToList<StoredWrite?>())] : null,
            p.Notices.Count > 0 ? [.. p.Notices.Select(n => new StoredNotice(n.At, n.Line, n.Message, n.Severity))] : null);
    }
}
