using System.Globalization;
using System.Text.Json;

namespace Aida.Telemetry.Collectors.Mqtt;

/// <summary>A field of a JSON payload: dotted names and array indexes (<c>reading.celsius</c>, <c>values.0</c>); empty or
/// <c>.</c> is the payload itself (a bare number).</summary>
public sealed class JsonFieldPath
{
    private readonly string[] _steps;

    public JsonFieldPath(string path)
    {
        Path = path ?? "";
        _steps = Path is "" or "." ? [] : Path.Split('.');
        if (_steps.Any(s => s.Length == 0))
        {
            throw new ArgumentException($"'{path}' has an empty step", nameof(path));
        }
    }

    public string Path { get; }

    /// <summary>The element at the path, or null when a step is missing.</summary>
    public JsonElement? Find(JsonElement root)
    {
        var e = root;
        foreach (var step in _steps)
        {
            if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty(step, out var child))
            {
                e = child;
            }
            else if (e.ValueKind == JsonValueKind.Array && int.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < e.GetArrayLength())
            {
                e = e[index];
            }
            else
            {
                return null;
            }
        }

        return e;
    }

    /// <summary>A reading: a number, a numeric string, or true/false as 1/0. Null (JSON <c>null</c>) means "no reading"
    /// (NaN, stored as a staleness marker). False when the element is none of these.</summary>
    public static bool TryReadValue(JsonElement e, out double value)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Number:
                value = e.GetDouble();
                return true;
            case JsonValueKind.True:
                value = 1;
                return true;
            case JsonValueKind.False:
                value = 0;
                return true;
            case JsonValueKind.Null:
                value = double.NaN;
                return true;
            case JsonValueKind.String:
                return Aida.Protocols.Exposition.ExpositionParser.TryParseFloat(e.GetString(), out value);
            default:
                value = 0;
                return false;
        }
    }

    /// <summary>A timestamp: Unix seconds (fractional allowed), Unix milliseconds when at least 10^12 (after 2001 in ms,
    /// year 33658 in seconds), or an ISO 8601 string with an offset.</summary>
    public static bool TryReadTimestamp(JsonElement e, out long unixMs)
    {
        unixMs = 0;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var n) && double.IsFinite(n) && Math.Abs(n) < 9e15)
        {
            unixMs = Math.Abs(n) >= 1e12 ? (long)Math.Round(n) : (long)Math.Round(n * 1000);
            return true;
        }

        if (e.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
        {
            unixMs = t.ToUnixTimeMilliseconds();
            return true;
        }

        return false;
    }
}
