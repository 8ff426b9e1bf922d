using System.Globalization;

namespace Aida.Telemetry.Collectors;

/// <summary>Finds a device's restart between two polls it answered, from its uptime (seconds since it started): a device
/// behind a gateway (Modbus RTU behind a TCP gateway, whose connection outlives the device) restarts without a poll
/// failing, and comes back at its own settings.</summary>
/// <remarks>
/// The device restarted since the reading before when its uptime went back (by more than
/// <see cref="ResolutionSeconds"/> and a second), or when it reads less than the time since that reading (less the
/// resolution, a second and 1 % of the time, for clocks that run apart): it started after that reading. A restart right
/// after a reading of a device then up for a second or less is not seen. An uptime that wraps (a 16-bit count of seconds
/// does every 18 h) reads as a restart: give a 32-bit one. Not finite or negative, a reading is not judged and not kept.
/// </remarks>
/// <param name="resolutionSeconds">The reading's step (an integer register's scale; 0 for a float).</param>
/// <param name="reading">What the evidence calls the reading (<c>its uptime</c>; <c>its manager bmc-1's uptime</c>).</param>
public sealed class UptimeWatch(double resolutionSeconds, string reading = "its uptime")
{
    private double _last = double.NaN;
    private long _lastAt;

    /// <summary>The reading's step, in seconds.</summary>
    public double ResolutionSeconds { get; } = Math.Abs(resolutionSeconds);

    /// <summary>Judges an uptime read at <paramref name="atMs"/> (Unix ms, the collector's clock) against the reading
    /// before.</summary>
    /// <returns>The evidence of a restart since the reading before (<c>its uptime read 4 s, 10 s after it read 86400
    /// s</c>), else null.</returns>
    public string? Read(long atMs, double uptimeSeconds)
    {
        if (!double.IsFinite(uptimeSeconds) || uptimeSeconds < 0)
        {
            return null;
        }

        var last = _last;
        var elapsed = (atMs - _lastAt) / 1000.0;
        _last = uptimeSeconds;
        _lastAt = atMs;
        if (double.IsNaN(last) || elapsed <= 0)
        {
            return null;
        }

        var wentBack = uptimeSeconds + ResolutionSeconds + 1 < last;
        var startedSince = uptimeSeconds + ResolutionSeconds + 1 + (0.01 * elapsed) < elapsed;
        return wentBack || startedSince
            ? string.Create(CultureInfo.InvariantCulture, $"{reading} read {uptimeSeconds:0.###} s, {elapsed:0.###} s after it read {last:0.###} s")
            : null;
    }
}
