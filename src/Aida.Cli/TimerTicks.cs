namespace Aida.Cli;

/// <summary>The wall-clock loops of a live run (the network operator's, the on-call look): wait for the next tick.</summary>
internal static class TimerTicks
{
    /// <summary>True at the timer's next tick; false once <paramref name="token"/> is cancelled (the run stops).</summary>
    public static async Task<bool> NextOrStopped(this PeriodicTimer timer, CancellationToken token)
    {
        try
        {
            return await timer.WaitForNextTickAsync(token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
