using System.Globalization;
using Aida.Telemetry.Series;

namespace Aida.Observability.Detection;

/// <summary>A sensor gone noisy: its readings scatter around the plant's value far more than they did.</summary>
/// <remarks>
/// Each reading's distance from the midpoint of its neighbours is zero on a ramp (a setpoint change, a warming loop),
/// large on one or two readings at a step, and the scatter itself on a noisy reading. Its usual level is the median
/// distance before <c>referenceUntilMs</c> (or over the first <see cref="ReferenceWindows"/> x
/// <see cref="AlertingOptions.NoiseSamples"/> readings when fewer came before), leaving out readings of a frozen run
/// (<see cref="FrozenRun"/> at one value: a stuck sensor's, whose zero distances are no usual level), and at least twice
/// the smallest non-zero distance (the reading's quantum). Two tests, either fires:
/// <list type="bullet">
/// <item>the median distance over the last <see cref="AlertingOptions.NoiseSamples"/> readings above
/// <see cref="AlertingOptions.NoiseRatio"/> times the usual level: moderate noise, judged over 2 min;</item>
/// <item><see cref="AlertingOptions.NoiseBurstCount"/> of the last <see cref="AlertingOptions.NoiseBurstSamples"/> distances
/// above <see cref="AlertingOptions.NoiseBurstRatio"/> times the usual level: gross scatter, judged within a minute.</item>
/// </list>
/// Non-finite samples are dropped first; a series with fewer than <see cref="ReferenceWindows"/> + 1 times
/// <see cref="AlertingOptions.NoiseSamples"/> finite readings is not judged. Readings on either side of a gap (a
/// non-finite sample or stale marker between them, or more than <see cref="GapIntervals"/> usual intervals apart) are not
/// neighbours: the readings at a gap's edges have no distance. After an alert the series is quiet for
/// <see cref="AlertingOptions.Lookback"/>.
/// </remarks>
internal static class ReadingScatter
{
    /// <summary>When each alert fires (the time of the reading that completed the evidence) and why.</summary>
    public static List<(long AtMs, string Why)> Find(IReadOnlyList<Sample> samples, long referenceUntilMs, AlertingOptions o) =>
        Judge(samples, referenceUntilMs, o).Found;

    /// <summary>As <see cref="Find"/>, judging against the lower of the reading's usual level and
    /// <paramref name="heldLevel"/> (the level an earlier window alerted against: see <see cref="TelemetryAlerting"/>);
    /// also returns the usual level found (NaN when the series is not judged) and the level judged against.</summary>
    public static (List<(long AtMs, string Why)> Found, double Usual, double Judged) Judge(IReadOnlyList<Sample> samples, long referenceUntilMs, AlertingOptions o, double heldLevel = double.PositiveInfinity)
    {
        var found = new List<(long, string)>();
        var none = (found, double.NaN, double.NaN);
        var (v, gapBefore) = Readings(samples);
        var n = o.NoiseSamples;
        var least = ReferenceWindows * n;
        if (v.Count < least + n)
        {
            return none;
        }

        // diffs[i - 1] belongs to reading i and is known once reading i + 1 is; NaN (no distance) at a gap's edges.
        var diffs = new double[v.Count - 1];
        for (var i = 1; i < v.Count - 1; i++)
        {
            diffs[i - 1] = gapBefore[i] || gapBefore[i + 1] ? double.NaN : Math.Abs(v[i].Value - (0.5 * (v[i - 1].Value + v[i + 1].Value)));
        }

        // The newest reading's distance waits for its next neighbour. Taken as its predecessor's, as before session 56,
        // a plant step among the last readings counted three wild distances where it has two, and read as scatter.
        diffs[^1] = double.NaN;

        // A reading held at one value for FrozenRun readings in a row was frozen, found stuck or not: its zero distances
        // are not the sensor's usual scatter. Taken as such, the ordinary movement of a loop after a stuck supply sensor
        // came back read as 6-20 times its usual level for an hour (sensor-stuck on cdu-h2-a's supply: a false
        // sensor-noise incident from 08:04 to 09:10, until the frozen hours left the 2 h reference).
        var live = LiveDistances(v, diffs);
        var before = v.Count(s => s.TimestampMs <= referenceUntilMs) - 1;
        var liveBefore = live.TakeWhile(j => j < before).ToList();
        var (referenceDiffs, referenceCount) = before >= least && liveBefore.Count >= least
            ? (liveBefore, before)
            : (live.Take(least).ToList(), live.Count >= least ? Math.Max(live[least - 1] + 1, Math.Min(before, diffs.Length)) : int.MaxValue);
        if (referenceCount == int.MaxValue)
        {
            return none;
        }

        var reference = Median([.. referenceDiffs.Select(j => diffs[j])]);
        var quantum = diffs.Where(d => d > 1e-9).DefaultIfEmpty(0.1).Min() * 2;
        var usual = Math.Max(reference, quantum);
        var floor = Math.Max(Math.Min(usual, heldLevel), quantum);
        var quietUntil = long.MinValue;
        var burst = o.NoiseBurstSamples;
        for (var i = Math.Max(referenceCount, Math.Min(n, burst)); i <= diffs.Length; i++)
        {
            var at = v[Math.Min(i + 1, v.Count - 1)].TimestampMs;
            if (at <= quietUntil)
            {
                continue;
            }

            var recent = i >= n ? Median(diffs.AsSpan(i - n, n)) : 0;
            var wild = i >= burst ? Count(diffs.AsSpan(i - burst, burst), o.NoiseBurstRatio * floor) : 0;
            string? why = null;
            if (recent > o.NoiseRatio * floor)
            {
                why = F($"readings sit {recent:0.00} from the midpoint of their neighbours (median of {n}), {recent / floor:0} times their usual {floor:0.00}");
            }
            else if (wild >= o.NoiseBurstCount)
            {
                why = F($"{wild} of the last {burst} readings sit more than {o.NoiseBurstRatio * floor:0.00} ({o.NoiseBurstRatio:0} times their usual {floor:0.00}) from the midpoint of their neighbours");
            }

            if (why is not null)
            {
                found.Add((at, why));
                quietUntil = at + (long)o.Lookback.TotalMilliseconds;
            }
        }

        return (found, usual, floor);
    }

