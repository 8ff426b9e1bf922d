namespace Aida.Telemetry.Collectors;

/// <summary>Runs a site's collectors side by side until cancelled. A collector whose <see cref="ICollector.RunAsync"/>
/// throws (a bug: collectors handle their own I/O failures) is reported as an error of its device and restarted after a
/// backoff delay; the others keep running.</summary>
public sealed class CollectorHost(IReadOnlyList<ICollector> collectors, CollectorSink sink, int seed = 1)
{
    /// <summary>The first delay before a failed collector is restarted.</summary>
    public static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay before a failed collector is restarted.</summary>
    public static readonly TimeSpan MaxRestartDelay = TimeSpan.FromMinutes(1);

    public IReadOnlyList<ICollector> Collectors { get; } = collectors;

    public Task RunAsync(CancellationToken ct)
    {
        var tasks = new Task[Collectors.Count];
        for (var i = 0; i < Collectors.Count; i++)
        {
            tasks[i] = SuperviseAsync(Collectors[i], new Random(HashCode.Combine(seed, i)), ct);
        }

        return Task.WhenAll(tasks);
    }

    private async Task SuperviseAsync(ICollector collector, Random random, CancellationToken ct)
    {
        var backoff = new ReconnectBackoff(RestartDelay, MaxRestartDelay, random);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await collector.RunAsync(sink, ct).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // One collector's bug must not stop the site's other collectors.
            catch (Exception e)
#pragma warning restore CA1031
            {
                sink.Error(collector.Kind, collector.Name, $"collector failed and restarts: {e.GetType().Name}: {e.Message}");
            }

            try
            {
                await Task.Delay(backoff.Next(), sink.Clock, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
