namespace Aida.Twin.Weather;

/// <summary>Outdoor conditions at one instant.</summary>
public readonly record struct Ambient(double DryBulbCelsius, double DewPointCelsius, double PressurePa, double WetBulbCelsius)
{
    public static Ambient From(double dryBulb, double dewPoint, double pressurePa) =>
        new(dryBulb, Math.Min(dewPoint, dryBulb), pressurePa, Psychrometrics.WetBulb(dryBulb, Math.Min(dewPoint, dryBulb), pressurePa));
}

/// <summary>A source of outdoor conditions over the run, by seconds since the scenario start.</summary>
public interface IWeatherSource
{
    Ambient At(double secondsSinceStart);
}
