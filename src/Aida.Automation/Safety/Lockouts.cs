using Aida.Automation.Audit;

namespace Aida.Automation.Safety;

/// <summary>An asset a person has taken out of Aida's hands (lockout/tagout: someone is working on it): from
/// <see cref="Since"/> until it is released, or <see cref="Until"/> passes, the guard refuses every write to the asset's
/// actuators, whoever asks. A lockout whose <see cref="Since"/> is still to come is planned (work booked ahead).</summary>
/// <param name="Asset">The asset, as its actuators name it before the slash (<c>cdu-h1-a</c> for
/// <c>cdu-h1-a/pump_speed</c>).</param>
/// <param name="By">Who locked it out (<c>api:alice</c>): only they, or an approver, release it.</param>
/// <param name="Since">When it starts: when it was taken, or the start of the planned work.</param>
/// <param name="Until">When it ends by itself; null: held until released.</param>
public sealed record Lockout(string Asset, string By, string Reason, DateTimeOffset Since, DateTimeOffset? Until)
{
    /// <summary>Whether it holds at <paramref name="now"/>: started, and not ended.</summary>
    public bool HoldsAt(DateTimeOffset now) => now >= Since && (Until is not { } until || now < until);

    /// <summary>Whether it is still to start at <paramref name="now"/>.</summary>
    public bool PlannedAt(DateTimeOffset now) => now < Since;

    /// <summary>How the guard's refusal and the audit log say it.</summary>
    public string Describe() =>
        $"{Asset} is locked out by {By} since {Since:u}{Ending} ({Reason})";

    /// <summary>How the audit log and the API say it while it is still to start.</summary>
    public string DescribePlanned() =>
        $"{Asset} is to be locked out by {By} from {Since:u}{Ending} ({Reason})";

    private string Ending => Until is { } until ? $" until {until:u}" : ", until released";
}

/// <summary>The lockouts of one guard (<see cref="GuardedPlant.Lockouts"/>): a person locks an asset out, now or from a
/// time to come, and releases it; each change is audited and handed to <see cref="Changed"/> (a live run keeps them in
/// <c>lockouts.json</c>). A planned lockout starts at its time, and one whose time has passed ends by itself, each
/// audited when the guard next looks: a write at or after a planned start is refused. An asset may have several, one
/// after another (a job today, the next one booked for Thursday), whose times may not overlap. Thread-safe.</summary>
public sealed class Lockouts
{
    private const string Subject = "lockouts";
    private readonly Dictionary<string, Lockout> _held = new(StringComparer.Ordinal);
    // Soonest first (then by asset); of one asset, none overlaps another nor the one held.
    private readonly List<Lockout> _planned = [];
    private readonly SortedSet<string> _assets;
    private readonly TimeProvider _clock;
    private readonly AuditLog? _audit;
    private readonly Lock _lock = new();

    /// <param name="assets">The assets whose actuators the guard writes: only these can be locked out.</param>
    public Lockouts(IEnumerable<string> assets, TimeProvider clock, AuditLog? audit = null)
    {
        _assets = new SortedSet<string>(assets, StringComparer.Ordinal);
        _clock = clock;
        _audit = audit;
    }

    /// <summary>Called with the lockouts held and planned after each change (one added, released, moved, started or
    /// ended at its time).</summary>
    public Action<IReadOnlyList<Lockout>>? Changed { get; set; }

    /// <summary>Lockouts taken up at a start, one line for a person.</summary>
    public static string Said(IReadOnlyList<Lockout> held) =>
        $"{held.Count} asset{(held.Count == 1 ? " stays" : "s stay")} locked out: {string.Join("; ", held.Select(l => l.Describe()))}";

    /// <summary>Planned lockouts taken up at a start, one line for a person.</summary>
    public static string SaidPlanned(IReadOnlyList<Lockout> planned) =>
        $"{planned.Count} lockout{(planned.Count == 1 ? " stays" : "s stay")} planned: {string.Join("; ", planned.Select(l => l.DescribePlanned()))}";

    /// <summary>The asset an actuator belongs to: its name before the slash.</summary>
    public static string AssetOf(string actuator)
    {
        var slash = actuator.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? actuator : actuator[..slash];
    }

