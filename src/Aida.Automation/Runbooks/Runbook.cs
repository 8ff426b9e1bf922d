using System.Globalization;
using Aida.Automation.Actions;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Observability.RootCause;

namespace Aida.Automation.Runbooks;

/// <summary>One step of a runbook.</summary>
public abstract record RunbookStep(int Line);

/// <summary>Propose an action on each asset the target names (a literal asset or a binding such as <c>{racks}</c>):
/// to <see cref="Value"/>, or to the actuator's current value plus <see cref="Delta"/>.</summary>
public sealed record ActionStep(ActionKind Kind, string Target, double? Value, double? Delta, string Reason, int Line) : RunbookStep(Line);

/// <summary>Wait before the next step.</summary>
public sealed record WaitStep(TimeSpan Duration, int Line) : RunbookStep(Line);

/// <summary>A point (name with bindings, e.g. <c>{asset}/supply_temperature</c>) must be below or above a threshold
/// within a time, else the runbook fails and rolls back; with <see cref="For"/>, it must hold there that long without a
/// break (a fix that holds, not one reading), and the hold must be complete within the time.</summary>
public sealed record CheckStep(string Point, bool Below, double Threshold, TimeSpan Within, int Line) : RunbookStep(Line)
{
    /// <summary>How long the condition must hold without a break (zero: one reading meeting it).</summary>
    public TimeSpan For { get; init; }

    /// <summary>A point the threshold is counted from (<c>relative_to</c>: the reading must be below or above that point's
    /// present reading + <see cref="Threshold"/>, e.g. a supply within 1.5 K of its setpoint; with the suffix
    /// <c>@start</c>, its reading when the run started); null: the threshold is absolute.</summary>
    public string? RelativeTo { get; init; }
}

/// <summary>Tell people (audited; in a live run also the incident's timeline): a sensor to replace, a ticket to open.</summary>
public sealed record NotifyStep(string Message, int Line) : RunbookStep(Line)
{
    /// <summary>The notice's <c>severity</c> for people (<c>critical</c>, <c>warning</c> or <c>info</c>), or null for the
    /// default: its incident's in the steps, <c>critical</c> in a rollback (an escalation), <c>info</c> in a restore.</summary>
    public string? Severity { get; init; }

    /// <summary>The severities a notify step may name.</summary>
    public static readonly IReadOnlyList<string> Severities = ["critical", "warning", "info"];
}

/// <summary>When a finished runbook's changes are undone: <see cref="Point"/> below (or above) <see cref="Threshold"/> for
/// <see cref="For"/> without a break (the fault repaired: a leak sensor dry, a CDU's flow back).</summary>
public sealed record RestoreCondition(string Point, bool Below, double Threshold, TimeSpan For, int Line)
{
    /// <summary>As <see cref="CheckStep.RelativeTo"/>.</summary>
    public string? RelativeTo { get; init; }
}

/// <summary>Steps that put back part of what a finished run changed (actions and notifications, run at once) once
/// <see cref="When"/> holds.</summary>
public sealed record RestoreEntry(RestoreCondition When, IReadOnlyList<RunbookStep> Steps);

/// <summary>A runbook as code: which fault kinds (as root-cause analysis names them) trigger it, its steps, whether a
/// person must approve it before it starts, the steps that undo it if a step fails, and the steps that put the plant
/// back once the fault is repaired (<see cref="Restores"/>; only what the run itself changed).</summary>
public sealed record Runbook(string Name, string Description, IReadOnlyList<string> Triggers, bool Approval, IReadOnlyList<RunbookStep> Steps, IReadOnlyList<RunbookStep> Rollback, string Source)
{
    /// <summary>What is put back, and when, after the run finished (empty: never, a person does). Usually one entry (the
    /// fault repaired); a temporary measure can have its own (a CRAH runbook's GPU caps lifted once the hall's inlets
    /// are back down, its standby stopped once the CRAH is repaired).</summary>
    public IReadOnlyList<RestoreEntry> Restores { get; init; } = [];

    /// <summary>The bindings a step may use: the cause's asset and what the factory says about it.</summary>
    public static IReadOnlyList<string> Bindings { get; } = ["asset", "racks", "hall", "cdus_in_hall", "crahs_in_hall", "standby_crahs_in_hall", "racks_in_hall", "standby_chillers", "chillers", "all_racks"];

