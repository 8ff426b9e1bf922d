using System.Globalization;

namespace Aida.Reliability.OpenSlo;

/// <summary>The unit of an OpenSLO duration shorthand (<c>{n}{m,h,d,w,M,Q,Y}</c>).</summary>
public enum WindowUnit
{
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

/// <summary>An SLO's time window: rolling (the last 28 days at every instant) or calendar-aligned (this month, this
/// quarter, counted from <see cref="CalendarStart"/> in <see cref="TimeZone"/>).</summary>
public sealed record SloWindow
{
    private SloWindow(int count, WindowUnit unit, bool isRolling, DateTime calendarStart, TimeZoneInfo timeZone)
    {
        Count = count;
        Unit = unit;
        IsRolling = isRolling;
        CalendarStart = calendarStart;
        TimeZone = timeZone;
    }

    public int Count { get; }

    public WindowUnit Unit { get; }

    public bool IsRolling { get; }

    /// <summary>Calendar windows: the local start of one period (OpenSLO <c>calendar.startTime</c>).</summary>
    public DateTime CalendarStart { get; }

    /// <summary>Calendar windows: the zone <see cref="CalendarStart"/> is in (UTC for rolling windows).</summary>
    public TimeZoneInfo TimeZone { get; }

    /// <summary>A rolling window of <paramref name="length"/> (a whole number of minutes, hours, days or weeks).</summary>
    public static SloWindow Rolling(TimeSpan length) =>
        length.TotalDays == Math.Floor(length.TotalDays) ? new((int)length.TotalDays, WindowUnit.Day, true, default, TimeZoneInfo.Utc)
        : length.TotalHours == Math.Floor(length.TotalHours) ? new((int)length.TotalHours, WindowUnit.Hour, true, default, TimeZoneInfo.Utc)
        : new((int)Math.Ceiling(length.TotalMinutes), WindowUnit.Minute, true, default, TimeZoneInfo.Utc);

    /// <summary>A rolling window of <paramref name="count"/> minutes, hours, days or weeks.</summary>
    public static SloWindow Rolling(int count, WindowUnit unit) =>
        unit is WindowUnit.Month or WindowUnit.Quarter or WindowUnit.Year
            ? throw new ArgumentOutOfRangeException(nameof(unit), "rolling windows are minutes, hours, days or weeks")
            : new(count, unit, true, default, TimeZoneInfo.Utc);

    /// <summary>A calendar window of <paramref name="count"/> <paramref name="unit"/>s starting at <paramref name="start"/>
    /// (local time in <paramref name="timeZone"/>) and every period after it.</summary>
    public static SloWindow Calendar(int count, WindowUnit unit, DateTime start, TimeZoneInfo timeZone) =>
        new(count, unit, false, DateTime.SpecifyKind(start, DateTimeKind.Unspecified), timeZone);

    /// <summary>The nominal length: exact for minutes to weeks; 30, 91 and 365 days per month, quarter and year (a
    /// rolling window's length; a calendar window's actual period comes from <see cref="PeriodAt"/>).</summary>
    public TimeSpan NominalLength => Unit switch
    {
        WindowUnit.Minute => TimeSpan.FromMinutes(Count),
        WindowUnit.Hour => TimeSpan.FromHours(Count),
        WindowUnit.Day => TimeSpan.FromDays(Count),
        WindowUnit.Week => TimeSpan.FromDays(7 * Count),
        WindowUnit.Month => TimeSpan.FromDays(30 * Count),
        WindowUnit.Quarter => TimeSpan.FromDays(91 * Count),
        _ => TimeSpan.FromDays(365 * Count),
    };

    /// <summary>The period that holds <paramref name="at"/>: for a rolling window <c>[at - length, at]</c>; for a
    /// calendar window the current calendar period (its end may be after <paramref name="at"/>).</summary>
    public (DateTimeOffset Start, DateTimeOffset End) PeriodAt(DateTimeOffset at)
    {
        if (IsRolling)
        {
            return (at - NominalLength, at);
        }

        var atLocal = TimeZoneInfo.ConvertTime(at, TimeZone).DateTime;
        // Periods are counted from the calendar start (so 31 January plus months stays on month ends); jump close to
        // the period first, then settle on the one that holds `at`.
        var k = (int)Math.Clamp(PeriodsBetween(CalendarStart, atLocal), -100_000, 100_000);
        while (k > -100_000 && atLocal < Advance(CalendarStart, k))
        {
            k--;
        }

        while (k < 100_000 && atLocal >= Advance(CalendarStart, k + 1))
        {
            k++;
        }

        var start = Advance(CalendarStart, k);
        var end = Advance(CalendarStart, k + 1);
        return (ToUtc(start), ToUtc(end));
    }