    /// <summary>The lockouts holding now, by asset.</summary>
    public IReadOnlyList<Lockout> Held
    {
        get
        {
            lock (_lock)
            {
                StartAndEndDue();
                return [.. _held.Values.OrderBy(l => l.Asset, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>The lockouts still to start, soonest first.</summary>
    public IReadOnlyList<Lockout> Planned
    {
        get
        {
            lock (_lock)
            {
                StartAndEndDue();
                return [.. _planned];
            }
        }
    }

    /// <summary>The lockout holding <paramref name="actuator"/>'s asset now, or null.</summary>
    public Lockout? Of(string actuator)
    {
        lock (_lock)
        {
            if (_held.Count == 0 && _planned.Count == 0)
            {
                return null;
            }

            StartAndEndDue();
            return _held.GetValueOrDefault(AssetOf(actuator));
        }
    }

    /// <summary>The assets other than <paramref name="asset"/> locked out at some moment of [<paramref name="from"/>,
    /// <paramref name="until"/>) (null: with no end), each with how a person would say it: <c>locked out</c> (held now)
    /// or <c>planned out from 2026-12-08 04:00Z</c>. What else is out over a lockout's window, for what its group has
    /// left (<see cref="Aida.Observability.Derived.SpareCapacity"/>).</summary>
    public IReadOnlyDictionary<string, string> OthersOutOver(string asset, DateTimeOffset from, DateTimeOffset? until)
    {
        lock (_lock)
        {
            StartAndEndDue();
            var to = until ?? DateTimeOffset.MaxValue;
            return _held.Values.Concat(_planned)
                .Where(l => l.Asset != asset && Overlaps(l, from, to))
                .GroupBy(l => l.Asset, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.First() is var l && _held.ContainsValue(l) ? "locked out" : $"planned out from {l.Since:yyyy-MM-dd HH:mm}Z", StringComparer.Ordinal);
        }
    }

    /// <summary>Whether <paramref name="lockout"/> holds at some moment of [<paramref name="since"/>,
    /// <paramref name="until"/>).</summary>
    private static bool Overlaps(Lockout lockout, DateTimeOffset since, DateTimeOffset? until) =>
        lockout.Since < (until ?? DateTimeOffset.MaxValue) && since < (lockout.Until ?? DateTimeOffset.MaxValue);

    /// <summary>Throws when another lockout of <paramref name="asset"/> than <paramref name="except"/> overlaps
    /// [<paramref name="since"/>, <paramref name="until"/>): the held one first, else the soonest planned.</summary>
    /// <exception cref="LockoutOverlapException">One does.</exception>
    private void RefuseOverlap(string asset, DateTimeOffset since, DateTimeOffset? until, Lockout? except = null)
    {
        if (_held.TryGetValue(asset, out var held) && held != except && Overlaps(held, since, until))
        {
            throw new LockoutOverlapException(held, planned: false, $"{held.Describe()}: already locked out then (one asset's lockouts may not overlap: move its end first)");
        }

        if (_planned.FirstOrDefault(l => l.Asset == asset && l != except && Overlaps(l, since, until)) is { } planned)
        {
            throw new LockoutOverlapException(planned, planned: true, $"{planned.DescribePlanned()}: already planned then (one asset's lockouts may not overlap: move its start or end, or call it off)");
        }
    }

    private void AddPlanned(Lockout lockout)
    {
        var at = _planned.FindIndex(l => l.Since > lockout.Since || (l.Since == lockout.Since && string.CompareOrdinal(l.Asset, lockout.Asset) > 0));
        _planned.Insert(at < 0 ? _planned.Count : at, lockout);
    }

    /// <summary>Locks <paramref name="asset"/> out from now, or from <paramref name="from"/> when that is to come (planned
    /// work), until <paramref name="until"/> (null: until released).</summary>
    /// <exception cref="ArgumentException">An unknown asset (named with the known ones), no reason or person, or an end
    /// not after the start.</exception>
    /// <exception cref="LockoutOverlapException">Another lockout of the asset, held or planned, holds at some moment of
    /// its time.</exception>
    public Lockout Add(string asset, string by, string reason, DateTimeOffset? until, DateTimeOffset? from = null) => Add(asset, by, reason, until, lasting: null, from);

    /// <summary>Locks <paramref name="asset"/> out for <paramref name="lasting"/> from the moment it starts (now, or
    /// <paramref name="from"/> when that is to come), which is read once: on a clock that moves between a caller's read
    /// and this one (a twin at --speed 60) an end the caller computed would cut it short.</summary>
    /// <exception cref="ArgumentException">As <see cref="Add(string, string, string, DateTimeOffset?, DateTimeOffset?)"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A duration not above zero.</exception>
    public Lockout Add(string asset, string by, string reason, TimeSpan lasting, DateTimeOffset? from = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lasting, TimeSpan.Zero);
        return Add(asset, by, reason, until: null, lasting, from);
    }

    private Lockout Add(string asset, string by, string reason, DateTimeOffset? until, TimeSpan? lasting, DateTimeOffset? from)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("a lockout needs a reason (what is being worked on)", nameof(reason));
        }

        lock (_lock)
        {
            StartAndEndDue();
            var now = _clock.GetUtcNow();
            if (!_assets.Contains(asset))
            {
                throw new ArgumentException($"unknown asset '{asset}': not one whose actuators Aida writes ({Known()})", nameof(asset));
            }

            var start = from is { } f && f > now ? f : now;
            until = lasting is { } l ? start + l : until;
            if (until is { } end && end <= start)
            {
                throw new ArgumentException(start == now ? $"until {end:u} is not after now ({now:u})" : $"until {end:u} is not after its start ({start:u})", nameof(until));
            }

            RefuseOverlap(asset, start, until);
            var lockout = new Lockout(asset, by, reason, start, until);
            if (start > now)
            {
                AddPlanned(lockout);
                _audit?.Append(by, AuditKind.Decision, Subject, $"{lockout.DescribePlanned()}: planned; Aida writes none of its actuators from then");
            }
            else
            {
                _held[asset] = lockout;
                _audit?.Append(by, AuditKind.Decision, Subject, $"{lockout.Describe()}: Aida writes none of its actuators until then");
            }

            Changed?.Invoke(Snapshot());
            return lockout;
        }
    }

    /// <summary>Releases <paramref name="asset"/>'s lockout, or calls off one planned, by the person who locked it out or
    /// by one who may release anyone's (<paramref name="overrides"/>: an approver).</summary>
    /// <param name="since">Which of the asset's lockouts: the one starting then (to the second); null: the one held, else
    /// the soonest planned.</param>
    /// <exception cref="KeyNotFoundException">The asset is neither locked out nor planned to be (from
    /// <paramref name="since"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">Someone else's lockout, and <paramref name="overrides"/> is false.</exception>
    public Lockout Release(string asset, string by, string reason, bool overrides, DateTimeOffset? since = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("a release needs a reason (the work is done, say)", nameof(reason));
        }

        lock (_lock)
        {
            StartAndEndDue();
            var (held, planned) = Find(asset, since, preferPlanned: false);
            if (held.By != by && !overrides)
            {
                throw new UnauthorizedAccessException($"{(planned ? held.DescribePlanned() : held.Describe())}: only {held.By} or an approver {(planned ? "calls it off" : "releases it")}");
            }

            Remove(held, planned);
            _audit?.Append(by, AuditKind.Decision, Subject, planned
                ? $"{asset}'s lockout planned by {held.By} from {held.Since:u} called off ({reason})"
                : $"{asset} released ({reason}): locked out by {held.By} since {held.Since:u}; Aida writes its actuators again");
            Changed?.Invoke(Snapshot());
            return held;
        }
    }

    /// <summary>Moves the end of <paramref name="asset"/>'s lockout, held or planned, to <paramref name="until"/> (a
    /// technician who needs longer), by the person who locked it out or an approver: it holds throughout, where a release
    /// and a new lockout would leave a moment in which Aida may write the asset.</summary>
    /// <param name="since">Which of the asset's lockouts, as <see cref="Release"/> takes it.</param>
    /// <exception cref="KeyNotFoundException">The asset is neither locked out nor planned to be.</exception>
    /// <exception cref="UnauthorizedAccessException">Someone else's lockout, and <paramref name="overrides"/> is false.</exception>
    /// <exception cref="ArgumentException">An end not after now (a planned one's: after its start).</exception>
    /// <exception cref="LockoutOverlapException">The new end runs into the asset's next lockout.</exception>
    public Lockout Extend(string asset, string by, DateTimeOffset until, bool overrides, DateTimeOffset? since = null) => Extend(asset, by, until, lasting: null, overrides, since);

    /// <summary>Moves the end of <paramref name="asset"/>'s lockout to <paramref name="lasting"/> from now (a planned
    /// one's: from its start), read once as <see cref="Add(string, string, string, TimeSpan, DateTimeOffset?)"/> does.</summary>
    public Lockout Extend(string asset, string by, TimeSpan lasting, bool overrides, DateTimeOffset? since = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lasting, TimeSpan.Zero);
        return Extend(asset, by, default, lasting, overrides, since);
    }