    /// <summary>Usual intervals between two readings beyond which they are not neighbours: 5, more than a missed poll or
    /// two.</summary>
    /// <remarks>Seen live (session 56): a network site's devices all down for 5 min, then back from a restarted plant; the
    /// first reading after the gap sat 2 K from its neighbour before it, and cdu-h2-a's supply raised a false sensor-noise
    /// incident (3 of its last 5 readings 8 times their usual distance), whose runbook left the sensor untrusted.</remarks>
    internal const int GapIntervals = 5;

    /// <summary>The finite readings in order, and for each whether a gap comes before it (<see cref="GapIntervals"/>).</summary>
    private static (List<Sample> Readings, bool[] GapBefore) Readings(IReadOnlyList<Sample> samples)
    {
        var v = new List<Sample>(samples.Count);
        var gaps = new List<bool>(samples.Count);
        var missing = false;
        foreach (var s in samples)
        {
            if (!double.IsFinite(s.Value))
            {
                missing = v.Count > 0;
                continue;
            }

            gaps.Add(missing);
            v.Add(s);
            missing = false;
        }

        if (v.Count > 2)
        {
            var intervals = new long[v.Count - 1];
            for (var i = 1; i < v.Count; i++)
            {
                intervals[i - 1] = v[i].TimestampMs - v[i - 1].TimestampMs;
            }

            var sorted = (long[])intervals.Clone();
            Array.Sort(sorted);
            var usual = sorted[sorted.Length / 2];
            for (var i = 1; i < v.Count; i++)
            {
                gaps[i] |= intervals[i - 1] > GapIntervals * usual;
            }
        }

        return (v, [.. gaps]);
    }

    /// <summary>The fewest readings, in judged windows of <see cref="AlertingOptions.NoiseSamples"/>, the usual level is
    /// taken over: 6 (72 readings, 12 min of a 10 s point).</summary>
    /// <remarks>Taken over 2 windows (24 readings), a fresh series' usual level was too often one quantum low: on an 0.1 K
    /// inlet the median distance is 0.10 or 0.15 by the luck of those readings, and the plant's own movement then read as
    /// 5 times it. Over the wire (<c>aida twin serve --speed 10</c>, polled each second) a 3 min run raised a false
    /// sensor-noise incident on h2-c06's inlet 40 s in (session 38).</remarks>
    internal const int ReferenceWindows = 6;

    /// <summary>Readings in a row at one value that make a frozen run: 30, the stuck scan's run for a reading alone
    /// (<see cref="Anomalies.AnomalyOptions.StuckSamples"/>, 5 min of a 10 s point).</summary>
    internal const int FrozenRun = 30;

    /// <summary>The indices of the distances whose reading is not part of a frozen run nor at a gap's edge, in order.</summary>
    private static List<int> LiveDistances(List<Sample> v, double[] diffs)
    {
        var frozen = new bool[v.Count];
        var runStart = 0;
        for (var i = 1; i <= v.Count; i++)
        {
            if (i < v.Count && v[i].Value == v[runStart].Value)
            {
                continue;
            }

            if (i - runStart >= FrozenRun)
            {
                Array.Fill(frozen, true, runStart, i - runStart);
            }

            runStart = i;
        }

        return [.. Enumerable.Range(0, diffs.Length).Where(j => !frozen[j + 1] && !double.IsNaN(diffs[j]))];
    }

    private static int Count(ReadOnlySpan<double> values, double above)
    {
        var n = 0;
        foreach (var x in values)
        {
            n += x > above ? 1 : 0;
        }

        return n;
    }

    /// <summary>The median of the values that are numbers (a gap's edges are not); 0 for none.</summary>
    private static double Median(ReadOnlySpan<double> values)
    {
        var copy = values.ToArray().Where(x => !double.IsNaN(x)).ToArray();
        Array.Sort(copy);
        return copy.Length == 0 ? 0 : copy[copy.Length / 2];
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
