using System.Text;

namespace Aida.Protocols.Nut;

/// <summary>One line of the NUT network protocol (RFC 9271) split into its words: bare words and double-quoted strings
/// with <c>\"</c> and <c>\\</c> escapes.</summary>
public sealed class NutLine
{
    /// <summary>The longest line either side accepts; longer is a protocol error.</summary>
    public const int MaxLength = 8192;

    private NutLine(IReadOnlyList<string> words) => Words = words;

    public IReadOnlyList<string> Words { get; }

    public string this[int i] => Words[i];

    public int Count => Words.Count;

    /// <summary>Whether the line starts with the given words (e.g. <c>"BEGIN", "LIST", "VAR"</c>).</summary>
    public bool StartsWith(params string[] words)
    {
        if (Words.Count < words.Length)
        {
            return false;
        }

        for (var i = 0; i < words.Length; i++)
        {
            if (!string.Equals(Words[i], words[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Splits a line into words; never throws. Returns false with the reason on an unterminated quote, a
    /// dangling escape, a control character or a line that is too long.</summary>
    public static bool TryParse(string line, out NutLine parsed, out string problem)
    {
        parsed = new NutLine([]);
        problem = "";
        if (line is null)
        {
            problem = "no line";
            return false;
        }

        if (line.Length > MaxLength)
        {
            problem = $"line longer than {MaxLength} characters";
            return false;
        }

        var words = new List<string>();
        var sb = new StringBuilder();
        var i = 0;
        while (i < line.Length)
        {
            var c = line[i];
            if (c is ' ' or '\t')
            {
                i++;
                continue;
            }

            if (char.IsControl(c))
            {
                problem = $"control character 0x{(int)c:x2} at column {i + 1}";
                return false;
            }

            sb.Clear();
            if (c == '"')
            {
                i++;
                var closed = false;
                while (i < line.Length)
                {
                    var q = line[i++];
                    if (q == '"')
                    {
                        closed = true;
                        break;
                    }

                    if (q == '\\')
                    {
                        if (i >= line.Length)
                        {
                            break;
                        }

                        q = line[i++];
                    }

                    sb.Append(q);
                }

                if (!closed)
                {
                    problem = "unterminated quoted string";
                    return false;
                }

                if (i < line.Length && line[i] is not (' ' or '\t'))
                {
                    problem = $"text directly after a closing quote at column {i + 1}";
                    return false;
                }
            }
            else
            {
                while (i < line.Length && line[i] is not (' ' or '\t'))
                {
                    if (line[i] == '"' || char.IsControl(line[i]))
                    {
                        problem = $"unexpected '{(char.IsControl(line[i]) ? "control character" : "\"")}' inside a word at column {i + 1}";
                        return false;
                    }

                    sb.Append(line[i++]);
                }
            }

            words.Add(sb.ToString());
        }

        parsed = new NutLine(words);
        return true;
    }

    /// <summary>A value as a quoted string with <c>"</c> and <c>\</c> escaped, as upsd sends it.</summary>
    public static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.Append('"').ToString();
    }

    public override string ToString() => string.Join(' ', Words.Select(w => IsBareWord(w) ? w : Quote(w)));

    /// <summary>Whether <paramref name="word"/> goes on a line as it is (a UPS, variable, command or user name): not empty,
    /// no space, quote, backslash or control character.</summary>
    public static bool IsBareWord(string word) => !string.IsNullOrEmpty(word) && !word.Any(c => c is ' ' or '"' or '\\' || char.IsControl(c));
}
