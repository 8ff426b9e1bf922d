using System.Net;
using System.Text;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Protocols.Tcp;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Nut;
using Aida.Telemetry.Series;
using Aida.Twin.Wire.Nut;

namespace Aida.Telemetry.Tests.Collectors.Nut;

/// <summary>The NUT collector against the twin's upsd face (and against a peer that talks garbage).</summary>
public class NutCollectorTests
{
    [Fact]
    public async Task TwinUpsd_CollectedWithItsSiteEntry_ArrivesNamedAndLabelledAsThePlantPoints()
    {
        using var rig = new CollectorRig();
        var plant = new FakePlant();
        plant.AddPoint("ups-1a", "output_power", "aida_ups_output_power_watts", 1_200_000, ("asset", "ups-1a"));
        plant.AddPoint("ups-1a", "on_battery", "aida_ups_on_battery", 0, ("asset", "ups-1a"));
        plant.AddPoint("ups-1a", "battery", "aida_ups_battery_ratio", 1, ("asset", "ups-1a"));
        await using var face = new UpsdFace(plant, [new Ups("ups-1a", "tx-1", 1_500_000, UpsMode.DoubleConversion, TimeSpan.FromMinutes(5))], clock: rig.Fake);
        await face.StartAsync(default);
        var collector = Load(rig, face.SiteCollectors());

        var (ok, client) = await collector.PollOnceAsync(null, rig.Sink, default);
        Assert.True(ok, rig.Log.ToString());
        Assert.Equal(1_200_000, rig.Last("aida_ups_output_power_watts", ("asset", "ups-1a"), ("site", "s1")));
        Assert.Equal(1, rig.Last("aida_ups_battery_ratio", ("asset", "ups-1a")));
        Assert.Equal(0, rig.Last("aida_ups_on_battery", ("asset", "ups-1a")));
        Assert.Equal(80, rig.Last("nut_ups_load", ("asset", "ups-1a")));
        Assert.Equal(1, rig.Last("nut_status_online", ("asset", "ups-1a")));
        Assert.Equal(375, rig.Last("nut_battery_runtime", ("asset", "ups-1a"))); // 5 min at rated load, 1.25x longer at 80 %
        Assert.Empty(rig.Series("nut_ups_realpower")); // renamed, not stored twice

        // On battery at 15 %: OB, LB; the same connection is reused.
        rig.Fake.Advance(TimeSpan.FromSeconds(5));
        plant.Set("ups-1a/on_battery", 1, rig.Clock.GetUtcNow());
        plant.Set("ups-1a/battery", 0.15, rig.Clock.GetUtcNow());
        (ok, client) = await collector.PollOnceAsync(client, rig.Sink, default);
        Assert.True(ok);
        Assert.Equal(1, rig.Last("aida_ups_on_battery", ("asset", "ups-1a")));
        Assert.Equal(0.15, rig.Last("aida_ups_battery_ratio", ("asset", "ups-1a")), 9);
        Assert.Equal(1, rig.Last("nut_status_low_battery", ("asset", "ups-1a")));
        Assert.Equal(1, rig.Last("nut_status_discharging", ("asset", "ups-1a")));
        Assert.Equal(5, rig.Last("nut_device_uptime", ("asset", "ups-1a"))); // seconds since served: tells a restart

        // A sensor that stops reporting: its variable is not listed, its series goes stale.
        rig.Fake.Advance(TimeSpan.FromSeconds(5));
        plant.Set("ups-1a/output_power", double.NaN, rig.Clock.GetUtcNow());
        (ok, client) = await collector.PollOnceAsync(client, rig.Sink, default);
        Assert.True(ok);
        Assert.True(StaleMarker.Is(rig.Last("aida_ups_output_power_watts", ("asset", "ups-1a"))));
        await client!.DisposeAsync();
    }

