using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Query;

namespace Aida.Reliability.Budgets;

/// <summary>Evaluates SLOs through a query engine (the embedded store, or a remote Prometheus-compatible API): attained
/// SLI, budget consumed and remaining, burn rates, time to exhaustion, and which burn-rate conditions hold.</summary>
/// <remarks>The error ratios are the PromQL of <see cref="SliQueries.ErrorRatio"/>, the same the exported recording rules
/// hold, evaluated as instant queries at the evaluation time.</remarks>
public sealed class SloEvaluator
{
    /// <summary>Added to a window cut at <see cref="_dataFrom"/>: more than a slice, and more than 1.1 sample intervals of
    /// any series sampled at least hourly, so <c>increase</c> extrapolates at the window's start as over the full window.</summary>
    private static readonly TimeSpan CutMargin = TimeSpan.FromHours(1);

    private readonly IQueryEngine _engine;
    private readonly DateTimeOffset? _dataFrom;
    private readonly TimeSpan? _settledAfter;
    private readonly Func<DateTimeOffset?>? _acceptsFrom;
    private readonly Func<IReadOnlyList<ReadingExclusion>>? _exclusions;
    private readonly Dictionary<SloDefinition, SliceTally> _tallies = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<SloDefinition, (string Suffix, SloDefinition Corrected)> _corrected = new(ReferenceEqualityComparer.Instance);

    /// <param name="engine">Where the SLIs are read.</param>
    /// <param name="dataFrom">When known: no sample is older than this (a simulation's fresh store). A window reaching
    /// further back is cut to it plus a margin, which gives the same ratio with fewer steps: a 28-day subquery at one
    /// slice a minute was half of a simulated agent run's time, over hours of data.</param>
    /// <param name="settledAfter">When set: a time slice that ended this long before an evaluation no longer changes (a
    /// store written in time order: a simulation, the embedded twin). Time-slice SLOs then count each slice once and keep
    /// it (<see cref="SliceTally"/>), so an evaluation costs the slices new since the last one, not the window's length;
    /// the ratios are the same. Null: every window is queried whole, as a remote store or late samples need.</param>
    /// <param name="exclusions">When set: the readings left out of the SLIs that read them now (sensors diagnosed lying),
    /// asked at each evaluation (<see cref="SloCorrections"/>). A change of them recounts the SLO's kept slices, since an
    /// exclusion reaches back to when its reading stopped being trusted.</param>
    /// <param name="acceptsFrom">When set: the oldest time the store still accepts a sample at (<c>Tsdb.AcceptsFrom</c>),
    /// asked at each evaluation. Time slices that ended before it are counted once and kept as with
    /// <paramref name="settledAfter"/>, for a store whose samples may come late (a site over the network): a 28-day
    /// window then costs the slices since that bound (a few hours), not 40,320 of them a minute.</param>
    public SloEvaluator(IQueryEngine engine, DateTimeOffset? dataFrom = null, TimeSpan? settledAfter = null, Func<IReadOnlyList<ReadingExclusion>>? exclusions = null, Func<DateTimeOffset?>? acceptsFrom = null)
    {
        _acceptsFrom = acceptsFrom;
        _engine = engine;
        _dataFrom = dataFrom;
        _settledAfter = settledAfter;
        _exclusions = exclusions;
    }

    /// <summary>Evaluates <paramref name="slo"/> at <paramref name="at"/>.</summary>
    /// <exception cref="QueryException">The engine refused a query (a remote server's error, a timeout).</exception>
    public async Task<SloStatus> EvaluateAsync(SloDefinition slo, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var window = slo.Window.ElapsedAt(at);
        var ratio = window > TimeSpan.Zero ? await ErrorRatioAsync(slo, window, at, cancellationToken) : double.NaN;
        var budget = new ErrorBudget(slo.Objective.Target, ratio);

        var burnRates = new SortedDictionary<TimeSpan, double>();
        foreach (var w in BurnWindows(slo))
        {
            burnRates[w] = await BurnRateAsync(slo, w, at, cancellationToken);
        }

        var firing = slo.AlertConditions.Where(c => burnRates[c.LongWindow] >= c.Threshold && burnRates[c.ShortWindow] >= c.Threshold).ToList();
        var exhaustion = ErrorBudget.TimeToExhaustion(budget.Remaining, slo.Window.LengthAt(at), burnRates[SloStatus.ExhaustionBurnWindow]);
        return new SloStatus(slo.Name, slo.Service, at, slo.Objective.Target, window, budget, burnRates, exhaustion, firing) { RiskDomains = slo.RiskDomains };
    }

