using System.Text;

namespace Aida.Protocols.Nut;

/// <summary>Reads newline-terminated lines from a stream with a length cap, so a peer that never sends a newline cannot
/// exhaust memory.</summary>
internal sealed class NutLineReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[4096];
    private readonly List<byte> _line = new(256);
    private int _start;
    private int _end;

    /// <summary>The next line without its terminator (a trailing CR is dropped), null at end of stream.</summary>
    /// <exception cref="NutProtocolException">The line is longer than <see cref="NutLine.MaxLength"/>, or the stream ends
    /// inside it (a truncated answer).</exception>
    public async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        _line.Clear();
        while (true)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await stream.ReadAsync(_buffer, ct).ConfigureAwait(false);
                if (_end == 0)
                {
                    return _line.Count > 0 ? throw new NutProtocolException("connection closed in the middle of a line") : null;
                }
            }

            while (_start < _end)
            {
                var b = _buffer[_start++];
                if (b == (byte)'\n')
                {
                    return Decode();
                }

                if (_line.Count >= NutLine.MaxLength)
                {
                    throw new NutProtocolException($"line longer than {NutLine.MaxLength} bytes");
                }

                _line.Add(b);
            }
        }
    }

    private string Decode()
    {
        var count = _line.Count > 0 && _line[^1] == (byte)'\r' ? _line.Count - 1 : _line.Count;
        return Encoding.UTF8.GetString(_line.GetRange(0, count).ToArray());
    }
}
