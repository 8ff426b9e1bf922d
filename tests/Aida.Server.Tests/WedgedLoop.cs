namespace Aida.Server.Tests;

/// <summary>A control loop wedged in a step: a thread holding the plant's lock until disposed, as a device call that never
/// returns or a deadlock would hold it.</summary>
internal sealed class WedgedLoop : IDisposable
{
    // Not disposed: a second Dispose must find it whole (its wait handle is made only if someone blocks on it).
    private readonly ManualResetEventSlim _release = new();
    private readonly Thread _thread;

    private WedgedLoop(object gate)
    {
        using var holding = new ManualResetEventSlim();
        _thread = new Thread(() =>
        {
            lock (gate)
            {
                holding.Set();
                _release.Wait();
            }
        });
        _thread.Start();
        holding.Wait();
    }

    /// <summary>Returns once the thread holds <paramref name="gate"/>.</summary>
    public static WedgedLoop Holding(object gate) => new(gate);

    /// <summary>Lets the lock go and waits for the thread to end (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (!_thread.IsAlive)
        {
            return;
        }

        _release.Set();
        _thread.Join();
    }
}