    /// <summary>Evaluates every SLO of <paramref name="set"/> at <paramref name="at"/>, in file order.</summary>
    public async Task<IReadOnlyList<SloStatus>> EvaluateAsync(SloSet set, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var statuses = new List<SloStatus>(set.Slos.Count);
        foreach (var slo in set.Slos)
        {
            statuses.Add(await EvaluateAsync(slo, at, cancellationToken));
        }

        return statuses;
    }

    /// <summary>The burn rate over the <paramref name="window"/> that ends at <paramref name="at"/> (0 with no events).</summary>
    public async Task<double> BurnRateAsync(SloDefinition slo, TimeSpan window, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        ErrorBudget.BurnRate(await ErrorRatioAsync(slo, window, at, cancellationToken), slo.Objective.Target);

    /// <summary>The fraction of bad events or slices over the <paramref name="window"/> that ends at <paramref name="at"/>;
    /// NaN when there were none.</summary>
    public async Task<double> ErrorRatioAsync(SloDefinition slo, TimeSpan window, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        slo = Corrected(slo);
        window = Cut(window, at);
        if ((_settledAfter is not null || _acceptsFrom is not null) && slo.Sli.Threshold is not null)
        {
            if (!_tallies.TryGetValue(slo, out var tally))
            {
                tally = new SliceTally(_engine, slo, _settledAfter, _acceptsFrom);
                _tallies[slo] = tally;
            }

            var longest = Cut(BurnWindows(slo).Append(slo.Window.LengthAt(at)).Max(), at);
            if (await tally.ErrorRatioAsync(window, at, longest, cancellationToken) is { } kept)
            {
                return kept;
            }
        }

        var result = await _engine.QueryAsync(SliQueries.ErrorRatio(slo, window), at, cancellationToken);
        return result.Type switch
        {
            ResultType.Scalar => result.Scalar.Value,
            ResultType.Vector when result.Series.Count > 0 && result.Series[0].Samples.Count > 0 => result.Series[0].Samples[0].Value,
            _ => double.NaN,
        };
    }

    /// <summary><paramref name="slo"/> with the exclusions that hold now applied: the same instance while they are the
    /// same, so its kept slices stay; a new one (and its slices recounted) when they change.</summary>
    private SloDefinition Corrected(SloDefinition slo)
    {
        if (_exclusions is null)
        {
            return slo;
        }

        var exclusions = _exclusions();
        var suffix = SloCorrections.Suffix(slo, exclusions);
        if (_corrected.TryGetValue(slo, out var held) && held.Suffix == suffix)
        {
            return held.Corrected;
        }

        if (held.Corrected is { } stale)
        {
            _tallies.Remove(stale);
        }

        var corrected = SloCorrections.Apply(slo, exclusions);
        _corrected[slo] = (suffix, corrected);
        return corrected;
    }

    /// <summary>The <paramref name="window"/> ending at <paramref name="at"/>, cut where the data starts (plus a margin).</summary>
    private TimeSpan Cut(TimeSpan window, DateTimeOffset at) =>
        _dataFrom is { } from && at - from + CutMargin < window ? TimeSpan.FromMinutes(Math.Ceiling((at - from + CutMargin).TotalMinutes)) : window;

    /// <summary>The windows whose burn rates a status reports: the alert conditions' long and short windows, and 1h.</summary>
    public static IReadOnlyList<TimeSpan> BurnWindows(SloDefinition slo)
    {
        var windows = new SortedSet<TimeSpan> { SloStatus.ExhaustionBurnWindow };
        foreach (var c in slo.AlertConditions)
        {
            windows.Add(c.LongWindow);
            windows.Add(c.ShortWindow);
        }

        return windows.ToList();
    }
}