    [Fact]
    public async Task AnErrForOneUps_IsAnErrorUpsdAnswered_ItStaysUp_AndTheOtherUpsIsStored()
    {
        // Regression: upsd answering ERR UNKNOWN-UPS for one UPS read as down (aida_collector_up 0, CollectorDown), though
        // it answered every request and served the other UPS.
        using var rig = new CollectorRig();
        var plant = new FakePlant();
        plant.AddPoint("ups-1a", "output_power", "aida_ups_output_power_watts", 1_200_000, ("asset", "ups-1a"));
        await using var face = new UpsdFace(plant, [new Ups("ups-1a", "tx-1", 1_500_000, UpsMode.DoubleConversion, TimeSpan.FromMinutes(5))]);
        await face.StartAsync(default);
        var collector = new NutCollector(rig.Settings("upsd-1"), "127.0.0.1", face.Endpoint!.Port, ["ups-1a", "ups-9"]);

        var (ok, client) = await collector.PollOnceAsync(null, rig.Sink, default);

        Assert.True(ok, rig.Log.ToString());
        Assert.Equal(80, rig.Last("nut_ups_load", ("ups", "ups-1a")));
        Assert.Equal((true, 1L, 0L), rig.Sink.HealthOf("nut", "upsd-1"));
        Assert.Contains("ups-9: ", rig.Log.ToString(), StringComparison.Ordinal);
        await client!.DisposeAsync();
    }

    [Fact]
    public async Task GarbagePeer_IsCountedMalformed_AndTheConnectionIsDropped()
    {
        using var rig = new CollectorRig();
        await using var garbage = new TcpConnectionServer(new IPEndPoint(IPAddress.Loopback, 0), async (stream, ct) =>
        {
            var buffer = new byte[256];
            _ = await stream.ReadAsync(buffer, ct);
            await stream.WriteAsync(Encoding.ASCII.GetBytes("BEGIN LIST VAR ups1\nVAR ups1 \"unterminated\n"), ct);
        });
        garbage.Start();
        var collector = new NutCollector(rig.Settings("ups-room"), "127.0.0.1", garbage.Endpoint.Port, ["ups1"]);
        var (ok, client) = await collector.PollOnceAsync(null, rig.Sink, default);
        Assert.False(ok);
        Assert.Null(client);
        Assert.Equal((false, 1L, 1L), rig.Sink.HealthOf("nut", "ups-room"));
        Assert.Contains("unterminated", rig.Log.ToString(), StringComparison.Ordinal);

        // Nothing listening: an error, not an exception.
        var port = garbage.Endpoint.Port;
        await garbage.DisposeAsync();
        (ok, _) = await new NutCollector(rig.Settings("gone"), "127.0.0.1", port).PollOnceAsync(null, rig.Sink, default);
        Assert.False(ok);
        Assert.Equal(1, rig.Sink.HealthOf("nut", "gone").Errors);
    }

    [Fact]
    public async Task Fuzz_TruncatedAndGarbledAnswers_EachPollCountedMalformed_NothingThrown()
    {
        using var rig = new CollectorRig();
        const string valid = "BEGIN LIST VAR ups1\nVAR ups1 battery.charge \"100\"\nVAR ups1 ups.status \"OL\"\nEND LIST VAR ups1\n";
        var random = new Random(3);
        var answers = new Queue<byte[]>();
        for (var i = 0; i < 300; i++)
        {
            var cut = Encoding.UTF8.GetBytes(valid[..random.Next(valid.Length - 1)]);
            if (i % 3 == 0 && cut.Length > 0)
            {
                cut[random.Next(cut.Length)] = (byte)random.Next(256);
            }

            answers.Enqueue(cut);
        }

        await using var peer = new TcpConnectionServer(new IPEndPoint(IPAddress.Loopback, 0), async (stream, ct) =>
        {
            var buffer = new byte[256];
            _ = await stream.ReadAsync(buffer, ct);
            byte[] answer;
            lock (answers)
            {
                answer = answers.Dequeue();
            }

            await stream.WriteAsync(answer, ct); // then close: the answer is cut short
        });
        peer.Start();
        var collector = new NutCollector(rig.Settings("fuzzed"), "127.0.0.1", peer.Endpoint.Port, ["ups1"]);
        for (var i = 0; i < 300; i++)
        {
            var (ok, client) = await collector.PollOnceAsync(null, rig.Sink, default);
            Assert.False(ok);
            Assert.Null(client);
        }

        var health = rig.Sink.HealthOf("nut", "fuzzed");
        Assert.Equal(300, health.Errors);
        Assert.Equal(300, health.Malformed);
    }

