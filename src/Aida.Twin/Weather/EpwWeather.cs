using System.Globalization;
using Aida.Model.Config;

namespace Aida.Twin.Weather;

/// <summary>Hourly typical-year weather from an EnergyPlus EPW file, interpolated linearly to any instant.</summary>
/// <remarks>
/// EPW: 8 header lines then 8,760 hourly rows; field 7 dry bulb °C, 8 dew point °C, 10 pressure Pa (1-based; EnergyPlus
/// Auxiliary Programs, "Weather Data Format"). A typical year has no calendar year of its own, so the scenario start is
/// mapped to its hour of the year and the run wraps around 31 December.
/// </remarks>
public sealed class EpwWeather : IWeatherSource
{
    private readonly double[] _dry;
    private readonly double[] _dew;
    private readonly double[] _pressure;
    private readonly double _startHour;

    private EpwWeather(double[] dry, double[] dew, double[] pressure, DateTimeOffset start)
    {
        _dry = dry;
        _dew = dew;
        _pressure = pressure;
        var utc = start.UtcDateTime;
        var dayOfYear = Math.Min(utc.DayOfYear, 365) - 1;
        _startHour = (dayOfYear * 24) + utc.Hour + (utc.Minute / 60.0) + (utc.Second / 3600.0);
    }

    public static EpwWeather Load(string path, DateTimeOffset start)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException(path, 0, "", "weather file not found");
        }

        var dry = new List<double>(8760);
        var dew = new List<double>(8760);
        var pressure = new List<double>(8760);
        var lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (lineNo <= 8 || line.Length == 0)
            {
                continue;
            }

            var f = line.Split(',');
            if (f.Length < 10)
            {
                throw new ConfigException(path, lineNo, "", $"EPW row has {f.Length} fields, expected at least 10");
            }

            dry.Add(Field(f, 6, path, lineNo, "dry bulb", -70, 70));
            dew.Add(Field(f, 7, path, lineNo, "dew point", -70, 70));
            pressure.Add(Field(f, 9, path, lineNo, "pressure", 31_000, 120_000));
        }

        if (dry.Count < 8760)
        {
            throw new ConfigException(path, lineNo, "", $"EPW file has {dry.Count} hourly rows, expected 8760");
        }

        return new EpwWeather([.. dry], [.. dew], [.. pressure], start);
    }

    private static double Field(string[] f, int i, string path, int line, string name, double min, double max)
    {
        if (!double.TryParse(f[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new ConfigException(path, line, $"field {i + 1} ({name})", $"'{f[i]}' is not a valid value");
        }

        return v;
    }

    public Ambient At(double secondsSinceStart)
    {
        var hour = _startHour + (secondsSinceStart / 3600.0);
        var n = _dry.Length;
        var h0 = (int)Math.Floor(hour);
        var frac = hour - h0;
        var i0 = ((h0 % n) + n) % n;
        var i1 = (i0 + 1) % n;
        return Ambient.From(
            Lerp(_dry[i0], _dry[i1], frac),
            Lerp(_dew[i0], _dew[i1], frac),
            Lerp(_pressure[i0], _pressure[i1], frac));
    }

    private static double Lerp(double a, double b, double t) => a + ((b - a) * t);
}
