using System.Globalization;

namespace Aida.Telemetry.Collectors;

/// <summary>Reads a site file's <c>host[:port]</c> addresses (an IPv6 host in brackets: <c>[::1]:3493</c>).</summary>
public static class HostPortAddress
{
    /// <summary>The host and port, or null when the text is not an address.</summary>
    public static (string Host, int Port)? Parse(string address, int defaultPort)
    {
        var text = (address ?? "").Trim();
        if (text.Length == 0 || text.Any(char.IsWhiteSpace))
        {
            return null;
        }

        string host;
        string? port;
        if (text[0] == '[')
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 2)
            {
                return null;
            }

            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0 && rest[0] != ':')
            {
                return null;
            }

            port = rest.Length > 0 ? rest[1..] : null;
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon != text.LastIndexOf(':'))
            {
                return (text, defaultPort); // a bare IPv6 address
            }

            host = colon < 0 ? text : text[..colon];
            port = colon < 0 ? null : text[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            return null;
        }

        if (port is null)
        {
            return (host, defaultPort);
        }

        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536 ? (host, p) : null;
    }
}
