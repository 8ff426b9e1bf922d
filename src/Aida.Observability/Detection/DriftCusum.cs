using Aida.Telemetry.Series;

namespace Aida.Observability.Detection;

/// <summary>A one-sided CUSUM (Page, 1954) on a ratio that should hold near its reference level: finds a slow upward drift
/// (a fouling cold plate) sooner than a fixed threshold, because it adds up a small excess over many samples.</summary>
/// <remarks>The reference level is the median of the first <c>referenceCount</c> finite samples and the scale
/// <c>sigma</c> their median absolute deviation x 1.4826 x <c>spreadFactor</c>, but never under <c>floor</c>: the
/// reference spans minutes, the ratio wanders over hours, so its spread there understates the spread to come (by 1.5-2x
/// for the cold-plate ratio, whose 1 min samples are 5 min means; <c>spreadFactor</c> allows for that per series, where a
/// fixed floor would have to cover the noisiest series of the plant). Each later sample adds its relative excess (value / level - 1) less <c>slack</c> x sigma to
/// the sum, which never goes below zero; the sum passing <c>limit</c> x sigma fires, and the check starts again from zero
/// once a sample is back within the slack (a drift that persists fires once). Non-finite samples are skipped (a gap neither adds nor resets); with fewer than
/// <c>referenceCount</c> finite samples nothing is judged.
/// A ratio whose noise is not the same at every sample (the economiser's: a fixed noise in the temperature difference it
/// divides by, so a relative noise that grows as the difference shrinks) gives each sample a noise scale: the sample's
/// deviation from the level is judged against sigma x its scale (the floor included), and the reference's own deviations
/// are read divided by theirs.</remarks>
internal static class DriftCusum
{
    /// <summary>Each firing of <paramref name="check"/> over <paramref name="samples"/>.</summary>
    public static List<(long AtMs, double Relative)> Find(IReadOnlyList<Sample> samples, int referenceCount, DriftCheck check, Func<long, double>? noiseScale = null) =>
        Find(samples, referenceCount, check.SigmaFloor, check.Slack, check.Limit, check.SpreadFactor, noiseScale);

    /// <summary>Each firing: when, and the value relative to the reference level then (1.012 = 1.2 % above).
    /// <paramref name="noiseScale"/>: each sample's noise scale by its time (null: the same at every sample); a sample
    /// whose scale is not finite and positive is skipped.</summary>
    public static List<(long AtMs, double Relative)> Find(IReadOnlyList<Sample> samples, int referenceCount, double floor, double slack, double limit, double spreadFactor = 1,
        Func<long, double>? noiseScale = null)
    {
        var found = new List<(long, double)>();
        var scale = noiseScale ?? (_ => 1.0);
        var finite = samples.Where(s => double.IsFinite(s.Value) && scale(s.TimestampMs) is var k && double.IsFinite(k) && k > 0).ToList();
        if (finite.Count < referenceCount || referenceCount < 1)
        {
            return found;
        }

        var reference = finite.Take(referenceCount).Select(s => s.Value).Order().ToList();
        var level = reference[reference.Count / 2];
        if (!(level > 0))
        {
            return found;
        }

        var deviations = finite.Take(referenceCount).Select(s => Math.Abs((s.Value / level) - 1) / scale(s.TimestampMs)).Order().ToList();
        var sigma = Math.Max(floor, spreadFactor * 1.4826 * deviations[deviations.Count / 2]);
        var sum = 0.0;
        var armed = true;
        foreach (var s in finite.Skip(referenceCount))
        {
            var relative = s.Value / level;
            var excess = ((relative - 1) / scale(s.TimestampMs)) - (slack * sigma);
            if (!armed)
            {
                armed = excess <= 0;
                continue;
            }

            sum = Math.Max(0, sum + excess);
            if (sum > limit * sigma)
            {
                found.Add((s.TimestampMs, relative));
                armed = false;
                sum = 0;
            }
        }

        return found;
    }
}
