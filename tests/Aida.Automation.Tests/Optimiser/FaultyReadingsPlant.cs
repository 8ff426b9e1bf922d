using Aida.Model.Plant;

namespace Aida.Automation.Tests.Optimiser;

/// <summary>A plant in front of another whose readings and writes a test corrupts: a reading replaced by what
/// <see cref="Reading"/> returns (NaN for missing, a constant for stuck), a write refused when <see cref="Refuse"/>
/// says so.</summary>
internal sealed class FaultyReadingsPlant(IPlant inner) : IPlant
{
    public Func<PointInfo, PointReading, double> Reading { get; init; } = (_, r) => r.Value;

    public Func<ActuatorInfo, double, bool> Refuse { get; init; } = (_, _) => false;

    public int Refused { get; private set; }

    public IReadOnlyList<PointInfo> Points => inner.Points;

    public IReadOnlyList<ActuatorInfo> Actuators => inner.Actuators;

    public PointReading Read(int point)
    {
        var r = inner.Read(point);
        return r with { Value = Reading(inner.Points[point], r) };
    }

    public WriteResult Write(int actuator, double value)
    {
        if (Refuse(inner.Actuators[actuator], value))
        {
            Refused++;
            return new WriteResult(WriteStatus.Refused, "refused by the test");
        }

        return inner.Write(actuator, value);
    }
}
