using System.Globalization;
using System.Text;

namespace Aida.Telemetry.Collectors.Slurm;

/// <summary>Slurm's hostlist expressions: <c>gpu-a01-n[1-8]</c>, <c>n[01-03,07],login1</c>, <c>r[1-2]-n[1-2]</c> (each bracket
/// a comma list of numbers and ranges, zero-padded as written; several brackets multiply).</summary>
public static class SlurmHostlist
{
    /// <summary>More names than this from one expression is refused (a typo such as <c>n[1-99999999]</c>).</summary>
    public const int MaxNames = 100_000;

    /// <summary>The host names <paramref name="expression"/> stands for, in order.</summary>
    /// <exception cref="FormatException">An unbalanced bracket, an empty item, a range that runs backwards or is not
    /// numbers, or more than <see cref="MaxNames"/> names; the message names the expression and the fault.</exception>
    public static IReadOnlyList<string> Expand(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var names = new List<string>();
        foreach (var item in SplitTopLevel(expression))
        {
            if (item.Length == 0)
            {
                throw new FormatException($"hostlist '{expression}': an empty name");
            }

            ExpandItem(expression, item, 0, "", names);
        }

        return names;
    }

    /// <summary>Splits on the commas outside brackets.</summary>
    private static List<string> SplitTopLevel(string expression)
    {
        var items = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < expression.Length; i++)
        {
            var c = expression[i];
            if (c == '[')
            {
                if (++depth > 1)
                {
                    throw new FormatException($"hostlist '{expression}': a bracket inside a bracket at {i + 1}");
                }
            }
            else if (c == ']')
            {
                if (--depth < 0)
                {
                    throw new FormatException($"hostlist '{expression}': ']' without '[' at {i + 1}");
                }
            }
            else if (c == ',' && depth == 0)
            {
                items.Add(expression[start..i]);
                start = i + 1;
            }
            else if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                throw new FormatException($"hostlist '{expression}': a space or control character at {i + 1}");
            }
        }

        if (depth != 0)
        {
            throw new FormatException($"hostlist '{expression}': '[' not closed");
        }

        items.Add(expression[start..]);
        return items;
    }

    private static void ExpandItem(string expression, string item, int from, string prefix, List<string> names)
    {
        var open = item.IndexOf('[', from);
        if (open < 0)
        {
            Add(expression, names, prefix + item[from..]);
            return;
        }

        var close = item.IndexOf(']', open);
        var head = prefix + item[from..open];
        foreach (var part in item[(open + 1)..close].Split(','))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            var (lo, hi) = dash < 0 ? (part, part) : (part[..dash], part[(dash + 1)..]);
            if (!IsDigits(lo) || !IsDigits(hi))
            {
                throw new FormatException($"hostlist '{expression}': '[{item[(open + 1)..close]}]' holds '{part}', not a number or a range of numbers");
            }

            var a = long.Parse(lo, CultureInfo.InvariantCulture);
            var b = long.Parse(hi, CultureInfo.InvariantCulture);
            if (b < a)
            {
                throw new FormatException($"hostlist '{expression}': the range {part} runs backwards");
            }

            if (b - a >= MaxNames)
            {
                throw new FormatException($"hostlist '{expression}': more than {MaxNames} names");
            }

            for (var n = a; n <= b; n++)
            {
                var number = new StringBuilder(n.ToString(CultureInfo.InvariantCulture));
                while (number.Length < lo.Length)
                {
                    number.Insert(0, '0');
                }

                ExpandItem(expression, item, close + 1, head + number, names);
            }
        }
    }

    private static void Add(string expression, List<string> names, string name)
    {
        if (names.Count >= MaxNames)
        {
            throw new FormatException($"hostlist '{expression}': more than {MaxNames} names");
        }

        names.Add(name);
    }

    private static bool IsDigits(string s) => s.Length is > 0 and <= 18 && s.All(char.IsAsciiDigit);
}