    private Lockout Extend(string asset, string by, DateTimeOffset until, TimeSpan? lasting, bool overrides, DateTimeOffset? since)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        lock (_lock)
        {
            StartAndEndDue();
            var now = _clock.GetUtcNow();
            var (held, planned) = Find(asset, since, preferPlanned: false);
            if (held.By != by && !overrides)
            {
                throw new UnauthorizedAccessException($"{(planned ? held.DescribePlanned() : held.Describe())}: only {held.By} or an approver changes its end");
            }

            var start = planned ? held.Since : now;
            until = lasting is { } l ? start + l : until;
            if (until <= start)
            {
                throw new ArgumentException(planned ? $"until {until:u} is not after its start ({start:u})" : $"until {until:u} is not after now ({now:u})", nameof(until));
            }

            RefuseOverlap(asset, held.Since, until, except: held);
            var moved = held with { Until = until };
            Remove(held, planned);
            if (planned)
            {
                AddPlanned(moved);
            }
            else
            {
                _held[asset] = moved;
            }

            _audit?.Append(by, AuditKind.Decision, Subject, $"{asset}'s lockout by {held.By} now ends at {until:u} (was {(held.Until is { } was ? $"{was:u}" : "until released")})");
            Changed?.Invoke(Snapshot());
            return moved;
        }
    }

    /// <summary>Moves a planned lockout of <paramref name="asset"/> to start at <paramref name="from"/> (the work put off
    /// or brought forward), keeping its length, by the person who booked it or an approver; a start not after now starts
    /// it now.</summary>
    /// <param name="since">Which of the asset's lockouts: the one starting then; null: the soonest planned, else the one
    /// held.</param>
    /// <exception cref="KeyNotFoundException">The asset is neither locked out nor planned to be.</exception>
    /// <exception cref="UnauthorizedAccessException">Someone else's lockout, and <paramref name="overrides"/> is false.</exception>
    /// <exception cref="InvalidOperationException">It has started: its start is history (move its end instead); or
    /// (<see cref="LockoutOverlapException"/>) its new time overlaps another lockout of the asset.</exception>
    public Lockout Reschedule(string asset, string by, DateTimeOffset from, bool overrides, DateTimeOffset? since = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        lock (_lock)
        {
            StartAndEndDue();
            var now = _clock.GetUtcNow();
            var (booked, planned) = Find(asset, since, preferPlanned: true);
            if (!planned)
            {
                throw new InvalidOperationException($"{booked.Describe()}: it has started; move its end instead");
            }

            if (booked.By != by && !overrides)
            {
                throw new UnauthorizedAccessException($"{booked.DescribePlanned()}: only {booked.By} or an approver moves it");
            }

            var start = from > now ? from : now;
            var moved = booked with { Since = start, Until = booked.Until + (start - booked.Since) };
            RefuseOverlap(asset, moved.Since, moved.Until, except: booked);
            _planned.Remove(booked);
            if (start > now)
            {
                AddPlanned(moved);
            }
            else
            {
                _held[asset] = moved;
            }

            _audit?.Append(by, AuditKind.Decision, Subject, start > now
                ? $"{asset}'s lockout planned by {booked.By} now starts at {start:u} (was {booked.Since:u}){(moved.Until is { } end ? $", until {end:u}" : "")}"
                : $"{moved.Describe()}: brought forward to now (planned from {booked.Since:u}); Aida writes none of its actuators until then");
            Changed?.Invoke(Snapshot());
            return moved;
        }
    }

    /// <summary>Takes up lockouts kept by an earlier run (<c>lockouts.json</c>): each still holding is held again, each
    /// still to start planned again, each whose time passed meanwhile is audited as ended. Returns those held.</summary>
    /// <exception cref="ArgumentException">A kept lockout names an asset this plant does not have, or two of one asset
    /// overlap.</exception>
    public IReadOnlyList<Lockout> TakeUp(IEnumerable<Lockout> kept)
    {
        lock (_lock)
        {
            var now = _clock.GetUtcNow();
            var ended = false;
            var all = kept.ToList();
            foreach (var lockout in all)
            {
                if (!_assets.Contains(lockout.Asset))
                {
                    throw new ArgumentException($"a kept lockout names '{lockout.Asset}', not an asset whose actuators Aida writes here ({Known()})");
                }

                if (all.FirstOrDefault(o => o != lockout && o.Asset == lockout.Asset && Overlaps(o, lockout.Since, lockout.Until)) is { } other)
                {
                    throw new ArgumentException($"two kept lockouts of {lockout.Asset} overlap: {lockout.Describe()}; {other.Describe()}");
                }

                if (lockout.PlannedAt(now))
                {
                    AddPlanned(lockout);
                }
                else if (lockout.HoldsAt(now))
                {
                    _held[lockout.Asset] = lockout;
                }
                else
                {
                    ended = true;
                    _audit?.Append("aida", AuditKind.Decision, Subject, $"{lockout.Describe()}: ended while Aida was stopped");
                }
            }

            if (ended)
            {
                Changed?.Invoke(Snapshot());
            }

            return [.. _held.Values.OrderBy(l => l.Asset, StringComparer.Ordinal)];
        }
    }

    /// <summary>The asset's lockout starting at <paramref name="since"/> (to the second); with none given, the one held
    /// or else the soonest planned (<paramref name="preferPlanned"/>: the other way round).</summary>
    /// <exception cref="KeyNotFoundException">None.</exception>
    private (Lockout Lockout, bool Planned) Find(string asset, DateTimeOffset? since, bool preferPlanned)
    {
        var held = _held.GetValueOrDefault(asset);
        var planned = _planned.Where(l => l.Asset == asset).ToList();
        if (since is { } at)
        {
            // To the second, as lists print it (a lockout taken now starts at a fraction of one).
            return held is not null && held.Since.ToUnixTimeSeconds() == at.ToUnixTimeSeconds() ? (held, false)
                : planned.FirstOrDefault(l => l.Since.ToUnixTimeSeconds() == at.ToUnixTimeSeconds()) is { } booked ? (booked, true)
                : throw new KeyNotFoundException($"{asset} has no lockout from {at:u}{(held is null && planned.Count == 0 ? "" : $" ({string.Join("; ", planned.Select(l => l.DescribePlanned()).Prepend(held?.Describe()).OfType<string>())})")}");
        }

        return preferPlanned && planned.Count > 0 ? (planned[0], true)
            : held is not null ? (held, false)
            : planned.Count > 0 ? (planned[0], true)
            : throw new KeyNotFoundException($"{asset} is not locked out");
    }

    private void Remove(Lockout lockout, bool planned)
    {
        if (planned)
        {
            _planned.Remove(lockout);
        }
        else
        {
            _held.Remove(lockout.Asset);
        }
    }

    // Starts the planned lockouts whose time has come, then ends those whose time has passed (a planned one over while
    // Aida was not looking both starts and ends); each audited, and one change handed on for all.
    private void StartAndEndDue()
    {
        if (_held.Count == 0 && _planned.Count == 0)
        {
            return;
        }

        var now = _clock.GetUtcNow();
        var started = _planned.Where(l => !l.PlannedAt(now)).ToList();
        var passed = new List<Lockout>();
        foreach (var lockout in started)
        {
            // The asset's lockout before it ended at or before this one's start (they do not overlap).
            if (_held.Remove(lockout.Asset, out var before))
            {
                passed.Add(before);
                _audit?.Append("aida", AuditKind.Decision, Subject, $"{before.Describe()}: ended at its time; Aida writes its actuators again");
            }

            _planned.Remove(lockout);
            _held[lockout.Asset] = lockout;
            _audit?.Append("aida", AuditKind.Decision, Subject, $"{lockout.Describe()}: started as planned; Aida writes none of its actuators until then");
        }

        foreach (var lockout in _held.Values.Where(l => !l.HoldsAt(now)).ToList())
        {
            _held.Remove(lockout.Asset);
            passed.Add(lockout);
            _audit?.Append("aida", AuditKind.Decision, Subject, $"{lockout.Describe()}: ended at its time; Aida writes its actuators again");
        }

        if (started.Count > 0 || passed.Count > 0)
        {
            Changed?.Invoke(Snapshot());
        }
    }

    private List<Lockout> Snapshot() => [.. _held.Values.Concat(_planned).OrderBy(l => l.Asset, StringComparer.Ordinal).ThenBy(l => l.Since)];

    private string Known() => _assets.Count <= 8 ? string.Join(", ", _assets) : $"{string.Join(", ", _assets.Take(8))}, … {_assets.Count} in all";
}

/// <summary>A lockout refused because another of the same asset holds at some moment of its time: the API's 409.</summary>
public sealed class LockoutOverlapException(Lockout other, bool planned, string message) : InvalidOperationException(message)
{
    /// <summary>The lockout in the way.</summary>
    public Lockout Other { get; } = other;

    /// <summary>Whether it is still to start.</summary>
    public bool Planned { get; } = planned;
}