    [Fact]
    public async Task Run_RetriesWithBackoffOnTheSiteClock_UntilUpsdAnswers()
    {
        using var rig = new CollectorRig();
        var plant = new FakePlant();
        plant.AddPoint("ups-1", "output_power", "aida_ups_output_power_watts", 1000, ("asset", "ups-1"));
        plant.AddPoint("ups-1", "on_battery", "aida_ups_on_battery", 0, ("asset", "ups-1"));
        plant.AddPoint("ups-1", "battery", "aida_ups_battery_ratio", 1, ("asset", "ups-1"));
        var port = Peers.PeerProcess.FreePort();
        var collector = new NutCollector(rig.Settings("ups", interval: TimeSpan.FromSeconds(5)), "127.0.0.1", port);
        using var cts = new CancellationTokenSource();
        var run = collector.RunAsync(rig.Sink, cts.Token);
        await Scrape.ScrapeCollectorTests.WaitUntil(() => rig.Sink.HealthOf("nut", "ups").Errors == 1);

        // Nobody listens yet: it waits its backoff on the fake clock, not in real time.
        await using var face = new UpsdFace(plant, [new Ups("ups-1", "tx", 2000, UpsMode.Eco, TimeSpan.FromMinutes(10))], port);
        await face.StartAsync(default);
        Assert.Equal(1, rig.Sink.HealthOf("nut", "ups").Errors);
        // The first backoff is at most 1 s of site time; advance until its timer (registered just after the error) fires.
        await Scrape.ScrapeCollectorTests.WaitUntil(() =>
        {
            rig.Fake.Advance(TimeSpan.FromMilliseconds(250));
            return rig.Sink.HealthOf("nut", "ups").Up;
        });
        Assert.Equal(50, rig.Last("nut_ups_load", ("ups", "ups-1")));

        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("battery.charge", "nut_battery_charge")]
    [InlineData("input.voltage", "nut_input_voltage")]
    [InlineData("ups.realpower.nominal", "nut_ups_realpower_nominal")]
    [InlineData("driver.parameter.pollinterval", "nut_driver_parameter_pollinterval")]
    [InlineData("outlet.1.load-pct", "nut_outlet_1_load_pct")] // anything but letters, digits and _ becomes _
    public void NamingRule(string variable, string metric) => Assert.Equal(metric, NutCollector.MetricName(variable));

