using System.Globalization;
using System.Text;
using Aida.Telemetry.Query;

namespace Aida.Telemetry.PromQL;

internal enum TokenKind
{
    Eof,
    Identifier,
    MetricIdentifier,
    Number,
    Duration,
    String,
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    LeftBracket,
    RightBracket,
    Comma,
    Colon,
    Assign,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    RegexMatch,
    RegexNoMatch,
    At,

    // Keywords.
    And,
    Or,
    Unless,
    Atan2,
    By,
    Without,
    On,
    Ignoring,
    GroupLeft,
    GroupRight,
    Bool,
    Offset,

    // Aggregators.
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    CountValues,
    Quantile,
}

/// <summary>One lexeme: its kind, its text (unquoted for strings), and its 0-based position in the query.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Pos)
{
    public bool IsAggregator => Kind is >= TokenKind.Sum and <= TokenKind.Quantile;

    public bool IsKeyword => Kind is >= TokenKind.And;

    public string Describe() => Kind switch
    {
        TokenKind.Eof => "end of input",
        TokenKind.Identifier => $"identifier \"{Text}\"",
        TokenKind.MetricIdentifier => $"metric identifier \"{Text}\"",
        TokenKind.Number => $"number \"{Text}\"",
        TokenKind.Duration => $"duration \"{Text}\"",
        TokenKind.String => $"string \"{Text}\"",
        _ when IsAggregator => $"aggregation \"{Text}\"",
        _ when IsKeyword => $"keyword \"{Text}\"",
        _ => $"\"{Text}\"",
    };
}

