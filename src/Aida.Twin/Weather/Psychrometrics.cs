namespace Aida.Twin.Weather;

/// <summary>Moist-air relations used to get wet-bulb temperature from dry-bulb, dew point and pressure.</summary>
public static class Psychrometrics
{
    /// <summary>Saturation vapour pressure over water in Pa (Magnus form, Alduchov and Eskridge 1996: 610.94 exp(17.625 T / (T + 243.04))).</summary>
    public static double SaturationPressure(double celsius) => 610.94 * Math.Exp(17.625 * celsius / (celsius + 243.04));

    public static double RelativeHumidity(double dryBulb, double dewPoint) =>
        Math.Clamp(SaturationPressure(dewPoint) / SaturationPressure(dryBulb), 0, 1);

    /// <summary>Thermodynamic wet-bulb temperature by solving the psychrometer equation
    /// <c>e = e_s(T_w) - A p (T - T_w)</c> with <c>A = 6.53e-4 /K</c> (ventilated psychrometer coefficient, WMO-No. 8, Annex 4.B)
    /// by bisection between dew point and dry bulb.</summary>
    public static double WetBulb(double dryBulb, double dewPoint, double pressurePa)
    {
        const double a = 6.53e-4;
        var e = SaturationPressure(dewPoint);
        double lo = dewPoint, hi = dryBulb;
        for (var i = 0; i < 40; i++)
        {
            var mid = 0.5 * (lo + hi);
            var f = SaturationPressure(mid) - (a * pressurePa * (dryBulb - mid)) - e;
            if (f > 0)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return 0.5 * (lo + hi);
    }

    /// <summary>Stull (2011) empirical wet-bulb from temperature (°C) and relative humidity (%), valid at sea-level pressure
    /// for RH 5-99 % and T -20..50 °C, within about 1 K. Used to cross-check <see cref="WetBulb"/>.</summary>
    public static double WetBulbStull(double celsius, double relativeHumidityPercent)
    {
        var t = celsius;
        var rh = relativeHumidityPercent;
        return (t * Math.Atan(0.151977 * Math.Sqrt(rh + 8.313659))) + Math.Atan(t + rh) - Math.Atan(rh - 1.676331)
            + (0.00391838 * Math.Pow(rh, 1.5) * Math.Atan(0.023101 * rh)) - 4.686035;
    }
}
