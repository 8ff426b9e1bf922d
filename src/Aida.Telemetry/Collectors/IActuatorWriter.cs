namespace Aida.Telemetry.Collectors;

/// <summary>Writes one actuator of a real (or wire-served) device: a Modbus register, a Redfish power limit, an MQTT
/// command topic. Named as the plant names it (<c>asset/setting</c>, e.g. <c>cdu-h1-1/supply_setpoint</c>).</summary>
public interface IActuatorWriter
{
    /// <summary>The actuator's name, <c>asset/setting</c>.</summary>
    string Actuator { get; }

    /// <summary>Writes <paramref name="value"/> (in the actuator's unit) and confirms it by reading the value back.</summary>
    Task<ActuatorWriteOutcome> WriteAsync(double value, CancellationToken ct);
}

/// <summary>A collector that can also write some of its device's settings, as its site-file entry declares.</summary>
public interface IActuatorSource
{
    IReadOnlyList<IActuatorWriter> Writers { get; }
}

/// <summary>What became of a write.</summary>
/// <param name="Confirmed">The device took it and reading it back gave the value written (within the encoding's resolution).</param>
/// <param name="ReadBack">The value read back (NaN when none could be read).</param>
/// <param name="Problem">Why it failed (exception response, timeout, mismatch), or null.</param>
public readonly record struct ActuatorWriteOutcome(bool Confirmed, double ReadBack, string? Problem);
