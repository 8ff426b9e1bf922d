using Aida.Model.Facility;
using Aida.Observability.Derived;
using Aida.Telemetry.Query;

namespace Aida.Server.Api;

/// <summary>Each group's redundancy now (<see cref="SpareCapacity.NowAsync"/>) as the API, the dashboard and the MCP
/// tools read it: worked out at most once per <see cref="Refresh"/> of plant time for the same lockouts, on the caller's
/// thread, and once for callers who ask together. Before, every call worked it out (a query per group: 70 ms at 1 GW),
/// and every open dashboard page asks every 10 s.</summary>
/// <param name="telemetry">Where the loads and the units' states are read.</param>
/// <param name="factory">The groups' units and ratings.</param>
/// <param name="clock">The run's time.</param>
public sealed class RedundancyBoard(IQueryEngine telemetry, Factory factory, TimeProvider clock) : IDisposable
{
    /// <summary>How long one reading is served for the same lockouts: the twin's sampling interval, so no newer sample
    /// is missed by more than one.</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(10);

    private readonly SpareCapacity _capacity = new(telemetry, factory);
    private readonly SemaphoreSlim _lock = new(1, 1);
    private (DateTimeOffset At, string Locked, IReadOnlyList<RedundancyReading> Groups)? _last;

    /// <summary>Readings worked out since the start (not those served again).</summary>
    public int Evaluations { get; private set; }

    public void Dispose() => _lock.Dispose();

    /// <summary>The groups' redundancy with the assets of <paramref name="locked"/> out besides those in fault or
    /// maintenance, as of now or less than <see cref="Refresh"/> ago with the same ones locked out.</summary>
    /// <exception cref="QueryException">The telemetry refused a query.</exception>
    /// <exception cref="HttpRequestException">The telemetry store could not be reached.</exception>
    public async Task<(DateTimeOffset At, IReadOnlyList<RedundancyReading> Groups)> ReadAsync(IReadOnlyDictionary<string, string> locked, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(locked);
        var key = string.Join('\n', locked.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}\t{l.Value}"));
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var now = clock.GetUtcNow();
            if (_last is not { } last || last.Locked != key || now - last.At >= Refresh || now < last.At)
            {
                last = (now, key, await _capacity.NowAsync(now, locked, cancellationToken));
                _last = last;
                Evaluations++;
            }

            return (last.At, last.Groups);
        }
        finally
        {
            _lock.Release();
        }
    }
}
