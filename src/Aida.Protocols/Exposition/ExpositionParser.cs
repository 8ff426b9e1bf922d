using System.Globalization;
using System.Text;

namespace Aida.Protocols.Exposition;

/// <summary>One sample line: a metric name, its labels in the order written, a value and an optional timestamp.</summary>
/// <param name="TimestampMs">Milliseconds since the Unix epoch when the line carries a timestamp.</param>
public sealed record ExpositionSample(string Name, IReadOnlyList<KeyValuePair<string, string>> Labels, double Value, long? TimestampMs);

/// <summary>A line that could not be read, numbered from 1.</summary>
public readonly record struct ExpositionError(int Line, string Message)
{
    public override string ToString() => $"line {Line}: {Message}";
}

/// <summary>What <c># HELP</c>, <c># TYPE</c> and <c># UNIT</c> said about a metric family.</summary>
public sealed class ExpositionFamily(string name)
{
    public string Name { get; } = name;

    public string? Help { get; set; }

    /// <summary><c>counter</c>, <c>gauge</c>, <c>histogram</c>, <c>summary</c>, <c>untyped</c>/<c>unknown</c>, ...</summary>
    public string? Type { get; set; }

    public string? Unit { get; set; }
}

/// <summary>A parsed exposition: every sample that could be read, every line that could not, and the families' metadata.</summary>
public sealed class ExpositionDocument
{
    public List<ExpositionSample> Samples { get; } = [];

    public List<ExpositionError> Errors { get; } = [];

    public Dictionary<string, ExpositionFamily> Families { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether an OpenMetrics <c># EOF</c> line was seen.</summary>
    public bool SawEof { get; internal set; }

    /// <summary>Lines read (the last line counts even without a final newline).</summary>
    public int Lines { get; internal set; }
}

/// <summary>Reads the Prometheus text format 0.0.4 and OpenMetrics 1.0 (prometheus.io/docs/instrumenting/exposition_formats,
/// the OpenMetrics 1.0 specification), line by line.</summary>
/// <remarks>
/// It never throws on bad input: a line it cannot read is skipped and reported as an <see cref="ExpositionError"/> with its
/// line number, the other lines still count (Prometheus fails the whole scrape instead; a control plane would rather keep
/// the good readings of a meter and count the garbled ones). Histogram and summary lines (<c>_bucket</c>, <c>_sum</c>,
/// <c>_count</c>, quantiles) are plain series. OpenMetrics exemplars are read past and dropped; a missing <c># EOF</c> and
/// any line after it are errors.
/// </remarks>
public static class ExpositionParser
{
    /// <summary>Lines longer than this are refused unread (a garbled or hostile endpoint).</summary>
    public const int MaxLineLength = 64 * 1024;

    public static ExpositionDocument Parse(string text, ExpositionFormat format)
    {
        ArgumentNullException.ThrowIfNull(text);
        var doc = new ExpositionDocument();
        var lineNumber = 0;
        var start = 0;
        var openMetrics = format == ExpositionFormat.OpenMetrics;
        var value = new StringBuilder();
        while (start < text.Length)
        {
            var end = text.IndexOf('\n', start);
            if (end < 0)
            {
                end = text.Length;
            }

            lineNumber++;
            var line = text.AsSpan(start, end - start);
            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }

            start = end + 1;
            if (doc.SawEof)
            {
                doc.Errors.Add(new ExpositionError(lineNumber, "content after # EOF"));
                continue;
            }

            if (line.Length > MaxLineLength)
            {
                doc.Errors.Add(new ExpositionError(lineNumber, $"line longer than {MaxLineLength} characters"));
                continue;
            }

            var problem = ParseLine(line, openMetrics, doc, value);
            if (problem is not null)
            {
                doc.Errors.Add(new ExpositionError(lineNumber, problem));
            }
        }

        doc.Lines = lineNumber;
        if (openMetrics && !doc.SawEof)
        {
            doc.Errors.Add(new ExpositionError(lineNumber + 1, "missing # EOF (the body is truncated)"));
        }

        return doc;
    }

    private static string? ParseLine(ReadOnlySpan<char> line, bool openMetrics, ExpositionDocument doc, StringBuilder scratch)
    {
        var trimmed = line.TrimStart(" \t");
        if (trimmed.IsEmpty)
        {
            return openMetrics ? "blank line (not allowed in OpenMetrics)" : null;
        }

        if (trimmed[0] == '#')
        {
            return ParseComment(trimmed, openMetrics, doc);
        }

        return ParseSample(trimmed, openMetrics, doc, scratch);
    }

