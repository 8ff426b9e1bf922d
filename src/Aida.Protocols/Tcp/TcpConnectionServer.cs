using System.Net;
using System.Net.Sockets;

namespace Aida.Protocols.Tcp;

/// <summary>Accepts TCP connections on one endpoint and serves each with a handler on its own task until the client goes
/// away or the server is disposed; the shared core of the text-protocol servers (upsd, a <c>/metrics</c> endpoint).</summary>
/// <remarks>A handler's I/O failures (the client vanishing, a protocol error it throws as <see cref="IOException"/>) close
/// that connection only.</remarks>
public sealed class TcpConnectionServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<NetworkStream, CancellationToken, Task> _serve;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private Task? _accept;
    private int _disposed;

    /// <param name="endpoint">Where to listen; port 0 picks a free one.</param>
    public TcpConnectionServer(IPEndPoint endpoint, Func<NetworkStream, CancellationToken, Task> serve)
    {
        _listener = new TcpListener(endpoint);
        _serve = serve;
    }

    /// <summary>Where it listens, once started.</summary>
    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    public void Start()
    {
        _listener.Start();
        _accept = AcceptLoopAsync(_stop.Token);
    }

    /// <summary>Stops listening and waits for every open connection to close; safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_accept is not null)
        {
            await _accept.ConfigureAwait(false);
        }

        Task[] open;
        lock (_connections)
        {
            open = [.. _connections];
        }

        await Task.WhenAll(open).ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var task = ServeAsync(client, ct);
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(task);
            }
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using (client)
        {
            try
            {
                await _serve(client.GetStream(), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away or broke the protocol: close its connection only.
            }
        }
    }
}
