namespace Aida.Automation.Optimiser;

/// <summary>The highest load each CDU, its hottest rack and each hall carried over a recent window of observations:
/// the load the optimiser's temperature constraints are judged at.</summary>
/// <remarks>Training jobs swing racks from idle to full in one step (restarts, checkpoints: TWIN.md); a plan made in a
/// dip and judged at the dip's load would trim pumps and fans the returning load then needs. Judging the limits at
/// the recent peak (and the cost at the present load) keeps the plan safe through such steps. A job starting on racks
/// idle for the whole window is the case it does not cover (docs/optimiser.md).</remarks>
internal sealed class RecentPeakLoad(int window)
{
    private readonly Queue<(double[] Cdu, double[] Rack, double[] Hall)> _samples = new();

    public void Add(CoolingSnapshot s)
    {
        _samples.Enqueue(((double[])s.CduRackPowerMw.Clone(), (double[])s.CduMaxRackPower100Kw.Clone(), (double[])s.HallRackPowerMw.Clone()));
        while (_samples.Count > window)
        {
            _samples.Dequeue();
        }
    }

    /// <summary>Raises <paramref name="s"/>'s loads to the window's peaks (in place).</summary>
    public void RaiseToPeak(CoolingSnapshot s)
    {
        foreach (var (cdu, rack, hall) in _samples)
        {
            Raise(s.CduRackPowerMw, cdu);
            Raise(s.CduMaxRackPower100Kw, rack);
            Raise(s.HallRackPowerMw, hall);
        }
    }

    private static void Raise(double[] target, double[] sample)
    {
        for (var i = 0; i < target.Length && i < sample.Length; i++)
        {
            if (double.IsFinite(sample[i]) && !(target[i] >= sample[i]))
            {
                target[i] = sample[i];
            }
        }
    }
}
