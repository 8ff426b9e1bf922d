using Aida.Observability.RootCause;

namespace Aida.Observability.Incidents;

/// <summary>Where an incident is in its lifecycle. States only move forward, one or more steps at a time:
/// open → acknowledged → mitigated → resolved.</summary>
public enum IncidentState
{
    /// <summary>Opened by its first alert; nobody has said they are on it.</summary>
    Open,

    /// <summary>Someone is on it.</summary>
    Acknowledged,

    /// <summary>The impact is contained (a pump restarted, load moved), the cause may not be fixed yet.</summary>
    Mitigated,

    /// <summary>Over. Final: a resolved incident takes no further state change.</summary>
    Resolved,
}

/// <summary>What a timeline entry records.</summary>
public enum TimelineEntryKind
{
    /// <summary>An alert was folded into the incident (the entry's time is the alert's).</summary>
    AlertFolded,

    /// <summary>The state changed: who, when, why.</summary>
    StateChanged,

    /// <summary>A root-cause finding was attached (or replaced the earlier one).</summary>
    RootCauseAttached,
}

/// <summary>One line of an incident's timeline.</summary>
/// <param name="Text">For an alert, its name, asset and summary; for a state change, the note (why); for a root cause,
/// the top candidate.</param>
public sealed record TimelineEntry(DateTimeOffset At, TimelineEntryKind Kind, string Text)
{
    /// <summary>Who changed the state or attached the finding; null for folded alerts.</summary>
    public string? By { get; init; }

    /// <summary>The state before a change.</summary>
    public IncidentState? From { get; init; }

    /// <summary>The state after a change.</summary>
    public IncidentState? To { get; init; }

    /// <summary>The asset of a folded alert.</summary>
    public string? Asset { get; init; }
}

/// <summary>An incident as stored: its state, when it opened and last alerted, the alerts folded into it and the
/// assets they were raised on.</summary>
/// <param name="Id">The store's id, 1, 2, … in the order incidents were opened.</param>
/// <param name="Title">The first alert's name and asset.</param>
/// <param name="Severity">The highest severity of its alerts.</param>
/// <param name="Updated">When the incident last changed (an alert folded, a state change, a finding attached).</param>
/// <param name="AlertCount">How many alerts were folded into it.</param>
/// <param name="Assets">Each asset alerted on and how many alerts it raised, by asset name.</param>
public sealed record Incident(
    long Id,
    string Title,
    IncidentState State,
    string Severity,
    DateTimeOffset Opened,
    DateTimeOffset LastAlert,
    DateTimeOffset Updated,
    int AlertCount,
    IReadOnlyDictionary<string, int> Assets)
{
    /// <summary>When it was resolved; null while it is not.</summary>
    public DateTimeOffset? Resolved { get; init; }
}

/// <summary>One incident with its timeline (oldest first) and its root-cause finding, when one is attached.</summary>
public sealed record IncidentDetail(Incident Incident, IReadOnlyList<TimelineEntry> Timeline, RootCauseFinding? RootCause);
