using Aida.Model.Plant;

namespace Aida.Twin.Wire;

/// <summary>A plant that several threads may read and write at once (the wire faces answer from socket threads) while
/// one thread steps it: every call, and every step taken under <see cref="Gate"/>, holds the same lock.</summary>
public sealed class SynchronizedPlant(IPlant plant) : IPlant
{
    /// <summary>The lock: whoever advances the plant holds it for the step.</summary>
    public object Gate { get; } = new();

    public IReadOnlyList<PointInfo> Points => plant.Points;

    public IReadOnlyList<ActuatorInfo> Actuators => plant.Actuators;

    public PointReading Read(int point)
    {
        lock (Gate)
        {
            return plant.Read(point);
        }
    }

    public WriteResult Write(int actuator, double value)
    {
        lock (Gate)
        {
            return plant.Write(actuator, value);
        }
    }
}
