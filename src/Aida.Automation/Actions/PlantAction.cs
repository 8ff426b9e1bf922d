using System.Globalization;
using Aida.Automation.Safety;
using Aida.Model.Facility;

namespace Aida.Automation.Actions;

/// <summary>What an action does to the plant.</summary>
public enum ActionKind
{
    /// <summary>Move a supply setpoint (facility water, a CDU, a CRAH).</summary>
    SetSetpoint,

    /// <summary>Set a pump or fan speed (ratio of full speed).</summary>
    SetSpeed,

    /// <summary>Start a unit held on standby (a chiller, a CRAH).</summary>
    StartStandby,

    /// <summary>Stop a running unit (a chiller, a CRAH): removes redundancy.</summary>
    StopUnit,

    /// <summary>Enable or disable the economiser (free cooling on the dry coolers).</summary>
    SetEconomiser,

    /// <summary>Cap the GPUs of a rack to a power limit (W per GPU).</summary>
    CapGpuPower,

    /// <summary>Cut a rack off its cooling and power branch (a leak, a runaway), or put it back (value 0).</summary>
    IsolateRack,

    /// <summary>Hold a rack's jobs (value 1: its GPUs idle, powered and cooled) or let them run again (value 0): the
    /// heat comes off a struggling cooling branch without cutting power.</summary>
    PauseWorkload,

    /// <summary>Move a rack's jobs (value 1) to a spare rack on another CDU that the scheduler picks, or bring them back
    /// (value 0): the heat leaves a struggling cooling branch and the compute goes on. With no spare rack the move does
    /// nothing and its verification (the rack's <c>workload_moved</c> point) fails.</summary>
    MoveWorkload,
}

/// <summary>Action kinds by the snake_case names runbooks and the API write (<c>isolate_rack</c>).</summary>
public static class ActionKindNames
{
    public static string Name(ActionKind kind) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString());

    /// <summary>The kind named <paramref name="name"/> exactly (lower case), or false.</summary>
    public static bool TryParse(string name, out ActionKind kind)
    {
        foreach (var k in Enum.GetValues<ActionKind>())
        {
            if (Name(k) == name)
            {
                kind = k;
                return true;
            }
        }

        kind = default;
        return false;
    }

    /// <summary>Every kind's name, for an error message.</summary>
    public static string All => string.Join(", ", Enum.GetValues<ActionKind>().Select(Name));
}

/// <summary>How much harm a wrong action could do; supervised mode holds <see cref="High"/> ones for an approver.</summary>
public enum RiskClass
{
    Low,
    Medium,
    High,
}

/// <summary>What must be true after an action, within a time, else it is rolled back: a point's reading compared with a
/// threshold.</summary>
/// <param name="Point">A plant point name, e.g. <c>cdu-h1-a/supply_temperature</c>.</param>
/// <param name="Below">True: the reading must fall to or below <paramref name="Threshold"/>; false: rise to or above it.</param>
public sealed record Verification(string Point, bool Below, double Threshold, TimeSpan Within)
{
    public bool IsMet(double reading) => !double.IsNaN(reading) && (Below ? reading <= Threshold : reading >= Threshold);

    public override string ToString() => $"{Point} {(Below ? "<=" : ">=")} {Threshold.ToString(CultureInfo.InvariantCulture)} within {Within}";
}

/// <summary>A typed action on one asset: the actuator it writes and the value, its risk class, blast radius (racks it
/// acts on, from the topology), whether it can be undone, and how its effect is verified.</summary>
public sealed record PlantAction(
    string Id,
    ActionKind Kind,
    string Asset,
    string Actuator,
    double Value,
    RiskClass Risk,
    bool Reversible,
    int BlastRadiusRacks,
    Verification? Verify,
    string Reason);

/// <summary>Builds typed actions for a factory: resolves the actuator, the risk and the blast radius, and refuses an
/// action on an asset the factory does not have or that cannot take it.</summary>
public sealed class ActionCatalog
{
    private readonly Factory _factory;
    private readonly SafetyEnvelope _envelope;
    private readonly HashSet<string> _chillers;
    private readonly HashSet<string> _crahs;
    private readonly HashSet<string> _cdus;
    private readonly HashSet<string> _racks;
    private readonly string _idPrefix;
    private long _next;

