using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Observability.Detection;

/// <summary>An alarm the equipment raises itself (a unit's fault flag, a leak sensor, a lost utility feed, a failed CDU
/// pump, a CDU valve whose actuator reports a position off its command, a UPS on battery, a rack without power): a
/// state read from one sample, with no hold and no history, so it can be read at one instant
/// (<see cref="EquipmentAlarmWatch"/>). <see cref="TelemetryAlerting"/> raises these as threshold alerts.</summary>
public sealed record EquipmentAlarm(string Metric, string Name, Func<double, bool> Raised, Func<double, string> Summary)
{
    /// <summary>The equipment alarms, with the settings they read (the UPS battery's low ratio).</summary>
    public static IReadOnlyList<EquipmentAlarm> Of(AlertingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return
        [
            new("aida_rack_powered", AlertNames.RackUnpowered, v => v < 0.5, _ => "rack has lost power"),
            new("aida_cdu_pump_faults", AlertNames.CduPumpFault, v => v > 0, v => FormattableString.Invariant($"{v:0} CDU pumps failed")),
            new("aida_cdu_valve_fault", AlertNames.CduValveFault, v => v > 0.5, _ => "valve actuator reports its position off the commanded one"),
            new("aida_rack_leak_detected", AlertNames.LeakDetected, v => v > 0.5, _ => "leak sensor tripped"),
            new("aida_asset_fault", AlertNames.AssetFault, v => v > 0.5, _ => "equipment reports a fault"),
            new("aida_utility_available", AlertNames.UtilityLost, v => v < 0.5, _ => "utility feed lost"),
            new("aida_ups_on_battery", AlertNames.UpsOnBattery, v => v > 0.5, _ => "UPS on battery"),
            new("aida_ups_battery_ratio", AlertNames.UpsBatteryLow, v => v < options.BatteryLowRatio, v => FormattableString.Invariant($"UPS battery at {v:P0}")),
        ];
    }
}

/// <summary>Reads the equipment alarms at one instant each time it is asked and says whether one was raised since it last
/// looked: a series whose alarm holds now and did not then. One instant query per alarm and no history, so an agent can
/// look every few seconds and run its full detection (a two-hour lookback) as soon as equipment raises an alarm, rather
/// than at its next period. An alarm already raised at the first look counts as raised then.</summary>
public sealed class EquipmentAlarmWatch
{
    private readonly IQueryEngine _query;
    private readonly IReadOnlyList<EquipmentAlarm> _alarms;
    private HashSet<(string Alarm, Labels Series)> _held = [];

    public EquipmentAlarmWatch(IQueryEngine query, AlertingOptions? options = null)
    {
        _query = query ?? throw new ArgumentNullException(nameof(query));
        _alarms = EquipmentAlarm.Of(options ?? new AlertingOptions());
    }

    /// <summary>Whether an alarm holds at <paramref name="now"/> that did not at the last look (a NaN reading holds none).</summary>
    public async Task<bool> RaisedSinceLastLookAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var held = new HashSet<(string, Labels)>();
        foreach (var alarm in _alarms)
        {
            var result = await _query.QueryAsync(alarm.Metric, now, cancellationToken);
            foreach (var series in result.Series)
            {
                if (series.Samples.Count > 0 && alarm.Raised(series.Samples[^1].Value))
                {
                    held.Add((alarm.Name, series.Labels));
                }
            }
        }

        var raised = !held.IsSubsetOf(_held);
        _held = held;
        return raised;
    }
}
