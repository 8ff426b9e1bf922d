using Aida.Reliability.Alerting;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Query;

namespace Aida.Reliability.Runs;

/// <summary>SLO burn-rate alerts as a run goes: each step fetches only the minutes' events since the last one (two short
/// range queries per SLO) and steps each SLO's <see cref="BurnRateTrack"/>, the rule
/// <see cref="RunSloEvaluator.AlertsAsync"/> applies to a finished run, which gives the same alerts over the same minutes.
/// For a live run whose incidents should hold its SLOs' burn (<c>aida run --data DIR</c>), where evaluating every window
/// of every SLO each minute (a 3-day window of rack-minutes for the ticket) would cost more than the plant's own
/// detection.</summary>
/// <remarks>Not thread-safe but for <see cref="Firing"/>; time is the caller's.</remarks>
public sealed class LiveSloAlerts
{
    private readonly RunSloEvaluator _run;
    private readonly IReadOnlyList<SloDefinition> _slos;
    private readonly DateTimeOffset _first;
    private readonly Dictionary<string, BurnRateTrack> _tracks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NoDataTrack> _noData = new(StringComparer.Ordinal);
    private readonly Func<IReadOnlyList<ReadingExclusion>>? _exclusions;
    private readonly Dictionary<(string Slo, string Condition), SloAlert> _firing = [];
    private int _minutes;

    /// <param name="engine">Where the SLIs are read.</param>
    /// <param name="set">The SLOs.</param>
    /// <param name="start">The run's start: the first minute judged is the first whole minute after it.</param>
    /// <param name="exclusions">When set: the readings left out of the SLIs now (<see cref="SloCorrections"/>), asked at
    /// each step; they apply to the minutes fetched from then on (a minute already counted is not counted again).</param>
    public LiveSloAlerts(IQueryEngine engine, SloSet set, DateTimeOffset start, Func<IReadOnlyList<ReadingExclusion>>? exclusions = null)
    {
        _exclusions = exclusions;
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(set);
        _run = new RunSloEvaluator(engine);
        _slos = [.. set.Slos.Where(s => s.AlertConditions.Count > 0)];
        var stepMs = (long)RunSloEvaluator.Step.TotalMilliseconds;
        _first = DateTimeOffset.FromUnixTimeMilliseconds(((start.ToUnixTimeMilliseconds() / stepMs) + 1) * stepMs);
        foreach (var slo in _slos)
        {
            _tracks[slo.Name] = new BurnRateTrack(slo.AlertConditions, slo.Objective.Target);
            if (slo.NoDataCondition is { } noData)
            {
                _noData[slo.Name] = new NoDataTrack(noData);
            }
        }
    }

    /// <summary>The alerts firing after the minutes stepped so far (fired and not resolved since) of the conditions people
    /// are told of (<see cref="SloDefinition.BreachConditions"/>), as they fired, and an
    /// SLO's no-data alert (<see cref="AlertNames.NoData"/>, for a policy with <c>alertWhenNoData</c>) while its SLI gives
    /// no events; may be read from another thread than the one stepping.</summary>
    public IReadOnlyList<SloAlert> Firing
    {
        get
        {
            lock (_firing)
            {
                return [.. _firing.Values.OrderBy(a => a.StartsAt)];
            }
        }
    }

    /// <summary>The burn-rate alerts that fired in the minutes up to <paramref name="now"/> not yet returned, in time order
    /// (then SLO and condition in file order), each with the series burning most for a time-slice SLI. No-data alerts
    /// are not returned (they name no burn for an incident to hold): they are in <see cref="Firing"/>.</summary>
    /// <exception cref="QueryException">The engine refused a query.</exception>
    public async Task<IReadOnlyList<SloAlert>> StepAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var step = RunSloEvaluator.Step;
        var due = now < _first ? 0 : (int)((now - _first).Ticks / step.Ticks) + 1;
        if (due <= _minutes)
        {
            return [];
        }

        var alerts = new List<SloAlert>();
        var exclusions = _exclusions?.Invoke() ?? [];
        foreach (var slo in _slos.Select(x => SloCorrections.Apply(x, exclusions)))
        {
            // The first whole minute after this start is the first minute not fetched yet.
            var (bad, total) = await _run.MinuteEventsAsync(slo, _first + ((_minutes - 1) * step), _first + ((due - 1) * step), cancellationToken);
            var track = _tracks[slo.Name];
            var targets = slo.AlertPolicies.SelectMany(p => p.NotificationTargets).Select(t => t.Target).Distinct().ToList();
            var noData = _noData.GetValueOrDefault(slo.Name);
            for (var k = 0; k < bad.Length; k++)
            {
                var minute = _minutes + k;
                if (noData?.Add(total[k]) is { } blind)
                {
                    lock (_firing)
                    {
                        if (blind)
                        {
                            _firing[(slo.Name, AlertNames.NoData)] = new SloAlert(AlertNames.NoData, slo.Name, slo.Service, noData.Condition,
                                _first + (minute * step), null, double.NaN, double.NaN, targets) { NoData = true, NotifyResolved = slo.ResolutionNotified(noData.Condition) };
                        }
                        else
                        {
                            _firing.Remove((slo.Name, AlertNames.NoData));
                        }
                    }
                }

                foreach (var (condition, fired, longBurn, shortBurn) in track.Add(bad[k], total[k]))
                {
                    if (!fired)
                    {
                        lock (_firing)
                        {
                            _firing.Remove((slo.Name, condition.Name));
                        }

                        continue;
                    }

                    var at = _first + (minute * step);
                    var alert = new SloAlert(AlertNames.For(condition), slo.Name, slo.Service, condition, at, null, longBurn, shortBurn, targets)
                    {
                        Worst = await _run.WorstAsync(slo, condition.ShortWindow, at, cancellationToken),
                        NotifyResolved = slo.ResolutionNotified(condition),
                    };
                    alerts.Add(alert);
                    if (slo.BreachConditions.Contains(condition))
                    {
                        lock (_firing)
                        {
                            _firing[(slo.Name, condition.Name)] = alert;
                        }
                    }
                }
            }
        }

        _minutes = due;
        return [.. alerts.OrderBy(a => a.StartsAt)];
    }
}
