using System.Threading.Channels;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Alerting;

/// <summary>Evaluates SLOs on a clock and keeps their multi-window burn-rate alerts: a condition fires once its long
/// and short burn rates have both held at or above the threshold for its <c>alertAfter</c>, and resolves when either
/// drops below. An SLO whose policy sets <c>alertWhenNoData</c> also fires <see cref="AlertNames.NoData"/> once its
/// no-data condition's short window has held no events for the condition's <c>alertAfter</c> (as the exported rule's
/// <c>absent(ratio) or ratio != ratio</c> with <c>for: alertAfter</c>), and resolves at the first evaluation with events.
/// Every change (fired, resolved) goes to each subscriber's channel and, when given, to Alertmanager.</summary>
/// <remarks>Time comes only from the <see cref="TimeProvider"/>: under the simulator's virtual clock the monitor follows
/// simulated time; tests advance a fake clock and call <see cref="EvaluateAsync"/>.</remarks>
public sealed class SloAlertMonitor
{
    private readonly SloEvaluator _evaluator;
    private readonly IReadOnlyList<SloDefinition> _slos;
    private readonly TimeProvider _time;
    private readonly AlertmanagerClient? _alertmanager;
    private readonly Dictionary<(string Slo, string Condition), DateTimeOffset> _pendingSince = [];
    private readonly Dictionary<(string Slo, string Condition), SloAlert> _firing = [];
    private readonly List<Channel<SloAlert>> _subscribers = [];
    private readonly List<SloAlert> _undeliveredResolutions = [];
    private readonly Lock _lock = new();

    /// <param name="alertmanager">Where to post alerts as well, or null for the in-process stream only.</param>
    public SloAlertMonitor(SloEvaluator evaluator, IEnumerable<SloDefinition> slos, TimeProvider time, AlertmanagerClient? alertmanager = null)
    {
        _evaluator = evaluator;
        _slos = slos.ToList();
        _time = time;
        _alertmanager = alertmanager;
    }

    /// <summary>The alerts firing now.</summary>
    public IReadOnlyList<SloAlert> Firing
    {
        get
        {
            lock (_lock)
            {
                return _firing.Values.ToList();
            }
        }
    }

    /// <summary>A new reader that receives every alert change from now on: a firing alert (no <c>EndsAt</c>) and, when
    /// it stops, the same alert with <c>EndsAt</c> set. Unbounded: a slow reader never holds up evaluation.</summary>
    public ChannelReader<SloAlert> Subscribe()
    {
        var channel = Channel.CreateUnbounded<SloAlert>(new UnboundedChannelOptions { SingleReader = true });
        lock (_lock)
        {
            _subscribers.Add(channel);
        }

        return channel.Reader;
    }

