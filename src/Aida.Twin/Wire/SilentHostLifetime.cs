using Microsoft.Extensions.Hosting;

namespace Aida.Twin.Wire;

/// <summary>A host lifetime that neither listens for Ctrl-C and SIGTERM nor prints: a face's web host lives inside a
/// command that owns the process' signals and stops the face itself (the default console lifetime would take SIGTERM
/// for itself and stop only the face).</summary>
internal sealed class SilentHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
