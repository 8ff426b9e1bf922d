using Aida.Reliability.Budgets;
using Aida.Server.Api;
using Aida.Telemetry.Query;

namespace Aida.Cli;

/// <summary>A live run's SLO statuses and efficiency envelope, evaluated once every <see cref="BudgetBoard.Refresh"/> of
/// plant time from the start and written into the run's store (<see cref="SloSeriesWriter"/>), as the derived metrics
/// are: the budgets' history, for the dashboard, for PromQL over <c>--listen</c> and for whatever takes the remote write.
/// It runs whether or not the run serves its API; the API's <see cref="Board"/> serves the newest evaluation.</summary>
internal sealed class SloRecording : IDisposable
{
    private readonly SloSeriesWriter _writer;
    private readonly TimeProvider _clock;
    private DateTimeOffset _next;

    private SloRecording(BudgetBoard board, SloSeriesWriter writer, TimeProvider clock)
    {
        Board = board;
        _writer = writer;
        _clock = clock;
        _next = clock.GetUtcNow() + BudgetBoard.Refresh;
    }

    /// <summary>The budgets evaluated over the run's telemetry: the API serves them.</summary>
    public BudgetBoard Board { get; }

    /// <summary>Starts recording the bundled SLO pack's statuses into <paramref name="telemetry"/>'s store at each of its
    /// ticks (<see cref="LiveTelemetry.AlsoRecord"/>); null without a store or SLOs.</summary>
    /// <param name="site">The site label of the series.</param>
    /// <param name="exclusions">The readings left out of the SLOs (a drifting sensor's, filed or the agent's).</param>
    /// <param name="dataFrom">When the store was empty at the start: then. The budgets' windows are cut there.</param>
    /// <param name="settled">The store is written in time order (the embedded twin): the budgets count each slice once
    /// it is a budget period old. Otherwise (a site over the network) once the store accepts no sample that old.</param>
    public static SloRecording? Start(LiveTelemetry telemetry, string site, TimeProvider clock, Func<IReadOnlyList<ReadingExclusion>> exclusions, DateTimeOffset? dataFrom, bool settled)
    {
        if (telemetry.Store is not { } store || telemetry.Appender is not { } appender || telemetry.Slos is not { } slos)
        {
            return null;
        }

        // Settled on the twin by the time order it writes in; on a network site by what the store no longer accepts.
        var board = new BudgetBoard(slos, new EmbeddedQueryEngine(store), clock, exclusions, dataFrom, settled ? AgentHost.BudgetPeriod : null, settled ? null : () => store.AcceptsFrom);
        var recording = new SloRecording(board, new SloSeriesWriter(appender, site), clock);
        telemetry.AlsoRecord = recording.Record;
        return recording;
    }

    /// <summary>Evaluates and writes every minute due (each as of its minute, so a run writes the same whatever its
    /// speed).</summary>
    private void Record()
    {
        for (; _next <= _clock.GetUtcNow(); _next += BudgetBoard.Refresh)
        {
            if (Board.EvaluateAtAsync(_next, CancellationToken.None).GetAwaiter().GetResult() is { } report)
            {
                _writer.Write(report.At, report.Slos, report.Efficiency);
            }
        }
    }

    public void Dispose() => Board.Dispose();
}
