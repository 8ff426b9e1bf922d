using System.Net.Sockets;
using System.Text;

namespace Aida.Protocols.Nut;

/// <summary>A UPS as <c>LIST UPS</c> names it.</summary>
public sealed record NutUpsInfo(string Name, string Description);

/// <summary>A client of upsd's text protocol (RFC 9271): <c>LIST UPS</c>, <c>LIST VAR</c>, <c>GET VAR</c>, <c>LOGOUT</c>.
/// One request at a time on one TCP connection.</summary>
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

    private async Task<NutLine> RequestAsync(string request, CancellationToken ct)
    {
        await WriteAsync(request, ct).ConfigureAwait(false);
        var line = await ReadAsync(request, ct).ConfigureAwait(false);
        if (line.Count >= 2 && line[0] == "ERR")
        {
            throw new NutErrorException(line[1], request);
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
        if (string.IsNullOrEmpty(word) || word.Any(c => c is ' ' or '"' or '\\' || char.IsControl(c)))
        {
            throw new ArgumentException($"'{word}' is not a NUT name (no spaces, quotes or control characters)", name);
        }
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "...";
}