/// <summary>Splits a PromQL query into tokens as Prometheus' lexer (promql/parser/lex.go) does.</summary>
internal static class Lexer
{
    private static readonly Dictionary<string, TokenKind> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["and"] = TokenKind.And,
        ["or"] = TokenKind.Or,
        ["unless"] = TokenKind.Unless,
        ["atan2"] = TokenKind.Atan2,
        ["by"] = TokenKind.By,
        ["without"] = TokenKind.Without,
        ["on"] = TokenKind.On,
        ["ignoring"] = TokenKind.Ignoring,
        ["group_left"] = TokenKind.GroupLeft,
        ["group_right"] = TokenKind.GroupRight,
        ["bool"] = TokenKind.Bool,
        ["offset"] = TokenKind.Offset,
        ["sum"] = TokenKind.Sum,
        ["avg"] = TokenKind.Avg,
        ["count"] = TokenKind.Count,
        ["min"] = TokenKind.Min,
        ["max"] = TokenKind.Max,
        ["group"] = TokenKind.Group,
        ["stddev"] = TokenKind.Stddev,
        ["stdvar"] = TokenKind.Stdvar,
        ["topk"] = TokenKind.Topk,
        ["bottomk"] = TokenKind.Bottomk,
        ["count_values"] = TokenKind.CountValues,
        ["quantile"] = TokenKind.Quantile,
    };

    public static List<Token> Tokenize(string input)
    {
        var tokens = new List<Token>();
        var i = 0;
        var braceOpen = false;
        var bracketOpen = false;
        while (true)
        {
            while (i < input.Length && (char.IsWhiteSpace(input[i]) || input[i] == '#'))
            {
                if (input[i] == '#')
                {
                    while (i < input.Length && input[i] != '\n')
                    {
                        i++;
                    }
                }
                else
                {
                    i++;
                }
            }

            if (i >= input.Length)
            {
                if (braceOpen)
                {
                    throw Error(input, i, "unexpected end of input inside braces");
                }

                if (bracketOpen)
                {
                    throw Error(input, i, "unexpected end of input inside brackets");
                }

                tokens.Add(new Token(TokenKind.Eof, "", i));
                return tokens;
            }

            var start = i;
            var c = input[i];
            var next = i + 1 < input.Length ? input[i + 1] : '\0';
            switch (c)
            {
                case '(':
                    tokens.Add(new Token(TokenKind.LeftParen, "(", start));
                    i++;
                    continue;
                case ')':
                    tokens.Add(new Token(TokenKind.RightParen, ")", start));
                    i++;
                    continue;
                case '{':
                    if (braceOpen)
                    {
                        throw Error(input, i, "unexpected left brace '{'");
                    }

                    braceOpen = true;
                    tokens.Add(new Token(TokenKind.LeftBrace, "{", start));
                    i++;
                    continue;
                case '}':
                    if (!braceOpen)
                    {
                        throw Error(input, i, "unexpected right brace '}'");
                    }

                    braceOpen = false;
                    tokens.Add(new Token(TokenKind.RightBrace, "}", start));
                    i++;
                    continue;
                case '[':
                    if (bracketOpen)
                    {
                        throw Error(input, i, "unexpected left bracket '['");
                    }

                    bracketOpen = true;
                    tokens.Add(new Token(TokenKind.LeftBracket, "[", start));
                    i++;
                    continue;
                case ']':
                    if (!bracketOpen)
                    {
                        throw Error(input, i, "unexpected right bracket ']'");
                    }

                    bracketOpen = false;
                    tokens.Add(new Token(TokenKind.RightBracket, "]", start));
                    i++;
                    continue;
                case ',':
                    tokens.Add(new Token(TokenKind.Comma, ",", start));
                    i++;
                    continue;
                case ':' when bracketOpen:
                    tokens.Add(new Token(TokenKind.Colon, ":", start));
                    i++;
                    continue;
                case '+':
                    tokens.Add(new Token(TokenKind.Add, "+", start));
                    i++;
                    continue;
                case '-':
                    tokens.Add(new Token(TokenKind.Sub, "-", start));
                    i++;
                    continue;
                case '*':
                    tokens.Add(new Token(TokenKind.Mul, "*", start));
                    i++;
                    continue;
                case '/':
                    tokens.Add(new Token(TokenKind.Div, "/", start));
                    i++;
                    continue;
                case '%':
                    tokens.Add(new Token(TokenKind.Mod, "%", start));
                    i++;
                    continue;
                case '^':
                    tokens.Add(new Token(TokenKind.Pow, "^", start));
                    i++;
                    continue;
                case '@':
                    tokens.Add(new Token(TokenKind.At, "@", start));
                    i++;
                    continue;
                case '=':
                    if (next == '=')
                    {
                        tokens.Add(new Token(TokenKind.Eql, "==", start));
                        i += 2;
                    }
                    else if (next == '~')
                    {
                        tokens.Add(new Token(TokenKind.RegexMatch, "=~", start));
                        i += 2;
                    }
                    else
                    {
                        tokens.Add(new Token(TokenKind.Assign, "=", start));
                        i++;
                    }

                    continue;
                case '!':
                    if (next == '=')
                    {
                        tokens.Add(new Token(TokenKind.Neq, "!=", start));
                        i += 2;
                    }
                    else if (next == '~')
                    {
                        tokens.Add(new Token(TokenKind.RegexNoMatch, "!~", start));
                        i += 2;
                    }
                    else
                    {
                        throw Error(input, i, $"unexpected character after '!': {Quote(next)}");
                    }

                    continue;
                case '<':
                    if (next == '=')
                    {
                        tokens.Add(new Token(TokenKind.Lte, "<=", start));
                        i += 2;
                    }
                    else
                    {
                        tokens.Add(new Token(TokenKind.Lss, "<", start));
                        i++;
                    }

                    continue;
                case '>':
                    if (next == '=')
                    {
                        tokens.Add(new Token(TokenKind.Gte, ">=", start));
                        i += 2;
                    }
                    else
                    {
                        tokens.Add(new Token(TokenKind.Gtr, ">", start));
                        i++;
                    }

                    continue;
                case '"' or '\'' or '`':
                    tokens.Add(new Token(TokenKind.String, ReadString(input, ref i), start));
                    continue;
                default:
                    break;
            }

            if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(next)))
            {
                tokens.Add(ReadNumberOrDuration(input, ref i));
                continue;
            }

            if (char.IsAsciiLetter(c) || c == '_' || (c == ':' && !braceOpen))
            {
                while (i < input.Length && (char.IsAsciiLetterOrDigit(input[i]) || input[i] == '_' || (input[i] == ':' && !braceOpen)))
                {
                    i++;
                }

                var word = input[start..i];
                if (braceOpen)
                {
                    tokens.Add(new Token(TokenKind.Identifier, word, start));
                }
                else if (Keywords.TryGetValue(word, out var kw))
                {
                    tokens.Add(new Token(kw, word, start));
                }
                else if (string.Equals(word, "inf", StringComparison.OrdinalIgnoreCase) || string.Equals(word, "nan", StringComparison.OrdinalIgnoreCase))
                {
                    tokens.Add(new Token(TokenKind.Number, word, start));
                }
                else
                {
                    tokens.Add(new Token(word.Contains(':', StringComparison.Ordinal) ? TokenKind.MetricIdentifier : TokenKind.Identifier, word, start));
                }

                continue;
            }

            throw Error(input, i, $"unexpected character: {Quote(c)}");
        }
    }

    private static string Quote(char c) => c == '\0' ? "end of input" : $"'{c}'";

    private static Token ReadNumberOrDuration(string input, ref int i)
    {
        var start = i;
        var j = i;
        var hex = false;
        if (input[j] == '0' && j + 1 < input.Length && input[j + 1] is 'x' or 'X')
        {
            hex = true;
            j += 2;
            while (j < input.Length && char.IsAsciiHexDigit(input[j]))
            {
                j++;
            }
        }
        else
        {
            while (j < input.Length && char.IsAsciiDigit(input[j]))
            {
                j++;
            }

            if (j < input.Length && input[j] == '.')
            {
                j++;
                while (j < input.Length && char.IsAsciiDigit(input[j]))
                {
                    j++;
                }
            }

            if (j < input.Length && input[j] is 'e' or 'E')
            {
                j++;
                if (j < input.Length && input[j] is '+' or '-')
                {
                    j++;
                }

                while (j < input.Length && char.IsAsciiDigit(input[j]))
                {
                    j++;
                }
            }
        }

        if (j >= input.Length || !(char.IsAsciiLetterOrDigit(input[j]) || input[j] == '_'))
        {
            i = j;
            return new Token(TokenKind.Number, input[start..j], start);
        }

        // Not a plain number: a duration such as 1h30m must follow, ending at a non-alphanumeric.
        if (!hex)
        {
            var k = start;
            var any = false;
            while (k < input.Length && char.IsAsciiDigit(input[k]))
            {
                while (k < input.Length && char.IsAsciiDigit(input[k]))
                {
                    k++;
                }

                var unitLen = DurationUnitLength(input, k);
                if (unitLen == 0)
                {
                    any = false;
                    break;
                }

                k += unitLen;
                any = true;
            }

            if (any && (k >= input.Length || !(char.IsAsciiLetterOrDigit(input[k]) || input[k] == '_')))
            {
                i = k;
                return new Token(TokenKind.Duration, input[start..k], start);
            }
        }

        throw Error(input, start, $"bad number or duration syntax: \"{input[start..Math.Min(input.Length, j + 1)]}\"");
    }

    private static int DurationUnitLength(string s, int k)
    {
        if (k >= s.Length)
        {
            return 0;
        }

        if (s[k] == 'm' && k + 1 < s.Length && s[k + 1] == 's')
        {
            return 2;
        }

        return s[k] is 's' or 'm' or 'h' or 'd' or 'w' or 'y' ? 1 : 0;
    }

    /// <summary>Milliseconds of a Prometheus duration (units y w d h m s ms, largest first, each at most once).</summary>
    public static long ParseDuration(string text, int pos, string input)
    {
        long total = 0;
        var k = 0;
        var lastRank = int.MaxValue;
        while (k < text.Length)
        {
            var numStart = k;
            while (k < text.Length && char.IsAsciiDigit(text[k]))
            {
                k++;
            }

            if (numStart == k)
            {
                throw Error(input, pos, $"not a valid duration string: \"{text}\"");
            }

            var n = long.Parse(text.AsSpan(numStart, k - numStart), NumberStyles.None, CultureInfo.InvariantCulture);
            var unitLen = DurationUnitLength(text, k);
            var unit = text.Substring(k, unitLen);
            k += unitLen;
            var (rank, ms) = unit switch
            {
                "y" => (6, 365L * 24 * 3600 * 1000),
                "w" => (5, 7L * 24 * 3600 * 1000),
                "d" => (4, 24L * 3600 * 1000),
                "h" => (3, 3600L * 1000),
                "m" => (2, 60L * 1000),
                "s" => (1, 1000L),
                "ms" => (0, 1L),
                _ => (-1, 0L),
            };
            if (rank < 0 || rank >= lastRank)
            {
                throw Error(input, pos, $"not a valid duration string: \"{text}\"");
            }

            lastRank = rank;
            total = checked(total + (n * ms));
        }

        return total;
    }

    public static double ParseNumber(string text)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.Parse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        }

        return GoFloat.Parse(text) ?? double.NaN;
    }

    private static string ReadString(string input, ref int i)
    {
        var quote = input[i];
        var start = i;
        i++;
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= input.Length || (quote != '`' && input[i] == '\n'))
            {
                throw Error(input, start, "unterminated quoted string");
            }

            var c = input[i];
            if (c == quote)
            {
                i++;
                return sb.ToString();
            }

            if (c == '\\' && quote != '`')
            {
                i++;
                if (i >= input.Length)
                {
                    throw Error(input, start, "unterminated quoted string");
                }

                var e = input[i];
                switch (e)
                {
                    case 'a': sb.Append('\a'); i++; break;
                    case 'b': sb.Append('\b'); i++; break;
                    case 'f': sb.Append('\f'); i++; break;
                    case 'n': sb.Append('\n'); i++; break;
                    case 'r': sb.Append('\r'); i++; break;
                    case 't': sb.Append('\t'); i++; break;
                    case 'v': sb.Append('\v'); i++; break;
                    case '\\': sb.Append('\\'); i++; break;
                    case '"' or '\'':
                        if (e != quote)
                        {
                            throw Error(input, i - 1, "unknown escape sequence");
                        }

                        sb.Append(e);
                        i++;
                        break;
                    case 'x':
                        sb.Append((char)ReadHex(input, ref i, 1, 2, start));
                        break;
                    case 'u':
                        sb.Append(char.ConvertFromUtf32(ReadHex(input, ref i, 1, 4, start)));
                        break;
                    case 'U':
                        sb.Append(char.ConvertFromUtf32(ReadHex(input, ref i, 1, 8, start)));
                        break;
                    case >= '0' and <= '7':
                        if (i + 3 > input.Length || !IsOctal(input.AsSpan(i, 3)))
                        {
                            throw Error(input, i - 1, "unknown escape sequence");
                        }

                        sb.Append((char)Convert.ToInt32(input.Substring(i, 3), 8));
                        i += 3;
                        break;
                    default:
                        throw Error(input, i - 1, "unknown escape sequence");
                }

                continue;
            }

            sb.Append(c);
            i++;
        }
    }

    private static bool IsOctal(ReadOnlySpan<char> s)
    {
        foreach (var ch in s)
        {
            if (ch is < '0' or > '7')
            {
                return false;
            }
        }

        return true;
    }

    private static int ReadHex(string input, ref int i, int skip, int digits, int start)
    {
        i += skip;
        if (i + digits > input.Length)
        {
            throw Error(input, start, "unterminated quoted string");
        }

        if (!int.TryParse(input.AsSpan(i, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
        {
            throw Error(input, i - 1, "illegal character in escape sequence");
        }

        i += digits;
        return v;
    }

    /// <summary>A parse error in Prometheus' form, <c>line:col: parse error: message</c>, with the 0-based position.</summary>
    public static QueryException Error(string input, int pos, string message)
    {
        var line = 1;
        var lastBreak = -1;
        for (var k = 0; k < pos && k < input.Length; k++)
        {
            if (input[k] == '\n')
            {
                line++;
                lastBreak = k;
            }
        }

        return new QueryException($"{line}:{pos - lastBreak}: parse error: {message}", pos);
    }
}

/// <summary>Float parsing and formatting as Go's strconv does it, which PromQL inherits.</summary>
internal static class GoFloat
{
    /// <summary>strconv.ParseFloat(s, 64): decimal or exponent forms, [+-]Inf/Infinity and NaN in any case; null when invalid.</summary>
    public static double? Parse(string s)
    {
        var t = s.AsSpan();
        var sign = 1.0;
        var body = t;
        if (body.Length > 0 && body[0] is '+' or '-')
        {
            sign = body[0] == '-' ? -1 : 1;
            body = body[1..];
        }

        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase) || body.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            return sign * double.PositiveInfinity;
        }

        if (t.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            return double.NaN;
        }

        if (body.Length == 0 || !(char.IsAsciiDigit(body[0]) || body[0] == '.'))
        {
            return null;
        }

        if (body.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.TryParse(body[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h) ? sign * h : null;
        }

        foreach (var ch in body)
        {
            if (!(char.IsAsciiDigit(ch) || ch is '.' or 'e' or 'E' or '+' or '-' or '_'))
            {
                return null;
            }
        }

        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    /// <summary>strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that round-trip, never an exponent.</summary>
    public static string FormatF(double v)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (double.IsInfinity(v))
        {
            return v > 0 ? "+Inf" : "-Inf";
        }

        var shortest = v.ToString("R", CultureInfo.InvariantCulture);
        if (!shortest.Contains('E', StringComparison.Ordinal))
        {
            return shortest;
        }

        // Expand the exponent form of the shortest round-trip digits.
        var neg = shortest.StartsWith('-');
        var s = neg ? shortest[1..] : shortest;
        var ePos = s.IndexOf('E', StringComparison.Ordinal);
        var exp = int.Parse(s.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = s[..ePos];
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        var pointAt = (dot < 0 ? mantissa.Length : dot) + exp;
        string result;
        if (pointAt <= 0)
        {
            result = "0." + new string('0', -pointAt) + digits;
        }
        else if (pointAt >= digits.Length)
        {
            result = digits + new string('0', pointAt - digits.Length);
        }
        else
        {
            result = digits[..pointAt] + "." + digits[pointAt..];
        }

        return neg ? "-" + result : result;
    }
}
