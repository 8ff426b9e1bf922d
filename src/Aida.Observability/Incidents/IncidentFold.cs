namespace Aida.Observability.Incidents;

/// <summary>Where <see cref="IncidentFold.Add"/> put an alert: the incident's number, and whether the alert opened it.</summary>
public readonly record struct IncidentAssignment(int Number, bool Opened);

/// <summary>An incremental fold of alerts into incidents under an <see cref="IncidentGrouper"/>'s rule, for a live
/// pipeline: each alert is assigned as it arrives, and the caller mirrors the assignment in an
/// <see cref="IncidentStore"/> (<see cref="IncidentStore.Open"/> when <see cref="IncidentAssignment.Opened"/>, else
/// <see cref="IncidentStore.Fold"/> into the incident it opened).</summary>
/// <remarks>Alerts are expected in time order. A late alert joins only incidents still open at the latest alert seen,
/// and never moves an incident's last-alert time back. Not thread-safe: one fold per pipeline.</remarks>
public sealed class IncidentFold
{
    private readonly IncidentGrouper _grouper;
    private readonly List<Building> _all = [];
    private readonly List<Building> _open = [];
    private readonly List<Building> _closed = [];

    internal IncidentFold(IncidentGrouper grouper) => _grouper = grouper;

    /// <summary>Every incident so far, in the order they opened.</summary>
    public IReadOnlyList<IncidentGroup> Incidents =>
        [.. _all.Select(g => new IncidentGroup(g.Number, g.Opened, g.Last, [.. g.Alerts], new HashSet<string>(g.Assets, StringComparer.Ordinal)) { QuietFrom = g.Last + _grouper.Window })];

    /// <summary>After when incident <paramref name="number"/> takes no alert of any kind unless one comes first: its last
    /// alert plus the grouping window, or plus the recurrence within which an SLO alert may reopen it, whichever is later.</summary>
    public DateTimeOffset ClosedAfter(int number) => _all[number - 1].Last + (_grouper.Recurrence > _grouper.Window ? _grouper.Recurrence : _grouper.Window);

    /// <summary>Folds <paramref name="alert"/> into the nearest open incident, or opens one.</summary>
    public IncidentAssignment Add(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);

        // Close every incident that has been quiet for longer than the window; keep it for an SLO alert to reopen meanwhile.
        foreach (var g in _open)
        {
            if (alert.At - g.Last > _grouper.Window)
            {
                _closed.Add(g);
            }
        }

        _open.RemoveAll(g => alert.At - g.Last > _grouper.Window);
        _closed.RemoveAll(g => alert.At - g.Last > _grouper.Recurrence);
        var near = _grouper.Neighbourhood(alert.Asset);
        var slo = alert.Source == AlertSource.SloBurn;
        Building? best = null;
        var bestHops = int.MaxValue;
        foreach (var g in _open)
        {
            // An alert from telemetry is grouped by the telemetry alerts before it alone: an SLO alert (a consequence,
            // arriving late) neither keeps an incident open to it, nor lends it an asset to be near, nor opens one it
            // joins. So SLO alerts never change how the plant's alerts group: a later fault is never held in an
            // incident an SLO alert kept alive, whose cause an agent has already answered.
            var last = slo ? g.Last : g.PlantLast;
            if (last is null || (!slo && alert.At - last.Value > _grouper.Window))
            {
                continue;
            }

            // A critical alarm after a quiet spell is a new event, not the next symptom of a slow degradation under
            // watch: it does not join an incident of warnings only whose last alert is at least QuietBeforeCritical
            // old. (In a faults week a leak alarm joined a false dry-cooler drift incident 7 min after its last alert,
            // and that incident's cause stayed the drift.)
            if (alert.Severity == "critical" && !slo && alert.At - last.Value >= _grouper.QuietBeforeCritical && !g.PlantHasCritical)
            {
                continue;
            }

            var hops = Hops(slo ? g.Assets : g.PlantAssets, near);
            var bestLast = best is null ? null : slo ? best.Last : best.PlantLast;
            if (hops < bestHops || (hops == bestHops && best is not null && last > bestLast))
            {
                best = g;
                bestHops = hops;
            }
        }