    /// <summary>The span the budget is counted over at <paramref name="at"/>: the rolling length, or the time elapsed
    /// in the current calendar period.</summary>
    public TimeSpan ElapsedAt(DateTimeOffset at) => IsRolling ? NominalLength : at - PeriodAt(at).Start;

    /// <summary>The length of the period the budget belongs to at <paramref name="at"/>.</summary>
    public TimeSpan LengthAt(DateTimeOffset at)
    {
        var (start, end) = PeriodAt(at);
        return end - start;
    }

    public override string ToString()
    {
        var unit = Unit switch
        {
            WindowUnit.Minute => "m",
            WindowUnit.Hour => "h",
            WindowUnit.Day => "d",
            WindowUnit.Week => "w",
            WindowUnit.Month => "M",
            WindowUnit.Quarter => "Q",
            _ => "Y",
        };
        return IsRolling
            ? $"{Count}{unit} rolling"
            : $"{Count}{unit} calendar from {CalendarStart.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} {TimeZone.Id}";
    }

    private long PeriodsBetween(DateTime from, DateTime to)
    {
        var months = Unit switch
        {
            WindowUnit.Month => Count,
            WindowUnit.Quarter => 3 * Count,
            WindowUnit.Year => 12 * Count,
            _ => 0,
        };
        return months > 0
            ? (((to.Year - from.Year) * 12) + to.Month - from.Month) / months
            : (to - from).Ticks / NominalLength.Ticks;
    }

    private DateTime Advance(DateTime local, int periods)
    {
        var months = Unit switch
        {
            WindowUnit.Month => (long)Count * periods,
            WindowUnit.Quarter => 3L * Count * periods,
            WindowUnit.Year => 12L * Count * periods,
            _ => 0,
        };
        // Out of DateTime's range (a far --at against a long period) is pinned to its ends rather than thrown.
        if (Unit is WindowUnit.Month or WindowUnit.Quarter or WindowUnit.Year)
        {
            var maxMonths = ((DateTime.MaxValue.Year - local.Year) * 12L) + 12 - local.Month;
            var minMonths = -(((local.Year - 1) * 12L) + local.Month - 1);
            return months > maxMonths ? DateTime.MaxValue.AddDays(-1) : months < minMonths ? DateTime.MinValue.AddDays(1) : local.AddMonths((int)months);
        }

        var ticks = NominalLength.Ticks * (double)periods;
        return local.Ticks + ticks > DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay ? DateTime.MaxValue.AddDays(-1)
            : local.Ticks + ticks < DateTime.MinValue.Ticks + TimeSpan.TicksPerDay ? DateTime.MinValue.AddDays(1)
            : local.AddTicks((long)ticks);
    }

    private DateTimeOffset ToUtc(DateTime local) => new(TimeZoneInfo.ConvertTimeToUtc(local, TimeZone), TimeSpan.Zero);

    /// <summary>Parses OpenSLO's duration shorthand <c>{n}{m,h,d,w,M,Q,Y}</c> (n from 1), e.g. <c>28d</c>, <c>1Q</c>.</summary>
    public static bool TryParseShorthand(string text, out int count, out WindowUnit unit, out string problem)
    {
        count = 0;
        unit = WindowUnit.Day;
        problem = $"'{text}' is not a duration (expected a number and one of m, h, d, w, M, Q, Y, e.g. 28d or 1Q)";
        var s = text.Trim();
        if (s.Length < 2 || !int.TryParse(s.AsSpan(0, s.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1)
        {
            return false;
        }

        switch (s[^1])
        {
            case 'm': unit = WindowUnit.Minute; break;
            case 'h': unit = WindowUnit.Hour; break;
            case 'd': unit = WindowUnit.Day; break;
            case 'w': unit = WindowUnit.Week; break;
            case 'M': unit = WindowUnit.Month; break;
            case 'Q': unit = WindowUnit.Quarter; break;
            case 'Y': unit = WindowUnit.Year; break;
            default: return false;
        }

        problem = "";
        return true;
    }
}
