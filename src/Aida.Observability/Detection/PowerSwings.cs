using Aida.Telemetry.Series;

namespace Aida.Observability.Detection;

/// <summary>A hall's IT power swinging: steps of more than <see cref="AlertingOptions.PowerStepWatts"/> that alternate
/// up and down.</summary>
/// <remarks>A step is a change over <see cref="AlertingOptions.PowerStepSpan"/>; steps of one sign within that span are one
/// step. A swing is <see cref="AlertingOptions.PowerSwingSteps"/> (4) alternating steps within
/// <see cref="AlertingOptions.PowerSwingWindow"/>, or three whose two intervals are equal to within one
/// <see cref="AlertingOptions.Step"/> plus <see cref="AlertingOptions.PowerSwingRegularity"/> of the longer: an oscillation
/// is periodic, while a training checkpoint (a dip and its recovery, 90 s apart) followed by another dip is not. After an
/// alert, no new swing may start within the window. The samples are on the grid of <see cref="AlertingOptions.Step"/>
/// (a range query); non-finite ones are skipped.</remarks>
internal static class PowerSwings
{
    /// <summary>Each swing: the time of the step that completed it and of its first step.</summary>
    public static List<(long AtMs, long FirstMs)> Find(IReadOnlyList<Sample> power, AlertingOptions o)
    {
        var steps = Steps(power, o);
        var windowMs = (long)o.PowerSwingWindow.TotalMilliseconds;
        var found = new List<(long, long)>();
        var armedAfter = long.MinValue;
        for (var i = 2; i < steps.Count; i++)
        {
            if ((Alternate(steps, i, o.PowerSwingSteps, windowMs, out var first) || Regular(steps, i, windowMs, o, out first)) && first > armedAfter)
            {
                found.Add((steps[i].Ms, first));
                armedAfter = steps[i].Ms + windowMs;
            }
        }

        return found;
    }

    internal static List<(long Ms, int Sign)> Steps(IReadOnlyList<Sample> p, AlertingOptions o)
    {
        var lag = Math.Max(1, (int)Math.Round(o.PowerStepSpan / o.Step));
        var spanMs = (long)o.PowerStepSpan.TotalMilliseconds;
        var steps = new List<(long Ms, int Sign)>();
        for (var i = lag; i < p.Count; i++)
        {
            var d = p[i].Value - p[i - lag].Value;
            if (!double.IsFinite(d) || Math.Abs(d) <= o.PowerStepWatts)
            {
                continue;
            }

            var sign = Math.Sign(d);
            if (steps.Count > 0 && steps[^1].Sign == sign && p[i].TimestampMs - steps[^1].Ms <= spanMs)
            {
                steps[^1] = (p[i].TimestampMs, sign);
                continue;
            }

            steps.Add((p[i].TimestampMs, sign));
        }

        return steps;
    }

    /// <summary>Whether the <paramref name="count"/> steps ending at <paramref name="last"/> alternate in sign within the
    /// window; <paramref name="firstMs"/> is when the first of them came.</summary>
    private static bool Alternate(List<(long Ms, int Sign)> steps, int last, int count, long windowMs, out long firstMs)
    {
        firstMs = long.MaxValue;
        if (last < count - 1)
        {
            return false;
        }

        for (var k = last - count + 2; k <= last; k++)
        {
            if (steps[k].Sign == steps[k - 1].Sign)
            {
                return false;
            }
        }

        firstMs = steps[last - count + 1].Ms;
        return steps[last].Ms - firstMs <= windowMs;
    }

    private static bool Regular(List<(long Ms, int Sign)> steps, int last, long windowMs, AlertingOptions o, out long firstMs)
    {
        if (!Alternate(steps, last, 3, windowMs, out firstMs))
        {
            return false;
        }

        // A step is placed to within one sample, so each interval is known to within one step of the series.
        double a = steps[last - 1].Ms - steps[last - 2].Ms, b = steps[last].Ms - steps[last - 1].Ms;
        return Math.Abs(a - b) <= o.Step.TotalMilliseconds + (o.PowerSwingRegularity * Math.Max(a, b));
    }
}
