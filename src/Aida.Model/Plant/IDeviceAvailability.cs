using System.Globalization;

namespace Aida.Model.Plant;

/// <summary>A plant whose actuators sit on devices it can lose and reach again (a site over the network). A device that
/// was out of reach, or that restarted between two polls, may have gone back to its own settings: where it was last
/// written no longer says where it is. The embedded twin loses no device and does not implement this.</summary>
public interface IDeviceAvailability
{
    /// <summary>The last time the device that <paramref name="actuator"/> (an index into <see cref="IPlant.Actuators"/>)
    /// sits on came back: answered again after its collector could not reach it, or was found restarted between two
    /// polls; null while neither has happened.</summary>
    DeviceReturn? ReturnOf(int actuator);

    /// <summary>Whether a write to <paramref name="actuator"/> would not be sent now (<see cref="WriteStatus.NotSent"/>):
    /// its device is down and the last write to it failed.</summary>
    bool WritesHeldBack(int actuator);
}

/// <summary>A device come back: from <paramref name="At"/> on, its readings say where it is, not what was written to it
/// before.</summary>
/// <param name="At">When it came back, on the collector's clock: the start of the poll that found it back, as that poll's
/// readings are stamped.</param>
/// <param name="How">What happened, completing "its device …" (<see cref="ReachedAgain"/>, <see cref="Restarted"/>).</param>
public sealed record DeviceReturn(DateTimeOffset At, string How)
{
    /// <summary>A device its collector reached again after one or more polls it did not answer.</summary>
    public static DeviceReturn ReachedAgain(DateTimeOffset at) =>
        new(at, string.Create(CultureInfo.InvariantCulture, $"answered again at {at:O} after its collector could not reach it"));

    /// <summary>A device its collector reached for the first time after one or more polls it did not answer (down when
    /// Aida started): it has the settings a person or an earlier run left, unread.</summary>
    public static DeviceReturn FirstReached(DateTimeOffset at) =>
        new(at, string.Create(CultureInfo.InvariantCulture, $"answered for the first time at {at:O}, after its collector could not reach it since Aida started"));

    /// <summary>A device that answered every poll but whose uptime says it restarted since the one before.</summary>
    /// <param name="evidence">The readings that say so (<c>its uptime read 4 s, 10 s after it read 86400 s</c>).</param>
    public static DeviceReturn Restarted(DateTimeOffset at, string evidence) =>
        new(at, string.Create(CultureInfo.InvariantCulture, $"was found restarted at {at:O} ({evidence})"));
}