    /// <summary>Every <c>*.yaml</c> runbook in a directory, checked against the factory.</summary>
    public static IReadOnlyList<Runbook> LoadDirectory(string directory, Factory factory)
    {
        if (!Directory.Exists(directory))
        {
            throw new ConfigException(directory, 0, "runbooks", "no such directory");
        }

        var books = Directory.GetFiles(directory, "*.yaml").Order(StringComparer.Ordinal).Select(f => Load(f, factory)).ToList();
        foreach (var dup in books.GroupBy(b => b.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            throw new ConfigException(dup.Last().Source, 0, "name", $"runbook '{dup.Key}' is also defined in {dup.First().Source}");
        }

        return books;
    }

    public static Runbook Load(string path, Factory factory) => Read(ConfigNode.Load(path), path, factory);

    public static Runbook Parse(string yaml, Factory factory, string file = "runbook.yaml") => Read(ConfigNode.Parse(yaml, file), file, factory);

    private static Runbook Read(ConfigNode root, string source, Factory factory)
    {
        var name = root.String("name");
        var description = root.String("description", "");
        var triggerNodes = root.List("triggers", required: true);
        if (triggerNodes.Count == 0)
        {
            throw root.Error("triggers", "names no fault kind");
        }

        // A trigger root-cause analysis never names would never start the runbook: a misspelt one is an error, not silence.
        var triggers = triggerNodes.Select(t => t.Scalar()).ToList();
        if (triggers.Select((t, i) => (t, i)).FirstOrDefault(x => !RootCauseAnalyzer.CauseKinds.Contains(x.t, StringComparer.Ordinal)) is ({ } unknown, var at))
        {
            throw triggerNodes[at].Error($"unknown fault kind '{unknown}' (root-cause analysis names: {string.Join(", ", RootCauseAnalyzer.CauseKinds)})");
        }

        var approval = root.Optional("approval") is { } a && a.Scalar() switch
        {
            "true" => true,
            "false" => false,
            var other => throw a.Error($"expected true or false, not '{other}'"),
        };
        var assets = KnownAssets(factory);
        var steps = root.List("steps", required: true).Select(s => Step(s, assets)).ToList();
        var rollback = root.List("rollback").Select(s => Step(s, assets)).ToList();
        List<RestoreEntry> restores = [];
        if (root.Optional("restore") is { } r)
        {
            // One entry (a mapping) or several (a list of them).
            var entries = r.IsList ? root.List("restore") : [r];
            if (entries.Count == 0)
            {
                throw r.Error("a restore list needs at least one entry");
            }

            restores.AddRange(entries.Select(e => Restore(e, assets)));
        }
        root.RejectUnknown();
        return new Runbook(name, description, triggers, approval, steps, rollback, source) { Restores = restores };
    }

    private static RestoreEntry Restore(ConfigNode r, HashSet<string> assets)
    {
        var w = r.Optional("when") ?? throw r.Error("when", "a restore needs a when: {point, below or above, for}");
        var (point, below, threshold, relativeTo) = Threshold(w, assets);
        var when = new RestoreCondition(point, below, threshold, w.Duration("for", allowZero: false), w.Line) { RelativeTo = relativeTo };
        w.RejectUnknown();
        var list = r.List("steps", required: true);
        var restore = list.Select(s => Step(s, assets)).ToList();
        if (restore.Count == 0)
        {
            throw r.Error("steps", "a restore needs at least one step");
        }

        if (restore.Select((step, i) => (step, i)).FirstOrDefault(x => x.step is WaitStep or CheckStep) is { step: not null } odd)
        {
            throw list[odd.i].Error("restore steps are actions and notifications (they run at once, as a rollback's)");
        }

        r.RejectUnknown();
        return new RestoreEntry(when, restore);
    }

    /// <summary>The suffix of a <c>relative_to</c> point that counts from its reading when the run started, not its
    /// present reading (a water temperature back within 1.5 K of where it was when the chiller tripped).</summary>
    public const string AtStart = "@start";

    /// <summary>A check's or restore condition's point and threshold: exactly one of <c>below</c> or <c>above</c>, counted
    /// from the reading of <c>relative_to</c> (one point, not a list; <see cref="AtStart"/> for its reading when the run
    /// started) when given.</summary>
    private static (string Point, bool Below, double Threshold, string? RelativeTo) Threshold(ConfigNode node, HashSet<string> assets)
    {
        var point = node.String("point");
        CheckTarget(node, "point", point.Split('/')[0], assets);
        string? relativeTo = null;
        if (node.Optional("relative_to") is { } r)
        {
            relativeTo = r.Scalar();
            var named = relativeTo.EndsWith(AtStart, StringComparison.Ordinal) ? relativeTo[..^AtStart.Length] : relativeTo;
            if (!named.Contains('/', StringComparison.Ordinal) || named.Contains('@', StringComparison.Ordinal))
            {
                throw r.Error($"relative_to names a point, asset/point (e.g. facility-water/supply_setpoint), optionally with @start for its reading when the run started, not '{relativeTo}'");
            }

            CheckTarget(node, "relative_to", relativeTo.Split('/')[0], assets);
        }

        var below = node.Optional("below")?.AsNumber();
        var above = node.Optional("above")?.AsNumber();
        if (below is null == above is null)
        {
            throw node.Error("below", "give exactly one of below or above");
        }

        return (point, below is not null, below ?? above!.Value, relativeTo);
    }

    private static RunbookStep Step(ConfigNode node, HashSet<string> assets)
    {
        RunbookStep step;
        if (node.Optional("action") is { } actionNode)
        {
            var kind = ParseKind(actionNode);
            var target = node.String("target");
            CheckTarget(node, "target", target, assets);
            var value = node.Optional("value")?.AsNumber();
            var delta = node.Optional("delta")?.AsNumber();
            if (value is null == delta is null && kind is not (ActionKind.StartStandby or ActionKind.StopUnit))
            {
                throw node.Error("value", "give exactly one of value or delta");
            }

            step = new ActionStep(kind, target, value, delta, node.String("reason", ""), node.Line);
        }
        else if (node.Optional("wait") is { } wait)
        {
            step = new WaitStep(wait.AsDuration(allowZero: false), node.Line);
        }
        else if (node.Optional("check") is { } check)
        {
            var (point, below, threshold, relativeTo) = Threshold(check, assets);
            var within = check.Duration("within", allowZero: false);
            var hold = check.Duration("for", TimeSpan.Zero);
            if (hold >= within)
            {
                throw check.Error("for", $"a check must hold for less than its within ({within}) to be met in time");
            }

            step = new CheckStep(point, below, threshold, within, node.Line) { For = hold, RelativeTo = relativeTo };
            check.RejectUnknown();
        }
        else if (node.Optional("notify") is { } notify)
        {
            var severity = node.OptionalString("severity");
            if (severity is not null && !NotifyStep.Severities.Contains(severity))
            {
                throw node.Error("severity", $"unknown severity '{severity}' (expected one of {string.Join(", ", NotifyStep.Severities)})");
            }

            step = new NotifyStep(notify.Scalar(), node.Line) { Severity = severity };
        }
        else
        {
            throw node.Error("a step is one of action, wait, check or notify");
        }

        node.RejectUnknown();
        return step;
    }

    private static ActionKind ParseKind(ConfigNode node)
    {
        var text = node.Scalar();
        return ActionKindNames.TryParse(text, out var kind)
            ? kind
            : throw node.Error($"unknown action '{text}' (expected one of {ActionKindNames.All})");
    }

    /// <summary>A target is a binding (<c>{racks}</c>) or an asset of the factory.</summary>
    private static void CheckTarget(ConfigNode node, string field, string target, HashSet<string> assets)
    {
        if (target.StartsWith('{') && target.EndsWith('}'))
        {
            if (!Bindings.Contains(target[1..^1]))
            {
                throw node.Error(field, $"unknown binding '{target}' (expected one of {string.Join(", ", Bindings.Select(b => "{" + b + "}"))})");
            }

            return;
        }

        if (!assets.Contains(target))
        {
            throw node.Error(field, $"unknown asset '{target}'");
        }
    }

    private static HashSet<string> KnownAssets(Factory f)
    {
        var set = new HashSet<string>(StringComparer.Ordinal) { "facility-water", "economiser", "site" };
        set.UnionWith(f.Halls.Select(h => h.Id));
        set.UnionWith(f.Racks.Select(r => r.Id));
        set.UnionWith(f.Cooling.Chillers.Select(c => c.Id));
        set.UnionWith(f.Cooling.Cdus.Select(c => c.Id));
        set.UnionWith(f.Cooling.Crahs.Select(c => c.Id));
        set.UnionWith(f.Cooling.DryCoolers.Select(c => c.Id));
        set.UnionWith(f.Cooling.CoolingTowers.Select(c => c.Id));
        return set;
    }
}
