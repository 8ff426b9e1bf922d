using Aida.Protocols.Redfish;

namespace Aida.Telemetry.Collectors.Redfish;

/// <summary>Writes a chassis' power state with the <c>#Chassis.Reset</c> action (<c>On</c> or <c>ForceOff</c>) and confirms
/// it by reading <c>PowerState</c> back; the actuator's values for on and off come from the site entry (the twin's
/// <c>rack/isolate</c> is 1 for off).</summary>
public sealed class RedfishPowerStateWriter(RedfishClient client, string chassis, string actuator, double on, double off) : IActuatorWriter
{
    private ChassisLinks? _links;

    public string Actuator { get; } = actuator;

    /// <summary>The value of a <c>PowerState</c>: <paramref name="on"/> for <c>On</c>, <paramref name="off"/> for
    /// <c>Off</c>, NaN for anything else (powering on or off, absent).</summary>
    public static double ValueOf(string? powerState, double on, double off) => powerState switch
    {
        "On" => on,
        "Off" => off,
        _ => double.NaN,
    };

    public async Task<ActuatorWriteOutcome> WriteAsync(double value, CancellationToken ct)
    {
        string resetType;
        if (value == on)
        {
            resetType = "On";
        }
        else if (value == off)
        {
            resetType = "ForceOff";
        }
        else
        {
            return new ActuatorWriteOutcome(false, double.NaN, $"{value} is neither on ({on}) nor off ({off})");
        }

        try
        {
            var links = _links ??= (await RedfishChassis.FindAsync(client, chassis, ct).ConfigureAwait(false))[0];
            if (links.Reset is null)
            {
                return new ActuatorWriteOutcome(false, double.NaN, $"chassis '{chassis}' has no #Chassis.Reset action");
            }

            await client.ResetAsync(links.Reset, resetType, ct).ConfigureAwait(false);
            var readBack = ValueOf(await client.PowerStateAsync(links.Path, ct).ConfigureAwait(false), on, off);
            return readBack == value
                ? new ActuatorWriteOutcome(true, readBack, null)
                : new ActuatorWriteOutcome(false, readBack, $"PowerState reads {readBack} after {resetType}");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is RedfishErrorException or RedfishMalformedException or HttpRequestException or TaskCanceledException or IOException)
        {
            _links = null;
            return new ActuatorWriteOutcome(false, double.NaN, e is TaskCanceledException ? "no answer in time" : e.Message);
        }
    }
}
