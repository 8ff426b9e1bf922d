namespace Aida.Telemetry.Collectors;

/// <summary>One source of field readings (a Modbus device, a scrape target, an MQTT broker subscription, a UPS behind
/// upsd, a Redfish service) turned into samples.</summary>
/// <remarks>
/// <see cref="RunAsync"/> owns the connection for the collector's life: it connects, polls or subscribes, reports every
/// reading and every malformed frame to the <see cref="CollectorSink"/>, and on a failure reports the device down and
/// reconnects after a <see cref="ReconnectBackoff"/> delay. It returns only when cancelled; an exception escaping it is a
/// bug, which <see cref="CollectorHost"/> logs before restarting the collector.
/// </remarks>
public interface ICollector
{
    /// <summary>The collector's name in the site file, unique within it (the <c>device</c> label of its health series).</summary>
    string Name { get; }

    /// <summary>The protocol, as written in the site file's <c>type</c> field (the <c>collector</c> label).</summary>
    string Kind { get; }

    Task RunAsync(CollectorSink sink, CancellationToken ct);
}
