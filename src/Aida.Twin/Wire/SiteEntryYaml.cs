using System.Globalization;
using System.Text;

namespace Aida.Twin.Wire;

/// <summary>Writes the pieces of site-file collector entries that faces describe: quoted scalars, label maps, durations.</summary>
public static class SiteEntryYaml
{
    /// <summary>A double-quoted YAML scalar (YAML 1.2 §7.3.1), safe for any text.</summary>
    public static string Quote(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var b = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            _ = c switch
            {
                '"' => b.Append("\\\""),
                '\\' => b.Append("\\\\"),
                '\n' => b.Append("\\n"),
                '\t' => b.Append("\\t"),
                < ' ' => b.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}"),
                _ => b.Append(c),
            };
        }

        return b.Append('"').ToString();
    }

    /// <summary>A flow mapping of a point's labels, leaving out <paramref name="except"/> (e.g. <c>site</c>, which the site
    /// file sets for every sample), in name order.</summary>
    public static string Labels(IReadOnlyDictionary<string, string> labels, params string[] except)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var pairs = labels.Where(kv => Array.IndexOf(except, kv.Key) < 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: {Quote(kv.Value)}");
        return "{" + string.Join(", ", pairs) + "}";
    }

    /// <summary>The shortest poll interval a face writes into a site entry.</summary>
    public static readonly TimeSpan MinPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a collector should poll a point sampled every <paramref name="plantInterval"/> of plant time
    /// when the plant runs at <paramref name="speed"/> plant seconds per wall second: the interval divided by the speed,
    /// but never below <see cref="MinPollInterval"/>.</summary>
    public static TimeSpan PollInterval(TimeSpan plantInterval, double speed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(speed, 0);
        var wall = TimeSpan.FromMilliseconds(Math.Round(plantInterval.TotalMilliseconds / speed));
        return wall < MinPollInterval ? MinPollInterval : wall;
    }

    /// <summary>A duration in the site file's (Prometheus) form: whole seconds as <c>10s</c>, else milliseconds.</summary>
    public static string Duration(TimeSpan span)
    {
        var ms = (long)Math.Round(span.TotalMilliseconds);
        return ms % 1000 == 0 ? string.Create(CultureInfo.InvariantCulture, $"{ms / 1000}s") : string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, ms)}ms");
    }
}
