using Aida.Model.Facility;

namespace Aida.Twin.Physics;

/// <summary>Loss models of the power chain.</summary>
internal static class ElectricalLosses
{
    /// <summary>Transformer loss: no-load (core) loss plus load (copper) loss scaled by the square of per-unit load (IEC 60076-1; TWIN.md).</summary>
    public static double Transformer(Transformer t, double loadWatts)
    {
        var s = loadWatts / t.PowerFactor;
        var x = s / t.RatedVa;
        return t.NoLoadLossWatts + (t.LoadLossWatts * x * x);
    }

    // Double-conversion UPS efficiency against load fraction: a typical curve of modern transformerless units
    // (Schneider Electric White Paper 108, "Making Large UPS Systems More Efficient", fig. 3; TWIN.md anchors
    // 94-97 % at 25-100 % load and 85-90 % at 20 %).
    private static readonly double[] LoadPoints = [0.0, 0.05, 0.10, 0.20, 0.25, 0.50, 0.75, 1.00];
    private static readonly double[] DoubleConversion = [0.50, 0.70, 0.80, 0.89, 0.94, 0.96, 0.965, 0.96];

    // Eco mode (bypass with the inverter on standby): ~99 % above light load (same white paper; TWIN.md).
    private static readonly double[] EcoMode = [0.50, 0.93, 0.97, 0.985, 0.99, 0.99, 0.99, 0.99];

    public static double UpsEfficiency(UpsMode mode, double loadFraction)
    {
        var curve = mode == UpsMode.Eco ? EcoMode : DoubleConversion;
        var x = Math.Clamp(loadFraction, 0, 1);
        for (var i = 1; i < LoadPoints.Length; i++)
        {
            if (x <= LoadPoints[i])
            {
                var t = (x - LoadPoints[i - 1]) / (LoadPoints[i] - LoadPoints[i - 1]);
                return curve[i - 1] + ((curve[i] - curve[i - 1]) * t);
            }
        }

        return curve[^1];
    }

    /// <summary>UPS loss (input minus output) at an output load, in the given operating mode.</summary>
    public static double Ups(Ups u, UpsMode mode, double outputWatts)
    {
        if (outputWatts <= 0)
        {
            // Idle UPS still runs its rectifier, inverter and fans: ~2 % of rating (same white paper).
            return 0.02 * u.RatedWatts;
        }

        var eff = UpsEfficiency(mode, outputWatts / u.RatedWatts);
        return outputWatts * ((1 / eff) - 1);
    }

    /// <summary>Busway or PDU loss: resistive, so the square of per-unit load times the loss at rating (~1 % at rating; TWIN.md).</summary>
    public static double Busway(Busway b, double loadWatts)
    {
        var x = loadWatts / b.RatedWatts;
        return b.LossFractionAtRated * b.RatedWatts * x * x;
    }
}