    /// <summary>Evaluates every SLO at the clock's now, updates the alerts and publishes the changes, which it returns.
    /// Firing alerts are re-sent to Alertmanager on every evaluation, as Prometheus does, so they stay active there.</summary>
    public async Task<IReadOnlyList<SloAlert>> EvaluateAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var changes = new List<SloAlert>();
        foreach (var slo in _slos)
        {
            var status = await _evaluator.EvaluateAsync(slo, now, cancellationToken);
            var targets = slo.AlertPolicies.SelectMany(p => p.NotificationTargets).Select(t => t.Target).Distinct().ToList();
            foreach (var condition in slo.AlertConditions)
            {
                var key = (slo.Name, condition.Name);
                var longRate = status.BurnRates[condition.LongWindow];
                var shortRate = status.BurnRates[condition.ShortWindow];
                var holds = longRate >= condition.Threshold && shortRate >= condition.Threshold;
                lock (_lock)
                {
                    if (holds)
                    {
                        var since = _pendingSince.TryGetValue(key, out var s) ? s : now;
                        _pendingSince[key] = since;
                        if (_firing.TryGetValue(key, out var existing))
                        {
                            _firing[key] = existing with { LongBurnRate = longRate, ShortBurnRate = shortRate };
                        }
                        else if (now - since >= condition.AlertAfter)
                        {
                            var alert = new SloAlert(AlertNames.For(condition), slo.Name, slo.Service, condition, now, null, longRate, shortRate, targets) { NotifyResolved = slo.ResolutionNotified(condition) };
                            _firing[key] = alert;
                            changes.Add(alert);
                        }
                    }
                    else
                    {
                        _pendingSince.Remove(key);
                        if (_firing.Remove(key, out var stopped))
                        {
                            changes.Add(stopped with { EndsAt = now, LongBurnRate = longRate, ShortBurnRate = shortRate });
                        }
                    }
                }
            }

            if (slo.NoDataCondition is { } noData)
            {
                var blind = double.IsNaN(await _evaluator.ErrorRatioAsync(slo, noData.ShortWindow, now, cancellationToken));
                var key = (slo.Name, AlertNames.NoData);
                lock (_lock)
                {
                    if (blind)
                    {
                        var since = _pendingSince.TryGetValue(key, out var s) ? s : now;
                        _pendingSince[key] = since;
                        if (!_firing.ContainsKey(key) && now - since >= noData.AlertAfter)
                        {
                            var alert = new SloAlert(AlertNames.NoData, slo.Name, slo.Service, noData, now, null, double.NaN, double.NaN, targets)
                            {
                                NoData = true,
                                NotifyResolved = slo.ResolutionNotified(noData),
                            };
                            _firing[key] = alert;
                            changes.Add(alert);
                        }
                    }
                    else
                    {
                        _pendingSince.Remove(key);
                        if (_firing.Remove(key, out var stopped))
                        {
                            changes.Add(stopped with { EndsAt = now });
                        }
                    }
                }
            }
        }

        List<Channel<SloAlert>> subscribers;
        lock (_lock)
        {
            subscribers = [.. _subscribers];
        }

        foreach (var change in changes)
        {
            foreach (var s in subscribers)
            {
                s.Writer.TryWrite(change);
            }
        }

        if (_alertmanager is not null)
        {
            await DeliverAsync(_alertmanager, changes, now, cancellationToken);
        }

        return changes;
    }

    /// <summary>Alertmanager posts that failed since the monitor started (Alertmanager down, refusing, timing out).</summary>
    public int DeliveryFailures { get; private set; }

    /// <summary>Why the last post failed, or null when the last post went through.</summary>
    public string? LastDeliveryError { get; private set; }

    // A failed post never stops evaluation: firing alerts go again on the next one anyway, and resolutions are kept
    // until a post carries them, so Alertmanager never keeps an alert Aida has resolved.
    private async Task DeliverAsync(AlertmanagerClient alertmanager, List<SloAlert> changes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        _undeliveredResolutions.AddRange(changes.Where(c => c.IsResolved && Told(c)));
        var send = Firing.Where(Told).Concat(_undeliveredResolutions).ToList();
        if (send.Count == 0)
        {
            return;
        }

        try
        {
            await alertmanager.PostAsync(send, now, cancellationToken);
            _undeliveredResolutions.Clear();
            LastDeliveryError = null;
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            DeliveryFailures++;
            LastDeliveryError = e.Message;
        }
    }

    /// <summary>Whether people are told of <paramref name="alert"/>: a no-data alert (only a policy that asks raises
    /// one), or one whose condition is one of its SLO's <see cref="SloDefinition.BreachConditions"/> (a policy with
    /// <c>alertWhenBreaching: false</c> is judged and streamed, not posted).</summary>
    private bool Told(SloAlert alert) => alert.NoData || _slos.First(s => s.Name == alert.Slo).BreachConditions.Contains(alert.Condition);

    /// <summary>Evaluates every <paramref name="interval"/> of the clock's time until cancelled.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await EvaluateAsync(cancellationToken);
            await Task.Delay(interval, _time, cancellationToken);
        }
    }

    /// <summary>Ends every subscriber's channel.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            foreach (var s in _subscribers)
            {
                s.Writer.TryComplete();
            }
        }
    }
}
