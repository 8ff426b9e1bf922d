using System.Net;
using System.Net.Sockets;
using System.Text;
using Aida.Protocols.Tcp;

namespace Aida.Protocols.Nut;

/// <summary>A UPS as a NUT server serves it: its name, description and variables at the moment of asking.</summary>
public sealed record NutUpsSnapshot(string Name, string Description, IReadOnlyList<KeyValuePair<string, string>> Variables);

/// <summary>What a NUT server lets its clients change, and who may: the instant commands each UPS has and running one,
/// setting a variable. Called from connection threads: must be thread-safe.</summary>
public interface INutControl
{
    /// <summary>Whether this user and password may run commands and set variables (upsd's <c>upsd.users</c>).</summary>
    bool MayControl(string username, string password);

    /// <summary>The instant commands the UPS has (<c>LIST CMD</c>).</summary>
    IReadOnlyList<string> Commands(string ups);

    /// <summary>Runs an instant command the UPS has: null when done, else the <c>ERR</c> code (<c>INSTCMD-FAILED</c>).</summary>
    string? Run(string ups, string command);

    /// <summary>Sets a variable: null when done, else the <c>ERR</c> code (<c>VAR-NOT-SUPPORTED</c>, <c>READONLY</c>,
    /// <c>INVALID-VALUE</c>, <c>SET-FAILED</c>).</summary>
    string? Set(string ups, string variable, string value);
}

/// <summary>An upsd: answers the RFC 9271 commands a monitoring client sends (<c>LIST UPS</c>, <c>LIST VAR</c>,
/// <c>GET VAR</c>, <c>GET UPSDESC</c>, <c>LIST RW/ENUM/RANGE/CLIENT</c> as empty lists, <c>VER</c>, <c>NETVER</c>,
/// <c>PROTVER</c>, <c>USERNAME</c>/<c>PASSWORD</c>, <c>LOGOUT</c>) from snapshots taken per request, and, given an
/// <see cref="INutControl"/>, <c>LIST CMD</c>, <c>INSTCMD</c> and <c>SET VAR</c> for a client that gave a user and password
/// it accepts.</summary>
/// <remarks>Malformed or unknown requests get the <c>ERR</c> upsd gives (<c>INVALID-ARGUMENT</c>, <c>UNKNOWN-COMMAND</c>),
/// and the connection stays open, as upsd's. A control request without <c>USERNAME</c> is <c>ERR USERNAME-REQUIRED</c>,
/// without <c>PASSWORD</c> <c>ERR PASSWORD-REQUIRED</c>, with ones the control refuses <c>ERR ACCESS-DENIED</c>; a command
/// the UPS does not have is <c>ERR CMD-NOT-SUPPORTED</c> (as upsd 2.8 answers, checked against Debian's).</remarks>
public sealed class NutServer : IAsyncDisposable
{
    private readonly Func<IReadOnlyList<NutUpsSnapshot>> _snapshot;
    private readonly INutControl? _control;
    private readonly TcpConnectionServer _server;

    /// <param name="snapshot">Called for each request; must be thread-safe.</param>
    /// <param name="control">What clients may change; none: a read-only server.</param>
    public NutServer(IPEndPoint endpoint, Func<IReadOnlyList<NutUpsSnapshot>> snapshot, INutControl? control = null)
    {
        _snapshot = snapshot;
        _control = control;
        _server = new TcpConnectionServer(endpoint, ServeAsync);
    }

    /// <summary>Where it listens, once started.</summary>
    public IPEndPoint Endpoint => _server.Endpoint;

    public void Start() => _server.Start();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(NetworkStream stream, CancellationToken ct)
    {
        var reader = new NutLineReader(stream);
        var session = new NutSession();
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

            var (answer, close) = Answer(request, session);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(answer), ct).ConfigureAwait(false);
            if (close)
            {
                return;
            }
        }
    }

    /// <summary>The answer to one request line, and whether to close the connection after it.</summary>
    /// <param name="session">The connection's user and password so far (a fresh one when null).</param>
    internal (string Answer, bool Close) Answer(string request, NutSession? session = null)
    {
        session ??= new NutSession();
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
            case "USERNAME" when line.Count == 2:
                if (session.Username is not null)
                {
                    return ("ERR ALREADY-SET-USERNAME\n", false);
                }

                session.Username = line[1];
                return ("OK\n", false);
            case "PASSWORD" when line.Count == 2:
                if (session.Password is not null)
                {
                    return ("ERR ALREADY-SET-PASSWORD\n", false);
                }

                session.Password = line[1];
                return ("OK\n", false);
            case "INSTCMD" when line.Count == 3:
                return (Control(session, line[1], c => c.Commands(line[1]).Contains(line[2]) ? c.Run(line[1], line[2]) : "CMD-NOT-SUPPORTED"), false);
            case "SET" when line.Count == 5 && line[1] == "VAR":
                return (Control(session, line[2], c => c.Set(line[2], line[3], line[4])), false);
            case "LIST" when line.Count == 3 && line[1] == "CMD":
                {
                    if (Find(line[2]) is not { } ups)
                    {
                        return ("ERR UNKNOWN-UPS\n", false);
                    }

                    sb.Append("BEGIN LIST CMD ").Append(ups.Name).Append('\n');
                    foreach (var command in _control?.Commands(ups.Name) ?? [])
                    {
                        sb.Append("CMD ").Append(ups.Name).Append(' ').Append(command).Append('\n');
                    }

                    return (sb.Append("END LIST CMD ").Append(ups.Name).Append('\n').ToString(), false);
                }

            case "STARTTLS":
                return ("ERR FEATURE-NOT-CONFIGURED\n", false);
            case "HELP":
                return ("Commands: HELP VER GET LIST SET INSTCMD LOGOUT USERNAME PASSWORD STARTTLS\n", false);
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

            case "LIST" when line.Count == 3 && line[1] is "RW" or "CLIENT":
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
            case "GET" or "LIST" or "INSTCMD" or "SET" or "USERNAME" or "PASSWORD":
                return ("ERR INVALID-ARGUMENT\n", false);
            default:
                return ("ERR UNKNOWN-COMMAND\n", false);
        }
    }

    /// <summary>A control request on one UPS as upsd checks it: the user first, then the UPS, then the request itself.</summary>
    private string Control(NutSession session, string ups, Func<INutControl, string?> request)
    {
        if (session.Username is null)
        {
            return "ERR USERNAME-REQUIRED\n";
        }

        if (session.Password is null)
        {
            return "ERR PASSWORD-REQUIRED\n";
        }

        if (Find(ups) is null)
        {
            return "ERR UNKNOWN-UPS\n";
        }

        if (_control is null)
        {
            return "ERR CMD-NOT-SUPPORTED\n";
        }

        if (!_control.MayControl(session.Username, session.Password))
        {
            return "ERR ACCESS-DENIED\n";
        }

        return request(_control) is { } error ? $"ERR {error}\n" : "OK\n";
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

/// <summary>What one connection has said of who it is.</summary>
internal sealed class NutSession
{
    public string? Username { get; set; }

    public string? Password { get; set; }
}
