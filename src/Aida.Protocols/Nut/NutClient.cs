using System.Net.Sockets;
using System.Text;

namespace Aida.Protocols.Nut;

/// <summary>A UPS as <c>LIST UPS</c> names it.</summary>
public sealed record NutUpsInfo(string Name, string Description);

/// <summary>A client of upsd's text protocol (RFC 9271): <c>LIST UPS</c>, <c>LIST VAR</c>, <c>GET VAR</c>, <c>LOGOUT</c>,
/// and for control <c>USERNAME</c>/<c>PASSWORD</c>, <c>INSTCMD</c> and <c>SET VAR</c>. One request at a time on one TCP
/// connection.</summary>
/// <remarks>An <c>ERR</c> answer is a <see cref="NutErrorException"/> (the connection stays usable); anything that is not
/// the protocol is a <see cref="NutProtocolException"/> (drop the connection). Nothing else is thrown for what the peer
/// sends; I/O failures surface as <see cref="IOException"/>/<see cref="SocketException"/>.</remarks>
public sealed class NutClient : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly NutLineReader _reader;
    private readonly TcpClient? _tcp;

    public NutClient(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _reader = new NutLineReader(stream);
    }

    private NutClient(TcpClient tcp) : this(tcp.GetStream()) => _tcp = tcp;

    /// <summary>Opens a connection to upsd at <paramref name="host"/>:<paramref name="port"/> (3493 is NUT's port).</summary>
    public static async Task<NutClient> ConnectAsync(string host, int port, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, ct).ConfigureAwait(false);
            return new NutClient(tcp);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary><c>LIST UPS</c>: the UPSes upsd serves.</summary>
    public async Task<IReadOnlyList<NutUpsInfo>> ListUpsAsync(CancellationToken ct)
    {
        var items = await ListAsync(["UPS"], "UPS", 3, ct).ConfigureAwait(false);
        return items.Select(w => new NutUpsInfo(w[1], w[2])).ToList();
    }

    /// <summary><c>LIST VAR ups</c>: every variable of one UPS with its value, in upsd's order.</summary>
    public async Task<IReadOnlyList<KeyValuePair<string, string>>> ListVarAsync(string ups, CancellationToken ct)
    {
        CheckWord(ups, nameof(ups));
        var items = await ListAsync(["VAR", ups], "VAR", 4, ct).ConfigureAwait(false);
        var result = new List<KeyValuePair<string, string>>(items.Count);
        foreach (var w in items)
        {
            if (w[1] != ups)
            {
                throw new NutProtocolException($"LIST VAR {ups} answered a variable of '{w[1]}'");
            }

            result.Add(new KeyValuePair<string, string>(w[2], w[3]));
        }

        return result;
    }

    /// <summary><c>GET VAR ups name</c>: one variable's value.</summary>
    public async Task<string> GetVarAsync(string ups, string variable, CancellationToken ct)
    {
        CheckWord(ups, nameof(ups));
        CheckWord(variable, nameof(variable));
        var request = $"GET VAR {ups} {variable}";
        var line = await RequestAsync(request, ct).ConfigureAwait(false);
        if (line.Count != 4 || !line.StartsWith("VAR", ups, variable))
        {
            throw new NutProtocolException($"'{request}' answered '{Shorten(line.ToString())}'");
        }

        return line[3];
    }

    /// <summary><c>USERNAME</c> then <c>PASSWORD</c>: who the connection acts as. upsd checks them against its
    /// <c>upsd.users</c> only when a command needs them (<c>INSTCMD</c>, <c>SET VAR</c>: <c>ERR ACCESS-DENIED</c>).</summary>
    public async Task AuthenticateAsync(string username, string password, CancellationToken ct)
    {
        CheckWord(username, nameof(username));
        ArgumentException.ThrowIfNullOrEmpty(password);
        if (password.Any(char.IsControl))
        {
            throw new ArgumentException("a NUT password cannot hold control characters", nameof(password));
        }

        await ExpectOkAsync("USERNAME " + username, "USERNAME " + username, ct).ConfigureAwait(false);
        await ExpectOkAsync("PASSWORD " + NutLine.Quote(password), "PASSWORD (hidden)", ct).ConfigureAwait(false);
    }

    /// <summary><c>INSTCMD ups command</c>: asks the UPS's driver to run an instant command (<c>load.off</c>,
    /// <c>experimental.ecomode.enable</c>, …). upsd answers <c>OK</c> when it has passed the command on (or
    /// <c>OK TRACKING id</c> with tracking on), not when the UPS has done it: confirm by reading its effect.</summary>
    public Task InstantCommandAsync(string ups, string command, CancellationToken ct)
    {
        CheckWord(ups, nameof(ups));
        CheckWord(command, nameof(command));
        var request = $"INSTCMD {ups} {command}";
        return ExpectOkAsync(request, request, ct);
    }

    /// <summary><c>SET VAR ups name "value"</c>: sets a writable variable (<c>LIST RW</c> names them). As for
    /// <c>INSTCMD</c>, <c>OK</c> means passed on to the driver: confirm with <see cref="GetVarAsync"/>.</summary>
    public Task SetVarAsync(string ups, string variable, string value, CancellationToken ct)
    {
        CheckWord(ups, nameof(ups));
        CheckWord(variable, nameof(variable));
        ArgumentNullException.ThrowIfNull(value);
        var request = $"SET VAR {ups} {variable} {NutLine.Quote(value)}";
        return ExpectOkAsync(request, request, ct);
    }

    /// <summary><c>LOGOUT</c>: asks upsd to close the connection.</summary>
    public async Task LogoutAsync(CancellationToken ct)
    {
        await WriteAsync("LOGOUT", ct).ConfigureAwait(false);
        _ = await _reader.ReadLineAsync(ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _tcp?.Dispose();
    }

    private async Task<List<NutLine>> ListAsync(string[] what, string itemWord, int itemWords, CancellationToken ct)
    {
        var request = "LIST " + string.Join(' ', what);
        var first = await RequestAsync(request, ct).ConfigureAwait(false);
        string[] begin = ["BEGIN", "LIST", .. what];
        if (first.Count != begin.Length || !first.StartsWith(begin))
        {
            throw new NutProtocolException($"'{request}' answered '{Shorten(first.ToString())}' instead of BEGIN LIST");
        }

        string[] end = ["END", "LIST", .. what];
        var items = new List<NutLine>();
        while (true)
        {
            var line = await ReadAsync(request, ct).ConfigureAwait(false);
            if (line.Count == end.Length && line.StartsWith(end))
            {
                return items;
            }

            if (line.Count != itemWords || line[0] != itemWord)
            {
                throw new NutProtocolException($"'{request}': unexpected line '{Shorten(line.ToString())}' in the list");
            }

            items.Add(line);
        }
    }

    /// <summary>Sends a request whose answer is <c>OK</c> (maybe with more words: <c>OK TRACKING id</c>);
    /// <paramref name="shown"/> is how errors name it (a password is not repeated in messages).</summary>
    private async Task ExpectOkAsync(string request, string shown, CancellationToken ct)
    {
        var line = await RequestAsync(request, ct, shown).ConfigureAwait(false);
        if (line[0] != "OK")
        {
            throw new NutProtocolException($"'{shown}' answered '{Shorten(line.ToString())}' instead of OK");
        }
    }

    private async Task<NutLine> RequestAsync(string request, CancellationToken ct, string? shown = null)
    {
        await WriteAsync(request, ct).ConfigureAwait(false);
        var line = await ReadAsync(shown ?? request, ct).ConfigureAwait(false);
        if (line.Count >= 2 && line[0] == "ERR")
        {
            throw new NutErrorException(line[1], shown ?? request);
        }

        return line;
    }

    private async Task<NutLine> ReadAsync(string request, CancellationToken ct)
    {
        var text = await _reader.ReadLineAsync(ct).ConfigureAwait(false)
            ?? throw new NutProtocolException($"connection closed while waiting for the answer to '{request}'");
        if (!NutLine.TryParse(text, out var line, out var problem))
        {
            throw new NutProtocolException($"'{request}' answered a malformed line: {problem}");
        }

        if (line.Count == 0)
        {
            throw new NutProtocolException($"'{request}' answered an empty line");
        }

        return line;
    }

    private async Task WriteAsync(string request, CancellationToken ct)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(request + "\n"), ct).ConfigureAwait(false);
        await _stream.FlushAsync(ct).ConfigureAwait(false);
    }

    private static void CheckWord(string word, string name)
    {
        if (!NutLine.IsBareWord(word))
        {
            throw new ArgumentException($"'{word}' is not a NUT name (no spaces, quotes or control characters)", name);
        }
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "...";
}
