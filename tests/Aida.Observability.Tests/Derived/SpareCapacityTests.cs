using Aida.Observability.Derived;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Observability.Tests.Derived;

public sealed class SpareCapacityTests
{
    // 2025-07-01 in the reference plant: facility water at 300 kg/s from 20 °C, returning at 27 °C but 27.5 °C from
    // 14:00 to 14:30: a peak of 300 x 4,179 x 7.5 = 9.40 MW of heat.
    private static readonly DateTimeOffset Day = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset At = Day.AddHours(20);

    private static Aida.Model.Facility.Factory Reference => Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;

    [Fact]
    public async Task TheStandbyChillerOut_LeavesTwoForAPeakThatNeedsTwo()
    {
        using var store = FacilityWater();

        var reading = await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).WithoutAsync("chiller-3", At);

        Assert.NotNull(reading);
        Assert.Equal((15e6, 10e6, 2, 1, 0, "none_to_spare"), (reading.Capacity, reading.Left, reading.UnitsLeft, reading.SpareNow, reading.SpareWithout, reading.Verdict));
        Assert.Equal(300 * 4179 * 7.5, reading.Peak!.Value, 1e-3);
        Assert.Equal(Day.AddHours(14).AddMinutes(5), reading.PeakAt);
        Assert.Equal(
            "chillers: 10.0 MW left of 15.0 MW without chiller-3, against a peak of 9.4 MW of heat on facility water in the last 24 h (2025-07-01 14:05Z): carried with none to spare (N+1 now, N without it)",
            reading.Describe());
    }

    [Fact]
    public async Task AChillerAlreadyTripped_LeavesTheLockoutShortOfThePeak()
    {
        using var store = FacilityWater(("aida_asset_fault", "chiller-1"));

        var reading = await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).WithoutAsync("chiller-3", At);

        Assert.Equal(["chiller-1 (fault)"], reading!.AlreadyOut);
        Assert.Equal((5e6, 0, -1, "short"), (reading.Left, reading.SpareNow, reading.SpareWithout, reading.Verdict));
        Assert.EndsWith(": 4.4 MW short at that peak (N now, short without it)", reading.Describe(), StringComparison.Ordinal);
        Assert.Contains("without chiller-3 and chiller-1 (fault) already out", reading.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherLockout_TheCallerNames_CountsAsOut_AndTheAssetItselfNever()
    {
        using var store = FacilityWater(("aida_asset_maintenance", "chiller-2"));
        var also = new Dictionary<string, string> { ["chiller-1"] = "locked out", ["chiller-3"] = "locked out", ["cdu-h1-a"] = "locked out" };

        var reading = await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).WithoutAsync("chiller-3", At, also);

        // chiller-3 is the asset judged, and a CDU is not in the chillers' group.
        Assert.Equal(["chiller-1 (locked out)", "chiller-2 (maintenance)"], reading!.AlreadyOut);
        Assert.Equal((0, 0.0, -1, -1), (reading.UnitsLeft, reading.Left, reading.SpareNow, reading.SpareWithout));
    }

    [Fact]
    public async Task TheEconomiser_IsMadeUpByTheChillers()
    {
        using var store = FacilityWater(("aida_asset_fault", "dc-2"), ("aida_asset_fault", "dc-3"), ("aida_asset_fault", "dc-4"));

        var reading = await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).WithoutAsync("dc-1", At);

        // 6 x 2.5 MW rated at 15 K. With three in fault and dc-1 out, two are left: 5 MW at the heat's peak (14:05, the
        // water 15.5 K over the dry bulb: 5.17 MW), 1 MW at 17:05, the water only 3 K over it, for 8.78 MW: the worst.
        Assert.Equal((6, 15e6, 2, -1, "short"), (reading!.Units, reading.Capacity, reading.UnitsLeft, reading.SpareWithout, reading.Verdict));
        Assert.Equal(1e6, reading.Left, 1e-3);
        Assert.Equal(300 * 4179 * 7.0, reading.Peak!.Value, 1e-3);
        Assert.Equal(3.0, reading.Weather!.Difference!.Value, 1e-9);
        Assert.Equal(Day.AddHours(17).AddMinutes(5), reading.PeakAt);
        Assert.Equal(
            "dry coolers: 15.0 MW rated at 15.0 K, 1.0 MW left without dc-1 and dc-2 (fault), dc-3 (fault), dc-4 (fault) already out with facility water's return over the dry bulb at 3.0 K, against 8.78 MW of heat on facility water then, the worst of the last 24 h for them (2025-07-01 17:05Z): 7.78 MW short then, which the chillers make up (short now, short without it)",
            reading.Describe());
    }

    [Fact]
    public async Task TheEconomiser_IsJudgedAtItsWorstWeather_NotAtThePeakHeat()
    {
        // Regression: rated capacity against the day's peak heat said 12.5 MW of dry coolers carry 9.40 MW with dc-1 out
        // (N+1). On the afternoon the water came back 3 K over the dry bulb they reject a fifth of their rating: 2.5 MW
        // for 8.78 MW.
        using var store = FacilityWater();

        var reading = await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).WithoutAsync("dc-1", At);

        Assert.Equal((-1, -1), (reading!.SpareNow, reading.SpareWithout));
        Assert.Equal(2.5e6, reading.Left, 1e-3);
        Assert.Equal(Day.AddHours(17).AddMinutes(5), reading.PeakAt);
        Assert.EndsWith("6.28 MW short then, which the chillers make up (short now, short without it)", reading.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheEconomiser_WithNoDryBulbMeasured_IsNotJudged()
    {
        using var store = FacilityWater(dryBulb: false);

        var reading = await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).WithoutAsync("dc-1", At);
        var now = (await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).NowAsync(At))[1];

        Assert.Equal(("not_measured", (double?)null), (reading!.Verdict, reading.Weather!.Difference));
        Assert.Equal("dry coolers: 15.0 MW rated at 15.0 K, without dc-1; no heat on facility water and facility water's return over the dry bulb together in the last 24 h, so not judged", reading.Describe());
        Assert.Equal(("dry-cooler", (int?)null), (now.Kind, now.Spare));
        Assert.Equal("dry coolers: 15.0 MW rated at 15.0 K; no facility water's return over the dry bulb measured", now.Describe());
    }

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property AnEconomiserUnit_RejectsMoreTheWarmerTheWaterOverTheAmbient_AndItsRatingAtItsRatedDifference(PositiveInt rating, PositiveInt itd, int a, int b)
    {
        var unit = new Aida.Model.Facility.DryCooler("dc", rating.Get % 5000 * 1000.0, 1, 45e3, false, "u", 1.5 + (itd.Get % 30));
        var (low, high) = (Math.Min(a, b) % 50 / 2.0, Math.Max(a, b) % 50 / 2.0);
        (low, high) = (Math.Min(low, high), Math.Max(low, high));
        return (unit.CapacityAt(low) <= unit.CapacityAt(high) && unit.CapacityAt(Math.Min(low, 0)) == 0
            && Math.Abs(unit.CapacityAt(unit.RatedItdCelsius) - unit.CapacityWatts) <= 1e-9 * unit.CapacityWatts).Label($"{low} K, {high} K");
    }

    [Fact]
    public async Task TheUpsPair_ThatFeedsTheSameHalls_IsTheGroup()
    {
        using var store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        Write(store, Labels.Metric("aida_ups_output_power_watts", ("asset", "ups-a")), _ => 4.5e6);
        Write(store, Labels.Metric("aida_ups_output_power_watts", ("asset", "ups-b")), _ => 4.5e6);

        var reading = await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).WithoutAsync("ups-b", At);

        Assert.Equal(("UPSs feeding the same halls", 22e6, 11e6, 9e6, 1, 0), (reading!.Group, reading.Capacity, reading.Left, reading.Peak, reading.SpareNow, reading.SpareWithout));
    }

    [Fact]
    public async Task RedundancyNow_IsEachGroupsNPlusK_AtItsPresentLoad_WithTheUnitsInFaultOut()
    {
        // 20:00: 300 kg/s warmed 7 K, 8.78 MW, the last 5 minutes; chiller-1 in fault: two chillers of 5 MW left, N.
        using var store = FacilityWater(("aida_asset_fault", "chiller-1"));

        var now = await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).NowAsync(At);

        Assert.Equal(
            [("chiller", "site"), ("dry-cooler", "site"), ("cdu", "hall-1"), ("crah", "hall-1"), ("busway", "hall-1"), ("cdu", "hall-2"), ("crah", "hall-2"), ("busway", "hall-2"), ("ups", "ups-a,ups-b"), ("transformer", "tx-a,tx-b")],
            now.Select(r => (r.Kind, r.Scope)));
        var chillers = now[0];
        Assert.Equal(["chiller-1 (fault)"], chillers.Out);
        Assert.Equal((10e6, 0), (chillers.Left, chillers.Spare));
        Assert.Equal(300 * 4179 * 7.0, chillers.Load!.Value, 1e-3);
        // 15 MW of dry coolers, the water 15 K over the dry bulb at 20:00 as they are rated: two of 2.5 MW could fail.
        Assert.Equal(2, now[1].Spare);
        Assert.Equal("dry coolers at N+2: 15.0 MW in service with facility water's return over the dry bulb at 15.0 K (of 15.0 MW rated at 15.0 K) for 8.78 MW of heat on facility water", now[1].Describe());
        Assert.All(now.Skip(2), r => Assert.Null(r.Spare)); // no CDU, rack or UPS telemetry in the store
        Assert.Equal("chillers at N: 10.0 MW in service (of 15.0 MW; chiller-1 (fault) out) for 8.78 MW of heat on facility water", chillers.Describe());

        // chiller-2 locked out as well (a caller's lockouts): one chiller for that heat.
        var locked = (await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).NowAsync(At, new Dictionary<string, string> { ["chiller-2"] = "locked out" }))[0];
        Assert.Equal(-1, locked.Spare);
        Assert.Equal("chillers short: 5.0 MW in service (of 15.0 MW; chiller-1 (fault), chiller-2 (locked out) out) for 8.78 MW of heat on facility water, 3.78 MW not carried", locked.Describe());
    }

    [Fact]
    public async Task NoLoadInTheWindow_IsSaidNotJudged()
    {
        using var store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });

        var reading = await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).WithoutAsync("chiller-1", At);

        Assert.Equal(("not_measured", (int?)null), (reading!.Verdict, reading.SpareWithout));
        Assert.Equal("chillers: 10.0 MW left of 15.0 MW without chiller-1; no heat on facility water measured in the last 24 h, so not judged", reading.Describe());
    }

    [Theory]
    [InlineData("h1-a01")] // a rack: nothing shares its load
    [InlineData("hall-1")]
    [InlineData("gen-a")]
    [InlineData("chiller-9")] // not in the factory
    public async Task AnAssetWithNoGroup_HasNoReading(string asset)
    {
        using var store = FacilityWater();

        Assert.Null(await new SpareCapacity(new EmbeddedQueryEngine(store), Reference).WithoutAsync(asset, At));
    }

    [Fact]
    public async Task OnATwinRun_EveryGroupReadsItsLoad_AndTheLoadsAgree()
    {
        var run = TwinTelemetry.Of("reference", TimeSpan.FromHours(2));
        var capacity = new SpareCapacity(run.Query, run.Factory) { Window = TimeSpan.FromHours(2) };

        var chillers = await capacity.WithoutAsync("chiller-3", run.End);
        var cdus1 = await capacity.WithoutAsync("cdu-h1-a", run.End);
        var cdus2 = await capacity.WithoutAsync("cdu-h2-a", run.End);
        var busways = await capacity.WithoutAsync("bw-h1-a", run.End);
        var crahs = await capacity.WithoutAsync("crah-h1-1", run.End);
        var ups = await capacity.WithoutAsync("ups-a", run.End);
        var tx = await capacity.WithoutAsync("tx-a", run.End);

        Assert.All(new[] { chillers, cdus1, cdus2, busways, crahs, ups, tx }, r => Assert.NotNull(r!.Peak));

        // Facility water carries both halls' coolant heat and their air heat; a hall's coolant carries part of its
        // racks' power; the UPSs carry every rack and the transformers the UPSs.
        Assert.InRange(chillers!.Peak!.Value, 0.95 * Math.Max(cdus1!.Peak!.Value, cdus2!.Peak!.Value) * 2, 1.5 * (cdus1.Peak.Value + cdus2.Peak.Value));
        Assert.InRange(cdus1.Peak.Value, 0.5 * busways!.Peak!.Value, busways.Peak.Value);
        Assert.InRange(ups!.Peak!.Value, busways.Peak.Value, 3 * busways.Peak.Value);
        Assert.True(tx!.Peak > 0.99 * ups.Peak, $"transformers {tx.Peak} under UPSs {ups.Peak}");
        Assert.Equal(("m3/s", 4), (crahs!.Unit, crahs.Units));
    }

    [Property(MaxTest = 500, Replay = "1234567890123456789,987654321987654321")]
    public Property OneUnitOut_CostsAtMostOneUnitOfRedundancy(NonEmptyArray<PositiveInt> ratings, PositiveInt load, NonNegativeInt which)
    {
        var all = ratings.Get.Select(r => (double)(r.Get % 100)).ToList();
        var without = all.Where((_, i) => i != which.Get % all.Count).ToList();
        var now = SpareCapacity.UnitsToSpare(all, load.Get % 300);
        var after = SpareCapacity.UnitsToSpare(without, load.Get % 300);

        // And N+k is what it says: the k largest can fail and the rest carry the load; one more and they do not.
        var sorted = all.OrderDescending().ToList();
        var carried = now < 0 ? all.Sum() < load.Get % 300
            : sorted.Skip(now).Sum() >= load.Get % 300 && (now == all.Count || sorted.Skip(now + 1).Sum() < load.Get % 300);
        return (after <= now && after >= now - 1 && carried).Label($"now {now}, without {after}, ratings [{string.Join(", ", all)}]");
    }

    // The dry bulb: 12 °C (the water 15 K over it, as dry coolers are rated), but 24 °C from 17:00 to 17:30.
    private static Tsdb FacilityWater(params (string Metric, string Asset)[] flagged) => FacilityWater(true, flagged);

    private static Tsdb FacilityWater(bool dryBulb, params (string Metric, string Asset)[] flagged)
    {
        var store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var water = ("asset", "facility-water");
        if (dryBulb)
        {
            Write(store, Labels.Metric("aida_ambient_dry_bulb_celsius"), t => t >= Day.AddHours(17) && t <= Day.AddHours(17.5) ? 24 : 12);
        }

        Write(store, Labels.Metric("aida_facility_water_flow_kg_per_second", water), _ => 300);
        Write(store, Labels.Metric("aida_facility_water_supply_celsius", water), _ => 20);
        Write(store, Labels.Metric("aida_facility_water_return_celsius", water), t => t >= Day.AddHours(14) && t <= Day.AddHours(14.5) ? 27.5 : 27);
        foreach (var (metric, asset) in flagged)
        {
            Write(store, Labels.Metric(metric, ("asset", asset)), _ => 1);
        }

        return store;
    }

    private static void Write(Tsdb store, Labels labels, Func<DateTimeOffset, double> value)
    {
        var id = store.GetOrCreateSeries(labels);
        for (var t = Day; t <= At; t += TimeSpan.FromMinutes(1))
        {
            store.Append(id, t.ToUnixTimeMilliseconds(), value(t));
        }
    }
}
