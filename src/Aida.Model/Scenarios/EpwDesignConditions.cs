using System.Globalization;

namespace Aida.Model.Scenarios;

/// <summary>The climatic design conditions an EPW file carries in its second header line (<c>DESIGN CONDITIONS</c>, from
/// ASHRAE Handbook Fundamentals ch. 14): the cooling block starts with the hottest month, the mean daily range, then the
/// 0.4 % annual cooling dry bulb, the temperature exceeded in 35 hours of a typical year, which a plant is designed to.</summary>
public static class EpwDesignConditions
{
    /// <summary>The 0.4 % cooling dry bulb of the EPW file at <paramref name="path"/>, or null when its header has no
    /// cooling design conditions (a file from a source that leaves them out).</summary>
    public static double? CoolingDryBulb(string path)
    {
        using var reader = new StreamReader(path);
        for (var line = 0; line < 8 && reader.ReadLine() is { } text; line++)
        {
            if (text.StartsWith("DESIGN CONDITIONS", StringComparison.OrdinalIgnoreCase))
            {
                return FromHeader(text);
            }
        }

        return null;
    }

    /// <summary>The 0.4 % cooling dry bulb in one <c>DESIGN CONDITIONS</c> line, or null when it has none that parses
    /// to a temperature an outdoor sensor can read (-60 to 60 °C).</summary>
    public static double? FromHeader(string line)
    {
        var fields = line.Split(',');
        var cooling = Array.FindIndex(fields, f => f.Trim().Equals("Cooling", StringComparison.OrdinalIgnoreCase));
        if (cooling < 0 || cooling + 3 >= fields.Length)
        {
            return null;
        }

        return double.TryParse(fields[cooling + 3].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v is >= -60 and <= 60 ? v : null;
    }
}
