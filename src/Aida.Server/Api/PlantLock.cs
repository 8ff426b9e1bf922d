namespace Aida.Server.Api;

/// <summary>The plant's lock as the API and MCP take it: waited for while the run's control loop lives, given up once its
/// <see cref="LoopHeartbeat"/> says it stalled, so a loop wedged while holding the lock leaves no call waiting for ever.</summary>
/// <remarks>Before, every call that read or acted on the plant waited on the lock with no end: with the loop wedged in a
/// step (a device call that never returns, a deadlock), the dashboard's overview, whose banner says the loop stalled,
/// and most of <c>/metrics</c> never answered, and a person's approval hung. A read that must answer (the overview,
/// <c>/metrics</c>) serves what it last read instead (<see cref="LastRead{T}"/>); anything else is refused with 503 and
/// changes nothing.</remarks>
public static class PlantLock
{
    /// <summary>How often a caller waiting for the lock looks whether the loop was said to stall.</summary>
    public static readonly TimeSpan Look = TimeSpan.FromMilliseconds(250);

    /// <summary>Takes <see cref="ServerContext.Gate"/> on this thread; dispose to let it go, on the same thread (no
    /// <c>await</c> while it is held).</summary>
    /// <exception cref="LoopStalledException">The loop stalled while the lock was waited for (or before).</exception>
    public static Held Hold(ServerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Hold(context.Gate, context.Heartbeat);
    }

    /// <summary>Takes <paramref name="gate"/>, waiting with no end when there is no <paramref name="heartbeat"/> (no run's
    /// loop steps the plant), else until the heartbeat says the loop stalled.</summary>
    /// <exception cref="LoopStalledException">The loop stalled while the lock was waited for (or before).</exception>
    public static Held Hold(object gate, LoopHeartbeat? heartbeat)
    {
        ArgumentNullException.ThrowIfNull(gate);
        if (heartbeat is null)
        {
            Monitor.Enter(gate);
            return new Held(gate);
        }

        if (Monitor.TryEnter(gate))
        {
            return new Held(gate);
        }

        while (true)
        {
            if (heartbeat.Now() is { Stalled: true } health)
            {
                throw new LoopStalledException(health.Said);
            }

            if (Monitor.TryEnter(gate, Look))
            {
                return new Held(gate);
            }
        }
    }

    /// <summary>The lock, held until disposed.</summary>
    public readonly struct Held(object gate) : IDisposable
    {
        public void Dispose() => Monitor.Exit(gate);
    }
}

/// <summary>The run's control loop stalled holding the plant's lock: the call neither read nor changed the plant.</summary>
public sealed class LoopStalledException(string said)
    : Exception($"the control loop holds the plant's lock and has stalled ({said}): nothing was read or changed; try again once /healthz answers 200");

/// <summary>A figure read under the plant's lock for a page that must answer while the loop is wedged holding it: the
/// figure last read, when the lock cannot be had (<see cref="PlantLock"/>).</summary>
/// <param name="before">What is served if the loop stalls before the first read.</param>
internal sealed class LastRead<T>(T before)
{
    private readonly Lock _sync = new();
    private T _last = before;

    /// <summary>The figure <paramref name="read"/> gives under the lock now (fresh), or the one last read (not fresh).</summary>
    public (T Value, bool Fresh) Take(ServerContext context, Func<T> read)
    {
        try
        {
            T value;
            using (PlantLock.Hold(context))
            {
                value = read();
            }

            lock (_sync)
            {
                _last = value;
            }

            return (value, true);
        }
        catch (LoopStalledException)
        {
            lock (_sync)
            {
                return (_last, false);
            }
        }
    }
}
