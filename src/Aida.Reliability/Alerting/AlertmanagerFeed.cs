namespace Aida.Reliability.Alerting;

/// <summary>An alert that holds now, without times: <see cref="AlertmanagerFeed"/> stamps when it began and ended.</summary>
/// <param name="Labels">Its identity (Alertmanager deduplicates and groups by them): the same labels next time are
/// the same alert.</param>
/// <param name="Annotations">What a person reads; may change while it fires.</param>
/// <param name="GeneratorUrl">Where a person clicks through to (the dashboard), or null.</param>
public sealed record FiringAlert(
    IReadOnlyList<KeyValuePair<string, string>> Labels,
    IReadOnlyList<KeyValuePair<string, string>> Annotations,
    string? GeneratorUrl = null)
{
    /// <summary>When it began by the plant's clock (an incident's opening, an action's proposal), when known: its
    /// <c>startsAt</c>, so on-call sees when it began rather than when Aida first posted it (up to a detection pass
    /// later, or at a restart). Not taken when after the feed's now (a twin run faster than the wall clock).</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>The labels as one string, in name order: what makes two alerts the same.</summary>
    public string Key => string.Join('\n', Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));
}

/// <summary>Keeps one or more Alertmanagers in step with a set of alerts that hold now, as Prometheus keeps its
/// Alertmanagers in step with its firing rules: an alert that appears is posted at once, firing ones again every
/// <see cref="Resend"/> with <c>endsAt</c> the client's validity ahead (so one Aida stops sending expires), and one that
/// disappears is posted once as resolved at the time it disappeared.</summary>
/// <remarks>A post that fails (Alertmanager down, refusing, timing out) never throws: it is counted and reported once
/// per outage, tried again every <see cref="RetryAfter"/> (and at once on a change), and the resolutions it did not
/// carry are kept for that Alertmanager until a post does, or until the firing alert it last received has expired
/// there anyway. Each Alertmanager of a highly available pair is posted to on its own, as Prometheus does. Not
/// thread-safe: one caller updates it.</remarks>
public sealed class AlertmanagerFeed
{
    private sealed class Target(AlertmanagerClient client)
    {
        public AlertmanagerClient Client { get; } = client;

        public Dictionary<string, AlertmanagerAlert> Resolutions { get; } = new(StringComparer.Ordinal);

        public DateTimeOffset? LastAttempt { get; set; }

        public DateTimeOffset? LastDelivered { get; set; }

        public int FailedInARow { get; set; }
    }

    private readonly Target[] _targets;
    private readonly TimeProvider _clock;
    private readonly Action<string> _report;
    private readonly Dictionary<string, (FiringAlert Alert, DateTimeOffset Since)> _firing = new(StringComparer.Ordinal);

    /// <param name="clients">The Alertmanagers to keep in step (one, or each of a cluster).</param>
    /// <param name="clock">Stamps <c>startsAt</c> and <c>endsAt</c>: Alertmanager judges expiry on its own clock, so
    /// this is the wall clock outside tests.</param>
    /// <param name="resend">How often firing alerts go again when nothing changed (default 1 min, Prometheus'
    /// <c>--rules.alert.resend-delay</c>); shorter than the clients' validity.</param>
    /// <param name="report">Told, once per outage of each Alertmanager, that posts fail and why, and when they go
    /// through again.</param>
    public AlertmanagerFeed(IReadOnlyList<AlertmanagerClient> clients, TimeProvider clock, TimeSpan? resend = null, Action<string>? report = null)
    {
        if (clients.Count == 0)
        {
            throw new ArgumentException("no Alertmanager to post to", nameof(clients));
        }

        _targets = clients.Select(c => new Target(c)).ToArray();
        _clock = clock;
        Resend = resend ?? TimeSpan.FromMinutes(1);
        if (_targets.Any(t => t.Client.FiringValidity <= Resend))
        {
            throw new ArgumentException($"the resend interval {Resend} is not shorter than a client's firing validity: alerts would expire between posts", nameof(resend));
        }

        _report = report ?? (_ => { });
    }

    /// <summary>How often firing alerts go again when nothing changed.</summary>
    public TimeSpan Resend { get; }

    /// <summary>How soon a post that failed is tried again when nothing changed.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);

    /// <summary>Posts that went through, over every Alertmanager.</summary>
    public long Delivered { get; private set; }

    /// <summary>Posts that failed, over every Alertmanager.</summary>
    public long Failed { get; private set; }

    /// <summary>How many alerts fire now.</summary>
    public int Firing => _firing.Count;

    /// <summary>Takes <paramref name="holding"/> as the alerts that hold now and posts to each Alertmanager that is
    /// due: on a change, when a resend or a retry is due.</summary>
    public async Task UpdateAsync(IReadOnlyList<FiringAlert> holding, CancellationToken cancellationToken = default)
    {
        var now = _clock.GetUtcNow();
        var changed = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var alert in holding)
        {
            var key = alert.Key;
            seen.Add(key);
            if (!_firing.TryGetValue(key, out var was))
            {
                _firing[key] = (alert, alert.Since is { } since && since <= now ? since : now);
                changed = true;
                foreach (var t in _targets)
                {
                    // Fired again before its resolution went out: the new firing alert supersedes it.
                    t.Resolutions.Remove(key);
                }
            }
            else if (!was.Alert.Annotations.SequenceEqual(alert.Annotations) || was.Alert.GeneratorUrl != alert.GeneratorUrl)
            {
                _firing[key] = (alert, was.Since);
                changed = true;
            }
        }

        foreach (var key in _firing.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            var resolved = Stamped(_firing[key], now);
            _firing.Remove(key);
            changed = true;
            foreach (var t in _targets)
            {
                t.Resolutions[key] = resolved;
            }
        }

        foreach (var t in _targets)
        {
            await PostIfDueAsync(t, now, changed, cancellationToken);
        }
    }

    private async Task PostIfDueAsync(Target target, DateTimeOffset now, bool changed, CancellationToken cancellationToken)
    {
        if (target.LastDelivered is not { } delivered || now > delivered + target.Client.FiringValidity)
        {
            // This Alertmanager holds none of the alerts it was sent any longer (never sent, or expired there).
            target.Resolutions.Clear();
        }

        var since = target.LastAttempt is { } last ? now - last : TimeSpan.MaxValue;
        var due = changed || since >= (target.FailedInARow > 0 ? RetryAfter : Resend);
        var send = _firing.Values.Select(f => Stamped(f, null)).Concat(target.Resolutions.Values).ToList();
        if (!due || send.Count == 0)
        {
            return;
        }

        target.LastAttempt = now;
        try
        {
            await target.Client.PostAsync(send, now, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Failed++;
            if (target.FailedInARow++ == 0)
            {
                _report($"alertmanager {target.Client.BaseUrl}: a post failed ({(e is TaskCanceledException ? "timed out" : e.Message)}); retrying every {RetryAfter.TotalSeconds:0} s and on every change, resolutions kept until delivered");
            }

            return;
        }

        Delivered++;
        target.Resolutions.Clear();
        target.LastDelivered = now;
        if (target.FailedInARow > 0)
        {
            _report($"alertmanager {target.Client.BaseUrl}: posts go through again after {target.FailedInARow} failed");
            target.FailedInARow = 0;
        }
    }

    private static AlertmanagerAlert Stamped((FiringAlert Alert, DateTimeOffset Since) firing, DateTimeOffset? ended) =>
        new(firing.Alert.Labels, firing.Alert.Annotations, firing.Since, ended, firing.Alert.GeneratorUrl);
}
