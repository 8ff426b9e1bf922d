namespace Aida.Cli;

/// <summary>Says on a run's stderr when its control loop stalls and when it steps again (<see cref="Aida.Server.Api.LoopHeartbeat.Changed"/>),
/// looking every <see cref="Period"/> of wall time from a thread of its own: the loop cannot say it has stalled.</summary>
internal static class LoopWatch
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    public static Task Start(Aida.Server.Api.LoopHeartbeat heartbeat, TextWriter stderr, CancellationToken token) => Task.Run(async () =>
    {
        using var timer = new PeriodicTimer(Period, TimeProvider.System);
        while (await timer.NextOrStopped(token))
        {
            if (heartbeat.Changed() is { } line)
            {
                await stderr.WriteLineAsync(line);
            }
        }
    }, CancellationToken.None);
}
