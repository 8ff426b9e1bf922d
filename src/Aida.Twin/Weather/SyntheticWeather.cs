using Aida.Model.Scenarios;

namespace Aida.Twin.Weather;

/// <summary>A smooth climate without a file: a seasonal sine (warmest late July) plus a daily sine (warmest at 15:00 local solar time).</summary>
public sealed class SyntheticWeather(SyntheticWeatherSpec spec, DateTimeOffset start, double longitude) : IWeatherSource
{
    private const double StandardPressurePa = 101_325;
    private readonly double _startDay = start.UtcDateTime.DayOfYear - 1 + (start.UtcDateTime.TimeOfDay.TotalHours / 24);

    public Ambient At(double secondsSinceStart)
    {
        var day = _startDay + (secondsSinceStart / 86_400);
        var seasonal = spec.SeasonalAmplitudeCelsius * Math.Cos(2 * Math.PI * (day - 205) / 365);
        var solarHour = ((day % 1) * 24) + (longitude / 15);
        var daily = spec.DailyAmplitudeCelsius * Math.Cos(2 * Math.PI * (solarHour - 15) / 24);
        var dry = spec.MeanCelsius + seasonal + daily;
        return Ambient.From(dry, dry - spec.DewPointDepressionCelsius - (0.5 * (daily + spec.DailyAmplitudeCelsius)), StandardPressurePa);
    }
}
