namespace Aida.Reliability.Policy;

/// <summary>Kinds of change an optimiser or agent may make toward efficiency.</summary>
/// <remarks>Moves back toward the safe envelope (colder setpoints, more pumps or fans, more units running) are not listed:
/// they are always allowed.</remarks>
[Flags]
public enum EfficiencyActions
{
    /// <summary>Nothing toward efficiency: only moves back to safety.</summary>
    None = 0,

    /// <summary>Raising facility-water and CDU supply setpoints within the envelope.</summary>
    SetpointRaise = 1,

    /// <summary>Slowing pumps and fans (affinity laws: power ~ speed^3).</summary>
    PumpAndFanTrim = 2,

    /// <summary>Stopping chillers, CRAHs or pumps, or running on the economiser alone: each removes redundancy.</summary>
    Staging = 4,

    /// <summary>Running UPSes in eco mode (static bypass): removes the double conversion's ride-through; weighed against the
    /// power domain's SLOs, not the cooling ones.</summary>
    UpsEco = 8,
}

/// <summary>How the policy treats the plant right now.</summary>
public enum EfficiencyRegime
{
    /// <summary>Budget to spare: the envelope opens toward the cap in proportion to the headroom.</summary>
    Expand,

    /// <summary>No headroom (or no data): the safe envelope, pump and fan trims only, nobody paged.</summary>
    Hold,

    /// <summary>Fast burn, a page firing or the budget thin: the safe envelope, every efficiency change frozen, a human paged.</summary>
    Freeze,
}

/// <summary>One risk domain's verdict: how its SLOs' budgets let moves of its kind be made.</summary>
/// <param name="Regime">Expand, hold or freeze.</param>
/// <param name="Headroom">0 to 1: the tightest of the domain's SLOs.</param>
/// <param name="LimitingSlo">The SLO that set the headroom or triggered the freeze; null when there is none.</param>
/// <param name="Reason">One line saying why, for the audit trail.</param>
public sealed record DomainVerdict(EfficiencyRegime Regime, double Headroom, string? LimitingSlo, string Reason);

/// <summary>What the optimiser may do toward efficiency: the highest setpoints, the action classes and the risk it may take.</summary>
/// <remarks>Each kind of move is weighed against the SLOs its risk can reach (<see cref="OpenSlo.RiskDomains"/>). The
/// regime, setpoints, risk budget, headroom, limiting SLO and reason are the cooling domain's (the optimiser's moves);
/// <see cref="Power"/> is the power domain's verdict, which grants <see cref="EfficiencyActions.UpsEco"/>.</remarks>
/// <param name="Regime">Expand, hold or freeze (cooling).</param>
/// <param name="MaxFacilityWaterSupplyCelsius">Highest facility-water supply setpoint allowed.</param>
/// <param name="MaxCduSupplyCelsius">Highest CDU secondary supply setpoint allowed.</param>
/// <param name="Allowed">Action classes allowed toward efficiency.</param>
/// <param name="RiskBudget">Share of a full window's error budget (of any one SLO) the optimiser's predicted risk may spend
/// before the next evaluation; 0 when nothing may be risked.</param>
/// <param name="Headroom">The headroom the cooling envelope was opened by, 0 to 1.</param>
/// <param name="PageHuman">Whether a human must be paged: either domain froze.</param>
/// <param name="LimitingSlo">The SLO that set the cooling headroom (or triggered its freeze); null when there is none.</param>
/// <param name="Reason">One line saying why, for the audit trail (cooling).</param>
public sealed record EfficiencyEnvelope(
    EfficiencyRegime Regime,
    double MaxFacilityWaterSupplyCelsius,
    double MaxCduSupplyCelsius,
    EfficiencyActions Allowed,
    double RiskBudget,
    double Headroom,
    bool PageHuman,
    string? LimitingSlo,
    string Reason)
{
    /// <summary>The power domain's verdict (UPS eco mode); null when the envelope was given as one verdict for every
    /// domain, which <see cref="PowerVerdict"/> then reads from the top-level fields.</summary>
    public DomainVerdict? Power { get; init; }

    /// <summary>The safe envelope's facility-water supply: the plant's known-safe baseline (the digital operator's summer
    /// water). Water held colder than this (a fault's emergency setting) may come back up to it in any regime: that spends
    /// no budget, it ends an emergency measure once the predicted limits allow. NaN (unknown): no such return.</summary>
    public double SafeFacilityWaterSupplyCelsius { get; init; } = double.NaN;

    /// <summary>Whether raising the facility water to <paramref name="celsius"/> needs the
    /// <see cref="EfficiencyActions.SetpointRaise"/> leave: above the safe envelope's value it does; at or below it, it is
    /// a return to the safe envelope.</summary>
    public bool WaterRaiseNeedsLeave(double celsius) => !(celsius <= SafeFacilityWaterSupplyCelsius + 1e-9);

    /// <summary>The power domain's verdict, or the envelope's own when it has none apart.</summary>
    public DomainVerdict PowerVerdict => Power ?? new DomainVerdict(Regime, Headroom, LimitingSlo, Reason);
}
