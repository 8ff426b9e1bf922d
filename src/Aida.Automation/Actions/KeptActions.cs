using System.Globalization;
using Aida.Model.Config;

namespace Aida.Automation.Actions;

/// <summary>An action waiting for an approver, as a live run keeps it for a restart: its id, what it writes, why, who
/// proposed it and when (its approval runs out <see cref="ActionExecutor.ApprovalTimeout"/> after).</summary>
public sealed record KeptAction(string Id, ActionKind Kind, string Asset, double Value, string Reason, string RequestedBy, DateTimeOffset ProposedAt)
{
    /// <summary>What <paramref name="record"/> keeps for a restart.</summary>
    public static KeptAction Of(ActionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new(record.Action.Id, record.Action.Kind, record.Action.Asset, record.Action.Value, record.Action.Reason, record.RequestedBy, record.ProposedAt);
    }
}

/// <summary>The actions proposed through the API that wait for an approver, kept in a file of a live run's data directory
/// (<c>pending-actions.json</c>, replaced whole on each change) so that Aida started again there holds them for approval
/// again (<see cref="ActionExecutor.TakeUp"/>). Before, a restart dropped them: an approver's POST answered 404 and the
/// proposer had to propose again.</summary>
public static class KeptActions
{
    /// <summary>A kept action as its JSON holds it (also inside the agent's kept responses, <see cref="Agents.KeptResponses"/>).</summary>
    internal sealed record Stored(string? Id, string? Kind, string? Asset, double? Value, string? Reason, string? RequestedBy, DateTimeOffset? ProposedAt)
    {
        public static Stored Of(KeptAction k) => new(k.Id, ActionKindNames.Name(k.Kind), k.Asset, k.Value, k.Reason, k.RequestedBy, k.ProposedAt);

        /// <summary>The action, checked; <paramref name="where"/> (the file and the entry) begins any error.</summary>
        /// <exception cref="FormatException">A field is missing or wrong; the message names it.</exception>
        public static KeptAction Checked(Stored? x, string where)
        {
            if (x is null || string.IsNullOrEmpty(x.Id) || string.IsNullOrEmpty(x.Kind) || string.IsNullOrEmpty(x.Asset) || x.Value is not { } value
                || x.Reason is null || string.IsNullOrEmpty(x.RequestedBy) || x.ProposedAt is not { } at)
            {
                throw new FormatException($"{where}: id, kind, asset, value, reason, requested_by and proposed_at are required");
            }

            if (!ActionKindNames.TryParse(x.Kind, out var kind))
            {
                throw new FormatException($"{where}: kind: unknown action '{x.Kind}' (expected one of {ActionKindNames.All})");
            }

            if (!double.IsFinite(value))
            {
                throw new FormatException($"{where}: value: {value.ToString(CultureInfo.InvariantCulture)} is not a number");
            }

            return new KeptAction(x.Id, kind, x.Asset, value, x.Reason, x.RequestedBy, at);
        }
    }

    /// <summary>The actions kept in <paramref name="path"/>, in order (none when it does not exist).</summary>
    /// <exception cref="FormatException">The file is not a list of kept actions; the message names it and the entry.</exception>
    public static IReadOnlyList<KeptAction> Read(string path) =>
        KeptFile.Read<Stored, KeptAction>(path, "actions waiting for an approver", (x, i) => Stored.Checked(x, $"{path}: entry {i}"));

    /// <summary>Writes the actions of <paramref name="pending"/> whole beside <paramref name="path"/> and moves it over: a
    /// crash leaves the old or the new list, never half of one.</summary>
    public static void Write(string path, IEnumerable<ActionRecord> pending)
    {
        ArgumentNullException.ThrowIfNull(pending);
        KeptFile.Write(path, pending.Select(r => Stored.Of(KeptAction.Of(r))));
    }
}
