using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Tests.OpenSlo;

public sealed class SloWindowTests
{
    private static DateTimeOffset Utc(int y, int m, int d, int h = 0) => new(y, m, d, h, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ARollingWindow_EndsAtTheEvaluationTime()
    {
        var window = SloWindow.Rolling(28, WindowUnit.Day);

        Assert.Equal((Utc(2025, 6, 3), Utc(2025, 7, 1)), window.PeriodAt(Utc(2025, 7, 1)));
        Assert.Equal(TimeSpan.FromDays(28), window.ElapsedAt(Utc(2025, 7, 1)));
    }

    [Fact]
    public void AMonthFromThe31st_StaysOnMonthEnds_AndCountsOnlyTheElapsedPart()
    {
        var window = SloWindow.Calendar(1, WindowUnit.Month, new DateTime(2025, 1, 31), TimeZoneInfo.Utc);

        // From 31 January the periods start on 31 Jan, 28 Feb, 31 Mar: each counted from the start, not chained.
        Assert.Equal((Utc(2025, 3, 31), Utc(2025, 4, 30)), window.PeriodAt(Utc(2025, 4, 10)));
        Assert.Equal(TimeSpan.FromDays(10), window.ElapsedAt(Utc(2025, 4, 10)));
        Assert.Equal(TimeSpan.FromDays(30), window.LengthAt(Utc(2025, 4, 10)));
    }

    [Fact]
    public void AQuarterInNewYork_StartsAtLocalMidnight()
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var window = SloWindow.Calendar(1, WindowUnit.Quarter, new DateTime(2025, 1, 1), zone);

        var (start, end) = window.PeriodAt(Utc(2025, 8, 15));

        Assert.Equal(Utc(2025, 7, 1, 4), start); // EDT, UTC-4
        Assert.Equal(Utc(2025, 10, 1, 4), end);
    }

    [Theory]
    [InlineData(1, WindowUnit.Day, 1900)] // a start 125 years before: found without walking every day
    [InlineData(1, WindowUnit.Week, 2100)] // a start after the evaluation time
    [InlineData(1, WindowUnit.Year, 1999)]
    public void ACalendarStartFarFromTheEvaluationTime_StillFindsThePeriodHoldingIt(int count, WindowUnit unit, int year)
    {
        var window = SloWindow.Calendar(count, unit, new DateTime(year, 1, 1), TimeZoneInfo.Utc);
        var at = Utc(2025, 7, 1, 12);

        var (start, end) = window.PeriodAt(at);

        Assert.True(start <= at && at < end, $"{start} .. {end}");
    }

    [Fact]
    public void AnEvaluationTimeAtTheEndOfTime_DoesNotThrow()
    {
        var window = SloWindow.Calendar(1, WindowUnit.Year, new DateTime(2025, 1, 1), TimeZoneInfo.Utc);

        var (start, end) = window.PeriodAt(new DateTimeOffset(9999, 6, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.True(start < end);
    }
}
