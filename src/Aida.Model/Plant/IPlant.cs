namespace Aida.Model.Plant;

/// <summary>A plant as a site's control system sees it: named measurement points to read and actuators to write.</summary>
/// <remarks>
/// The digital twin and real devices (later: Modbus, Redfish, MQTT adapters) both stand behind this interface, so
/// operators and agents are the same code whichever plant they run. Nothing behind it exposes the plant's true state:
/// readings carry sensor noise, sampling delay and sensor faults, and writes can be refused or silently fail.
/// </remarks>
public interface IPlant
{
    IReadOnlyList<PointInfo> Points { get; }

    IReadOnlyList<ActuatorInfo> Actuators { get; }

    /// <summary>The latest sample of a point; <see cref="PointReading.IsMissing"/> when the sensor is not reporting.</summary>
    PointReading Read(int point);

    /// <summary>Asks an actuator to move to <paramref name="value"/>; out-of-range values are refused, never clamped.</summary>
    WriteResult Write(int actuator, double value);
}

/// <summary>A measurement point: a Prometheus metric name with labels, its unit and its sampling interval.</summary>
/// <param name="Name">Unique key, <c>asset/quantity</c>, e.g. <c>cdu-h1-1/supply_temperature</c>.</param>
public sealed record PointInfo(int Index, string Name, string Asset, string Metric, IReadOnlyDictionary<string, string> Labels, string Unit, TimeSpan Interval);

/// <summary>An actuator with its physical range and rate limit.</summary>
/// <param name="Name">Unique key, <c>asset/setting</c>, e.g. <c>cdu-h1-1/supply_setpoint</c>.</param>
public sealed record ActuatorInfo(int Index, string Name, string Asset, string Unit, double Min, double Max, double MaxRatePerSecond);

public readonly record struct PointReading(double Value, DateTimeOffset Timestamp)
{
    public bool IsMissing => double.IsNaN(Value);
}

public enum WriteStatus
{
    Accepted,
    OutOfRange,
    NotANumber,
    UnknownActuator,

    /// <summary>A plant over the network sent the write, but the device did not confirm it: no answer, an error
    /// response, or a different value read back.</summary>
    Unconfirmed,

    /// <summary>A plant over the network did not send the write: its device is down and the last write to it failed
    /// (its collector's polls fail). It took no effect, so the actuator is where it was.</summary>
    NotSent,

    /// <summary>Refused before it reached the plant: outside the safety envelope (hard limits, step limits, blast
    /// radius, interlocks) or the efficiency envelope of the error-budget policy.</summary>
    Refused,

    /// <summary>Refused before it reached the plant by one of the safety envelope's limits over the last minute (the
    /// actuator's change within a minute, or writes within a minute): the same write may pass once the minute has gone
    /// by. A refusal like any other for everything but a retry.</summary>
    RateLimited,
}

public readonly record struct WriteResult(WriteStatus Status, string Message)
{
    public bool Ok => Status == WriteStatus.Accepted;
}

/// <summary>Finds points and actuators by name.</summary>
public static class PlantLookup
{
    public static int Point(this IPlant plant, string name)
    {
        var points = plant.Points;
        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    public static int Actuator(this IPlant plant, string name)
    {
        var actuators = plant.Actuators;
        for (var i = 0; i < actuators.Count; i++)
        {
            if (actuators[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    public static double ReadValue(this IPlant plant, string name)
    {
        var i = plant.Point(name);
        return i < 0 ? double.NaN : plant.Read(i).Value;
    }

    public static WriteResult Write(this IPlant plant, string name, double value)
    {
        var i = plant.Actuator(name);
        return i < 0 ? new WriteResult(WriteStatus.UnknownActuator, $"unknown actuator '{name}'") : plant.Write(i, value);
    }
}
