using Aida.Observability.Detection;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;

namespace Aida.Observability.Tests.Detection;

public sealed class EquipmentAlarmWatchTests
{
    private static readonly DateTimeOffset Start = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task AnAlarm_IsRaisedOnce_WhenItStartsToHold_AndAgainOnlyAfterItCleared()
    {
        // chiller-1's fault flag: 0 for a minute, 1 for a minute, 0, then 1 again; a NaN reading (a dead sensor) in
        // between holds no alarm. Looked at every 10 s, the watch says "raised" at the two rises and at no other look.
        using var store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var fault = store.GetOrCreateSeries(Labels.Metric("aida_asset_fault", ("asset", "chiller-1")));
        double Flag(int s) => s switch { < 60 => 0, < 120 => 1, < 150 => 0, < 160 => double.NaN, < 180 => 0, _ => 1 };
        for (var s = 0; s <= 240; s += 10)
        {
            store.Append(fault, (Start + TimeSpan.FromSeconds(s)).ToUnixTimeMilliseconds(), Flag(s));
        }

        var watch = new EquipmentAlarmWatch(new EmbeddedQueryEngine(store));
        var raisedAt = new List<int>();
        for (var s = 0; s <= 240; s += 10)
        {
            if (await watch.RaisedSinceLastLookAsync(Start + TimeSpan.FromSeconds(s)))
            {
                raisedAt.Add(s);
            }
        }

        Assert.Equal([60, 180], raisedAt);
    }

    [Fact]
    public async Task ASecondAsset_RaisingTheSameAlarm_IsRaised_WhileTheFirstStillHolds()
    {
        // A leak on h1-a01 that never clears, then one on h1-a02: the second is news though the alarm's name already
        // held; a lost utility feed reads low, not high.
        using var store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var a01 = store.GetOrCreateSeries(Labels.Metric("aida_rack_leak_detected", ("rack", "h1-a01")));
        var a02 = store.GetOrCreateSeries(Labels.Metric("aida_rack_leak_detected", ("rack", "h1-a02")));
        var feed = store.GetOrCreateSeries(Labels.Metric("aida_utility_available", ("asset", "utility-a")));
        for (var s = 0; s <= 60; s += 10)
        {
            var ms = (Start + TimeSpan.FromSeconds(s)).ToUnixTimeMilliseconds();
            store.Append(a01, ms, s >= 10 ? 1 : 0);
            store.Append(a02, ms, s >= 30 ? 1 : 0);
            store.Append(feed, ms, s >= 50 ? 0 : 1);
        }

        var watch = new EquipmentAlarmWatch(new EmbeddedQueryEngine(store));
        var looks = new List<bool>();
        for (var s = 0; s <= 60; s += 10)
        {
            looks.Add(await watch.RaisedSinceLastLookAsync(Start + TimeSpan.FromSeconds(s)));
        }

        Assert.Equal([false, true, false, true, false, true, false], looks);
    }

    [Fact]
    public void TheAlarms_AreTheAlertingsOwn_WithItsBatteryLimit()
    {
        var alarms = EquipmentAlarm.Of(new AlertingOptions { BatteryLowRatio = 0.3 });
        var battery = Assert.Single(alarms, a => a.Name == AlertNames.UpsBatteryLow);
        Assert.True(battery.Raised(0.29));
        Assert.False(battery.Raised(0.31));
        Assert.False(battery.Raised(double.NaN));
        Assert.Contains(alarms, a => a.Name == AlertNames.AssetFault && a.Metric == "aida_asset_fault");
    }
}
