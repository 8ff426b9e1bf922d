using Aida.Telemetry.Series;

namespace Aida.Observability.Detection;

/// <summary>A CDU whose supply leaves its setpoint within minutes while its facility-water valve, short of its limits,
/// does not move: the valve is not following its controller (stuck), long before the supply is 3 K off.</summary>
/// <remarks>
/// A CDU's controller holds the secondary supply at its setpoint by moving the valve on facility water (TWIN.md,
/// "CDU secondary loop"); a supply error the controller can correct (the valve neither fully open nor closed) is
/// corrected, so a supply standing off its setpoint with the valve frozen is a valve that does not respond. Three
/// conditions, each against a normal cause of a supply off its setpoint:
/// <list type="bullet">
/// <item>Abrupt: the median of the last 3 errors (supply - setpoint, 30 s) exceeds the median error of the 3 min
/// before by the departure (default 0.5 K: 5 times the 0.1 K accuracy of a CDU's RTD, and a median, so
/// one noisy reading cannot fire it). A drifting supply sensor (2 K/h moves 0.1 K in 3 min) is not abrupt.</item>
/// <item>Against the highest setpoint of the last 5 min: a setpoint lowered by the operator leaves the supply
/// above it for a loop time constant (1-2 min), which is not a fault. A supply below its setpoint counts as on it (an
/// error of 0) in the reference, so a supply that followed a lowered setpoint does not depart when the higher one's five
/// minutes end.</item>
/// <item>Valve held within 1.5 % (a reading's 1 % quantum) and more than 2 % from either limit, from the first sample
/// of the departure: a valve at full open (facility water too warm, a chiller lost) cannot do more.</item>
/// </list>
/// Non-finite samples are skipped; a span with fewer than two valve readings or no setpoint reading does not fire.
/// </remarks>
internal static class ValveResponse
{
    // Errors over the last 3 supply samples (30 s at 10 s) are taken by their median.
    private const int Samples = 3;

    // The reference error: the median over the 3 min before those samples.
    private const long ReferenceMs = 3 * 60_000;

    // The setpoint judged against: the highest of the last 5 min.
    private const long SetpointSettleMs = 5 * 60_000;

    // A valve held: within one quantum (1 %) of a position reading, plus rounding.
    private const double ValveHeldRatio = 0.015;

    /// <summary>A valve within 2 % of fully open or closed is at its limit.</summary>
    internal const double ValveLimit = 0.02;

    /// <summary>Each departure (once per run of departed samples): when it fired, the supply error then and the valve's
    /// position.</summary>
    public static List<(long AtMs, double ErrorCelsius, double Valve)> Find(
        IReadOnlyList<Sample> supply, IReadOnlyList<Sample> setpoint, IReadOnlyList<Sample> valve, double departureCelsius = 0.5)
    {
        var found = new List<(long, double, double)>();
        var t = new List<long>(supply.Count);
        var e = new List<double>(supply.Count);
        foreach (var s in supply)
        {
            if (double.IsFinite(s.Value) && HighestSetpoint(setpoint, s.TimestampMs - SetpointSettleMs, s.TimestampMs) is { } sp)
            {
                t.Add(s.TimestampMs);
                e.Add(s.Value - sp);
            }
        }

        var armed = true;
        var recent = new double[Samples];
        for (var i = Samples - 1; i < t.Count; i++)
        {
            for (var k = 0; k < Samples; k++)
            {
                recent[k] = e[i - Samples + 1 + k];
            }

            var now = Median(recent);
            var windowStart = t[i - Samples + 1];
            var reference = new List<double>();
            for (var j = i - Samples; j >= 0 && t[j] >= windowStart - ReferenceMs; j--)
            {
                reference.Add(e[j]);
            }

            if (reference.Count < Samples)
            {
                continue;
            }

            // A supply below its setpoint counts as on it. After a setpoint is lowered the supply follows it within
            // minutes, below the higher setpoint still judged against; when that one's five minutes end, the errors
            // jump from -1 K to 0 with the supply on its new setpoint (the agent's optimiser lowered setpoints in a
            // live run and every CDU it moved fired: ValveResponseTests).
            var before = Math.Max(0, Median([.. reference]));
            if (now - before <= departureCelsius)
            {
                // Re-arms once the supply is back within half the departure of where it stood.
                armed |= now - before <= departureCelsius / 2;
                continue;
            }

            if (!armed)
            {
                continue;
            }

            // The departure began at the first sample of the window more than half of it off the reference.
            var from = i - Samples + 1;
            while (from < i && e[from] - before <= departureCelsius / 2)
            {
                from++;
            }

            if (Held(valve, t[from], t[i]) is { } position)
            {
                found.Add((t[i], now, position));
                armed = false;
            }
        }

        return found;
    }

    private static double? HighestSetpoint(IReadOnlyList<Sample> setpoint, long fromMs, long toMs)
    {
        var highest = ThresholdCrossings.ValueAt(setpoint, fromMs);
        for (var i = FirstAfter(setpoint, fromMs); i < setpoint.Count && setpoint[i].TimestampMs <= toMs; i++)
        {
            if (double.IsFinite(setpoint[i].Value))
            {
                highest = highest is { } h ? Math.Max(h, setpoint[i].Value) : setpoint[i].Value;
            }
        }

        return highest;
    }

    /// <summary>The valve's position if it held still, inside its limits, over [from, to]; null otherwise.</summary>
    private static double? Held(IReadOnlyList<Sample> valve, long fromMs, long toMs)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        var n = 0;
        for (var i = FirstAfter(valve, fromMs - 1); i < valve.Count && valve[i].TimestampMs <= toMs; i++)
        {
            if (double.IsFinite(valve[i].Value))
            {
                lo = Math.Min(lo, valve[i].Value);
                hi = Math.Max(hi, valve[i].Value);
                n++;
            }
        }

        return n >= 2 && hi - lo <= ValveHeldRatio && lo > ValveLimit && hi < 1 - ValveLimit ? (lo + hi) / 2 : null;
    }

    /// <summary>The index of the first sample after <paramref name="ms"/> (samples in time order).</summary>
    private static int FirstAfter(IReadOnlyList<Sample> samples, long ms)
    {
        int lo = 0, hi = samples.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (samples[mid].TimestampMs <= ms)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        var m = values.Length / 2;
        return values.Length % 2 == 1 ? values[m] : 0.5 * (values[m - 1] + values[m]);
    }
}
