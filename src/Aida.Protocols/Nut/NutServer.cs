using System.Net;
using System.Net.Sockets;
using System.Text;
using Aida.Protocols.Tcp;

namespace Aida.Protocols.Nut;

/// <summary>A UPS as a NUT server serves it: its name, description and variables at the moment of asking.</summary>
public sealed record NutUpsSnapshot(string Name, string Description, IReadOnlyList<KeyValuePair<string, string>> Variables);

/// <summary>A read-only upsd: answers the RFC 9271 commands a monitoring client sends (<c>LIST UPS</c>, <c>LIST VAR</c>,
/// <c>GET VAR</c>, <c>GET UPSDESC</c>, <c>LIST CMD/RW/ENUM/RANGE/CLIENT</c> as empty lists, <c>VER</c>, <c>NETVER</c>,
/// <c>PROTVER</c>, <c>USERNAME</c>/<c>PASSWORD</c>, <c>LOGOUT</c>) from snapshots taken per request.</summary>
/// <remarks>Malformed or unknown requests get the <c>ERR</c> upsd gives (<c>INVALID-ARGUMENT</c>, <c>UNKNOWN-COMMAND</c>),
/// and the connection stays open, as upsd's.</remarks>
public sealed class NutServer : IAsyncDisposable
{
    private readonly Func<IReadOnlyList<NutUpsSnapshot>> _snapshot;
    private readonly TcpConnectionServer _server;

    /// <param name="snapshot">Called for each request; must be thread-safe.</param>
    public NutServer(IPEndPoint endpoint, Func<IReadOnlyList<NutUpsSnapshot>> snapshot)
    {
        _snapshot = snapshot;
        _server = new TcpConnectionServer(endpoint, ServeAsync);
    }

    /// <summary>Where it listens, once started.</summary>
    public IPEndPoint Endpoint => _server.Endpoint;

    public void Start() => _server.Start();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(NetworkStream stream, CancellationToken ct)
    {
        var reader = new NutLineReader(stream);
        while (!ct.IsCancellationRequested)
        {
            string? request;
            try
            {
                request = await reader.ReadLineAsync(ct).ConfigureAwait(false);
            }
            catch (NutProtocolException)
            {
                return; // a line without end: drop the client
            }

            if (request is null)
            {
                return;
            }

            var (answer, close) = Answer(request);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(answer), ct).ConfigureAwait(false);
            if (close)
            {
                return;
            }
        }
    }

    /// <summary>The answer to one request line, and whether to close the connection after it.</summary>
    internal (string Answer, bool Close) Answer(string request)
    {
        if (!NutLine.TryParse(request, out var line, out _) || line.Count == 0)
        {
            return ("ERR INVALID-ARGUMENT\n", false);
        }

        var sb = new StringBuilder();
        switch (line[0])
        {
            case "LOGOUT":
                return ("OK Goodbye\n", true);
            case "VER":
                return ("Aida twin upsd (NUT protocol 1.3)\n", false);
            case "NETVER" or "PROTVER":
                return ("1.3\n", false);
            case "USERNAME" or "PASSWORD" when line.Count == 2:
                return ("OK\n", false);
            case "STARTTLS":
                return ("ERR FEATURE-NOT-CONFIGURED\n", false);
            case "HELP":
                return ("Commands: HELP VER GET LIST LOGOUT\n", false);
            case "LIST" when line.Count == 2 && line[1] == "UPS":
                sb.Append("BEGIN LIST UPS\n");
                foreach (var ups in _snapshot())
                {
                    sb.Append("UPS ").Append(ups.Name).Append(' ').Append(NutLine.Quote(ups.Description)).Append('\n');
                }

                return (sb.Append("END LIST UPS\n").ToString(), false);
            case "LIST" when line.Count == 3 && line[1] == "VAR":
                {
                    if (Find(line[2]) is not { } ups)
                    {
                        return ("ERR UNKNOWN-UPS\n", false);
                    }

                    sb.Append("BEGIN LIST VAR ").Append(ups.Name).Append('\n');
                    foreach (var (name, value) in ups.Variables)
                    {
                        sb.Append("VAR ").Append(ups.Name).Append(' ').Append(name).Append(' ').Append(NutLine.Quote(value)).Append('\n');
                    }

                    return (sb.Append("END LIST VAR ").Append(ups.Name).Append('\n').ToString(), false);
                }

            case "LIST" when line.Count == 3 && line[1] is "CMD" or "RW" or "CLIENT":
                return Find(line[2]) is { } listed
                    ? ($"BEGIN LIST {line[1]} {listed.Name}\nEND LIST {line[1]} {listed.Name}\n", false)
                    : ("ERR UNKNOWN-UPS\n", false);
            case "GET" when line.Count == 4 && line[1] == "VAR":
                {
                    if (Find(line[2]) is not { } ups)
                    {
                        return ("ERR UNKNOWN-UPS\n", false);
                    }

                    foreach (var (name, value) in ups.Variables)
                    {
                        if (name == line[3])
                        {
                            return ($"VAR {ups.Name} {name} {NutLine.Quote(value)}\n", false);
                        }
                    }

                    return ("ERR VAR-NOT-SUPPORTED\n", false);
                }

            case "GET" when line.Count == 3 && line[1] == "UPSDESC":
                return Find(line[2]) is { } described
                    ? ($"UPSDESC {described.Name} {NutLine.Quote(described.Description)}\n", false)
                    : ("ERR UNKNOWN-UPS\n", false);
            case "GET" or "LIST":
                return ("ERR INVALID-ARGUMENT\n", false);
            default:
                return ("ERR UNKNOWN-COMMAND\n", false);
        }
    }

    private NutUpsSnapshot? Find(string name)
    {
        foreach (var ups in _snapshot())
        {
            if (ups.Name == name)
            {
                return ups;
            }
        }

        return null;
    }
}
