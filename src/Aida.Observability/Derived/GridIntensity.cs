using System.Globalization;

namespace Aida.Observability.Derived;

/// <summary>Hourly carbon intensity of a grid (gCO2/kWh) for one reference year, mapped onto any run's timestamps by
/// calendar hour.</summary>
/// <remarks>The data (<c>data/carbon/*_hourly_2022.csv</c>: UTC hours of 2022, column <c>avg_CI</c>, gCO2/kWh) covers one
/// year; a run in another year reads the same month, day and UTC hour of the reference year (29 February reads
/// 28 February). The intensity is constant within an hour. Hours with an empty <c>avg_CI</c> (the VA file has 23,
/// e.g. 2022-03-13 07:00-09:00 UTC) are filled linearly between the nearest hours with data; <see cref="FilledHours"/>
/// counts them.</remarks>
public sealed class GridIntensity
{
    private readonly Dictionary<(int Month, int Day, int Hour), double> _byHour;

    private GridIntensity(Dictionary<(int, int, int), double> byHour, int year, string source, int filled)
    {
        FilledHours = filled;
        _byHour = byHour;
        ReferenceYear = year;
        Source = source;
    }

    public int ReferenceYear { get; }

    public string Source { get; }

    /// <summary>Hours of the file without a value, filled by interpolation.</summary>
    public int FilledHours { get; }

    /// <summary>Reads a CSV with a <c>timestamp</c> column (ISO 8601 with offset) and an <c>avg_CI</c> column.</summary>
    /// <exception cref="FormatException">A missing column, an unreadable row (the message names file and line), or an
    /// hour of the year missing.</exception>
    public static GridIntensity Load(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2)
        {
            throw new FormatException($"{path}: no data rows");
        }

        var header = lines[0].Split(',');
        var time = Array.IndexOf(header, "timestamp");
        var ci = Array.IndexOf(header, "avg_CI");
        if (time < 0 || ci < 0)
        {
            throw new FormatException($"{path}:1: expected columns 'timestamp' and 'avg_CI'");
        }

        var hours = new List<DateTimeOffset>(8784);
        var values = new List<double>(8784);
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            var cells = lines[i].Split(',');
            if (cells.Length <= Math.Max(time, ci) || !DateTimeOffset.TryParse(cells[time], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                throw new FormatException($"{path}:{i + 1}: expected a timestamp");
            }

            var value = double.NaN;
            if (cells[ci].Length > 0
                && (!double.TryParse(cells[ci], NumberStyles.Float, CultureInfo.InvariantCulture, out value) || !double.IsFinite(value) || value < 0))
            {
                throw new FormatException($"{path}:{i + 1}: avg_CI must be empty or a non-negative number, not '{cells[ci]}'");
            }

            hours.Add(at.ToUniversalTime());
            values.Add(value);
        }

        var filled = FillMissing(values);
        if (filled < 0)
        {
            throw new FormatException($"{path}: no hour has an avg_CI");
        }

        var byHour = new Dictionary<(int, int, int), double>();
        for (var i = 0; i < hours.Count; i++)
        {
            byHour[(hours[i].Month, hours[i].Day, hours[i].Hour)] = values[i];
        }

        var year = hours[0].Year;
        var expected = DateTime.IsLeapYear(year) ? 8784 : 8760;
        if (byHour.Count < expected)
        {
            throw new FormatException($"{path}: {byHour.Count} hours of {year}, expected {expected}");
        }

        return new GridIntensity(byHour, year, path, filled);
    }

    /// <summary>Fills NaN entries linearly between finite neighbours (the nearest one at the ends); -1 when none is finite.</summary>
    private static int FillMissing(List<double> v)
    {
        var filled = 0;
        var previous = -1;
        for (var i = 0; i <= v.Count; i++)
        {
            if (i < v.Count && double.IsNaN(v[i]))
            {
                filled++;
                continue;
            }

            if (i - previous > 1)
            {
                if (previous < 0 && i == v.Count)
                {
                    return -1;
                }

                for (var j = previous + 1; j < i; j++)
                {
                    v[j] = previous < 0 ? v[i] : i == v.Count ? v[previous] : v[previous] + ((v[i] - v[previous]) * (j - previous) / (i - previous));
                }
            }

            previous = i;
        }

        return filled;
    }

    /// <summary>gCO2/kWh in the hour holding <paramref name="at"/> (UTC), by month, day and hour in the reference year.</summary>
    public double GramsPerKwh(DateTimeOffset at)
    {
        var u = at.UtcDateTime;
        var day = u.Month == 2 && u.Day == 29 && !DateTime.IsLeapYear(ReferenceYear) ? 28 : u.Day;
        return _byHour[(u.Month, day, u.Hour)];
    }
}