    [Fact]
    public void SiteFile_NamesBadFields()
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [NutCollector.Type] = NutCollector.Create }, TimeProvider.System);
        Assert.Contains("collectors[0].address", Assert.Throws<ConfigException>(() => loader.Parse("site: s\ncollectors:\n  - {type: nut, name: u, address: 'h:99999'}\n", "f")).Message, StringComparison.Ordinal);
        Assert.Contains("unknown status flag 'XX'", Assert.Throws<ConfigException>(() => loader.Parse(
            "site: s\ncollectors:\n  - type: nut\n    name: u\n    address: h\n    metrics:\n      - {variable: 'ups.status:XX', metric: m}\n", "f")).Message, StringComparison.Ordinal);
        Assert.Contains("ups_label", Assert.Throws<ConfigException>(() => loader.Parse("site: s\ncollectors:\n  - {type: nut, name: u, address: h, ups_label: '1x'}\n", "f")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwinUpsd_EcoModeWrittenWithItsSiteEntry_ByInstantCommand_ConfirmedByTheEcoSwitch_WhichStaysOnBattery()
    {
        using var rig = new CollectorRig();
        var plant = new FakePlant { EchoWrites = true };
        plant.AddPoint("ups-1", "output_power", "aida_ups_output_power_watts", 1000, ("asset", "ups-1"));
        plant.AddPoint("ups-1", "on_battery", "aida_ups_on_battery", 0, ("asset", "ups-1"));
        plant.AddPoint("ups-1", "battery", "aida_ups_battery_ratio", 1, ("asset", "ups-1"));
        plant.AddPoint("ups-1", "eco_mode", "aida_ups_eco_mode", 0, ("asset", "ups-1"));
        plant.AddActuator("ups-1", "eco_mode", 0, 1);
        await using var face = new UpsdFace(plant, [new Ups("ups-1", "tx", 2000, UpsMode.DoubleConversion, TimeSpan.FromMinutes(10))]);
        await face.StartAsync(default);
        var entry = face.SiteCollectors();
        Assert.Contains("{actuator: ups-1/eco_mode, ups: ups-1, on: experimental.ecomode.enable, off: experimental.ecomode.disable, state: \"input.eco.switchable=ECO\"}", entry, StringComparison.Ordinal);
        var collector = Load(rig, entry);
        var writer = Assert.Single(collector.Writers);
        Assert.Equal("ups-1/eco_mode", writer.Actuator);

        var on = await writer.WriteAsync(1, default);
        Assert.True(on.Confirmed, on.Problem);
        Assert.Equal(("ups-1/eco_mode", 1.0), plant.Writes[^1]);
        var (ok, client) = await collector.PollOnceAsync(null, rig.Sink, default);
        Assert.True(ok, rig.Log.ToString());
        Assert.Equal((1.0, 1.0), (rig.Last("aida_ups_eco_mode", ("asset", "ups-1")), rig.Last("nut_status_bypass", ("asset", "ups-1"))));

        // Regression: on battery the load leaves the bypass (BYPASS gone from ups.status) but eco mode is still set; read
        // from BYPASS, Aida took it for switched off behind its back.
        rig.Fake.Advance(TimeSpan.FromSeconds(5));
        plant.Set("ups-1/on_battery", 1, rig.Clock.GetUtcNow());
        (ok, client) = await collector.PollOnceAsync(client, rig.Sink, default);
        Assert.True(ok);
        Assert.Equal((1.0, 0.0), (rig.Last("aida_ups_eco_mode", ("asset", "ups-1")), rig.Last("nut_status_bypass", ("asset", "ups-1"))));
        await client!.DisposeAsync();
        plant.Set("ups-1/on_battery", 0, rig.Clock.GetUtcNow());
        var off = await writer.WriteAsync(0, default);
        Assert.True(off.Confirmed, off.Problem);
        Assert.Equal(("ups-1/eco_mode", 0.0), plant.Writes[^1]);
        var half = await writer.WriteAsync(0.5, default);
        Assert.False(half.Confirmed);
        Assert.Contains("neither 1 (experimental.ecomode.enable) nor 0", half.Problem, StringComparison.Ordinal);

        // The wrong password: upsd's refusal, with what to check; nothing written.
        var wrong = Load(rig, entry.Replace("password: \"", "password: \"x", StringComparison.Ordinal)).Writers.Single();
        var denied = await wrong.WriteAsync(1, default);
        Assert.False(denied.Confirmed);
        Assert.Contains("ERR ACCESS-DENIED", denied.Problem, StringComparison.Ordinal);
        Assert.Contains("upsd.users", denied.Problem, StringComparison.Ordinal);
        Assert.Equal(2, plant.Writes.Count);
    }

    [Theory]
    [InlineData("    commands:\n      - {actuator: u/eco, ups: u, on: a, off: b, state: 'ups.status:BYPASS'}\n", "collectors[0].commands", "need username and password")]
    [InlineData("    username: aida\n", "collectors[0].password", "go together")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/eco, ups: u, on: a, state: 'ups.status:BYPASS'}\n", "commands[0].off", "either on and off")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/eco, ups: u, on: a, off: b}\n", "commands[0].state", "need a state")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/eco, ups: u, on: a, off: b, variable: c}\n", "commands[0].variable", "not both")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/eco, ups: u, on: a, off: b, state: 'ups.status:ECO'}\n", "commands[0].state", "unknown status flag 'ECO'")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/eco, ups: u, on: a, off: b, state: 'input.eco.switchable='}\n", "commands[0].state", "is not VARIABLE=VALUE")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/eco, ups: u, on: a, off: b, state: 'input eco=ECO'}\n", "commands[0].state", "is not VARIABLE=VALUE")]
    [InlineData("    metrics:\n      - {variable: '=ECO', metric: m}\n", "metrics[0].variable", "is not VARIABLE=VALUE")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/eco, ups: 'u 1', variable: c}\n", "commands[0].ups", "not a UPS name")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/low, ups: u, variable: c}\n      - {actuator: u/low, ups: u, variable: d}\n", "commands[1].actuator", "written twice")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/low, ups: u, variable: c, timeout: 0s}\n", "commands[0].timeout", "")]
    [InlineData("    username: aida\n    password: p\n    commands:\n      - {actuator: u/low, ups: u, variable: c, tolernce: 1}\n", "tolernce", "")]
    public void SiteFile_NamesBadCommands(string fields, string where, string what)
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [NutCollector.Type] = NutCollector.Create }, TimeProvider.System);
        var e = Assert.Throws<ConfigException>(() => loader.Parse("site: s\ncollectors:\n  - type: nut\n    name: u\n    address: h\n" + fields, "f"));
        Assert.Contains(where, e.Message, StringComparison.Ordinal);
        Assert.Contains(what, e.Message, StringComparison.Ordinal);
    }

    internal static NutCollector Load(CollectorRig rig, string entries)
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [NutCollector.Type] = NutCollector.Create }, rig.Clock);
        return Assert.IsType<NutCollector>(loader.Parse("site: s1\ncollectors:\n" + entries, "twin-site.yaml").Collectors.Single());
    }
}
