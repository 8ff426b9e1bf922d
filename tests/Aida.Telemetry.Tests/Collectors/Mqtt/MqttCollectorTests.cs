using System.Buffers;
using System.Text;
using System.Text.Json;
using Aida.Model.Config;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Mqtt;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.Collectors.Mqtt;

/// <summary>Topic routing and payload decoding without a broker (the broker side is in the Mosquitto peer tests).</summary>
public class MqttCollectorTests
{
    [Theory]
    [InlineData("a/+/c", "a/b/c", "b")] // one level
    [InlineData("a/#", "a/b/c", "b/c")] // the rest, slashes included
    [InlineData("a/#", "a", "")] // '#' also matches the parent level
    [InlineData("+/x", "$SYS/x", null)] // wildcards never match '$' topics at the first level
    [InlineData("a/+", "a/b/c", null)] // too many levels
    [InlineData("a/+/c", "a/b", null)] // too few
    [InlineData("a/b", "a/c", null)] // literal mismatch
    public void Route_MatchesAsMqttFiltersDo(string pattern, string topic, string? capture)
    {
        var route = new MqttTopicRoute(pattern, "m", [], new JsonFieldPath("value"), null);
        var match = route.Match(topic);
        Assert.Equal(capture, match?.Single());
    }

    [Theory]
    [InlineData("a/#/b")] // '#' not last
    [InlineData("a/b+/c")] // wildcard inside a level
    [InlineData("")]
    public void Route_RefusesInvalidFilters(string pattern) => Assert.NotNull(MqttTopicRoute.Problem(pattern));

    [Fact]
    public async Task Messages_BecomeSamples_WithTopicLabels_ValueAndTimestampFields_AndBadPayloadsAreCounted()
    {
        using var rig = new CollectorRig();
        var collector = Load(rig, """
            - type: mqtt
                name: room
                broker: 127.0.0.1:1
                labels: {building: b1}
                topics:
                  - {pattern: 'site/+/+/temp', metric: room_temp_celsius, labels: {hall: '{1}', sensor: 'sensor-{2}'}, value: data.0.celsius, timestamp: at}
                  - {pattern: 'site/raw/#', metric: raw_value, labels: {path: '{1}'}, value: '.'}
            """);
        await RunCancelled(collector, rig);

        Receive(collector, "site/h1/7/temp", """{"data":[{"celsius":21.5}],"at":1700000001.5}""");
        Receive(collector, "site/h1/8/temp", """{"data":[{"celsius":"22.25"}],"at":"2023-11-14T22:13:25Z"}""");
        Receive(collector, "site/raw/a/b", "42");
        Receive(collector, "site/raw/flag", "true");
        var t = rig.Samples("room_temp_celsius", ("hall", "h1"), ("sensor", "sensor-7"), ("building", "b1"), ("site", "s1")).Single();
        Assert.Equal(new Sample(1_700_000_001_500, 21.5), t);
        Assert.Equal(new Sample(1_700_000_005_000, 22.25), rig.Samples("room_temp_celsius", ("sensor", "sensor-8")).Single());
        Assert.Equal(42, rig.Last("raw_value", ("path", "a/b")));
        Assert.Equal(1, rig.Last("raw_value", ("path", "flag")));
        Assert.Equal(CollectorRig.T0.ToUnixTimeMilliseconds(), rig.Samples("raw_value", ("path", "flag")).Single().TimestampMs);

        // null: no reading, the series goes stale.
        rig.Fake.Advance(TimeSpan.FromSeconds(1));
        Receive(collector, "site/raw/flag", "null");
        Assert.True(StaleMarker.Is(rig.Last("raw_value", ("path", "flag"))));

        Receive(collector, "site/h1/7/temp", "{not json");
        Receive(collector, "site/h1/7/temp", """{"data":[]}""");
        Receive(collector, "site/h1/7/temp", """{"data":[{"celsius":"warm"}],"at":1}""");
        Receive(collector, "site/h1/7/temp", """{"data":[{"celsius":1}],"at":"yesterday"}""");
        Receive(collector, "site/raw/x", new string('[', 100_000)); // deeper than the JSON reader allows
        Receive(collector, "other/topic", "1"); // matches no route: ignored
        Assert.Equal(5, rig.Sink.HealthOf("mqtt", "room").Malformed);
        Assert.Equal(4, collector.MessagesStored);
    }

