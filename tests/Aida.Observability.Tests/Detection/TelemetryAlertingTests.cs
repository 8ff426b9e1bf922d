using System.Globalization;
using Aida.Observability.Detection;
using Aida.Telemetry.Query;
using FsCheck;
using FsCheck.Fluent;

namespace Aida.Observability.Tests.Detection;

public sealed class TelemetryAlertingTests
{
    [Fact]
    public async Task CduPumpFailure_AlertsOnThatCdu_WithinAMinute_AndNotBefore()
    {
        var run = TwinTelemetry.Of("faults/cdu-pump-failure", TimeSpan.FromHours(2.5));
        var onset = run.Start + TimeSpan.FromHours(2);

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        Assert.DoesNotContain(alerts, a => a.At < onset);
        var pump = Assert.Single(alerts, a => a.Name == AlertNames.CduPumpFault);
        Assert.Equal("cdu-h1-a", pump.Asset);
        Assert.InRange(pump.At - onset, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Assert.Contains(alerts, a => a.Name == AlertNames.GpuNearSlowdown && run.Factory.Racks.Single(r => r.Id == a.Asset).Cdu == "cdu-h1-a");
        Assert.Equal(alerts.OrderBy(a => a.At).Select(a => a.At), alerts.Select(a => a.At));
    }

    [Fact]
    public async Task CduPumpFailure_RaisesOneAlarmPerGpuOfItsRacks_NamingEachGpu()
    {
        // The storm an operator's DCGM alerting would raise: every GPU of the CDU's 8 racks comes within 4 K of its
        // 87 °C slowdown. The racks of other CDUs stay quiet.
        var run = TwinTelemetry.Of("faults/cdu-pump-failure", TimeSpan.FromHours(2.5));
        var racks = run.Factory.Racks.Where(r => r.Cdu == "cdu-h1-a").Select(r => r.Id).ToHashSet();

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        var gpus = alerts.Where(a => a.Name == AlertNames.GpuTemperatureHigh).ToList();
        Assert.Equal(racks.Count * run.Factory.RackProfile.Gpus, gpus.Select(a => a.Series!.Get("UUID")).Distinct().Count());
        Assert.All(gpus, a =>
        {
            Assert.Contains(a.Asset, racks);
            Assert.Equal(a.Asset, a.Series!.Get("rack"));
            Assert.Equal("DCGM_FI_DEV_GPU_TEMP", a.Series.MetricName);
            Assert.Contains(a.Series.Get("UUID")!, a.Summary, StringComparison.Ordinal);
            Assert.True(a.At >= run.Start + TimeSpan.FromHours(2));
        });
    }

    [Fact]
    public async Task GpuAlarms_AreRaisedOnlyForGpusAboveTheLimit_HeldForTheHold_InRacksWhoseHottestGpuCameNearIt()
    {
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var start = new DateTimeOffset(2025, 7, 1, 2, 0, 0, TimeSpan.Zero);
        Aida.Telemetry.Series.Labels Gpu(string rack, int gpu) =>
            Aida.Telemetry.Series.Labels.Metric("DCGM_FI_DEV_GPU_TEMP", ("UUID", $"GPU-{rack}-{gpu}"), ("gpu", $"{gpu}"), ("rack", rack));
        // h1-a01: GPU 0 at 85 °C from 02:05, GPU 1 at 84 °C for 20 s only (under the 30 s hold), GPU 2 at 70 °C.
        // h1-a02: its GPU 0 reads 85 °C but its rack's hottest-GPU series says 70 °C: the rack is not read.
        var series = new (Aida.Telemetry.Series.Labels Labels, Func<TimeSpan, double> Value)[]
        {
            (Aida.Telemetry.Series.Labels.Metric("aida_rack_gpu_max_temperature_celsius", ("rack", "h1-a01")), t => t >= TimeSpan.FromMinutes(5) ? 85 : 70),
            (Aida.Telemetry.Series.Labels.Metric("aida_rack_gpu_max_temperature_celsius", ("rack", "h1-a02")), _ => 70),
            (Gpu("h1-a01", 0), t => t >= TimeSpan.FromMinutes(5) ? 85 : 70),
            (Gpu("h1-a01", 1), t => t >= TimeSpan.FromMinutes(5) && t < TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(20) ? 84 : 70),
            (Gpu("h1-a01", 2), _ => 70),
            (Gpu("h1-a02", 0), _ => 85),
        };
        foreach (var (labels, value) in series)
        {
            var id = store.GetOrCreateSeries(labels);
            for (var t = TimeSpan.Zero; t <= TimeSpan.FromMinutes(10); t += TimeSpan.FromSeconds(10))
            {
                store.Append(id, (start + t).ToUnixTimeMilliseconds(), value(t));
            }
        }

        var alerts = await new TelemetryAlerting(new EmbeddedQueryEngine(store), factory).DetectAsync(start, start + TimeSpan.FromMinutes(10));

        var gpu = Assert.Single(alerts, a => a.Name == AlertNames.GpuTemperatureHigh);
        Assert.Equal(("h1-a01", "GPU-h1-a01-0", start + TimeSpan.FromMinutes(5.5)), (gpu.Asset, gpu.Series!.Get("UUID"), gpu.At));
        Assert.Equal("critical", gpu.Severity);
    }

    [Fact]
    public async Task ReadingsStoppedByTheirDeviceGoingDown_AreOneCollectorDown_NotASensorDropoutEach()
    {
        // Over the network: h1-a01's inlet stops at 02:02 because its chassis stops answering (aida_collector_up 0), and
        // h1-a02's stops while its chassis answers (the sensor itself). Regression: with the twin's whole site stopped,
        // aida run --plant network opened nine "sensor dropout" incidents whose runbooks said to replace the sensors.
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var at = new DateTimeOffset(2025, 7, 1, 2, 0, 0, TimeSpan.Zero);
        var stop = at + TimeSpan.FromMinutes(2);
        var inlets = new[] { "h1-a01", "h1-a02" }.ToDictionary(r => r, r => Aida.Telemetry.Series.Labels.Metric("aida_rack_inlet_celsius", ("asset", r), ("rack", r)));
        var up = new[] { "chassis-a01", "chassis-a02" }.ToDictionary(d => d, d => Aida.Telemetry.Series.Labels.Metric("aida_collector_up", ("collector", "redfish"), ("device", d)));
        for (var t = at - TimeSpan.FromMinutes(40); t <= at + TimeSpan.FromMinutes(10); t += TimeSpan.FromSeconds(10))
        {
            var ms = t.ToUnixTimeMilliseconds();
            if (t < stop)
            {
                foreach (var labels in inlets.Values)
                {
                    store.Append(store.GetOrCreateSeries(labels), ms, 23 + (0.1 * (ms / 10_000 % 7)));
                }
            }

            store.Append(store.GetOrCreateSeries(up["chassis-a01"]), ms, t < stop ? 1 : 0);
            store.Append(store.GetOrCreateSeries(up["chassis-a02"]), ms, 1);
        }

        (string, string)? Source(Aida.Telemetry.Series.Labels series) =>
            series.Equals(inlets["h1-a01"]) ? ("redfish", "chassis-a01") : series.Equals(inlets["h1-a02"]) ? ("redfish", "chassis-a02") : null;
        var engine = new EmbeddedQueryEngine(store);
        var withSources = await new TelemetryAlerting(engine, factory, new AlertingOptions { ReadingSource = Source }).DetectAsync(at, at + TimeSpan.FromMinutes(10));
        var without = await new TelemetryAlerting(engine, factory).DetectAsync(at, at + TimeSpan.FromMinutes(10));

        Assert.Equal(["h1-a02"], withSources.Where(a => a.Name == AlertNames.SensorDropout).Select(a => a.Asset));
        Assert.Equal(["h1-a01", "h1-a02"], without.Where(a => a.Name == AlertNames.SensorDropout).Select(a => a.Asset).Order());
        foreach (var alerts in new[] { withSources, without })
        {
            var down = Assert.Single(alerts, a => a.Name == AlertNames.CollectorDown);
            Assert.Equal((AlertNames.TelemetryAsset, stop + TimeSpan.FromSeconds(30), "chassis-a01"), (down.Asset, down.At, down.Series!.Get("device")));
            Assert.StartsWith("redfish device chassis-a01 down since 02:02:00", down.Summary, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AConditionThatBeganBeforeTheWatch_AlertsAtItsFirstReadingAfterIt_OnlyWhenTheWatchStartIsGiven()
    {
        // An agent restarted on the store of its earlier run: h1-a01's leak sensor has read wet since an hour before the
        // restart. Edge-triggered over the history, it is no new alert; from the watch's start it is (and must be, or the
        // restarted agent never answers it). h1-a02's leak, starting after the restart, alerts the same either way.
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var restart = new DateTimeOffset(2025, 7, 1, 2, 0, 0, TimeSpan.Zero);
        var a01 = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_rack_leak_detected", ("rack", "h1-a01")));
        var a02 = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_rack_leak_detected", ("rack", "h1-a02")));
        for (var t = restart - TimeSpan.FromHours(1); t <= restart + TimeSpan.FromMinutes(10); t += TimeSpan.FromSeconds(10))
        {
            var ms = t.ToUnixTimeMilliseconds();
            store.Append(a01, ms, 1);
            store.Append(a02, ms, t >= restart + TimeSpan.FromMinutes(5) ? 1 : 0);
        }

        var engine = new EmbeddedQueryEngine(store);
        var history = await new TelemetryAlerting(engine, factory).DetectAsync(restart, restart + TimeSpan.FromMinutes(10));
        var watched = await new TelemetryAlerting(engine, factory, new AlertingOptions { WatchStart = restart }).DetectAsync(restart, restart + TimeSpan.FromMinutes(10));

        Assert.Equal(["h1-a02"], history.Where(a => a.Name == AlertNames.LeakDetected).Select(a => a.Asset));
        var leaks = watched.Where(a => a.Name == AlertNames.LeakDetected).ToList();
        Assert.Equal(["h1-a01", "h1-a02"], leaks.Select(a => a.Asset));
        Assert.Equal(restart + TimeSpan.FromSeconds(10), leaks[0].At);
        Assert.Equal(restart + TimeSpan.FromMinutes(5), leaks[1].At);
    }

    [Theory]
    [InlineData(1.0, false)]
    [InlineData(0.6, true)]
    public async Task ACduSupplyAboveItsSetpoint_IsNoAlert_WhileItsValveIsFullyOpen(double valve, bool expectAlert)
    {
        // Regression (faults week, agent mode, seed 1): the optimiser raised the facility water to 21.5 °C and left the
        // CDU setpoints at 20.5 °C (it never raises them: the CDUs then run with their valves open). The supplies, at
        // the water plus the approach, read 23.6 °C, more than 3 K above the setpoints, and four healthy valves were
        // called stuck: their jobs moved, their GPUs capped, then held for 38 h. A fully open valve is doing all it
        // can; a valve short of open that lets the supply run 3 K over is still alerted.
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        Aida.Telemetry.Series.Labels L(string name) => Aida.Telemetry.Series.Labels.Metric(name, ("asset", "cdu-h1-d"));
        var supply = store.GetOrCreateSeries(L("aida_cdu_supply_celsius"));
        var setpoint = store.GetOrCreateSeries(L("aida_setpoint_celsius"));
        var position = store.GetOrCreateSeries(L("aida_cdu_valve_ratio"));
        for (var s = 0; s <= 3600; s += 10)
        {
            var ms = start.AddSeconds(s).ToUnixTimeMilliseconds();
            var warm = s >= 1800;
            store.Append(supply, ms, warm ? 23.6 : 20.6);
            store.Append(setpoint, ms, 20.5);
            store.Append(position, ms, warm ? valve : 0.7);
        }

        var alerts = await new TelemetryAlerting(new EmbeddedQueryEngine(store), factory).DetectAsync(start + TimeSpan.FromMinutes(10), start + TimeSpan.FromHours(1));

        Assert.Equal(expectAlert, alerts.Any(a => a.Name == AlertNames.CduSupplyOffSetpoint && a.Asset == "cdu-h1-d"));
    }

    [Theory]
    [InlineData(26.2, 1.0, true)] // 1.2 K above, every valve open: named
    [InlineData(23.8, 1.0, true)] // 1.2 K below: named too
    [InlineData(25.8, 1.0, false)] // 0.8 K: within the approach the loads can explain
    [InlineData(26.2, 0.9, false)] // its valve modulating: a supply held at its setpoint says nothing of its sensor
    public async Task ACduSupplyApartFromItsHallsOthers_WithEveryValveFullyOpen_IsNamed(double own, double ownValve, bool named)
    {
        // Hall 1's five CDUs read 24.9-25.1 °C with their valves fully open (faults/sensor-drift before the drift: within
        // 0.23 K under their different loads); cdu-h1-a reads `own`, its valve at `ownValve`.
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var start = new DateTimeOffset(2025, 7, 1, 2, 0, 0, TimeSpan.Zero);
        var others = new Dictionary<string, double> { ["cdu-h1-b"] = 25.0, ["cdu-h1-c"] = 24.9, ["cdu-h1-d"] = 25.1, ["cdu-h1-e"] = 25.0 };
        foreach (var (cdu, supply, valve) in others.Select(kv => (kv.Key, kv.Value, 1.0)).Append(("cdu-h1-a", own, ownValve)))
        {
            Aida.Telemetry.Series.Labels L(string name) => Aida.Telemetry.Series.Labels.Metric(name, ("asset", cdu), ("hall", "hall-1"));
            var s = store.GetOrCreateSeries(L("aida_cdu_supply_celsius"));
            var v = store.GetOrCreateSeries(L("aida_cdu_valve_ratio"));
            for (var t = 0; t <= 600; t += 10)
            {
                store.Append(s, start.AddSeconds(t).ToUnixTimeMilliseconds(), supply);
                store.Append(v, start.AddSeconds(t).ToUnixTimeMilliseconds(), valve);
            }
        }

        var alerting = new TelemetryAlerting(new EmbeddedQueryEngine(store), factory);
        var apart = await alerting.SupplyApartFromPeersAsync("cdu-h1-a", start + TimeSpan.FromMinutes(10));

        Assert.Equal(named, apart is not null);
        if (apart is { } a)
        {
            Assert.Equal(Aida.Telemetry.Series.Labels.Metric("aida_cdu_supply_celsius", ("asset", "cdu-h1-a"), ("hall", "hall-1")), a.Series);
            Assert.Contains($"1.2 K {(own > 25 ? "above" : "below")} the median of hall-1's other CDUs (25.0 °C", a.Evidence, StringComparison.Ordinal);
        }

        // A peer of it is never named for it, nor a CDU of a hall with too few reporting.
        Assert.Null(await alerting.SupplyApartFromPeersAsync("cdu-h1-b", start + TimeSpan.FromMinutes(10)));
        Assert.Null(await alerting.SupplyApartFromPeersAsync("cdu-h2-a", start + TimeSpan.FromMinutes(10)));
    }

    [Fact]
    public async Task SuccessiveWindows_GiveTheAlertsOfOneWindow()
    {
        var run = TwinTelemetry.Of("faults/cdu-pump-failure", TimeSpan.FromHours(2.5));
        var alerting = new TelemetryAlerting(run.Query, run.Factory);
        var from = run.Start + TimeSpan.FromMinutes(30);

        var whole = await alerting.DetectAsync(from, run.End);
        var pieces = new List<Aida.Observability.Incidents.Alert>();
        for (var t = from; t < run.End; t += TimeSpan.FromMinutes(30))
        {
            pieces.AddRange(await alerting.DetectAsync(t, t + TimeSpan.FromMinutes(30)));
        }

        Assert.Equal(whole.Select(a => (a.Name, a.Asset, a.At)), pieces.Select(a => (a.Name, a.Asset, a.At)));
    }

    /// <summary>The run's alerts from 30 min on, detected 10 min at a time by one <see cref="TelemetryAlerting"/>, as the
    /// live pipeline steps.</summary>
    private static async Task<List<Aida.Observability.Incidents.Alert>> SteppedAsLiveAsync(TwinTelemetry run)
    {
        var alerting = new TelemetryAlerting(run.Query, run.Factory);
        var alerts = new List<Aida.Observability.Incidents.Alert>();
        for (var t = run.Start + TimeSpan.FromMinutes(30); t < run.End; t += TimeSpan.FromMinutes(10))
        {
            alerts.AddRange(await alerting.DetectAsync(t, t + TimeSpan.FromMinutes(10)));
        }

        return alerts;
    }

    [Fact]
    public async Task AReadingFoundStuck_IsNotJudgedOnItsCdusEnergyBalance_WhileStuck_NorAfterItThaws()
    {
        // sensor-stuck: cdu-h2-a's return reading freezes at 02:00 for 6 h while hall 2's inference load swings. Stepped
        // as the live pipeline steps (10 min at a time, each judged over the 2 h before it), the frozen reading made the
        // balance's reference of every later window, and the swinging load took the residual off it again and again: on
        // the faults week four more incidents on cdu-h2-a named a drifting sensor, the last one 7 min after the thaw.
        var run = TwinTelemetry.Of("faults/sensor-stuck", TimeSpan.FromHours(9.5));
        var alerts = await SteppedAsLiveAsync(run);

        var onCdu = alerts.Where(a => a.Asset == "cdu-h2-a").ToList();
        Assert.Contains(onCdu, a => a.Name == AlertNames.SensorStuck && a.At < run.Start + TimeSpan.FromHours(2.1));
        Assert.DoesNotContain(onCdu, a => a.Name == AlertNames.EnergyBalance);
    }

    [Fact]
    public async Task AReadingThatGoesOnScattering_IsStillFoundScattering_WhenTheNoiseFillsTheLookback()
    {
        // sensor-noise: h2-b04's inlet scatters by 3 K from 02:00 to 08:00. Stepped as the agent steps (here 10 min at a
        // time, each window judged against the 2 h before it), the alerts stopped at 03:14: the noise had become the
        // reading's usual level. Held at the level that found it, the scatter is found in every hour it lasts, and the
        // level is let go once the lookback is quiet again: an hour after the noise ends, no alert.
        var run = TwinTelemetry.Of("faults/sensor-noise", TimeSpan.FromHours(11));
        var alerts = await SteppedAsLiveAsync(run);

        var noise = alerts.Where(a => a.Name == AlertNames.SensorNoise && a.Asset == "h2-b04").Select(a => a.At - run.Start).ToList();
        Assert.All(Enumerable.Range(2, 6), hour => Assert.Contains(noise, at => at >= TimeSpan.FromHours(hour) && at < TimeSpan.FromHours(hour + 1)));
        Assert.DoesNotContain(noise, at => at < TimeSpan.FromHours(2) || at >= TimeSpan.FromHours(9));
    }

    /// <summary>Steps detection as the live pipeline does and asks at each step whether <paramref name="alert"/>'s reading
    /// on <paramref name="asset"/> is still lying over the 30 min before it: each step's time (from the run's start) and
    /// the answer.</summary>
    private static async Task<List<(TimeSpan At, string? Why)>> StillLyingAsLiveAsync(TwinTelemetry run, string alert, string asset)
    {
        var alerting = new TelemetryAlerting(run.Query, run.Factory);
        Aida.Telemetry.Series.Labels? series = null;
        var verdicts = new List<(TimeSpan, string?)>();
        for (var t = run.Start + TimeSpan.FromMinutes(30); t < run.End; t += TimeSpan.FromMinutes(10))
        {
            var alerts = await alerting.DetectAsync(t, t + TimeSpan.FromMinutes(10));
            series ??= alerts.FirstOrDefault(a => a.Name == alert && a.Asset == asset)?.Series;
            if (series is not null)
            {
                var now = t + TimeSpan.FromMinutes(10);
                verdicts.Add((now - run.Start, await alerting.StillLyingAsync(series, now - TimeSpan.FromMinutes(30), now)));
            }
        }

        return verdicts;
    }

    [Fact]
    public async Task AScatteringReading_IsStillLying_UntilTheScatterIsGoneFromTheLookback()
    {
        // sensor-noise: h2-b04's inlet scatters by 3 K from 02:00 to 08:00. Half an hour of clean readings after 08:00 is
        // not enough: the level that found the scatter is held until the lookback is back near it (an hour or so).
        var run = TwinTelemetry.Of("faults/sensor-noise", TimeSpan.FromHours(11));
        var verdicts = await StillLyingAsLiveAsync(run, AlertNames.SensorNoise, "h2-b04");

        Assert.Equal(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(10), verdicts[0].At);
        Assert.All(verdicts.Where(v => v.At <= TimeSpan.FromHours(8.5)), v => Assert.NotNull(v.Why));
        Assert.Contains("usual scatter", verdicts.Single(v => v.At == TimeSpan.FromHours(8.5)).Why, StringComparison.Ordinal);
        Assert.All(verdicts.Where(v => v.At >= TimeSpan.FromHours(10)), v => Assert.Null(v.Why));
    }

    [Fact]
    public async Task AFrozenReading_IsStillLying_UntilItHasMovedForTheWholeWindow()
    {
        // sensor-stuck: cdu-h2-a's return freezes from 02:00 to 08:00. Alerted once; its own frozen run keeps it lying
        // until a window holds none.
        var run = TwinTelemetry.Of("faults/sensor-stuck", TimeSpan.FromHours(9.5));
        var verdicts = await StillLyingAsLiveAsync(run, AlertNames.SensorStuck, "cdu-h2-a");

        Assert.All(verdicts.Where(v => v.At <= TimeSpan.FromHours(8)), v => Assert.StartsWith("stuck at", v.Why, StringComparison.Ordinal));
        Assert.NotNull(verdicts.Single(v => v.At == TimeSpan.FromHours(8) + TimeSpan.FromMinutes(20)).Why);
        Assert.All(verdicts.Where(v => v.At >= TimeSpan.FromHours(8.5)), v => Assert.Null(v.Why));
    }

    [Fact]
    public async Task AMissingReading_IsStillLying_UntilItHasReportedForTheWholeWindow()
    {
        // sensor-dropout: cdu-h2-c's supply reports nothing from 02:00 to 05:00.
        var run = TwinTelemetry.Of("faults/sensor-dropout", TimeSpan.FromHours(6));
        var verdicts = await StillLyingAsLiveAsync(run, AlertNames.SensorDropout, "cdu-h2-c");

        Assert.NotEmpty(verdicts);
        Assert.All(verdicts.Where(v => v.At <= TimeSpan.FromHours(5) + TimeSpan.FromMinutes(20)), v => Assert.NotNull(v.Why));
        Assert.All(verdicts.Where(v => v.At >= TimeSpan.FromHours(5.5)), v => Assert.Null(v.Why));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task DryCoolersFouling_AreFoundByTheirConductancePerFanSpeed_WithinHalfAnHour_AndNotBefore(int seed)
    {
        // March, the digital operator: the economiser holds the setpoint, its fans slowing, so heat per kelvin alone would
        // not show the fouling. The evaluation's seeds 1-3: found after 21, 26 and 27 min on 10 min means. Regression: on
        // 5 min means seed 3 took 53 min (the ambient reading's noise, 0.2 K every 30 s, doubled its reference's spread);
        // the former 0.5 % floor, slack 2 and 15 scale-minutes took 52 min on the scenario's own seed.
        var run = TwinTelemetry.Of("faults/dry-cooler-fouling", TimeSpan.FromHours(2.5), Aida.Twin.Simulation.OperatingMode.Digital, seed);
        var onset = run.Start + TimeSpan.FromHours(1);

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        var first = alerts.First(a => a.Name == AlertNames.EconomiserDegraded);
        Assert.InRange(first.At - onset, TimeSpan.Zero, TimeSpan.FromMinutes(30));
        Assert.DoesNotContain(alerts, a => a.At < onset);
    }

    [Fact]
    public async Task CoolingTowersScaling_AreFoundByTheirConductanceOverTheWetBulb_WithinAnHour_AndNotBefore()
    {
        // March on the evaporative plant, the digital operator: every tower scales at 50 % of its approach a day from
        // 01:00. The wet bulb's reading (0.3 K of noise every 30 s) makes the towers' ratio noisier than the dry
        // coolers', so this takes longer than their 30 min: 47-57 min on seeds 1-3 (docs/evaluation.md).
        var run = TwinTelemetry.Of("faults/cooling-tower-fouling", TimeSpan.FromHours(2.5), Aida.Twin.Simulation.OperatingMode.Digital, 1);
        var onset = run.Start + TimeSpan.FromHours(1);

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        var first = alerts.First(a => a.Name == AlertNames.EconomiserDegraded);
        Assert.InRange(first.At - onset, TimeSpan.Zero, TimeSpan.FromMinutes(60));
        Assert.DoesNotContain(alerts, a => a.At < onset);
        Assert.StartsWith("ct-", first.Asset, StringComparison.Ordinal);
        Assert.Contains("wet bulb", first.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task CoolingTowers_AreJudgedOnlyWhileNoChillerRuns(bool chillerRuns, bool fouls)
    {
        // A tower's fans carry the water-cooled chillers' condenser heat too (evaporator heat plus compressor power), a
        // share telemetry cannot tell apart well enough (the loop's balance missed its own cooling as the setpoint moved:
        // five false alerts a day under the agent). From 02:00 to 03:00 a chiller takes 1.5 MW and draws 250 kW: the
        // towers' fans speed up by that share of their rating, and their heat per kelvin per fan speed reads 41 % worse.
        // Not judged then; a real 5 % loss of conductance from 02:00 is found once the chiller has stopped, or at once
        // with none running.
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference-tower").Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var start = new DateTimeOffset(2025, 3, 10, 0, 0, 0, TimeSpan.Zero);
        Aida.Telemetry.Series.Labels L(string name, string asset) => Aida.Telemetry.Series.Labels.Metric(name, ("asset", asset));
        var heat = store.GetOrCreateSeries(L("aida_economiser_heat_watts", "economiser"));
        var fans = store.GetOrCreateSeries(L("aida_cooling_tower_fan_power_watts", "ct-1"));
        var ret = store.GetOrCreateSeries(L("aida_facility_water_return_celsius", "facility-water"));
        var wet = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_ambient_wet_bulb_celsius"));
        var enabled = store.GetOrCreateSeries(L("aida_economiser_enabled", "economiser"));
        var compressor = store.GetOrCreateSeries(L("aida_chiller_power_watts", "chiller-1"));
        var rack = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_rack_power_watts", ("rack", "h1-a01")));
        var rated = factory.Cooling.CoolingTowers.Sum(t => t.CapacityWatts);
        var design = factory.Cooling.CoolingTowers.Sum(t => t.FanPowerWatts);
        const double q = 7e6, tr = 28, tw = 10;
        for (var s = 0; s <= 5 * 3600; s += 10)
        {
            var running = chillerRuns && s >= 2 * 3600 && s < 3 * 3600;
            var (evaporator, power) = running ? (1.5e6, 2.5e5) : (0.0, 0.0);
            // The economiser's share of the fans: its heat over the towers' capacity at this wet bulb (rated at 11 K).
            var economiser = q / (rated * (tr - tw) / 11) * (fouls && s >= 2 * 3600 ? 1.05 : 1);
            var speed = economiser + ((evaporator + power) / rated);
            var ms = start.AddSeconds(s).ToUnixTimeMilliseconds();
            store.Append(heat, ms, q);
            store.Append(fans, ms, design * speed * speed * speed);
            store.Append(ret, ms, tr);
            store.Append(wet, ms, tw);
            store.Append(enabled, ms, 1);
            store.Append(compressor, ms, power);
            store.Append(rack, ms, 100_000);
        }

        var alerts = await new TelemetryAlerting(new EmbeddedQueryEngine(store), factory).DetectAsync(start + TimeSpan.FromMinutes(30), start + TimeSpan.FromHours(5));

        var fouled = alerts.Where(a => a.Name == AlertNames.EconomiserDegraded).ToList();
        Assert.Equal(fouls, fouled.Count > 0);
        Assert.All(fouled, a => Assert.True(a.At >= start + TimeSpan.FromHours(chillerRuns ? 3 : 2), $"fired at {a.At:HH:mm} with the chiller running"));
    }

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(false, false, true)]
    [InlineData(false, true, false)]
    public async Task EconomiserHeatDip_IsFouling_OnlyWhenTheLoopFlowAndTheItLoadHeld(bool flowSteps, bool loadDips, bool expectAlert)
    {
        // Regression (faults week, agent mode): the optimiser stepped the facility pumps 0.4 -> 0.5 and back; for three
        // minutes the economiser's heat fell while its fans and the return held, the 5 min means' ratio jumped about
        // 10 %, and the dry coolers were called fouled (five false incidents in the first six hours). Likewise a training
        // checkpoint's IT load dip (session 7: the return cooled and the heat fell faster than its 5 min mean). The same
        // dip with the loop's flow and the IT load steady still fires: only a flow step or a load dip excuses it.
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        Aida.Telemetry.Series.Labels L(string name) => Aida.Telemetry.Series.Labels.Metric(name, ("asset", "x"));
        var series = new[] { "aida_economiser_heat_watts", "aida_dry_cooler_fan_power_watts", "aida_facility_water_return_celsius", "aida_ambient_dry_bulb_celsius", "aida_economiser_enabled", "aida_facility_water_flow_kg_per_second" }
            .Select(n => store.GetOrCreateSeries(L(n))).ToArray();
        var rack = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_rack_power_watts", ("rack", "h1-a01")));
        var dipFrom = TimeSpan.FromHours(2);
        for (var s = 0; s <= 3 * 3600; s += 10)
        {
            var t = start.AddSeconds(s);
            var dip = t - start >= dipFrom && t - start < dipFrom + TimeSpan.FromMinutes(3);
            var ms = t.ToUnixTimeMilliseconds();
            store.Append(series[0], ms, dip ? 2.8e6 : 3.5e6);
            store.Append(series[1], ms, 3700);
            store.Append(series[2], ms, 34);
            store.Append(series[3], ms, 19.5);
            store.Append(series[4], ms, 1);
            store.Append(series[5], ms, dip && flowSteps ? 160 : 128);
            store.Append(rack, ms, dip && loadDips ? 20_000 : 100_000);
        }

        var alerts = await new TelemetryAlerting(new EmbeddedQueryEngine(store), factory).DetectAsync(start + TimeSpan.FromMinutes(30), start + TimeSpan.FromHours(3));

        Assert.Equal(expectAlert, alerts.Any(a => a.Name == AlertNames.EconomiserDegraded));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    public async Task DryCoolersOnAWarmingJulyMorning_AreCalledFouledOnlyWhenTheyFoul(double foulingPerDay)
    {
        // Regression (faults week, agent, session 23: 3 false alerts on seed 1, 1 on seed 2): as a July morning warms, the
        // temperature difference the check divides by narrows from 12.5 to 9.5 K, so the outdoor sensor's noise (0.2 K
        // every 30 s, to 0.1 K) is a third larger relative to it than at night, and the economiser's fans slow to 0.4,
        // where their power read to 10 W is a coarse speed. Judged at the March days' scale, clean coolers were called
        // fouled on 4 of these 12 noise seeds even through the drives' speed (session 24).
        // Clean, none of the 12 may fire; fouled at the fault scenario's rate (the approach +50 %/day from 05:00), each
        // must be found within 90 min (29-78 min here).
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        var start = new DateTimeOffset(2025, 7, 2, 4, 0, 0, TimeSpan.Zero);
        var found = new List<(int Seed, DateTimeOffset? At)>();
        for (var seed = 1; seed <= 12; seed++)
        {
            var alerts = await DetectOnAJulyMorning(factory, start, seed, foulingPerDay);
            found.Add((seed, alerts.FirstOrDefault(a => a.Name == AlertNames.EconomiserDegraded)?.At));
        }

        var onset = start.AddHours(1);
        var said = string.Join("; ", found.Select(f => $"seed {f.Seed}: {f.At?.ToString("HH:mm", CultureInfo.InvariantCulture) ?? "none"}"));
        Assert.True(foulingPerDay == 0 ? found.All(f => f.At is null) : found.All(f => f.At > onset && f.At < onset.AddMinutes(90)), said);
    }

    private static async Task<IReadOnlyList<Aida.Observability.Incidents.Alert>> DetectOnAJulyMorning(Aida.Model.Facility.Factory factory, DateTimeOffset start, int seed, double foulingPerDay)
    {
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        Aida.Telemetry.Series.Labels L(string name, string asset) => Aida.Telemetry.Series.Labels.Metric(name, ("asset", asset));
        var heat = store.GetOrCreateSeries(L("aida_economiser_heat_watts", "economiser"));
        var units = factory.Cooling.DryCoolers.Select(d => (Power: store.GetOrCreateSeries(L("aida_dry_cooler_fan_power_watts", d.Id)),
            Speed: store.GetOrCreateSeries(L("aida_speed_ratio", d.Id)), d.FanPowerWatts)).ToList();
        var ret = store.GetOrCreateSeries(L("aida_facility_water_return_celsius", "facility-water"));
        var dry = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_ambient_dry_bulb_celsius"));
        var enabled = store.GetOrCreateSeries(L("aida_economiser_enabled", "economiser"));
        var flow = store.GetOrCreateSeries(L("aida_facility_water_flow_kg_per_second", "facility-water"));
        var rack = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_rack_power_watts", ("rack", "h1-a01")));
        const double tr = 33.5, k = 0.9 / (2.5e6 / (tr - 21)); // fan speed per (heat per kelvin): the clean coolers' constant
        var noise = new Random(seed);
        var reading = 21.0;
        for (var s = 0; s <= 4 * 3600; s += 10)
        {
            // An hour at 2.5 MW and 21 °C, then 45 min of the morning: the heat falls to 0.8 MW as the air warms to 24 °C.
            // Fouling raises the fan speed the same heat and difference need (first order: the approach's rise).
            var x = Math.Clamp((s - 3600) / 2700.0, 0, 1);
            var (q, tdb) = (2.5e6 - (1.7e6 * x), 21 + (3 * x));
            var speed = Math.Min(1, k * q / (tr - tdb) * (1 + (foulingPerDay * Math.Max(0, s - 3600) / 86400)));
            var ms = start.AddSeconds(s).ToUnixTimeMilliseconds();
            store.Append(heat, ms, q);
            foreach (var (power, speedSeries, design) in units)
            {
                store.Append(power, ms, Math.Round(design * speed * speed * speed / 10) * 10);
                store.Append(speedSeries, ms, Math.Round(speed, 3));
            }

            // The outdoor sensor as the twin reads it: 0.2 K of noise every 30 s, to 0.1 K.
            if (s % 30 == 0)
            {
                reading = Math.Round((tdb + (0.2 * Math.Sqrt(-2 * Math.Log(1 - noise.NextDouble())) * Math.Cos(2 * Math.PI * noise.NextDouble()))) * 10) / 10;
            }

            store.Append(ret, ms, tr);
            store.Append(dry, ms, reading);
            store.Append(enabled, ms, 1);
            store.Append(flow, ms, 128);
            store.Append(rack, ms, 100_000);
        }

        return await new TelemetryAlerting(new EmbeddedQueryEngine(store), factory).DetectAsync(start + TimeSpan.FromMinutes(30), start + TimeSpan.FromHours(4));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData(43.6, false)]
    [InlineData(39.0, true)]
    public async Task OutdoorAbove_TheSitesDesignDryBulb_IsAmbientHigh(double? design, bool expectAlert)
    {
        // Regression (faults week on the tower plant in Phoenix, seed 1: 19 of 38 incidents were AmbientHigh at the fixed
        // 35 °C of northern Virginia; Phoenix's EPW gives a 0.4 % cooling dry bulb of 43.6 °C). A morning warming from 30
        // to 41 °C: above the default design day and a 39 °C site, within a 43.6 °C one.
        var reference = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        var factory = reference with { Site = reference.Site with { DesignDryBulbCelsius = design, DesignDryBulbSource = design is null ? "" : "test" } };
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var start = new DateTimeOffset(2025, 7, 1, 12, 0, 0, TimeSpan.Zero);
        var ambient = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_ambient_dry_bulb_celsius", ("site", factory.Site.Name)));
        for (var s = 0; s <= 2 * 3600; s += 30)
        {
            store.Append(ambient, start.AddSeconds(s).ToUnixTimeMilliseconds(), 30 + (11.0 * Math.Clamp((s - 2700) / 3600.0, 0, 1)));
        }

        var alerts = await new TelemetryAlerting(new EmbeddedQueryEngine(store), factory).DetectAsync(start + TimeSpan.FromMinutes(30), start + TimeSpan.FromHours(2));

        var high = alerts.Where(a => a.Name == AlertNames.AmbientHigh).ToList();
        Assert.Equal(expectAlert, high.Count > 0);
        Assert.All(high, a => Assert.Contains(F($"{design ?? 35:0.0} °C design dry bulb"), a.Summary, StringComparison.Ordinal));
    }

    private static string F(FormattableString s) => s.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task ColdPlatesFouling_AreFoundAtSteadyLoad_OnTheirCdu_WithinHalfAnHour_AndNotBefore()
    {
        // cdu-h1-b's cold plates foul at 60 % a day from 01:00: its racks' rise per kW over their coolant grows about 1 %
        // in 30 min, against the other CDUs of the training hall, each levelled to its own start (found after 23-27 min
        // with the evaluation's seeds 1-3; 25-50 min against the peers' raw median).
        var run = TwinTelemetry.Of("faults/cold-plate-fouling", TimeSpan.FromHours(2), Aida.Twin.Simulation.OperatingMode.Digital);
        var onset = run.Start + TimeSpan.FromHours(1);

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        var first = Assert.Single(alerts, a => a.Name == AlertNames.ColdPlateDrift);
        Assert.Equal("cdu-h1-b", first.Asset);
        Assert.InRange(first.At - onset, TimeSpan.Zero, TimeSpan.FromMinutes(30));
        Assert.DoesNotContain(alerts, a => a.At < onset);
        // What it is derived from, so an alert a lying CDU supply raised can be told as such (the agent attaches it).
        Assert.Equal(["aida_rack_gpu_max_temperature_celsius", "aida_rack_power_watts", "aida_cdu_supply_celsius"], first.Reads);
    }

    [Fact]
    public async Task AnEnergyBalanceAlert_NamesTheReadingsItIsDerivedFrom()
    {
        // sensor-drift: cdu-h1-a's supply reading drifts 2 K/h from 02:00. The balance finds it, naming no reading on its
        // own; the alert says which readings it reads, so the agent can tell an incident a lying one raised.
        var run = TwinTelemetry.Of("faults/sensor-drift", TimeSpan.FromHours(4));
        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        var balance = alerts.First(a => a.Name == AlertNames.EnergyBalance && a.Asset == "cdu-h1-a");
        Assert.Subset(new HashSet<string>(balance.Reads), new HashSet<string> { "aida_cdu_supply_celsius", "aida_cdu_return_celsius", "aida_cdu_flow_kg_per_second" });
    }

    [Fact]
    public async Task ASupplyLeavingItsSetpoint_WhileItsCdusBalanceIsStillOut_BringsTheBalanceAlertAgain_AStuckValveDoesNot()
    {
        // Regression: on faults/sensor-drift (cdu-h1-a's supply reading drifting 2 K/h from 02:00) stepped as the agent
        // steps, the balance alerted at 02:26 and 03:11, and the supply read 3 K over its setpoint at 03:31 with its
        // valve short of fully open: alone in a new incident, the look of a stuck valve, and the agent ran that runbook on
        // a healthy valve. The balance, still out then, is alerted again at the supply's time, so root cause reads them
        // together. A stuck valve's balance closes (its readings are true): on faults/valve-stuck, none.
        var drift = await SteppedAsLiveAsync(TwinTelemetry.Of("faults/sensor-drift", TimeSpan.FromHours(4)));
        var stuck = await SteppedAsLiveAsync(TwinTelemetry.Of("faults/valve-stuck", TimeSpan.FromHours(4)));

        var supply = drift.First(a => a.Name == AlertNames.CduSupplyOffSetpoint && a.Asset == "cdu-h1-a");
        Assert.True(drift.First(a => a.Name == AlertNames.EnergyBalance).At < supply.At - TimeSpan.FromMinutes(10), "the balance's own alert came in an earlier window");
        var again = Assert.Single(drift, a => a.Name == AlertNames.EnergyBalance && a.At == supply.At);
        Assert.Equal("cdu-h1-a", again.Asset);
        Assert.Contains("still out at", again.Summary, StringComparison.Ordinal);
        Assert.Contains(stuck, a => a.Name is AlertNames.CduSupplyOffSetpoint or AlertNames.CduValveUnresponsive && a.Asset == "cdu-h1-b");
        Assert.DoesNotContain(stuck, a => a.Name == AlertNames.EnergyBalance);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task ColdPlateCheck_KeepsTheReferencesPeers_APeerWhoseLoadComesNearDoesNotMoveIt(bool fouling, bool expectAlert)
    {
        // Regression (faults week, agent mode, seeds 1-3: 2-15 false cold-plate incidents, nearly all in hall 2): the
        // inference rows' load rose toward the training rows' in the evening; each time a training CDU came within the
        // load share it joined the peers, whose rise per kW is lower, and the median stepped by 2-3 %. Rows A-C here
        // climb from 55 to 75 kW a rack over three hours, each at its own rise per kW; rows D-E hold 72 kW at a lower
        // one, and joining A's peers (B, C) they would move its median from C's to B's, 3.4 % lower.
        // A real fouling on cdu-h2-a (4 % an hour from 2 h) is still found.
        var training = new HashSet<string> { "cdu-h2-d", "cdu-h2-e" };
        var alerts = await ColdPlateAlertsOnHallTwo((r, s) =>
        {
            var p = training.Contains(r.Cdu) ? 72_000 : 55_000 + (20_000.0 * s / (3 * 3600));
            var rise = training.Contains(r.Cdu) ? 0.44 : r.Cdu == "cdu-h2-c" ? 0.47 : 0.454;
            if (fouling && r.Cdu == "cdu-h2-a" && s > 2 * 3600)
            {
                rise *= 1 + (0.04 * (s - (2 * 3600)) / 3600);
            }

            return (p, rise);
        });

        Assert.Equal(expectAlert, alerts.Any(a => a.Name == AlertNames.ColdPlateDrift && a.Asset == "cdu-h2-a"));
        Assert.DoesNotContain(alerts, a => a.Name == AlertNames.ColdPlateDrift && a.Asset != "cdu-h2-a");
    }

    [Fact]
    public async Task ColdPlateCheck_JudgesOnlyWhileThePeersLoadIsSteady()
    {
        // Regression (faults week, agent mode, session 7): cold-plate incidents on inference CDUs at the training rows'
        // checkpoint times. Here every CDU of hall 2 draws 72 kW a rack; rows D-E train, with a 90 s checkpoint dip
        // every 30 min after which their rise per kW runs 8 % low for 10 min (the GPUs cooler than their load says).
        // Five minutes after a dip their 5 min mean load is back within the peer share, and while their ratio is
        // still low the median of cdu-h2-a's peers falls 1.3 %: a rise of a's relative ratio, but not a's own doing.
        var training = new HashSet<string> { "cdu-h2-d", "cdu-h2-e" };
        var rises = new Dictionary<string, double> { ["cdu-h2-a"] = 0.454, ["cdu-h2-b"] = 0.454, ["cdu-h2-c"] = 0.47, ["cdu-h2-d"] = 0.46, ["cdu-h2-e"] = 0.46 };
        var alerts = await ColdPlateAlertsOnHallTwo((r, s) =>
        {
            var sinceCheckpoint = (s + 900) % 1800; // the first dip 15 min in
            var train = training.Contains(r.Cdu);
            return (train && sinceCheckpoint < 90 ? 12_000 : 72_000, rises[r.Cdu] * (train && sinceCheckpoint < 600 ? 0.92 : 1));
        });

        Assert.DoesNotContain(alerts, a => a.Name == AlertNames.ColdPlateDrift);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task ColdPlateCheck_TakesItsReferenceAgain_WhenTheLoadMovesToAnotherLevel(bool fouling, bool expectAlert)
    {
        // Regression (fault evaluation, utility outage and generator, seeds 1 and 3): the training hall came back from
        // the outage at a lower load, where one CDU's rise per kW sits 2 % higher against its peers than at full load
        // (the rise is not linear in load); referenced at full load, it read as a fouling 37-74 min later. Here every
        // rack of hall 2 draws 72 kW until 01:00, then 50 kW, steady, and cdu-h2-a's relative rise is 2 % higher there.
        // A fouling after the change (1 % more every 10 min from 02:00) is still found against the new reference.
        var alerts = await ColdPlateAlertsOnHallTwo((r, s) =>
        {
            var low = s >= 3600;
            var own = r.Cdu == "cdu-h2-a";
            var fouled = fouling && own && s >= 7200 ? 1 + (0.01 * (s - 7200) / 600) : 1;
            return (low ? 50_000 : 72_000, 0.46 * (own && low ? 1.02 : 1) * fouled);
        });

        var drift = alerts.Where(a => a.Name == AlertNames.ColdPlateDrift).ToList();
        Assert.Equal(expectAlert, drift.Count > 0);
        Assert.All(drift, a => Assert.Equal("cdu-h2-a", a.Asset));
        Assert.All(drift, a => Assert.True(a.At > HallTwoStart + TimeSpan.FromHours(2)));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task ColdPlateCheck_TakesItsReferenceAgain_AfterALongBreak_AtTheSameLoad(bool fouling, bool expectAlert)
    {
        // Regression (fault evaluation, seed 3): hall 1's training job failed at 02:05 and came back 15 min later at the
        // same load, and two CDUs read 0.7-0.9 % hotter per kW against their peers 50 min later, as a fouling. Here hall
        // 2's racks idle at 8 kW from 01:00 to 01:15 and come back at 72 kW with cdu-h2-a's relative rise 1.5 % higher.
        // A fouling after the break is still found.
        var alerts = await ColdPlateAlertsOnHallTwo((r, s) =>
        {
            var own = r.Cdu == "cdu-h2-a";
            var fouled = fouling && own && s >= 7200 ? 1 + (0.01 * (s - 7200) / 600) : 1;
            var idle = s is >= 3600 and < 4500;
            return (idle ? 8_000 : 72_000, 0.46 * (own && s >= 4500 ? 1.015 : 1) * fouled);
        });

        var drift = alerts.Where(a => a.Name == AlertNames.ColdPlateDrift).ToList();
        Assert.Equal(expectAlert, drift.Count > 0);
        Assert.All(drift, a => Assert.Equal("cdu-h2-a", a.Asset));
        Assert.All(drift, a => Assert.True(a.At > HallTwoStart + TimeSpan.FromHours(2)));
    }

    [Fact]
    public async Task ColdPlateCheck_HoldsOffWhileACduOfTheHallHasLostARack()
    {
        // Regression (fault evaluation, leak, seed 3): the leak's rack isolated, its CDU carried less heat in the same
        // coolant, its rise per kW fell, and the median of the peers of the hall's other CDUs with it: 3-4 false
        // cold-plate drifts while the rack was out. Here each CDU of hall 2 has its own rise per kW (as the twin's GPUs
        // do), and from 01:00 one rack of cdu-h2-c draws nothing while its other racks' rise falls 8 %.
        var rise = new Dictionary<string, double> { ["cdu-h2-a"] = 0.46, ["cdu-h2-b"] = 0.46, ["cdu-h2-c"] = 0.48, ["cdu-h2-d"] = 0.47, ["cdu-h2-e"] = 0.45 };
        var lost = HallTwoFactory.Racks.First(r => r.Cdu == "cdu-h2-c").Id;
        var alerts = await ColdPlateAlertsOnHallTwo((r, s) =>
        {
            var out_ = s >= 3600;
            return (out_ && r.Id == lost ? 0 : 72_000, rise[r.Cdu] * (out_ && r.Cdu == "cdu-h2-c" ? 0.92 : 1));
        });

        Assert.DoesNotContain(alerts, a => a.Name == AlertNames.ColdPlateDrift);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task ColdPlateCheck_OneCduMovingAway_LeavesItsPeersMedianWhereItWas(bool fouling, bool expectAlert)
    {
        // Regression (fault evaluation, sensor drift, seed 2): cdu-h1-a's supply sensor drifted, its racks' rise per kW
        // over that reading fell, and two other CDUs of the hall were called fouled: each CDU sits at its own rise (1-3 %
        // apart), and with a's falling below the rest the median of the others' raw values stepped from one CDU to the
        // next. Here cdu-h2-c, the median of cdu-h2-a's peers, falls 5 % over an hour from 01:00, below b and e. A real
        // fouling on cdu-h2-a (1 % every 10 min from 02:00) is still found.
        var rise = new Dictionary<string, double> { ["cdu-h2-a"] = 0.46, ["cdu-h2-b"] = 0.455, ["cdu-h2-c"] = 0.465, ["cdu-h2-d"] = 0.47, ["cdu-h2-e"] = 0.45 };
        var alerts = await ColdPlateAlertsOnHallTwo((r, s) =>
        {
            var falling = r.Cdu == "cdu-h2-c" && s >= 3600 ? 1 - (0.05 * Math.Min(1, (s - 3600) / 3600.0)) : 1;
            var fouled = fouling && r.Cdu == "cdu-h2-a" && s >= 7200 ? 1 + (0.01 * (s - 7200) / 600) : 1;
            return (72_000, rise[r.Cdu] * falling * fouled);
        });

        var drift = alerts.Where(a => a.Name == AlertNames.ColdPlateDrift).ToList();
        Assert.Equal(expectAlert, drift.Count > 0);
        Assert.All(drift, a => Assert.Equal("cdu-h2-a", a.Asset));
        Assert.All(drift, a => Assert.True(a.At > HallTwoStart + TimeSpan.FromHours(2)));
    }

    private static readonly Aida.Model.Facility.Factory HallTwoFactory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
    private static readonly DateTimeOffset HallTwoStart = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The alerts over 00:30-03:00 of three hours of hall 2's racks every 30 s for the cold-plate check: each
    /// rack's power and rise per kW (from <paramref name="rack"/>, given the rack and the second), its GPUs at 24 °C
    /// supply plus that rise.</summary>
    private static async Task<IReadOnlyList<Aida.Observability.Incidents.Alert>> ColdPlateAlertsOnHallTwo(Func<Aida.Model.Facility.Rack, int, (double Power, double Rise)> rack)
    {
        var (factory, start) = (HallTwoFactory, HallTwoStart);
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var racks = factory.Racks.Where(r => r.Hall == "hall-2").ToList();
        Assert.Equal(["cdu-h2-a", "cdu-h2-b", "cdu-h2-c", "cdu-h2-d", "cdu-h2-e"], racks.Select(r => r.Cdu).Distinct().Order());
        var gpu = racks.ToDictionary(r => r.Id, r => store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_rack_gpu_max_temperature_celsius", ("rack", r.Id))));
        var power = racks.ToDictionary(r => r.Id, r => store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_rack_power_watts", ("rack", r.Id))));
        var supply = racks.Select(r => r.Cdu).Distinct().ToDictionary(c => c, c => store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric("aida_cdu_supply_celsius", ("asset", c))));
        for (var s = 0; s <= 3 * 3600; s += 30)
        {
            var ms = start.AddSeconds(s).ToUnixTimeMilliseconds();
            foreach (var c in supply.Values)
            {
                store.Append(c, ms, 24);
            }

            foreach (var r in racks)
            {
                var (p, rise) = rack(r, s);
                store.Append(power[r.Id], ms, p);
                store.Append(gpu[r.Id], ms, 24 + (rise * p / 1000));
            }
        }

        return await new TelemetryAlerting(new EmbeddedQueryEngine(store), factory).DetectAsync(start + TimeSpan.FromMinutes(30), start + TimeSpan.FromHours(3));
    }

    [Fact]
    public async Task FailedSetpointActuator_IsAlertedOnItsCdu_WithinAMinuteOfTheWriteItIgnores_AndNotBefore()
    {
        // cdu-h1-a's setpoint actuator fails at 01:00; at 02:00 a planned write of 28 °C is accepted and never taken up.
        var run = TwinTelemetry.Of("faults/actuator-failure", TimeSpan.FromHours(2.5));
        var write = run.Start + TimeSpan.FromHours(2);

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        var alert = Assert.Single(alerts);
        Assert.Equal((AlertNames.SetpointNotApplied, "cdu-h1-a"), (alert.Name, alert.Asset));
        Assert.InRange(alert.At - write, TimeSpan.Zero, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task FailedFanSpeedActuator_IsAlertedOnItsCrah_WithinAMinuteOfTheCommandItIgnores_AndNotBefore()
    {
        // crah-h2-1's fan speed actuator fails at 01:00; at 02:00 a planned command of 70 % is accepted and never taken up.
        var run = TwinTelemetry.Of("faults/fan-speed-actuator-failure", TimeSpan.FromHours(2.5));
        var write = run.Start + TimeSpan.FromHours(2);

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        var alert = Assert.Single(alerts);
        Assert.Equal((AlertNames.SpeedNotApplied, "crah-h2-1"), (alert.Name, alert.Asset));
        Assert.InRange(alert.At - write, TimeSpan.Zero, TimeSpan.FromMinutes(1));
    }

    [Theory]
    [InlineData("faults/power-cap-actuator-failure", "PowerLimitNotApplied", "h1-a01")]
    [InlineData("faults/start-actuator-failure", "RunCommandNotApplied", "chiller-3")]
    public async Task FailedCapOrStartActuator_IsAlertedOnItsAsset_WithinAMinuteOfTheWriteItIgnores_AndNotBefore(string scenario, string name, string asset)
    {
        // h1-a01's GPU power-limit actuator, or standby chiller-3's start, fails at 01:00; at 02:00 a planned write (a cap
        // of 900 W, a start) is accepted and never applied. The chiller's failed start is told by its reading neither
        // starting nor running, within the allowance, not after its 5 min start.
        var run = TwinTelemetry.Of(scenario, TimeSpan.FromHours(2.5));
        var write = run.Start + TimeSpan.FromHours(2);

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        var alert = Assert.Single(alerts);
        Assert.Equal((name, asset), (alert.Name, alert.Asset));
        Assert.InRange(alert.At - write, TimeSpan.Zero, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task StandbyInMaintenance_CommandedToRun_IsNotAFailedStart()
    {
        // Regression: two of hall 1's CRAHs fail while its standby, crah-h1-4, is in maintenance; the digital operator
        // commands the standby to run, and it does not. The unit reads out of service, so that is not its start failing.
        var run = TwinTelemetry.Of("faults/crah-fan-failure", TimeSpan.FromHours(2.5));

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        Assert.Contains(alerts, a => a.Name == AlertNames.AssetFault);
        Assert.DoesNotContain(alerts, a => a.Name == AlertNames.RunCommandNotApplied);
    }

    [Theory]
    [InlineData("starts", false)]
    [InlineData("never-starts", true)]
    [InlineData("hangs-starting", true)]
    [InlineData("starts-no-starting-point", false)]
    [InlineData("never-starts-no-starting-point", true)]
    [InlineData("feed-dead-then-starts", false)]
    [InlineData("faulted", false)]
    public async Task StartCommand_IsAFailedStart_OnlyWhenTheUnitNeitherStartsNorRunsInItsTime(string story, bool expectAlert)
    {
        // chiller-3 (feed utility-b, 5 min restart) commanded to run at 00:10. "starts": it reads starting for 5 min, then
        // running. "hangs-starting": it reads starting for 20 min and never runs (past 5 min + 30 s). Without a starting
        // point a site is judged on the 5 min + 30 s alone. "feed-dead-then-starts": utility-b is lost with gen-b not
        // running from 00:05 to 00:40, then the chiller starts in its 5 min. "faulted": it reports a fault and stays off.
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        Aida.Telemetry.Series.Labels L(string metric, string asset) => Aida.Telemetry.Series.Labels.Metric(metric, ("asset", asset));
        var command = store.GetOrCreateSeries(L("aida_enable_command", "chiller-3"));
        var running = store.GetOrCreateSeries(L("aida_asset_running", "chiller-3"));
        var fault = store.GetOrCreateSeries(L("aida_asset_fault", "chiller-3"));
        int? starting = story.EndsWith("no-starting-point", StringComparison.Ordinal) ? null : store.GetOrCreateSeries(L("aida_asset_starting", "chiller-3"));
        var utility = store.GetOrCreateSeries(L("aida_utility_available", "utility-b"));
        var generator = store.GetOrCreateSeries(L("aida_asset_running", "gen-b"));
        var dead = story == "feed-dead-then-starts";
        var from = dead ? 40 * 60 : 10 * 60;
        for (var s = 0; s <= 3600; s += 10)
        {
            var ms = start.AddSeconds(s).ToUnixTimeMilliseconds();
            var commanded = s >= 10 * 60;
            var isStarting = story switch
            {
                "starts" or "starts-no-starting-point" or "feed-dead-then-starts" => s >= from && s < from + 300,
                "hangs-starting" => s >= from && s < from + 1200,
                _ => false,
            };
            var isRunning = story is "starts" or "starts-no-starting-point" or "feed-dead-then-starts" && s >= from + 300;
            store.Append(command, ms, commanded ? 1 : 0);
            store.Append(running, ms, isRunning ? 1 : 0);
            store.Append(fault, ms, story == "faulted" && commanded ? 1 : 0);
            if (starting is not null)
            {
                store.Append(starting.Value, ms, isStarting ? 1 : 0);
            }

            store.Append(utility, ms, dead && s >= 300 && s < 40 * 60 ? 0 : 1);
            store.Append(generator, ms, 0);
        }

        var alerts = await new TelemetryAlerting(new EmbeddedQueryEngine(store), factory).DetectAsync(start + TimeSpan.FromMinutes(5), start + TimeSpan.FromHours(1));

        var failed = alerts.Where(a => a.Name == AlertNames.RunCommandNotApplied).ToList();
        Assert.Equal(expectAlert, failed.Count > 0);
        Assert.All(failed, a => Assert.Equal("chiller-3", a.Asset));
        // Fired 30 s after the command with a starting point; 5 min + 30 s after it (and 30 s after that for a start that
        // hangs) otherwise.
        var late = story switch { "never-starts" => 30, "hangs-starting" => 360, _ => 330 };
        Assert.All(failed, a => Assert.InRange((a.At - start).TotalSeconds, 600 + late - 10, 600 + late + 10));
    }

    [FsCheck.Xunit.Property(MaxTest = 60)]
    public Property ASpeedThatRampsToItsCommand_IsNeverAlerted_OneThatStaysAlwaysIs() =>
        Prop.ForAll(
            Gen.Choose(40, 100).ToArbitrary(), Gen.Choose(40, 100).ToArbitrary(), Gen.Choose(2, 100).ToArbitrary(),
            (a, b, r) =>
            {
                // Speeds 0.40-1.00 in whole percent; drives ramping at 0.002-0.1 a second (the twin's: 0.02).
                var (from, to, rate) = (a / 100.0, b / 100.0, r / 1000.0);
                var apart = Math.Abs(to - from) > 0.015;
                return !SpeedAlerted(from, to, rate).GetAwaiter().GetResult()
                    && SpeedAlerted(from, to, 0).GetAwaiter().GetResult() == apart;
            });

    /// <summary>A command series (<paramref name="commandMetric"/>) stepping from <paramref name="from"/> to
    /// <paramref name="to"/> at 10 min on <paramref name="asset"/>, its active value (<paramref name="activeMetric"/>)
    /// ramping toward it at <paramref name="rate"/> a second (0: a failed actuator that stays), both read every 10 s
    /// to <paramref name="resolution"/>; whether <paramref name="alert"/> is raised on the asset.</summary>
    private static async Task<bool> CommandAlerted(string commandMetric, string activeMetric, string asset, string alert, double resolution, double from, double to, double rate)
    {
        var factory = Aida.Model.Scenarios.ScenarioLoader.Load("reference").Factory;
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        var command = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric(commandMetric, ("asset", asset)));
        var active = store.GetOrCreateSeries(Aida.Telemetry.Series.Labels.Metric(activeMetric, ("asset", asset)));
        double Read(double v) => Math.Round(v / resolution) * resolution;
        for (var s = 0; s <= 3600; s += 10)
        {
            var ms = start.AddSeconds(s).ToUnixTimeMilliseconds();
            var since = s - 600;
            var value = since < 0 ? from : from + (Math.Sign(to - from) * Math.Min(Math.Abs(to - from), rate * since));
            store.Append(command, ms, Read(since < 0 ? from : to));
            store.Append(active, ms, Read(value));
        }

        var alerts = await new TelemetryAlerting(new EmbeddedQueryEngine(store), factory).DetectAsync(start + TimeSpan.FromMinutes(5), start + TimeSpan.FromHours(1));
        return alerts.Any(a => a.Name == alert && a.Asset == asset);
    }

    private static Task<bool> SetpointAlerted(double from, double to, double rate) =>
        CommandAlerted("aida_setpoint_command_celsius", "aida_setpoint_celsius", "cdu-h2-b", AlertNames.SetpointNotApplied, 0.1, from, to, rate);

    private static Task<bool> SpeedAlerted(double from, double to, double rate) =>
        CommandAlerted("aida_speed_command_ratio", "aida_speed_ratio", "crah-h1-3", AlertNames.SpeedNotApplied, 0.01, from, to, rate);

    [FsCheck.Xunit.Property(MaxTest = 60)]
    public Property ASetpointThatRampsToItsCommand_IsNeverAlerted_OneThatStaysAlwaysIs() =>
        Prop.ForAll(
            Gen.Choose(150, 450).ToArbitrary(), Gen.Choose(150, 450).ToArbitrary(), Gen.Choose(1, 100).ToArbitrary(),
            (a, b, r) =>
            {
                var (from, to, rate) = (a / 10.0, b / 10.0, r / 100.0);
                var apart = Math.Abs(to - from) > 0.15;
                return !SetpointAlerted(from, to, rate).GetAwaiter().GetResult()
                    && SetpointAlerted(from, to, 0).GetAwaiter().GetResult() == apart;
            });

    [Fact]
    public async Task FaultFreeRun_RaisesNoAlert()
    {
        var run = TwinTelemetry.Of("reference", TimeSpan.FromHours(2));

        var alerts = await new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.Start + TimeSpan.FromMinutes(30), run.End);

        Assert.Empty(alerts);
    }

    [Fact]
    public async Task EmptyWindow_IsRefused()
    {
        var run = TwinTelemetry.Of("reference", TimeSpan.FromHours(2));

        await Assert.ThrowsAsync<ArgumentException>(() => new TelemetryAlerting(run.Query, run.Factory).DetectAsync(run.End, run.End));
    }
}
