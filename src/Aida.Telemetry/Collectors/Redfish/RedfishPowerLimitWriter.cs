using Aida.Protocols.Redfish;

namespace Aida.Telemetry.Collectors.Redfish;

/// <summary>Writes one chassis' <c>PowerControl</c> power limit with PATCH (<c>If-Match</c> the ETag just read) and
/// confirms it by reading the <c>Power</c> resource back.</summary>
/// <remarks>A limit read back within <see cref="Resolution"/> of the value written is confirmed: services commonly keep
/// whole watts.</remarks>
public sealed class RedfishPowerLimitWriter(RedfishClient client, string chassis, string member, string actuator) : IActuatorWriter
{
    /// <summary>How far the value read back may be from the value written, in watts.</summary>
    public const double Resolution = 0.5;

    private string? _powerPath;

    public string Actuator { get; } = actuator;

    public async Task<ActuatorWriteOutcome> WriteAsync(double value, CancellationToken ct)
    {
        if (!double.IsFinite(value))
        {
            return new ActuatorWriteOutcome(false, double.NaN, $"{value} is not a power limit");
        }

        try
        {
            var path = _powerPath ??= await PowerPathAsync(ct).ConfigureAwait(false);
            var before = await client.PowerAsync(path, ct).ConfigureAwait(false);
            var control = Find(before);
            if (control is null)
            {
                return new ActuatorWriteOutcome(false, double.NaN, $"{path} has no PowerControl member '{member}'");
            }

            await client.SetPowerLimitAsync(path, control.Index, before.Controls.Count, value, before.ETag, ct).ConfigureAwait(false);
            var after = Find(await client.PowerAsync(path, ct).ConfigureAwait(false));
            var readBack = after?.LimitInWatts ?? double.NaN;
            return Math.Abs(readBack - value) <= Resolution
                ? new ActuatorWriteOutcome(true, readBack, null)
                : new ActuatorWriteOutcome(false, readBack, $"read back {readBack} W after writing {value} W");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is RedfishErrorException or RedfishMalformedException or HttpRequestException or TaskCanceledException or IOException)
        {
            _powerPath = null;
            return new ActuatorWriteOutcome(false, double.NaN, e is TaskCanceledException ? "no answer in time" : e.Message);
        }
    }

    private PowerControlReading? Find(PowerReadings power)
    {
        foreach (var c in power.Controls)
        {
            if (c.MemberId == member)
            {
                return c;
            }
        }

        return null;
    }

    private async Task<string> PowerPathAsync(CancellationToken ct)
    {
        var found = await RedfishChassis.FindAsync(client, chassis, ct).ConfigureAwait(false);
        return found[0].Power ?? throw new RedfishErrorException(System.Net.HttpStatusCode.NotFound, $"chassis '{chassis}' has no Power resource");
    }
}