    private static string? ParseComment(ReadOnlySpan<char> line, bool openMetrics, ExpositionDocument doc)
    {
        var rest = line[1..];
        if (openMetrics && rest.SequenceEqual(" EOF"))
        {
            doc.SawEof = true;
            return null;
        }

        rest = rest.TrimStart(" \t");
        var keywordEnd = rest.IndexOfAny(' ', '\t');
        var keyword = keywordEnd < 0 ? rest : rest[..keywordEnd];
        if (!keyword.SequenceEqual("HELP") && !keyword.SequenceEqual("TYPE") && !keyword.SequenceEqual("UNIT"))
        {
            // A plain comment: allowed in the text format, not in OpenMetrics.
            return openMetrics ? "comment lines other than HELP, TYPE, UNIT and EOF are not allowed in OpenMetrics" : null;
        }

        if (keywordEnd < 0)
        {
            return $"# {keyword} without a metric name";
        }

        rest = rest[keywordEnd..].TrimStart(" \t");
        var nameEnd = rest.IndexOfAny(' ', '\t');
        var name = nameEnd < 0 ? rest : rest[..nameEnd];
        if (!IsMetricName(name))
        {
            return $"# {keyword}: invalid metric name '{Shorten(name)}'";
        }

        var text = nameEnd < 0 ? ReadOnlySpan<char>.Empty : rest[(nameEnd + 1)..];
        var family = Family(doc, name.ToString());
        switch (keyword)
        {
            case "HELP":
                if (!TryUnescape(text, openMetrics, out var help))
                {
                    return $"# HELP {name}: bad escape sequence";
                }

                family.Help = help;
                return null;
            case "TYPE":
                var type = text.Trim(" \t").ToString();
                if (type is not ("counter" or "gauge" or "histogram" or "summary" or "untyped" or "unknown" or "gaugehistogram" or "stateset" or "info"))
                {
                    return $"# TYPE {name}: unknown type '{Shorten(type)}'";
                }

                family.Type = type;
                return null;
            default:
                family.Unit = text.Trim(" \t").ToString();
                return null;
        }
    }

    private static ExpositionFamily Family(ExpositionDocument doc, string name)
    {
        if (!doc.Families.TryGetValue(name, out var family))
        {
            family = new ExpositionFamily(name);
            doc.Families[name] = family;
        }

        return family;
    }

    private static string? ParseSample(ReadOnlySpan<char> line, bool openMetrics, ExpositionDocument doc, StringBuilder scratch)
    {
        var i = 0;
        while (i < line.Length && IsNameChar(line[i], i == 0))
        {
            i++;
        }

        if (i == 0)
        {
            return $"expected a metric name, found '{Shorten(line)}'";
        }

        var name = line[..i].ToString();
        List<KeyValuePair<string, string>> labels = [];
        var brace = SkipBlanks(line, i);
        if (brace < line.Length && line[brace] == '{')
        {
            i = brace;
            var problem = ParseLabels(line, ref i, labels, scratch);
            if (problem is not null)
            {
                return $"{name}: {problem}";
            }
        }

        if (i >= line.Length || (line[i] != ' ' && line[i] != '\t'))
        {
            return i >= line.Length ? $"{name}: missing value" : $"{name}: unexpected '{line[i]}' after the metric name";
        }

        i = SkipBlanks(line, i);
        var valueEnd = i;
        while (valueEnd < line.Length && line[valueEnd] is not (' ' or '\t'))
        {
            valueEnd++;
        }

        if (!TryParseFloat(line[i..valueEnd], out var value))
        {
            return valueEnd == i ? $"{name}: missing value" : $"{name}: '{Shorten(line[i..valueEnd])}' is not a number";
        }

        long? timestamp = null;
        i = SkipBlanks(line, valueEnd);
        if (i < line.Length && line[i] != '#')
        {
            var tsEnd = i;
            while (tsEnd < line.Length && line[tsEnd] is not (' ' or '\t'))
            {
                tsEnd++;
            }

            var ts = line[i..tsEnd];
            if (openMetrics)
            {
                if (!TryParseFloat(ts, out var seconds) || !double.IsFinite(seconds) || Math.Abs(seconds) > 9.2e15)
                {
                    return $"{name}: timestamp '{Shorten(ts)}' is not a number of seconds";
                }

                timestamp = (long)Math.Round(seconds * 1000);
            }
            else
            {
                if (!long.TryParse(ts, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms))
                {
                    return $"{name}: timestamp '{Shorten(ts)}' is not whole milliseconds";
                }

                timestamp = ms;
            }

            i = SkipBlanks(line, tsEnd);
        }

        if (i < line.Length)
        {
            // OpenMetrics: " # {labels} value [timestamp]" is an exemplar, read and dropped.
            if (!openMetrics || line[i] != '#')
            {
                return $"{name}: unexpected text '{Shorten(line[i..])}' after the value";
            }

            var exemplar = line[(i + 1)..].TrimStart(" \t");
            if (exemplar.IsEmpty || exemplar[0] != '{')
            {
                return $"{name}: malformed exemplar";
            }

            var j = 0;
            var problem = ParseLabels(exemplar, ref j, [], scratch);
            if (problem is not null)
            {
                return $"{name}: exemplar {problem}";
            }

            var exemplarValue = exemplar[j..].Trim(" \t");
            var space = exemplarValue.IndexOfAny(' ', '\t');
            if (!TryParseFloat(space < 0 ? exemplarValue : exemplarValue[..space], out _))
            {
                return $"{name}: exemplar value is not a number";
            }
        }

        doc.Samples.Add(new ExpositionSample(name, labels, value, timestamp));
        return null;
    }

