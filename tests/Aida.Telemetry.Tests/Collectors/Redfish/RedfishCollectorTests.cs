using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Redfish;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;
using Aida.Twin.Wire;
using Aida.Twin.Wire.Redfish;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Collectors.Redfish;

/// <summary>The Redfish collector and power-limit writer against the twin's Redfish face on loopback, and against a
/// service that answers garbage.</summary>
public sealed class RedfishCollectorTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Simulator _simulator = new(ScenarioLoader.Load("reference"), new SimulationOptions { NoOperator = true });
    private SynchronizedPlant _plant = null!;
    private RedfishFace _face = null!;

    public async Task InitializeAsync()
    {
        _simulator.AdvanceSteps(1);
        _plant = new SynchronizedPlant(_simulator.Plant);
        _face = new RedfishFace(_plant, new IPEndPoint(IPAddress.Loopback, 0), speed: 100);
        await _face.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _face.DisposeAsync();

    private Site LoadSite() =>
        new SiteLoader(new Dictionary<string, CollectorFactory> { [RedfishCollector.Type] = RedfishCollector.Create }, TimeProvider.System)
            .Parse($"site: leesburg-va\ncollectors:\n{_face.SiteCollectors()}", "twin-redfish.yaml");

    [Fact]
    public async Task Collects_EveryRackPoint_NamedLabelledAndValuedAsThePlantReadsIt()
    {
        var site = LoadSite();
        using var store = new Tsdb(new TsdbOptions { Clock = TimeProvider.System });
        var sink = new CollectorSink(store, site.Labels, TimeProvider.System, TextWriter.Null);
        using var stop = new CancellationTokenSource();
        var running = new CollectorHost(site.Collectors, sink).RunAsync(stop.Token);

        // The plant is not stepped: what the store holds must be exactly what the plant reads.
        var rackPoints = _plant.Points.Where(p => p.Labels.ContainsKey("rack") && p.Name.Split('/')[1] is "power" or "inlet_temperature" or "gpu_max_temperature" or "gpu_power_limit_command" or "isolated" or "leak" or "powered").ToList();
        Assert.Equal(7 * site.Collectors.Count, rackPoints.Count);
        await Until(() => rackPoints.All(p => Latest(store, p) is not null) && site.Collectors.All(c => sink.HealthOf(RedfishCollector.Type, c.Name).Up));
        foreach (var p in rackPoints)
        {
            Assert.Equal(_plant.Read(p.Index).Value, Latest(store, p));
        }

        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task Writer_PatchesThePowerLimit_ConfirmsByReadBack_AndThePlantTakesIt()
    {
        var site = LoadSite();
        var writer = site.Collectors.OfType<IActuatorSource>().SelectMany(s => s.Writers).First(w => w.Actuator.EndsWith("/gpu_power_limit", StringComparison.Ordinal));
        var outcome = await writer.WriteAsync(900, CancellationToken.None);
        Assert.True(outcome.Confirmed, outcome.Problem);
        Assert.Equal(900, outcome.ReadBack);
        lock (_plant.Gate)
        {
            _simulator.AdvanceSteps(20);
        }

        Assert.Equal(900, _plant.ReadValue(writer.Actuator));

        // Above the GPU's maximum: the service refuses it with a Redfish error, reported, not thrown.
        var refused = await writer.WriteAsync(5000, CancellationToken.None);
        Assert.False(refused.Confirmed);
        Assert.Contains("400", refused.Problem, StringComparison.Ordinal);
        Assert.Contains("range", refused.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PowerStateWriter_IsolatesTheRackWithChassisReset_ConfirmedByPowerState()
    {
        var writer = LoadSite().Collectors.OfType<IActuatorSource>().SelectMany(s => s.Writers).First(w => w.Actuator.EndsWith("/isolate", StringComparison.Ordinal));
        var off = await writer.WriteAsync(1, CancellationToken.None);
        Assert.True(off.Confirmed, off.Problem);
        lock (_plant.Gate)
        {
            _simulator.AdvanceSteps(20);
        }

        Assert.Equal(1, _plant.ReadValue(writer.Actuator.Replace("/isolate", "/isolated", StringComparison.Ordinal)));

        // Neither on (0) nor off (1): refused before anything is sent.
        var neither = await writer.WriteAsync(0.5, CancellationToken.None);
        Assert.False(neither.Confirmed);
        Assert.Contains("neither on", neither.Problem, StringComparison.Ordinal);
        Assert.True((await writer.WriteAsync(0, CancellationToken.None)).Confirmed);
    }

    [Fact]
    public async Task MalformedBodies_AreCounted_NeverThrown_AndTheCollectorKeepsPolling()
    {
        // The links followed, then each poll, get the next garbage answer for one of the resources they read.
        var bodies = new Queue<(string Path, string Body)>(
        [
            ("/redfish/v1", "{not json"),
            ("/redfish/v1", "[]"),
            ("/redfish/v1", """{"Chassis": 5}"""),
            ("/redfish/v1/Chassis", """{"Members": [{"@odata.id": 7}]}"""),
            ("/redfish/v1/Chassis/r1/ThermalSubsystem/LeakDetection", """{"LeakDetectors": "here"}"""),

            // Garbage for one resource of a poll: that resource fails alone.
            ("/redfish/v1/Chassis/r1/Power", """{"PowerControl": [{"MemberId": "0", "PowerConsumedWatts": "lots"}]}"""),
            ("/redfish/v1/Chassis/r1/Thermal", """{"Temperatures": {"Name": "Inlet"}}"""),
            ("/redfish/v1/Chassis/r1/Power", "\u0000\u0001\u0002"),
            (Detector, """{"Id": "Manifold", "DetectorState": "Soggy"}"""),
            (Detector, """{"Id": "Manifold", "DetectorState": 2}"""),
        ]);
        var expected = bodies.Count;
        var handler = new GarbageService(bodies);
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        using var store = new Tsdb(new TsdbOptions { Clock = clock });
        var sink = new CollectorSink(store, Labels.From(("site", "s")), clock, TextWriter.Null);
        var settings = new CollectorSettings("bmc-1", Labels.Empty, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), clock, new Random(1));
        var leak = new Dictionary<string, string> { ["Manifold"] = "aida_rack_leak_detected" };
        using var collector = new RedfishCollector(settings, new RedfishCollectorOptions { Url = new Uri("http://bmc-1"), Chassis = "r1", LeakDetectors = leak }, handler);
        using var stop = new CancellationTokenSource();
        var running = collector.RunAsync(sink, stop.Token);

        // Time moves on past every backoff delay until the garbage is spent and the service answers well again.
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromMinutes(2));
            // Answering well again, the detector's OK is stored as 0.
            return handler.Spent && sink.HealthOf(RedfishCollector.Type, "bmc-1").Up
                && store.Select(0, long.MaxValue, [LabelMatcher.MetricName("aida_rack_leak_detected")]).SingleOrDefault()?.Samples[^1].Value == 0;
        });
        var health = sink.HealthOf(RedfishCollector.Type, "bmc-1");
        Assert.Equal(expected, health.Malformed);
        Assert.False(running.IsFaulted);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task AServiceLost_ItsReadingsAreMarkedStale_SoTheyReadMissingAtOnce_AndReturnWithIt()
    {
        await using var rig = new GarbageRig();
        var (handler, clock, store, sink) = (rig.Handler, rig.Clock, rig.Store, rig.Sink);
        double? Power() => rig.Latest(RedfishCollectorOptions.DefaultConsumedMetric);
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Power() == 1000;
        });

        handler.Unreachable = true;
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return !sink.HealthOf(RedfishCollector.Type, "bmc-1").Up;
        });
        Assert.True(StaleMarker.Is(Power()!.Value));
        var marked = store.Select(0, long.MaxValue, [LabelMatcher.MetricName(RedfishCollectorOptions.DefaultConsumedMetric)]).Single().Samples[^1].TimestampMs;

        // Failing again marks nothing more; the service back, its readings are too.
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            return sink.HealthOf(RedfishCollector.Type, "bmc-1").Errors >= 3;
        });
        Assert.Equal(marked, store.Select(0, long.MaxValue, [LabelMatcher.MetricName(RedfishCollectorOptions.DefaultConsumedMetric)]).Single().Samples[^1].TimestampMs);
        handler.Unreachable = false;
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            return Power() == 1000;
        });
    }

    [Fact]
    public async Task AResourceAnsweringAnError_GoesStaleAlone_TheServiceStaysUp_AndOneNotFoundHasTheLinksFollowedAgain()
    {
        // Regression: an HTTP error on one resource (a BMC's Thermal answering 500) failed the whole poll, so the
        // chassis' power went stale with it and the service counted as down: CollectorDown, and its power limits'
        // writes held back after a failed one.
        await using var rig = new GarbageRig();
        var (handler, clock, store, sink) = (rig.Handler, rig.Clock, rig.Store, rig.Sink);
        var Latest = rig.Latest;
        async Task Polls(int count)
        {
            var before = handler.Requests.GetValueOrDefault("/redfish/v1/Chassis/r1/Power");
            await Until(() =>
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                return handler.Requests.GetValueOrDefault("/redfish/v1/Chassis/r1/Power") >= before + count;
            });
        }

        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Latest(RedfishCollectorOptions.DefaultTemperatureMetric) == 24.5;
        });

        handler.Failing["/redfish/v1/Chassis/r1/Thermal"] = HttpStatusCode.InternalServerError;
        await Polls(2);
        Assert.True(StaleMarker.Is(Latest(RedfishCollectorOptions.DefaultTemperatureMetric)!.Value));
        Assert.Equal(1000, Latest(RedfishCollectorOptions.DefaultConsumedMetric));
        var health = sink.HealthOf(RedfishCollector.Type, "bmc-1");
        Assert.True(health.Up);
        Assert.True(health.Errors >= 1);
        Assert.Null(sink.ReturnOf(RedfishCollector.Type, "bmc-1"));

        // A resource gone (404) fails alone too, and the links are followed from the root again before the next poll.
        handler.Failing.Clear();
        var roots = handler.Requests.GetValueOrDefault("/redfish/v1");
        handler.Failing["/redfish/v1/Chassis/r1/Thermal"] = HttpStatusCode.NotFound;
        await Polls(2);
        Assert.True(handler.Requests.GetValueOrDefault("/redfish/v1") > roots);
        Assert.True(sink.HealthOf(RedfishCollector.Type, "bmc-1").Up);

        // Back: its readings return. Every resource failing is the service down.
        handler.Failing.Clear();
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Latest(RedfishCollectorOptions.DefaultTemperatureMetric) == 24.5;
        });
        handler.Failing["/redfish/v1/Chassis/r1/Thermal"] = HttpStatusCode.ServiceUnavailable;
        handler.Failing["/redfish/v1/Chassis/r1/Power"] = HttpStatusCode.ServiceUnavailable;
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return !sink.HealthOf(RedfishCollector.Type, "bmc-1").Up;
        });
        Assert.True(StaleMarker.Is(Latest(RedfishCollectorOptions.DefaultConsumedMetric)!.Value));
    }

    [Theory]
    [InlineData("OK", 0.0)]
    [InlineData("Warning", 1.0)]
    [InlineData("Critical", 1.0)]
    [InlineData("Unavailable", null)]
    [InlineData(null, null)]
    public void ALeakDetectorsState_ReadsAsLiquidSensedOrNot(string? state, double? leak) =>
        Assert.Equal(leak, new Aida.Protocols.Redfish.LeakDetectorReading("Manifold", "Manifold", state).LeakDetected(Detector));

    [Fact]
    public async Task AManagersUptime_IsStored_ItsRestartBetweenPollsTold_AndItsGarbageFailsItAlone()
    {
        await using var rig = new GarbageRig(managerUptime: true);
        var (handler, clock, sink) = (rig.Handler, rig.Clock, rig.Sink);

        // No DateTime: the uptime is the collector's clock at the poll less LastResetTime, an hour before the rig's start.
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return rig.Latest(RedfishCollectorOptions.ManagerUptimeMetric) is >= 3600;
        });
        var uptime = Assert.Single(rig.Store.Select(0, long.MaxValue, [LabelMatcher.MetricName(RedfishCollectorOptions.ManagerUptimeMetric)]));
        Assert.Equal("bmc", uptime.Labels.Get("manager"));
        Assert.Empty(sink.Restarts());

        // A LastResetTime that is no date-time fails the manager's read alone: counted malformed, the service up.
        var malformed = sink.HealthOf(RedfishCollector.Type, "bmc-1").Malformed;
        handler.Once("/redfish/v1/Managers/bmc", """{"Id": "bmc", "LastResetTime": "yesterday"}""");
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            return sink.HealthOf(RedfishCollector.Type, "bmc-1").Malformed > malformed;
        });
        Assert.True(sink.HealthOf(RedfishCollector.Type, "bmc-1").Up);
        Assert.Empty(sink.Restarts());

        // The BMC restarts between two polls it answers: its LastResetTime moves to now, and the restart is told.
        handler.ManagerReset = clock.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", System.Globalization.CultureInfo.InvariantCulture);
        await Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            return sink.Restarts().Count > 0;
        });
        var (collector, device, restart) = Assert.Single(sink.Restarts());
        Assert.Equal((RedfishCollector.Type, "bmc-1"), (collector, device));
        Assert.Contains("its manager bmc's uptime read ", restart.How, StringComparison.Ordinal);
        Assert.Equal(restart, sink.ReturnOf(RedfishCollector.Type, "bmc-1"));
        Assert.True(sink.HealthOf(RedfishCollector.Type, "bmc-1").Up);
    }

    [Fact]
    public async Task ARackBmcRestartedOnTheTwin_IsFound_AndItsPowerLimitIsBackAtItsOwn()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        await using var face = new RedfishFace(_plant, new IPEndPoint(IPAddress.Loopback, 0), clock: clock);
        await face.StartAsync(CancellationToken.None);
        var site = new SiteLoader(new Dictionary<string, CollectorFactory> { [RedfishCollector.Type] = RedfishCollector.Create }, clock)
            .Parse($"site: leesburg-va\ncollectors:\n{face.SiteCollectors()}", "twin-redfish.yaml");
        var rack = site.Collectors[0];
        var id = rack.Name["redfish-".Length..];
        var writer = ((IActuatorSource)rack).Writers.Single(w => w.Actuator.EndsWith("/gpu_power_limit", StringComparison.Ordinal));
        var before = _plant.ReadValue(writer.Actuator);
        using var store = new Tsdb(new TsdbOptions { Clock = clock });
        var sink = new CollectorSink(store, site.Labels, clock, TextWriter.Null);
        using var stop = new CancellationTokenSource();
        var running = rack.RunAsync(sink, stop.Token);
        Task Poll(Func<bool> done) => Until(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return done();
        });

        await Poll(() => store.Select(0, long.MaxValue, [LabelMatcher.MetricName(RedfishCollectorOptions.ManagerUptimeMetric)]).SingleOrDefault()?.Samples[^1].Value >= 120);
        Assert.True((await writer.WriteAsync(before - 100, CancellationToken.None)).Confirmed);
        lock (_plant.Gate)
        {
            _simulator.AdvanceSteps(20);
        }

        Assert.Equal(before - 100, _plant.ReadValue(writer.Actuator));
        Assert.Empty(sink.Restarts());

        // The BMC restarts faster than a poll: the service never stops answering, but its uptime tells.
        face.Restart(id);
        await Poll(() => sink.Restarts().Count > 0);
        var how = sink.ReturnOf(RedfishCollector.Type, rack.Name)?.How;
        Assert.StartsWith("was found restarted at ", how, StringComparison.Ordinal);
        Assert.Contains($"its manager {id}'s uptime read ", how, StringComparison.Ordinal);
        lock (_plant.Gate)
        {
            _simulator.AdvanceSteps(20);
        }

        Assert.Equal(before, _plant.ReadValue(writer.Actuator));
        Assert.True(sink.HealthOf(RedfishCollector.Type, rack.Name).Up);
        await stop.CancelAsync();
        await running;
    }

    [Theory]
    [InlineData("url: ftp://bmc-1", "url")] // not http(s)
    [InlineData("url: http://bmc-1\n    username: admin", "username")] // a user without a password
    [InlineData("url: http://bmc-1\n    power: [{member: \"0\"}]", "power[0]")] // a member with no metric
    [InlineData("url: http://bmc-1\n    power: [{member: \"0\", limit: m, actuator: r/limit}]", "actuator")] // writable without a chassis
    [InlineData("url: http://bmc-1\n    temperatures: {Inlet: \"bad metric\"}", "Inlet")] // not a metric name
    [InlineData("url: http://bmc-1\n    leak_detectors: {Manifold: \"bad metric\"}", "Manifold")] // not a metric name
    [InlineData("url: http://bmc-1\n    power_state: {metric: m, on: 1, off: 1}", "off")] // on and off the same
    [InlineData("url: http://bmc-1\n    chassis: r1\n    colour: blue", "colour")] // a misspelt field
    [InlineData("url: http://bmc-1\n    manager_uptime: sometimes", "manager_uptime")] // not true or false
    public void BadEntries_AreConfigErrorsNamingTheField(string fields, string field)
    {
        var yaml = $"site: s\ncollectors:\n  - type: redfish\n    name: bmc-1\n    {fields}\n";
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [RedfishCollector.Type] = RedfishCollector.Create }, TimeProvider.System);
        var e = Assert.Throws<Aida.Model.Config.ConfigException>(() => loader.Parse(yaml, "site.yaml"));
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.Contains("site.yaml:", e.Message, StringComparison.Ordinal);
    }

    private static double? Latest(Tsdb store, PointInfo p)
    {
        var matchers = p.Labels.Select(kv => new LabelMatcher(kv.Key, MatcherType.Equal, kv.Value)).Prepend(LabelMatcher.MetricName(p.Metric)).ToList();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var series = store.Select(now - 60_000, now + 60_000, matchers).SingleOrDefault(s => s.Labels.Count == p.Labels.Count + 1);
        return series is null || series.Samples.Count == 0 ? null : series.Samples[^1].Value;
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }

    /// <summary>A collector of chassis r1 polling a <see cref="GarbageService"/> with no garbage, on a fake clock, until
    /// disposed.</summary>
    private sealed class GarbageRig : IAsyncDisposable
    {
        private readonly RedfishCollector _collector;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _running;

        public GarbageRig(bool managerUptime = false)
        {
            Store = new Tsdb(new TsdbOptions { Clock = Clock });
            Sink = new CollectorSink(Store, Labels.Empty, Clock, TextWriter.Null);
            var settings = new CollectorSettings("bmc-1", Labels.Empty, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), Clock, new Random(1));
            _collector = new RedfishCollector(settings, new RedfishCollectorOptions { Url = new Uri("http://bmc-1"), Chassis = "r1", ManagerUptime = managerUptime }, Handler);
            _running = _collector.RunAsync(Sink, _stop.Token);
        }

        public GarbageService Handler { get; } = new(new Queue<(string, string)>());

        public FakeTimeProvider Clock { get; } = new(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));

        public Tsdb Store { get; }

        public CollectorSink Sink { get; }

        /// <summary>The latest sample of the one series of <paramref name="metric"/>, if any.</summary>
        public double? Latest(string metric) => Store.Select(0, long.MaxValue, [LabelMatcher.MetricName(metric)]).SingleOrDefault()?.Samples[^1].Value;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _running;
            _collector.Dispose();
            Store.Dispose();
            _stop.Dispose();
        }
    }

    private const string Detector = "/redfish/v1/Chassis/r1/ThermalSubsystem/LeakDetection/LeakDetectors/Manifold";

    /// <summary>A Redfish service whose next answer for a path may be garbage; otherwise a well-formed one-chassis service
    /// with one leak detector.</summary>
    private sealed class GarbageService(Queue<(string Path, string Body)> garbage) : HttpMessageHandler
    {
        public bool Spent
        {
            get
            {
                lock (garbage)
                {
                    return garbage.Count == 0;
                }
            }
        }

        /// <summary>The paths answered with an HTTP error status instead of their resource.</summary>
        public ConcurrentDictionary<string, HttpStatusCode> Failing { get; } = new(StringComparer.Ordinal);

        /// <summary>Requests answered so far, by path.</summary>
        public ConcurrentDictionary<string, int> Requests { get; } = new(StringComparer.Ordinal);

        /// <summary>Whether every request fails as a refused connection does.</summary>
        public bool Unreachable
        {
            get => Volatile.Read(ref _unreachable);
            set => Volatile.Write(ref _unreachable, value);
        }

        private bool _unreachable;

        /// <summary>The manager's <c>LastResetTime</c>, as served.</summary>
        public string ManagerReset
        {
            get => Volatile.Read(ref _managerReset);
            set => Volatile.Write(ref _managerReset, value);
        }

        private string _managerReset = "2027-01-15T07:00:00+00:00";

        /// <summary>Serves <paramref name="body"/> once, the next time <paramref name="path"/> is asked for.</summary>
        public void Once(string path, string body)
        {
            lock (garbage)
            {
                garbage.Enqueue((path, body));
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Unreachable)
            {
                throw new HttpRequestException("Connection refused (bmc-1:80)");
            }

            var path = request.RequestUri!.AbsolutePath;
            Requests.AddOrUpdate(path, 1, (_, n) => n + 1);
            if (Failing.TryGetValue(path, out var status))
            {
                var error = $$$"""{"error": {"code": "Base.1.0.GeneralError", "message": "{{{(int)status}}} for {{{path}}}"}}""";
                return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(error, Encoding.UTF8, "application/json") });
            }

            string body;
            lock (garbage)
            {
                body = garbage.Count > 0 && garbage.Peek().Path == path ? garbage.Dequeue().Body : Good(path);
            }

            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        }

        private string Good(string path) => path switch
        {
            "/redfish/v1/Managers/bmc" => $$"""{"Id": "bmc", "ManagerType": "BMC", "LastResetTime": "{{ManagerReset}}"}""",
            "/redfish/v1" => """{"Chassis": {"@odata.id": "/redfish/v1/Chassis"}}""",
            "/redfish/v1/Chassis" => """{"Members": [{"@odata.id": "/redfish/v1/Chassis/r1"}]}""",
            "/redfish/v1/Chassis/r1" => """{"Id": "r1", "Links": {"ManagedBy": [{"@odata.id": "/redfish/v1/Managers/bmc"}]}, "Power": {"@odata.id": "/redfish/v1/Chassis/r1/Power"}, "Thermal": {"@odata.id": "/redfish/v1/Chassis/r1/Thermal"}, "ThermalSubsystem": {"@odata.id": "/redfish/v1/Chassis/r1/ThermalSubsystem"}}""",
            "/redfish/v1/Chassis/r1/ThermalSubsystem" => """{"LeakDetection": {"@odata.id": "/redfish/v1/Chassis/r1/ThermalSubsystem/LeakDetection"}}""",
            "/redfish/v1/Chassis/r1/ThermalSubsystem/LeakDetection" => """{"LeakDetectors": {"@odata.id": "/redfish/v1/Chassis/r1/ThermalSubsystem/LeakDetection/LeakDetectors"}}""",
            "/redfish/v1/Chassis/r1/ThermalSubsystem/LeakDetection/LeakDetectors" => $$"""{"Members": [{"@odata.id": "{{Detector}}"}]}""",
            Detector => """{"Id": "Manifold", "Name": "Manifold", "DetectorState": "OK"}""",
            "/redfish/v1/Chassis/r1/Power" => """{"PowerControl": [{"MemberId": "0", "PowerConsumedWatts": 1000, "PowerLimit": {"LimitInWatts": null}}]}""",
            "/redfish/v1/Chassis/r1/Thermal" => """{"Temperatures": [{"MemberId": "0", "Name": "Inlet", "ReadingCelsius": 24.5}]}""",
            _ => "{}",
        };
    }
}