        if (best is null && alert.Source == AlertSource.SloBurn)
        {
            best = Burning(alert);
        }

        if (best is null && alert.Source == AlertSource.SloBurn && Recurring(alert) is { } back)
        {
            best = back;
            _closed.Remove(back);
            _open.Add(back);
            _open.Sort((a, b) => a.Number.CompareTo(b.Number));
        }

        var opened = best is null;
        if (best is null)
        {
            best = new Building(_all.Count + 1, alert.At);
            _all.Add(best);
            _open.Add(best);
        }

        best.Alerts.Add(alert);
        best.Assets.Add(alert.Asset);
        best.Last = alert.At > best.Last ? alert.At : best.Last;
        best.Opened = alert.At < best.Opened ? alert.At : best.Opened;
        if (!slo)
        {
            best.PlantHasCritical |= alert.Severity == "critical";
            best.PlantAssets.Add(alert.Asset);
            best.PlantLast = best.PlantLast is { } p && p > alert.At ? p : alert.At;
        }

        return new IncidentAssignment(best.Number, opened);
    }

    /// <summary>The open incident an SLO burn-rate alert joins when none is near its asset (the series burning most, or the
    /// SLO's name for a ratio SLI): of those holding an alert on a series its SLI reads, the
    /// latest to alert; else the latest open incident to alert (a budget burns because something is wrong, and an SLO
    /// such as training goodput reads no series a symptom was raised on); null when none is open. Ties go to the first
    /// opened. An SLO alert is a consequence, so the critical-after-a-pause rule does not hold it back.</summary>
    private Building? Burning(Alert alert)
    {
        Building? reading = null;
        Building? latest = null;
        foreach (var g in _open)
        {
            if (Reads(g, alert) && (reading is null || g.Last > reading.Last))
            {
                reading = g;
            }

            if (latest is null || g.Last > latest.Last)
            {
                latest = g;
            }
        }

        return reading ?? latest;
    }

    /// <summary>Whether the incident holds an alert raised on a series the SLO alert's SLI reads.</summary>
    private static bool Reads(Building incident, Alert slo) =>
        incident.Alerts.Any(a => a.Series is { } l && slo.Reads.Contains(l.MetricName, StringComparer.Ordinal));

    /// <summary>The closed incident an SLO burn-rate alert reopens: the latest to alert of those holding its asset or an
    /// alert on a series its SLI reads (the first opened on a tie); or null.</summary>
    private Building? Recurring(Alert alert)
    {
        Building? back = null;
        foreach (var g in _closed)
        {
            if ((g.Assets.Contains(alert.Asset) || Reads(g, alert))
                && (back is null || g.Last > back.Last || (g.Last == back.Last && g.Number < back.Number)))
            {
                back = g;
            }
        }

        return back;
    }

    /// <summary>The fewest hops from the alert's neighbourhood to any of an incident's assets; int.MaxValue when none is near.</summary>
    private static int Hops(HashSet<string> assets, Dictionary<string, int> near)
    {
        var best = int.MaxValue;
        foreach (var asset in assets)
        {
            if (near.TryGetValue(asset, out var hops) && hops < best)
            {
                best = hops;
            }
        }

        return best;
    }

    /// <summary>An incident while the fold is building it.</summary>
    private sealed class Building(int number, DateTimeOffset opened)
    {
        public int Number { get; } = number;

        public DateTimeOffset Opened { get; set; } = opened;

        public DateTimeOffset Last { get; set; } = opened;

        public List<Alert> Alerts { get; } = [];

        public HashSet<string> Assets { get; } = new(StringComparer.Ordinal);

        /// <summary>The last alert from telemetry (not an SLO's); null while the incident holds SLO alerts only.</summary>
        public DateTimeOffset? PlantLast { get; set; }

        /// <summary>Whether an alert from telemetry in it is critical.</summary>
        public bool PlantHasCritical { get; set; }

        /// <summary>The assets of its alerts from telemetry.</summary>
        public HashSet<string> PlantAssets { get; } = new(StringComparer.Ordinal);
    }
}
