using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Policy;
using Aida.Telemetry.Query;

namespace Aida.Server.Api;

/// <summary>The error budgets of the run's SLOs over its telemetry, and the efficiency envelope the policy grants from
/// them, as the API, the dashboard and the MCP tools read them: evaluated at most once a minute of plant time (each
/// evaluation is a few PromQL queries per SLO), on the caller's thread.</summary>
public sealed class BudgetBoard : IDisposable
{
    /// <summary>How long one evaluation is served before the next.</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);

    private readonly SloSet _slos;
    private readonly SloEvaluator _evaluator;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private BudgetReport? _last;
    private bool _recorded;

    private readonly Func<IReadOnlyList<ReadingExclusion>> _exclusions;

    /// <param name="slos">The SLOs.</param>
    /// <param name="telemetry">Where their SLIs are read.</param>
    /// <param name="clock">The run's time.</param>
    /// <param name="exclusions">The readings left out of the SLIs now (the agent's, for the sensors it answers as lying),
    /// so the budgets and envelope served are those the agent's policy reads; none by default.</param>
    /// <param name="dataFrom">When known, no sample is older (a fresh store): windows are cut there (<see cref="SloEvaluator"/>).</param>
    /// <param name="settledAfter">When set, a slice this old no longer changes (the embedded twin's store, written in time
    /// order): each is counted once, so an evaluation costs the slices new since the last one (<see cref="SloEvaluator"/>).</param>
    /// <param name="acceptsFrom">When set, the oldest time the store still accepts a sample at: slices before it are
    /// counted once too, however late samples come (a site over the network; <see cref="SloEvaluator"/>).</param>
    public BudgetBoard(SloSet slos, IQueryEngine telemetry, TimeProvider clock, Func<IReadOnlyList<ReadingExclusion>>? exclusions = null, DateTimeOffset? dataFrom = null, TimeSpan? settledAfter = null, Func<DateTimeOffset?>? acceptsFrom = null)
    {
        ArgumentNullException.ThrowIfNull(slos);
        ArgumentNullException.ThrowIfNull(telemetry);
        ArgumentNullException.ThrowIfNull(clock);
        _slos = slos;
        _exclusions = exclusions ?? (() => []);
        _evaluator = new SloEvaluator(telemetry, dataFrom, settledAfter, _exclusions, acceptsFrom);
        _clock = clock;
    }

    /// <summary>The SLOs it evaluates.</summary>
    public SloSet Slos => _slos;

    public void Dispose() => _lock.Dispose();

    /// <summary>Evaluates the SLOs and the efficiency envelope as of <paramref name="at"/> (the run recording them once a
    /// plant minute, <c>SloSeriesWriter</c>). From the first, <see cref="ReadAsync"/> serves the newest of these and
    /// evaluates nothing itself, so the API and the recording share one evaluation a minute, each as of its minute
    /// whoever reads. Null when an evaluation as of <paramref name="at"/> or later was made already (an API call in the
    /// run's first minute): evaluations only move forward, as the slices kept count on.</summary>
    public async Task<BudgetReport?> EvaluateAtAsync(DateTimeOffset at, CancellationToken token)
    {
        await _lock.WaitAsync(token);
        try
        {
            _recorded = true;
            if (_last is not null && at <= _last.At)
            {
                return null;
            }

            _last = await EvaluateAsync(at, token);
            return _last;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The SLOs' statuses and the efficiency envelope now (or as of less than <see cref="Refresh"/> ago); once
    /// the run records them (<see cref="EvaluateAtAsync"/>), its newest evaluation.</summary>
    public async Task<BudgetReport> ReadAsync(CancellationToken token)
    {
        await _lock.WaitAsync(token);
        try
        {
            var now = _clock.GetUtcNow();
            if (_last is null || (!_recorded && (now - _last.At >= Refresh || now < _last.At)))
            {
                _last = await EvaluateAsync(now, token);
            }

            return _last;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<BudgetReport> EvaluateAsync(DateTimeOffset at, CancellationToken token)
    {
        var statuses = await _evaluator.EvaluateAsync(_slos, at, token);
        return new BudgetReport(at, statuses, EfficiencyPolicy.Evaluate(BudgetState.From(statuses))) { Exclusions = _exclusions() };
    }
}

/// <summary>One evaluation of the SLOs and the efficiency envelope they allow.</summary>
public sealed record BudgetReport(DateTimeOffset At, IReadOnlyList<SloStatus> Slos, EfficiencyEnvelope Efficiency)
{
    /// <summary>The readings left out of the SLIs in this evaluation.</summary>
    public IReadOnlyList<ReadingExclusion> Exclusions { get; init; } = [];

    /// <summary>The report as the API serves it (snake_case; NaN, meaning no data yet, as null).</summary>
    public object ToView() => new
    {
        at = At,
        slos = Slos.Select(s => new
        {
            name = s.Name,
            service = s.Service,
            risk_domains = RiskDomainText.Format(s.RiskDomains),
            objective = s.Objective,
            window_seconds = s.Window.TotalSeconds,
            has_data = s.HasData,
            attained = Finite(s.Attained),
            budget_consumed = Finite(s.BudgetConsumed),
            budget_remaining = Finite(s.BudgetRemaining),
            burn_rates = s.BurnRates.ToDictionary(kv => SliQueries.FormatDuration(kv.Key), kv => Finite(kv.Value)),
            time_to_exhaustion_seconds = s.TimeToExhaustion?.TotalSeconds,
            firing_alerts = s.FiringAlerts.Select(a => new { name = a.Name, severity = a.Severity, threshold = a.Threshold }),
        }),
        excluded_readings = Exclusions.Select(x => new { series = x.Series.ToString(), from = x.From, until = x.Until, reason = x.Reason }),
        efficiency = new
        {
            regime = Efficiency.Regime.ToString().ToLowerInvariant(),
            max_facility_water_supply_celsius = Efficiency.MaxFacilityWaterSupplyCelsius,
            max_cdu_supply_celsius = Efficiency.MaxCduSupplyCelsius,
            allowed = Efficiency.Allowed.ToString().ToLowerInvariant(),
            headroom = Finite(Efficiency.Headroom),
            page_human = Efficiency.PageHuman,
            limiting_slo = Efficiency.LimitingSlo,
            reason = Efficiency.Reason,
            power = new
            {
                regime = Efficiency.PowerVerdict.Regime.ToString().ToLowerInvariant(),
                headroom = Finite(Efficiency.PowerVerdict.Headroom),
                limiting_slo = Efficiency.PowerVerdict.LimitingSlo,
                reason = Efficiency.PowerVerdict.Reason,
            },
        },
    };

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
