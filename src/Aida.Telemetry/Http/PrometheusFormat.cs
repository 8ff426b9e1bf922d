using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Aida.Model.Config;

namespace Aida.Telemetry.Http;

/// <summary>Numbers, times and durations as Prometheus' HTTP API writes and reads them.</summary>
internal static partial class PrometheusFormat
{
    /// <summary>A sample value as Prometheus writes it: <c>strconv.FormatFloat(f, 'f', -1, 64)</c>, with <c>NaN</c>,
    /// <c>+Inf</c> and <c>-Inf</c>.</summary>
    public static string FormatValue(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "+Inf" : "-Inf";
        }

        // "R" is the shortest string that round-trips, as Go's precision -1; only the exponent form needs expanding.
        var r = value.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            return r;
        }

        var negative = r[0] == '-';
        var mantissa = r[(negative ? 1 : 0)..e];
        var exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        var point = (dot < 0 ? mantissa.Length : dot) + exponent;
        var sb = new StringBuilder(digits.Length + Math.Abs(exponent) + 3);
        if (negative)
        {
            sb.Append('-');
        }

        if (point <= 0)
        {
            sb.Append("0.").Append('0', -point).Append(digits);
        }
        else if (point >= digits.Length)
        {
            sb.Append(digits).Append('0', point - digits.Length);
        }
        else
        {
            sb.Append(digits, 0, point).Append('.').Append(digits, point, digits.Length - point);
        }

        return sb.ToString();
    }

    /// <summary>Parses a value as Prometheus writes it (also accepting Go's other spellings of the specials).</summary>
    public static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "NaN":
                value = double.NaN;
                return true;
            case "+Inf" or "Inf" or "+inf" or "inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf" or "-inf":
                value = double.NegativeInfinity;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }

    /// <summary>Unix seconds with up to three decimals, exact from milliseconds (Prometheus' <c>MarshalTimestamp</c>).</summary>
    public static string FormatTimestamp(long ms)
    {
        var negative = ms < 0;
        var abs = negative ? -(decimal)ms : ms;
        var seconds = decimal.Truncate(abs / 1000);
        var fraction = (int)(abs - seconds * 1000);
        var s = seconds.ToString(CultureInfo.InvariantCulture);
        if (fraction != 0)
        {
            s += "." + fraction.ToString("D3", CultureInfo.InvariantCulture).TrimEnd('0');
        }

        return negative ? "-" + s : s;
    }

    /// <summary>A time parameter: Unix seconds (decimals allowed) or RFC 3339, as Prometheus' <c>parseTime</c>.</summary>
    public static bool TryParseTime(string text, out DateTimeOffset time)
    {
        time = default;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            if (!double.IsFinite(seconds))
            {
                return false;
            }

            var ms = Math.Round(seconds * 1000);
            var min = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
            var max = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();
            time = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Clamp(ms, min, max));
            return true;
        }

        var m = Rfc3339().Match(text);
        if (!m.Success)
        {
            return false;
        }

        // .NET parses at most 7 fractional digits; RFC 3339 allows more (Go writes 9).
        var fraction = m.Groups[2].Success ? m.Groups[2].Value[..Math.Min(8, m.Groups[2].Value.Length)] : "";
        var zone = string.Equals(m.Groups[3].Value, "Z", StringComparison.OrdinalIgnoreCase) ? "+00:00" : m.Groups[3].Value;
        return DateTimeOffset.TryParse(m.Groups[1].Value.ToUpperInvariant() + fraction + zone, CultureInfo.InvariantCulture, DateTimeStyles.None, out time);
    }

    /// <summary>A duration parameter: float seconds or a Prometheus duration (<c>1m30s</c>), as Prometheus' <c>parseDuration</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            if (!double.IsFinite(seconds) || Math.Abs(seconds) * 1000 > TimeSpan.MaxValue.TotalMilliseconds)
            {
                return false;
            }

            duration = TimeSpan.FromMilliseconds(Math.Round(seconds * 1000, 3));
            return true;
        }

        return PromDuration.TryParse(text, out duration, out _);
    }

    [GeneratedRegex(@"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();
}
