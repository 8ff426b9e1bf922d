namespace Aida.Model.Plant;

/// <summary>A plant whose actuators sit on devices it can lose and reach again (a site over the network). A device that
/// was out of reach may have restarted meanwhile and gone back to its own settings: where it was last written no longer
/// says where it is. The embedded twin loses no device and does not implement this.</summary>
public interface IDeviceAvailability
{
    /// <summary>When the device that <paramref name="actuator"/> (an index into <see cref="IPlant.Actuators"/>) sits on
    /// last answered again after its collector could not reach it; null while it has never been lost.</summary>
    DateTimeOffset? ReachedAgainAt(int actuator);

    /// <summary>Whether a write to <paramref name="actuator"/> would not be sent now (<see cref="WriteStatus.NotSent"/>):
    /// its device is down and the last write to it failed.</summary>
    bool WritesHeldBack(int actuator);
}
