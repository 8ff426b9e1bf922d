using System.Globalization;

namespace Aida.Model.Config;

/// <summary>Durations written as Prometheus/Go durations: <c>30s</c>, <c>5m</c>, <c>1h30m</c>, <c>7d</c>, <c>250ms</c>.</summary>
public static class PromDuration
{
    public static bool TryParse(string text, out TimeSpan value, out string problem)
    {
        value = TimeSpan.Zero;
        problem = "";
        var s = text.Trim();
        if (s.Length == 0)
        {
            problem = "empty duration";
            return false;
        }

        if (s[0] == '-')
        {
            problem = $"duration '{text}' is negative";
            return false;
        }

        var i = 0;
        long totalMs = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }

            if (start == i)
            {
                problem = $"'{text}' is not a duration (use e.g. 30s, 5m, 24h, 7d)";
                return false;
            }

            var number = long.Parse(s.AsSpan(start, i - start), CultureInfo.InvariantCulture);
            var unitStart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i]))
            {
                i++;
            }

            long unitMs = s[unitStart..i] switch
            {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 604_800_000,
                "y" => 31_536_000_000,
                _ => -1,
            };
            if (unitMs < 0)
            {
                problem = $"'{text}' is not a duration (use e.g. 30s, 5m, 24h, 7d)";
                return false;
            }

            totalMs += number * unitMs;
        }

        value = TimeSpan.FromMilliseconds(totalMs);
        return true;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var value, out var problem) ? value : throw new FormatException(problem);

    /// <summary>Formats as the shortest Prometheus duration, e.g. <c>1d2h</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var ms = (long)value.TotalMilliseconds;
        var parts = new System.Text.StringBuilder();
        foreach (var (unit, size) in new[] { ("d", 86_400_000L), ("h", 3_600_000L), ("m", 60_000L), ("s", 1_000L), ("ms", 1L) })
        {
            if (ms >= size)
            {
                parts.Append(CultureInfo.InvariantCulture, $"{ms / size}{unit}");
                ms %= size;
            }
        }

        return parts.ToString();
    }
}