    [Fact]
    public async Task CommandWriter_ConfirmsOnAMatchingState_AndReportsARefusal()
    {
        using var rig = new CollectorRig();
        var collector = Load(rig, """
            - type: mqtt
                name: room
                broker: 127.0.0.1:1
                topics: [{pattern: 'x', metric: m}]
                commands:
                  - {actuator: crah-1/supply_setpoint, topic: cmd/crah-1/sp, state_topic: state/crah-1/sp, tolerance: 0.01, timeout: 5s}
            """);
        await RunCancelled(collector, rig);
        var writer = Assert.IsType<MqttCommandWriter>(Assert.Single(collector.Writers));
        Assert.Equal("crah-1/supply_setpoint", writer.Actuator);

        // Not connected: the write fails at once with the reason.
        var outcome = await writer.WriteAsync(21, default);
        Assert.False(outcome.Confirmed);
        Assert.Contains("not connected", outcome.Problem, StringComparison.Ordinal);

        Receive(collector, "state/crah-1/sp", """{"value": 19.5}""");
        Assert.Equal(19.5, writer.LastState);
        Assert.False((await writer.WriteAsync(double.NaN, default)).Confirmed);
    }

    [Fact]
    public void SiteFile_NamesBadFields()
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [MqttCollector.Type] = MqttCollector.Create }, TimeProvider.System);
        string Error(string entry) => Assert.Throws<ConfigException>(() => loader.Parse("site: s\ncollectors:\n" + entry, "f.yaml")).Message;
        Assert.Contains("topics", Error("  - {type: mqtt, name: m, broker: h}\n"), StringComparison.Ordinal);
        Assert.Contains("collectors[0].topics[0].pattern", Error("  - {type: mqtt, name: m, broker: h, topics: [{pattern: 'a/#/b', metric: m}]}\n"), StringComparison.Ordinal);
        Assert.Contains("wildcard", Error("  - {type: mqtt, name: m, broker: h, topics: [{pattern: 'a/+', metric: m, labels: {x: '{2}'}}]}\n"), StringComparison.Ordinal);
        Assert.Contains("empty step", Error("  - {type: mqtt, name: m, broker: h, topics: [{pattern: 'a', metric: m, value: 'a..b'}]}\n"), StringComparison.Ordinal);
        Assert.Contains("state_topic", Error("  - {type: mqtt, name: m, broker: h, topics: [{pattern: a, metric: m}], commands: [{actuator: a/b, topic: c, state_topic: 's/#'}]}\n"), StringComparison.Ordinal);
        Assert.Contains("broker", Error("  - {type: mqtt, name: m, broker: 'h:0', topics: [{pattern: a, metric: m}]}\n"), StringComparison.Ordinal);
    }

    [Fact]
    public void JsonFieldPath_ReadsTimestampsInSecondsMillisecondsAndIso8601()
    {
        using var doc = JsonDocument.Parse("""{"s":1700000000.25,"ms":1700000000250,"iso":"2023-11-14T22:13:20.25+00:00","bad":true}""");
        foreach (var field in new[] { "s", "ms", "iso" })
        {
            Assert.True(JsonFieldPath.TryReadTimestamp(new JsonFieldPath(field).Find(doc.RootElement)!.Value, out var ms));
            Assert.Equal(1_700_000_000_250, ms);
        }

        Assert.False(JsonFieldPath.TryReadTimestamp(new JsonFieldPath("bad").Find(doc.RootElement)!.Value, out _));
        Assert.Null(new JsonFieldPath("missing.deeper").Find(doc.RootElement));
    }

    private static MqttCollector Load(CollectorRig rig, string entry)
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [MqttCollector.Type] = MqttCollector.Create }, rig.Clock);
        // The raw strings above indent the entry's fields by 4 under "- ": normalise to the site file's layout.
        var yaml = "site: s1\ncollectors:\n" + string.Join('\n', entry.Split('\n').Select(l => l.StartsWith("- ", StringComparison.Ordinal) ? "  " + l : "  " + l[2..]));
        return Assert.IsType<MqttCollector>(loader.Parse(yaml, "site.yaml").Collectors.Single());
    }

    /// <summary>Attaches the sink without connecting: a run that is cancelled before it starts.</summary>
    private static async Task RunCancelled(MqttCollector collector, CollectorRig rig)
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await collector.RunAsync(rig.Sink, cts.Token);
    }

    private static void Receive(MqttCollector collector, string topic, string payload) =>
        collector.Receive(topic, new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(payload)));
}
