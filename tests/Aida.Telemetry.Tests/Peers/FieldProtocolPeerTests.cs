using System.Text;
using Aida.Protocols.Exposition;
using Aida.Protocols.Nut;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Mqtt;
using Aida.Telemetry.Collectors.Nut;
using Aida.Telemetry.Collectors.Scrape;
using Aida.Telemetry.Series;
using Aida.Telemetry.Tests.Collectors;
using Aida.Twin.Wire.Mqtt;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Protocol;

namespace Aida.Telemetry.Tests.Peers;

/// <summary>The scrape, NUT and MQTT collectors (and the twin's MQTT face) against real servers from Debian: the node
/// exporter, upsd with the dummy-ups driver, Mosquitto.</summary>
public sealed class FieldProtocolPeerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task NodeExporter_ScrapedForReal_ParsesEveryLine()
    {
        var binary = PeerProcess.Require("prometheus-node-exporter", "prometheus-node-exporter");
        var port = PeerProcess.FreePort();
        using var exporter = new PeerProcess(binary, [$"--web.listen-address=127.0.0.1:{port}"], new Uri($"http://127.0.0.1:{port}/metrics"));
        await exporter.StartAsync(Bound);

        using var rig = new CollectorRig(TimeProvider.System);
        using var collector = new ScrapeCollector(rig.Settings("node", timeout: TimeSpan.FromSeconds(10), labels: Labels.From(("role", "host"))), new Uri($"http://127.0.0.1:{port}/metrics"), true);
        await collector.ScrapeOnceAsync(rig.Sink, default);

        Assert.True(rig.Sink.HealthOf("scrape", "node") == (true, 0L, 0L), rig.Log.ToString());
        Assert.Equal(1, rig.Last("up", ("job", "node"), ("instance", $"127.0.0.1:{port}")));
        Assert.True(rig.Last("scrape_samples_scraped", ("job", "node")) > 100);
        Assert.NotEmpty(rig.Series("node_exporter_build_info"));
        Assert.All(rig.Series("go_goroutines"), s => Assert.Equal("host", s.Labels.Get("role")));
        Assert.Contains(rig.Series("go_gc_duration_seconds"), s => s.Labels.Get("quantile") == "0.5"); // a summary as plain series

        // The same body in each format through the parser alone: no line refused.
        using var http = new HttpClient();
        foreach (var accept in new[] { "text/plain;version=0.0.4", ExpositionContentType.ScrapeAccept })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/metrics");
            request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await http.SendAsync(request);
            var format = ExpositionContentType.FromContentType(response.Content.Headers.ContentType?.ToString());
            var doc = ExpositionParser.Parse(await response.Content.ReadAsStringAsync(), format);
            Assert.True(doc.Errors.Count == 0, string.Join('\n', doc.Errors));
            Assert.Equal("counter", doc.Families["node_cpu_seconds_total"].Type); // node exporter 1.5 serves the text format only
            Assert.Contains(doc.Samples, x => x.Name == "node_cpu_seconds_total" && x.Labels.Any(l => l.Key == "mode"));
        }
    }

    [SkippableFact]
    public async Task Prometheus_ScrapesTheTwinsDcgmFace_InOpenMetrics()
    {
        var catalog = new DcgmCatalog();
        await using var face = new Aida.Twin.Wire.Dcgm.DcgmExporterFace(catalog);
        face.GpusSampled(0, [55, 66], [500, 600], [40, 50], []);
        face.GpusSampled(1000, [55, 66], [500, 600], [40, 50], []);
        await face.StartAsync(default);
        var target = face.Urls.Single();
        await using var prometheus = await PrometheusPeer.StartAsync(
            $"scrape_configs:\n  - job_name: dcgm\n    scrape_interval: 1s\n    static_configs: [{{targets: ['{target.Authority}']}}]\n");

        using var http = new HttpClient();
        var engine = new Aida.Telemetry.Query.RemoteQueryEngine(http, prometheus.BaseUrl);
        var deadline = DateTime.UtcNow + Bound;
        while (true)
        {
            var up = await engine.QueryAsync("up{job=\"dcgm\"} == 1 and on() count(DCGM_FI_DEV_GPU_TEMP) == 2", DateTimeOffset.UtcNow);
            if (up.Series.Count == 1)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "Prometheus did not scrape the face within 30 s:\n" + prometheus.Output());
            await Task.Delay(250);
        }

        var temp = await engine.QueryAsync("DCGM_FI_DEV_GPU_TEMP{UUID=\"GPU-y\"}", DateTimeOffset.UtcNow);
        Assert.Equal(66, temp.Series.Single().Samples.Single().Value);
        Assert.Equal("h1", temp.Series.Single().Labels.Get("hall"));
        var energy = await engine.QueryAsync("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{UUID=\"GPU-x\"}", DateTimeOffset.UtcNow);
        Assert.Equal(500_000, energy.Series.Single().Samples.Single().Value);
    }

    [SkippableFact]
    public async Task Upsd_DummyUps_ValuesAndAStatusChangeToOnBattery()
    {
        using var upsd = await UpsdPeer.StartNewAsync();
        await using (var client = await NutClient.ConnectAsync("127.0.0.1", upsd.Port, default))
        {
            await upsd.WaitForDataAsync(client, Bound);
            Assert.Equal("Aida test UPS", (await client.ListUpsAsync(default)).Single(u => u.Name == UpsdPeer.Ups).Description);
            Assert.Equal("230.1", await client.GetVarAsync(UpsdPeer.Ups, "input.voltage", default));
            Assert.Equal("VAR-NOT-SUPPORTED", (await Assert.ThrowsAsync<NutErrorException>(() => client.GetVarAsync(UpsdPeer.Ups, "no.such.var", default))).Code);
            Assert.Equal("UNKNOWN-UPS", (await Assert.ThrowsAsync<NutErrorException>(() => client.ListVarAsync("nope", default))).Code);
        }

        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var rig = new CollectorRig(clock);
        // An Eaton's ECO mode switch read as 0/1 (VARIABLE=VALUE): a text variable, set in eco mode whether on line or not.
        var renames = new Dictionary<string, NutMetricRename> { ["input.eco.switchable=ECO"] = new("aida_ups_eco_mode", 1) };
        var collector = new NutCollector(rig.Settings("ups-room"), "127.0.0.1", upsd.Port, renames: renames);
        var (ok, connection) = await collector.PollOnceAsync(null, rig.Sink, default);
        Assert.True(ok, rig.Log.ToString() + upsd.Output());
        Assert.Equal(23, rig.Last("nut_ups_load", ("ups", UpsdPeer.Ups)));
        Assert.Equal(87, rig.Last("nut_battery_charge", ("ups", UpsdPeer.Ups)));
        Assert.Equal(1800, rig.Last("nut_battery_runtime", ("ups", UpsdPeer.Ups)));
        Assert.Equal(230.1, rig.Last("nut_input_voltage", ("ups", UpsdPeer.Ups)));
        Assert.Equal(229.8, rig.Last("nut_output_voltage", ("ups", UpsdPeer.Ups)));
        Assert.Equal(1, rig.Last("nut_status_online", ("ups", UpsdPeer.Ups)));
        Assert.Equal(0, rig.Last("nut_status_on_battery", ("ups", UpsdPeer.Ups)));
        Assert.Equal(1, rig.Last("aida_ups_eco_mode", ("ups", UpsdPeer.Ups)));

        // The driver re-reads its file in about 3 s: poll (on the fake clock's timeline) until upsd reports it, bounded.
        upsd.WriteDummy("OB DISCHRG LB", charge: 12);
        var deadline = DateTime.UtcNow + Bound;
        while (rig.Last("nut_status_on_battery", ("ups", UpsdPeer.Ups)) != 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "upsd did not report OB within 30 s:\n" + upsd.Output());
            await Task.Delay(200);
            clock.Advance(TimeSpan.FromSeconds(1));
            (ok, connection) = await collector.PollOnceAsync(connection, rig.Sink, default);
            Assert.True(ok, rig.Log.ToString());
        }

        Assert.Equal(0, rig.Last("nut_status_online", ("ups", UpsdPeer.Ups)));
        Assert.Equal(1, rig.Last("nut_status_low_battery", ("ups", UpsdPeer.Ups)));
        Assert.Equal(12, rig.Last("nut_battery_charge", ("ups", UpsdPeer.Ups)));
        Assert.Equal(1, rig.Last("aida_ups_eco_mode", ("ups", UpsdPeer.Ups)));
        await connection!.DisposeAsync();
    }

    [SkippableFact]
    public async Task Upsd_DummyUps_RestartedBehindUpsd_IsFoundByItsDeviceUptime_WithNoPollFailing()
    {
        // upsd stays up while the UPS behind it restarts: every poll answers, and device.uptime (NUT's seconds since the
        // device started) going back is what tells it.
        using var upsd = await UpsdPeer.StartNewAsync();
        await using (var client = await NutClient.ConnectAsync("127.0.0.1", upsd.Port, default))
        {
            await upsd.WaitForDataAsync(client, Bound);
        }

        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var rig = new CollectorRig(clock);
        var collector = new NutCollector(rig.Settings("ups-room"), "127.0.0.1", upsd.Port);
        var (ok, connection) = await collector.PollOnceAsync(null, rig.Sink, default);
        Assert.True(ok, rig.Log.ToString() + upsd.Output());
        Assert.Equal(86_400, rig.Last("nut_device_uptime", ("ups", UpsdPeer.Ups)));

        // The driver re-reads its file in about 3 s: poll (a second apart on the fake clock) until upsd reports it.
        upsd.WriteDummy("OL", uptime: 5);
        var deadline = DateTime.UtcNow + Bound;
        while (rig.Last("nut_device_uptime", ("ups", UpsdPeer.Ups)) != 5)
        {
            Assert.Null(rig.Sink.ReturnOf(NutCollector.Type, "ups-room"));
            Assert.True(DateTime.UtcNow < deadline, "upsd did not report the new uptime within 30 s:\n" + upsd.Output());
            await Task.Delay(200);
            clock.Advance(TimeSpan.FromSeconds(1));
            (ok, connection) = await collector.PollOnceAsync(connection, rig.Sink, default);
            Assert.True(ok, rig.Log.ToString());
        }

        var back = rig.Sink.ReturnOf(NutCollector.Type, "ups-room");
        Assert.NotNull(back);
        Assert.Contains($"(UPS {UpsdPeer.Ups}: its uptime read 5 s, 1 s after it read 86400 s)", back.How, StringComparison.Ordinal);
        Assert.Equal((true, 0L, 0L), rig.Sink.HealthOf(NutCollector.Type, "ups-room"));
        await connection!.DisposeAsync();
    }

    [SkippableFact]
    public async Task Upsd_DummyUps_WritesAVariableAndRunsCommands_AndEachRefusalIsNamed()
    {
        using var upsd = await UpsdPeer.StartNewAsync();
        await using (var client = await NutClient.ConnectAsync("127.0.0.1", upsd.Port, default))
        {
            await upsd.WaitForDataAsync(client, Bound);
        }

        using var rig = new CollectorRig(TimeProvider.System);
        string Entry(string user, string password) =>
            $"  - type: nut\n    name: ups\n    address: 127.0.0.1:{upsd.Port}\n    username: {user}\n    password: \"{password}\"\n    timeout: 5s\n    commands:\n" +
            "      - {actuator: dummy/battery_low, ups: dummy, variable: battery.charge.low}\n" +
            "      - {actuator: dummy/eco_mode, ups: dummy, on: experimental.ecomode.enable, off: experimental.ecomode.disable, state: 'ups.status:BYPASS'}\n" +
            "      - {actuator: dummy/output, ups: dummy, on: load.on, off: load.off, state: 'ups.status:OL', timeout: 1s}\n";
        var writers = Collectors.Nut.NutCollectorTests.Load(rig, Entry(UpsdPeer.User, UpsdPeer.Password)).Writers.ToDictionary(w => w.Actuator);

        // A writable variable: SET VAR, confirmed by reading it back (the password with a space went quoted).
        var low = await writers["dummy/battery_low"].WriteAsync(35, default);
        Assert.True(low.Confirmed, low.Problem + upsd.Output());
        Assert.Equal(35, low.ReadBack);

        // An instant command this driver does not have: upsd's refusal, and where to look.
        var eco = await writers["dummy/eco_mode"].WriteAsync(1, default);
        Assert.False(eco.Confirmed);
        Assert.Contains("ERR CMD-NOT-SUPPORTED to 'INSTCMD dummy experimental.ecomode.enable'", eco.Problem, StringComparison.Ordinal);
        Assert.Contains("upscmd -l", eco.Problem, StringComparison.Ordinal);

        // upsd passes load.off on (OK) but the dummy UPS stays on line: OK is not done, the read-back decides.
        var off = await writers["dummy/output"].WriteAsync(0, default);
        Assert.False(off.Confirmed);
        Assert.Contains("ups.status:OL did not read 0 within 1 s of INSTCMD load.off", off.Problem, StringComparison.Ordinal);
        Assert.Equal(1, off.ReadBack);

        // A user upsd knows but grants neither: refused, the variable unchanged.
        var watcher = Collectors.Nut.NutCollectorTests.Load(rig, Entry(UpsdPeer.Watcher, UpsdPeer.Watcher)).Writers.Single(w => w.Actuator == "dummy/battery_low");
        var denied = await watcher.WriteAsync(50, default);
        Assert.False(denied.Confirmed);
        Assert.Contains("ERR ACCESS-DENIED", denied.Problem, StringComparison.Ordinal);
        Assert.Contains("actions = SET", denied.Problem, StringComparison.Ordinal);
        await using var check = await NutClient.ConnectAsync("127.0.0.1", upsd.Port, default);
        Assert.Equal("35", await check.GetVarAsync(UpsdPeer.Ups, "battery.charge.low", default));
    }

    [SkippableFact]
    public async Task NodeExporter_RestartedBetweenTwoScrapes_IsFoundByItsProcessStartTime()
    {
        // Debian's node exporter stopped and started again on its port between two scrapes that both answer: its
        // process_start_time_seconds moves on, and the collector with start_time reports the restart.
        var binary = PeerProcess.Require("prometheus-node-exporter", "prometheus-node-exporter");
        var port = PeerProcess.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}/metrics");
        using var rig = new CollectorRig(TimeProvider.System);
        using var collector = new ScrapeCollector(rig.Settings("node", timeout: TimeSpan.FromSeconds(10)), url, true, startTimeMetric: "process_start_time_seconds");
        var sinceFirst = System.Diagnostics.Stopwatch.StartNew();
        using (var first = new PeerProcess(binary, [$"--web.listen-address=127.0.0.1:{port}"], url))
        {
            await first.StartAsync(Bound);
            await collector.ScrapeOnceAsync(rig.Sink, default);
        }

        Assert.Null(rig.Sink.ReturnOf("scrape", "node"));
        // Its start time has a resolution of 10 ms; the next process must start over a second later to be told apart.
        // Timed from the first start, not against the wall clock: the kernel derives a start time from its boot time in
        // whole seconds (here 0.83 s behind the clock), and once under CI it lay so far behind that the test did not wait
        // and the restart went unseen.
        while (sinceFirst.Elapsed < TimeSpan.FromSeconds(2))
        {
            await Task.Delay(100);
        }

        using var second = new PeerProcess(binary, [$"--web.listen-address=127.0.0.1:{port}"], url);
        await second.StartAsync(Bound);
        await collector.ScrapeOnceAsync(rig.Sink, default);
        var back = rig.Sink.ReturnOf("scrape", "node");
        Assert.True(back is not null, rig.Log.ToString());
        Assert.Contains("process_start_time_seconds", back.How, StringComparison.Ordinal);
        Assert.Contains("its process started at ", back.How, StringComparison.Ordinal);
        Assert.Equal(1, rig.Last("aida_collector_restarts_total"));
    }

    [SkippableFact]
    public async Task Mosquitto_TwinFacePublishesRoomSensors_CollectedAsThePoints_AndCommandsConfirmedByState()
    {
        using var broker = await MosquittoPeer.StartNewAsync();
        var plant = new FakePlant();
        plant.AddPoint("rack-001", "inlet_temperature", "aida_rack_inlet_celsius", 24.5, ("hall", "h1"), ("row", "r01"), ("rack", "rack-001"));
        plant.AddPoint("rack-002", "inlet_temperature", "aida_rack_inlet_celsius", 25.5, ("hall", "h1"), ("row", "r01"), ("rack", "rack-002"));
        plant.AddPoint("crah-h1-1", "supply_air_temperature", "aida_crah_supply_air_celsius", 18.25, ("asset", "crah-h1-1"), ("hall", "h1"));
        plant.AddPoint("site", "ambient_dry_bulb", "aida_ambient_dry_bulb_celsius", 31);
        plant.AddPoint("rack-001", "power", "aida_rack_power_watts", 120_000, ("hall", "h1"), ("row", "r01"), ("rack", "rack-001")); // not a room sensor
        plant.AddActuator("crah-h1-1", "supply_setpoint", 14, 27);
        plant.AddActuator("rack-001", "isolate", 0, 1);

        using var rig = new CollectorRig();
        await using var face = new MqttSensorFace(plant, new MqttFaceOptions { BrokerHost = "127.0.0.1", BrokerPort = broker.Port, TopicPrefix = "aida/s1" });
        Assert.Equal(["crah-h1-1/supply_setpoint"], face.CommandActuators);
        var (collector, cts, run) = await RunMqtt("site: s1\ncollectors:\n" + face.SiteCollectors(), rig);
        using var disposeCollector = collector;
        using var disposeStop = cts;

        await face.StartAsync(default);
        await WaitFor(() => collector.MessagesStored >= 4, () => $"four sensor messages (the face published {face.Published}, stored {collector.MessagesStored})", rig);
        foreach (var p in plant.Points.Where(p => p.Metric != "aida_rack_power_watts"))
        {
            var series = rig.Series(p.Metric).Where(s => p.Labels.All(l => s.Labels.Get(l.Key) == l.Value)).ToList();
            var one = Assert.Single(series);
            Assert.Equal(p.Labels.Count + 1, one.Labels.Count); // exactly the point's labels and its name
            Assert.Equal(plant.Read(p.Index).Value, one.Samples[^1].Value);
            Assert.Equal(CollectorRig.T0.ToUnixTimeMilliseconds(), one.Samples[^1].TimestampMs); // the payload's timestamp
        }

        Assert.Empty(rig.Series("aida_rack_power_watts"));

        var writer = collector.Writers.Single();
        var outcome = await writer.WriteAsync(21.5, default).WaitAsync(Bound);
        Assert.True(outcome.Confirmed, outcome.Problem);
        Assert.Equal(21.5, outcome.ReadBack);
        Assert.Contains(("crah-h1-1/supply_setpoint", 21.5), plant.Writes);
        var refused = await writer.WriteAsync(40, default).WaitAsync(Bound);
        Assert.False(refused.Confirmed);
        Assert.Contains("outside", refused.Problem, StringComparison.Ordinal);
        Assert.Equal(21.5, refused.ReadBack);

        // A garbled payload on a sensor topic is counted, not thrown.
        using (var publisher = await ConnectAsync(broker.Port, "garbler"))
        {
            await publisher.PublishAsync(Message("aida/s1/h1/r01/rack-009/inlet_temperature", "{\"value\": \"hot\"}"));
            await publisher.PublishAsync(Message("aida/s1/h1/r01/rack-009/inlet_temperature", "not json"));
        }

        await WaitFor(() => rig.Sink.HealthOf("mqtt", "mqtt-sensors").Malformed == 2, () => "two malformed payloads", rig);
        await cts.CancelAsync();
        await run.WaitAsync(Bound);
    }

    [SkippableFact]
    public async Task Mosquitto_TheTwinFacesCrahController_RestartedBehindTheBroker_IsFoundByItsUptime_ItsSetPointBackAsServed()
    {
        // A CRAH's controller publishing through the broker restarts: every connection stays up, its uptime starts again,
        // its supply set point goes back to what it was served with. The collector of the site entry the face writes
        // finds it by the uptime alone, dated on arrival by Aida's clock.
        using var broker = await MosquittoPeer.StartNewAsync();
        var plant = new FakePlant { EchoWrites = true };
        plant.AddPoint("crah-h1-1", "supply_air_temperature", "aida_crah_supply_air_celsius", 18.25, ("asset", "crah-h1-1"), ("hall", "h1"));
        var setPoint = plant.AddPoint("crah-h1-1", "supply_setpoint", "aida_crah_supply_setpoint_celsius", 18, ("asset", "crah-h1-1"), ("hall", "h1"));
        plant.AddActuator("crah-h1-1", "supply_setpoint", 14, 27);

        using var rig = new CollectorRig();
        await using var face = new MqttSensorFace(plant, new MqttFaceOptions { BrokerHost = "127.0.0.1", BrokerPort = broker.Port, TopicPrefix = "aida/s1", Clock = rig.Clock });
        Assert.Equal(["crah-h1-1"], face.Controllers);
        var (collector, cts, run) = await RunMqtt("site: s1\ncollectors:\n" + face.SiteCollectors(), rig);
        using var disposeCollector = collector;
        using var disposeStop = cts;
        int Uptimes() => rig.Series("aida_device_uptime_seconds").SelectMany(s => s.Samples).Count();

        await face.StartAsync(default);
        await WaitFor(() => Uptimes() == 1, () => $"the controller's first uptime (the face published {face.Published})", rig);
        Assert.Equal(0, rig.Last("aida_device_uptime_seconds", ("asset", "crah-h1-1")));
        var moved = await collector.Writers.Single().WriteAsync(21.5, default).WaitAsync(Bound); // Aida moves it
        Assert.True(moved.Confirmed, moved.Problem);

        rig.Fake.Advance(TimeSpan.FromHours(1));
        await WaitFor(() => Uptimes() == 2, () => "its uptime an hour on", rig);
        Assert.Equal(3600, rig.Last("aida_device_uptime_seconds", ("asset", "crah-h1-1")));
        Assert.Null(rig.Sink.ReturnOf(MqttCollector.Type, "mqtt-sensors"));

        face.Restart("crah-h1-1");
        Assert.Equal(18, plant.Read(setPoint).Value); // back at its own setting
        rig.Fake.Advance(TimeSpan.FromSeconds(5));
        await WaitFor(() => Uptimes() == 3, () => "its uptime after the restart", rig);
        var back = rig.Sink.ReturnOf(MqttCollector.Type, "mqtt-sensors");
        Assert.NotNull(back);
        Assert.EndsWith("(aida_device_uptime_seconds{asset=\"crah-h1-1\", protocol=\"mqtt\"}: its uptime read 5 s, 5 s after it read 3600 s)", back.How, StringComparison.Ordinal);
        Assert.True(collector.IsConnected);
        Assert.Equal([("crah-h1-1/supply_setpoint", 21.5), ("crah-h1-1/supply_setpoint", 18.0)], plant.Writes);
        Assert.Throws<ArgumentException>(() => face.Restart("crah-h9-9"));
        await cts.CancelAsync();
        await run.WaitAsync(Bound);
    }

    [SkippableFact]
    public async Task Mosquitto_Restart_SessionResumes_WithoutLosingQos1MessagesPublishedWhileDisconnected_AndEverySeriesGoesStaleMeanwhile()
    {
        using var broker = await MosquittoPeer.StartNewAsync();
        using var rig = new CollectorRig();
        var yaml = $"site: s1\ncollectors:\n  - type: mqtt\n    name: room\n    broker: 127.0.0.1:{broker.Port}\n    client_id: aida-resume-test\n" +
                   "    topics:\n      - {pattern: 'sensors/+/temp', metric: room_temp_celsius, labels: {room: '{1}'}, value: reading.celsius, timestamp: ts}\n" +
                   "      - {pattern: 'sensors/+/humidity', metric: room_humidity_percent, labels: {room: '{1}'}, value: reading}\n";
        var (collector, cts, run) = await RunMqtt(yaml, rig);
        using var disposeCollector = collector;
        using var disposeStop = cts;
        var t0 = CollectorRig.T0.ToUnixTimeMilliseconds();
        using (var publisher = await ConnectAsync(broker.Port, "pub-1"))
        {
            await publisher.PublishAsync(Message("sensors/a1/temp", $"{{\"reading\":{{\"celsius\":20}},\"ts\":{t0}}}"));
            await publisher.PublishAsync(Message("sensors/a1/humidity", "{\"reading\":40}"));
        }

        await WaitFor(() => collector.MessagesStored == 2, () => "the first messages", rig);

        rig.Fake.Advance(TimeSpan.FromSeconds(1));
        broker.Stop();
        await WaitFor(() => !collector.IsConnected && rig.Sink.HealthOf("mqtt", "room").Errors >= 1, () => "the collector to notice", rig);

        // Unheard, both series read as missing: the one stamped on arrival from the loss, the one stamped from its payload
        // from a millisecond after its last sample by the device's clock (here a second behind the site's), which keeps its
        // samples' order open for the messages queued at the broker. Before session 46 it read 20 for the lookback.
        Assert.True(StaleMarker.Is(rig.Last("room_humidity_percent", ("room", "a1"))));
        Assert.True(StaleMarker.Is(rig.Last("room_temp_celsius", ("room", "a1"))));
        await broker.StartAsync();

        // The collector waits out its backoff on the (fake) site clock: these five are published while it is away.
        using (var publisher = await ConnectAsync(broker.Port, "pub-2"))
        {
            for (var i = 1; i <= 5; i++)
            {
                await publisher.PublishAsync(Message("sensors/a1/temp", $"{{\"reading\":{{\"celsius\":{20 + i}}},\"ts\":{t0 + i * 1000}}}"));
            }

            await publisher.PublishAsync(Message("sensors/a1/humidity", "{\"reading\":41}"));
        }

        Assert.False(collector.IsConnected);
        rig.Fake.Advance(TimeSpan.FromMinutes(2));
        await WaitFor(() => collector.MessagesStored == 8, () => "the six queued messages after the session resumed", rig);
        Assert.Equal([new Sample(t0, 20), new Sample(t0 + 1, StaleMarker.Value), .. Enumerable.Range(1, 5).Select(i => new Sample(t0 + i * 1000, 20 + i))],
            rig.Samples("room_temp_celsius", ("room", "a1"), ("site", "s1")));
        Assert.Equal(41, rig.Last("room_humidity_percent", ("room", "a1")));
        Assert.True(rig.Sink.HealthOf("mqtt", "room").Up);
        await cts.CancelAsync();
        await run.WaitAsync(Bound);
    }

    [SkippableFact]
    public async Task Mosquitto_APublisherRestartedBetweenTwoMessages_IsFoundByItsUptime_WithTheBrokerConnectionUp()
    {
        // A CRAH controller publishing through the broker restarts: Aida's connection is the broker's and never drops,
        // so only the controller's uptime (a route with uptime: true) tells it is back at its own settings.
        using var broker = await MosquittoPeer.StartNewAsync();
        using var rig = new CollectorRig();
        var yaml = $"site: s1\ncollectors:\n  - type: mqtt\n    name: crah-controllers\n    broker: 127.0.0.1:{broker.Port}\n" +
                   "    topics:\n      - {pattern: 'crah/+/uptime', metric: aida_device_uptime_seconds, labels: {asset: '{1}'}, value: seconds, timestamp: ts, uptime: true}\n";
        var (collector, cts, run) = await RunMqtt(yaml, rig);
        using var disposeCollector = collector;
        using var disposeStop = cts;
        var t0 = CollectorRig.T0.ToUnixTimeMilliseconds();
        using (var publisher = await ConnectAsync(broker.Port, "crah-h1-1"))
        {
            // Up a day, then 60 s later; crah-h1-2 up throughout. Then crah-h1-1 reads 4 s, 60 s on: it restarted.
            await publisher.PublishAsync(Message("crah/crah-h1-1/uptime", $"{{\"seconds\":86400,\"ts\":{t0}}}"));
            await publisher.PublishAsync(Message("crah/crah-h1-2/uptime", $"{{\"seconds\":500,\"ts\":{t0}}}"));
            await publisher.PublishAsync(Message("crah/crah-h1-1/uptime", $"{{\"seconds\":86460,\"ts\":{t0 + 60_000}}}"));
            await publisher.PublishAsync(Message("crah/crah-h1-2/uptime", $"{{\"seconds\":560,\"ts\":{t0 + 60_000}}}"));
            await WaitFor(() => collector.MessagesStored == 4, () => "the first four uptimes", rig);
            Assert.Null(rig.Sink.ReturnOf(MqttCollector.Type, "crah-controllers"));
            await publisher.PublishAsync(Message("crah/crah-h1-1/uptime", $"{{\"seconds\":4,\"ts\":{t0 + 120_000}}}"));
            await publisher.PublishAsync(Message("crah/crah-h1-2/uptime", $"{{\"seconds\":620,\"ts\":{t0 + 120_000}}}"));
        }

        await WaitFor(() => collector.MessagesStored == 6, () => "the last two uptimes", rig);
        var back = rig.Sink.ReturnOf(MqttCollector.Type, "crah-controllers");
        Assert.NotNull(back);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(t0 + 120_000), back.At);
        Assert.Equal("was found restarted at 2023-11-14T22:15:20.0000000+00:00 (aida_device_uptime_seconds{asset=\"crah-h1-1\"}: its uptime read 4 s, 60 s after it read 86460 s)", back.How);
        Assert.True(collector.IsConnected);
        Assert.Equal((true, 0L, 0L), rig.Sink.HealthOf("mqtt", "crah-controllers"));
        await cts.CancelAsync();
        await run.WaitAsync(Bound);
    }

    private sealed class DcgmCatalog : Aida.Model.Plant.IGpuCatalog
    {
        public IReadOnlyList<Aida.Model.Plant.GpuInfo> Gpus { get; } =
        [
            new("r1", "h1", "row1", "r1-tray01", 0, "GPU-x", "NVIDIA GB200"),
            new("r1", "h1", "row1", "r1-tray01", 1, "GPU-y", "NVIDIA GB200"),
        ];
    }

    /// <summary>The site's one MQTT entry, running into <paramref name="rig"/> and connected to its broker.</summary>
    private static async Task<(MqttCollector Collector, CancellationTokenSource Stop, Task Run)> RunMqtt(string yaml, CollectorRig rig)
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [MqttCollector.Type] = MqttCollector.Create }, rig.Clock);
        var collector = Assert.IsType<MqttCollector>(loader.Parse(yaml, "site.yaml").Collectors.Single());
        var stop = new CancellationTokenSource();
        var run = collector.RunAsync(rig.Sink, stop.Token);
        await WaitFor(() => collector.IsConnected, () => "collector connected", rig);
        return (collector, stop, run);
    }

    private static async Task<IMqttClient> ConnectAsync(int port, string id)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(id).Build());
        return client;
    }

    private static MqttApplicationMessage Message(string topic, string payload) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(payload)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    private static async Task WaitFor(Func<bool> condition, Func<string> what, CollectorRig rig)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited 30 s for {what()}:\n{rig.Log}");
            await Task.Delay(20);
        }
    }
}
