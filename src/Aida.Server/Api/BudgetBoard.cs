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

    private readonly Func<IReadOnlyList<ReadingExclusion>> _exclusions;

    /// <param name="slos">The SLOs.</param>
    /// <param name="telemetry">Where their SLIs are read.</param>
    /// <param name="clock">The run's time.</param>
    /// <param name="exclusions">The readings left out of the SLIs now (the agent's, for the sensors it answers as lying),
    /// so the budgets and envelope served are those the agent's policy reads; none by default.</param>
    public BudgetBoard(SloSet slos, IQueryEngine telemetry, TimeProvider clock, Func<IReadOnlyList<ReadingExclusion>>? exclusions = null)
    {
        ArgumentNullException.ThrowIfNull(slos);
        ArgumentNullException.ThrowIfNull(telemetry);
        ArgumentNullException.ThrowIfNull(clock);
        _slos = slos;
        _exclusions = exclusions ?? (() => []);
        _evaluator = new SloEvaluator(telemetry, exclusions: _exclusions);
        _clock = clock;
    }

    /// <summary>The SLOs it evaluates.</summary>
    public SloSet Slos => _slos;

    public void Dispose() => _lock.Dispose();

    /// <summary>The SLOs' statuses and the efficiency envelope now (or as of less than <see cref="Refresh"/> ago).</summary>
    public async Task<BudgetReport> ReadAsync(CancellationToken token)
    {
        await _lock.WaitAsync(token);
        try
        {
            var now = _clock.GetUtcNow();
            if (_last is null || now - _last.At >= Refresh || now < _last.At)
            {
                var statuses = await _evaluator.EvaluateAsync(_slos, now, token);
                _last = new BudgetReport(now, statuses, EfficiencyPolicy.Evaluate(BudgetState.From(statuses))) { Exclusions = _exclusions() };
            }

            return _last;
        }
        finally
        {
            _lock.Release();
        }
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