    private static string? ParseLabels(ReadOnlySpan<char> line, ref int i, List<KeyValuePair<string, string>> labels, StringBuilder scratch)
    {
        i++; // '{'
        while (true)
        {
            i = SkipBlanks(line, i);
            if (i >= line.Length)
            {
                return "unterminated label set (no '}')";
            }

            if (line[i] == '}')
            {
                i++;
                return null;
            }

            var nameStart = i;
            while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] == '_') && !(i == nameStart && char.IsAsciiDigit(line[i])))
            {
                i++;
            }

            if (i == nameStart)
            {
                return $"expected a label name at column {i + 1}";
            }

            var labelName = line[nameStart..i].ToString();
            if (labelName.StartsWith("__", StringComparison.Ordinal))
            {
                return $"label name {labelName} is reserved (names starting with __)";
            }

            i = SkipBlanks(line, i);
            if (i >= line.Length || line[i] != '=')
            {
                return $"expected '=' after label {labelName}";
            }

            i = SkipBlanks(line, i + 1);
            if (i >= line.Length || line[i] != '"')
            {
                return $"expected a quoted value for label {labelName}";
            }

            i++;
            scratch.Clear();
            var closed = false;
            while (i < line.Length)
            {
                var c = line[i++];
                if (c == '"')
                {
                    closed = true;
                    break;
                }

                if (c != '\\')
                {
                    scratch.Append(c);
                    continue;
                }

                if (i >= line.Length)
                {
                    break;
                }

                var e = line[i++];
                switch (e)
                {
                    case '\\':
                        scratch.Append('\\');
                        break;
                    case '"':
                        scratch.Append('"');
                        break;
                    case 'n':
                        scratch.Append('\n');
                        break;
                    default:
                        return $"label {labelName}: unknown escape '\\{e}'";
                }
            }

            if (!closed)
            {
                return $"label {labelName}: unterminated quoted value";
            }

            foreach (var existing in labels)
            {
                if (existing.Key == labelName)
                {
                    return $"label {labelName} given twice";
                }
            }

            labels.Add(new KeyValuePair<string, string>(labelName, scratch.ToString()));
            i = SkipBlanks(line, i);
            if (i < line.Length && line[i] == ',')
            {
                i++;
                continue;
            }

            if (i < line.Length && line[i] == '}')
            {
                continue;
            }

            return i >= line.Length ? "unterminated label set (no '}')" : $"expected ',' or '}}' after label {labelName}";
        }
    }

    /// <summary>A float as Go's <c>strconv.ParseFloat</c> reads exposition values: decimal and exponent forms,
    /// <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>, <c>Inf</c> (any case).</summary>
    public static bool TryParseFloat(ReadOnlySpan<char> text, out double value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }

        var body = text[0] is '+' or '-' ? text[1..] : text;
        if (body.Equals("Inf", StringComparison.OrdinalIgnoreCase) || body.Equals("Infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = text[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        if (body.Equals("NaN", StringComparison.OrdinalIgnoreCase))
        {
            value = double.NaN;
            return body.Length == text.Length;
        }

        // Digits, sign, point and exponent only: .NET would also take thousands separators or "∞".
        foreach (var c in text)
        {
            if (!(char.IsAsciiDigit(c) || c is '+' or '-' or '.' or 'e' or 'E'))
            {
                return false;
            }
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static bool TryUnescape(ReadOnlySpan<char> text, bool openMetrics, out string result)
    {
        if (text.IndexOf('\\') < 0)
        {
            result = text.ToString();
            return true;
        }

        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\' || i + 1 >= text.Length)
            {
                sb.Append(text[i]);
                continue;
            }

            var e = text[++i];
            switch (e)
            {
                case '\\':
                    sb.Append('\\');
                    break;
                case 'n':
                    sb.Append('\n');
                    break;
                case '"' when openMetrics:
                    sb.Append('"');
                    break;
                default:
                    if (openMetrics)
                    {
                        result = "";
                        return false;
                    }

                    // The text format keeps unknown escapes as written.
                    sb.Append('\\').Append(e);
                    break;
            }
        }

        result = sb.ToString();
        return true;
    }

    private static int SkipBlanks(ReadOnlySpan<char> line, int i)
    {
        while (i < line.Length && line[i] is ' ' or '\t')
        {
            i++;
        }

        return i;
    }

    private static bool IsNameChar(char c, bool first) =>
        char.IsAsciiLetter(c) || c is '_' or ':' || (!first && char.IsAsciiDigit(c));

    private static bool IsMetricName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        for (var i = 0; i < name.Length; i++)
        {
            if (!IsNameChar(name[i], i == 0))
            {
                return false;
            }
        }

        return true;
    }

    private static string Shorten(ReadOnlySpan<char> text) => text.Length <= 40 ? text.ToString() : string.Concat(text[..40], "...");
}