    /// <param name="idPrefix">What the actions' ids start with, a letter or two: <c>A</c> (A1, A2, …) for the agent's,
    /// <c>P</c> for those proposed through the API, so that one run's ids never name two actions.</param>
    /// <param name="numberedAfter">The highest number already given (an earlier run's, from the audit log, <see cref="Audit.AuditLog.HighestNumbered"/>):
    /// ids go on after it, so a restart does not give the same id again.</param>
    public ActionCatalog(Factory factory, SafetyEnvelope envelope, string idPrefix = "A", long numberedAfter = 0)
    {
        _factory = factory ?? throw new ArgumentNullException(nameof(factory));
        _envelope = envelope ?? throw new ArgumentNullException(nameof(envelope));
        if (idPrefix is not { Length: >= 1 and <= 2 } || !idPrefix.All(char.IsAsciiLetterUpper))
        {
            throw new ArgumentException($"an action id prefix is one or two capital letters, not '{idPrefix}'", nameof(idPrefix));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(numberedAfter);
        _idPrefix = idPrefix;
        _next = numberedAfter;
        _chillers = new HashSet<string>(factory.Cooling.Chillers.Select(c => c.Id), StringComparer.Ordinal);
        _crahs = new HashSet<string>(factory.Cooling.Crahs.Select(c => c.Id), StringComparer.Ordinal);
        _cdus = new HashSet<string>(factory.Cooling.Cdus.Select(c => c.Id), StringComparer.Ordinal);
        _racks = new HashSet<string>(factory.Racks.Select(r => r.Id), StringComparer.Ordinal);
    }

    /// <summary>The racks a CDU cools (for runbooks that act on "the racks of" an asset).</summary>
    public IReadOnlyList<string> RacksOf(string asset) =>
        _racks.Contains(asset) ? [asset] : [.. _factory.Racks.Where(r => r.Cdu == asset || r.Hall == asset).Select(r => r.Id)];

    /// <summary>A new action with a fresh id (<c>A1</c>, <c>A2</c>, … with the catalog's prefix).</summary>
    /// <exception cref="ArgumentException">The asset is unknown, or the kind does not apply to it; the message names both.</exception>
    public PlantAction Create(ActionKind kind, string asset, double value, string reason, Verification? verify = null)
    {
        var (actuator, risk, reversible) = Describe(kind, asset);
        value = kind switch
        {
            ActionKind.StartStandby => 1,
            ActionKind.StopUnit => 0,
            _ => value,
        };
        var id = _idPrefix + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);
        return new PlantAction(id, kind, asset, actuator, value, risk, reversible, _envelope.RacksServed(asset), verify, reason);
    }

    /// <summary>An action created by an earlier run under <paramref name="id"/> (one of this catalog's, taken up after a
    /// restart: <see cref="ActionExecutor.TakeUp"/>), checked as <see cref="Create"/> checks a new one.</summary>
    /// <exception cref="ArgumentException">As <see cref="Create"/>; or the id is not one this catalog numbers.</exception>
    public PlantAction CreateKept(string id, ActionKind kind, string asset, double value, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        if (!id.StartsWith(_idPrefix, StringComparison.Ordinal) || !long.TryParse(id.AsSpan(_idPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            throw new ArgumentException($"'{id}' is not an action id of this catalog ({_idPrefix}1, {_idPrefix}2, …)", nameof(id));
        }

        var (actuator, risk, reversible) = Describe(kind, asset);
        _next = Math.Max(_next, n);
        return new PlantAction(id, kind, asset, actuator, value, risk, reversible, _envelope.RacksServed(asset), null, reason);
    }

    /// <summary>The actuator an action of <paramref name="kind"/> on <paramref name="asset"/> writes, without creating
    /// an action (a runbook reading its current value, or asking whether its run wrote it).</summary>
    /// <exception cref="ArgumentException">As <see cref="Create"/>.</exception>
    public string Actuator(ActionKind kind, string asset) => Describe(kind, asset).Actuator;

    private (string Actuator, RiskClass Risk, bool Reversible) Describe(ActionKind kind, string asset)
    {
        ArgumentException.ThrowIfNullOrEmpty(asset);
        return kind switch
        {
            ActionKind.SetSetpoint when asset == "facility-water" || _cdus.Contains(asset) || _crahs.Contains(asset) =>
                ($"{asset}/supply_setpoint", asset == "facility-water" ? RiskClass.Medium : RiskClass.Low, true),
            ActionKind.SetSpeed when asset == "facility-water" || _cdus.Contains(asset) => ($"{asset}/pump_speed", RiskClass.Low, true),
            ActionKind.SetSpeed when _crahs.Contains(asset) => ($"{asset}/fan_speed", RiskClass.Low, true),
            ActionKind.StartStandby when _chillers.Contains(asset) || _crahs.Contains(asset) => ($"{asset}/enable", RiskClass.Low, true),
            ActionKind.StopUnit when _chillers.Contains(asset) || _crahs.Contains(asset) => ($"{asset}/enable", RiskClass.High, true),
            ActionKind.SetEconomiser when asset == "economiser" => ("economiser/enable", RiskClass.Medium, true),
            ActionKind.CapGpuPower when _racks.Contains(asset) => ($"{asset}/gpu_power_limit", RiskClass.Medium, true),
            ActionKind.IsolateRack when _racks.Contains(asset) => ($"{asset}/isolate", RiskClass.High, false),
            ActionKind.PauseWorkload when _racks.Contains(asset) => ($"{asset}/workload_pause", RiskClass.Medium, true),
            ActionKind.MoveWorkload when _racks.Contains(asset) => ($"{asset}/workload_move", RiskClass.Medium, true),
            _ => throw new ArgumentException(Known(asset)
                ? $"action {kind} does not apply to {asset}"
                : $"action {kind}: unknown asset '{asset}' (not in factory {_factory.Name})"),
        };
    }

    private bool Known(string asset) =>
        asset is "facility-water" or "economiser" || _chillers.Contains(asset) || _crahs.Contains(asset) || _cdus.Contains(asset) || _racks.Contains(asset);
}
