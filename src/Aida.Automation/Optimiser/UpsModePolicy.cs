using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Reliability.Policy;

namespace Aida.Automation.Optimiser;

/// <summary>Runs the UPSes in eco mode (static bypass, ~99 % efficient against 94-96.5 % in double conversion: TWIN.md)
/// while the error budget allows taking redundancy risk and the utility has been steady, and back in double conversion
/// the moment either stops being true.</summary>
/// <remarks>Eco mode leaves the load on raw utility power, with the inverter on standby to take it over within a few
/// milliseconds of a disturbance (inside the 10-20 ms an IT power supply rides through: the ITIC curve). The risk is a
/// disturbance the transfer does not catch, so it is the efficiency policy's to grant: only with
/// <see cref="EfficiencyActions.UpsEco"/> allowed (the power domain's SLOs have the headroom staging needs), and only
/// after <see cref="SteadyFor"/> without a utility outage or a UPS on battery.
/// It reads only the plant's points, never the twin's state.</remarks>
public sealed class UpsModePolicy
{
    /// <summary>How long the utility must have been steady (every feed up, no UPS on battery) before eco mode.</summary>
    public static readonly TimeSpan SteadyFor = TimeSpan.FromMinutes(30);

    private readonly string[] _ups;
    private readonly string[] _feeds;
    private DateTimeOffset? _lastDisturbance;

    public UpsModePolicy(Factory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _ups = factory.Power.Ups.Select(u => u.Id).ToArray();
        _feeds = factory.Power.Feeds.Select(f => f.Id).ToArray();
    }

    /// <summary>Whether eco mode is wanted now; every call also watches the utility.</summary>
    public bool WantsEco(DateTimeOffset now, IPlant plant, EfficiencyEnvelope? envelope)
    {
        ArgumentNullException.ThrowIfNull(plant);
        // A missing reading counts as a disturbance: eco mode is only for a utility known to be steady.
        var disturbed = _feeds.Any(f => !(plant.Read(plant.Point(f + "/available")).Value >= 0.5))
            || _ups.Any(u => !(plant.Read(plant.Point(u + "/on_battery")).Value < 0.5));
        if (disturbed || _lastDisturbance is null)
        {
            // Before the first look the utility's history is unknown: the wait starts now.
            _lastDisturbance = now;
        }

        return !disturbed && now - _lastDisturbance >= SteadyFor
            && envelope is not null && envelope.Allowed.HasFlag(EfficiencyActions.UpsEco);
    }

    /// <summary>The writes that bring every UPS to the wanted mode (none when all are there already).</summary>
    public IReadOnlyList<(string Actuator, double Value)> Moves(DateTimeOffset now, IPlant plant, EfficiencyEnvelope? envelope)
    {
        var want = WantsEco(now, plant, envelope) ? 1.0 : 0.0;
        return _ups.Select(u => u + "/eco_mode")
            .Where(a => plant.Read(plant.Point(a)).Value is var v && (double.IsNaN(v) || (v >= 0.5) != (want >= 0.5)))
            .Select(a => (a, want))
            .ToArray();
    }
}
