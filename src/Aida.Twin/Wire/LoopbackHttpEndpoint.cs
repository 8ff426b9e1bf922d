using System.Net;
using System.Net.Sockets;
using System.Text;
using Aida.Protocols.Tcp;

namespace Aida.Twin.Wire;

/// <summary>A minimal HTTP/1.1 server for one GET path on a loopback port (port 0 picks a free one): enough for a Prometheus
/// scraper, without an ASP.NET host per endpoint.</summary>
/// <remarks>Each connection serves requests until the client closes it; a request line or header block over 16 KiB, or
/// anything that is not HTTP, closes the connection. Only <c>GET</c> and <c>HEAD</c> are answered.</remarks>
internal sealed class LoopbackHttpEndpoint : IAsyncDisposable
{
    private const int MaxHeaderBytes = 16 * 1024;

    private readonly TcpConnectionServer _server;
    private readonly string _path;
    private readonly Func<string?, (string Body, string ContentType)> _respond;

    /// <param name="respond">Builds the body for the request's Accept header; called per request, on any thread.</param>
    public LoopbackHttpEndpoint(IPEndPoint endpoint, string path, Func<string?, (string Body, string ContentType)> respond)
    {
        _server = new TcpConnectionServer(endpoint, ServeAsync);
        _path = path;
        _respond = respond;
    }

    public IPEndPoint Endpoint => _server.Endpoint;

    public Uri Url => new($"http://{Endpoint.Address}:{Endpoint.Port}{_path}");

    public void Start() => _server.Start();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxHeaderBytes];
        var filled = 0;
        while (!ct.IsCancellationRequested)
        {
            var end = HeaderEnd(buffer, filled);
            while (end < 0)
            {
                if (filled == buffer.Length)
                {
                    return;
                }

                var n = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                filled += n;
                end = HeaderEnd(buffer, filled);
            }

            var head = Encoding.ASCII.GetString(buffer, 0, end);
            Buffer.BlockCopy(buffer, end + 4, buffer, 0, filled - end - 4);
            filled -= end + 4;
            var response = Answer(head, out var close);
            await stream.WriteAsync(response, ct).ConfigureAwait(false);
            if (close)
            {
                return;
            }
        }
    }

    private byte[] Answer(string head, out bool close)
    {
        var lines = head.Split("\r\n");
        var request = lines[0].Split(' ');
        string? accept = null;
        close = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Accept", StringComparison.OrdinalIgnoreCase))
            {
                accept = value;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Equals("close", StringComparison.OrdinalIgnoreCase))
            {
                close = true;
            }
        }

        if (request.Length != 3 || !request[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            close = true;
            return Response(400, "Bad Request", "text/plain; charset=utf-8", "bad request\n", head: false, close: true);
        }

        var path = request[1];
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            path = path[..query];
        }

        if (request[0] is not ("GET" or "HEAD"))
        {
            return Response(405, "Method Not Allowed", "text/plain; charset=utf-8", "only GET\n", head: false, close);
        }

        if (path != _path)
        {
            return Response(404, "Not Found", "text/plain; charset=utf-8", $"not found; try {_path}\n", request[0] == "HEAD", close);
        }

        var (body, contentType) = _respond(accept);
        return Response(200, "OK", contentType, body, request[0] == "HEAD", close);
    }

    private static byte[] Response(int status, string reason, string contentType, string body, bool head, bool close)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var header = $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {bytes.Length}\r\n{(close ? "Connection: close\r\n" : "")}\r\n";
        var headerBytes = Encoding.ASCII.GetBytes(header);
        if (head)
        {
            return headerBytes;
        }

        var result = new byte[headerBytes.Length + bytes.Length];
        headerBytes.CopyTo(result, 0);
        bytes.CopyTo(result, headerBytes.Length);
        return result;
    }

    private static int HeaderEnd(byte[] buffer, int filled)
    {
        for (var i = 0; i + 3 < filled; i++)
        {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n' && buffer[i + 2] == '\r' && buffer[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
