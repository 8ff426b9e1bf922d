using Aida.Model.Config;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.PromQL;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Collectors;

public class CollectorFrameworkTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    [Fact]
    public void Backoff_GrowsToItsCap_WithJitterBelowTheBound_AndRestartsAfterReset()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), new Random(3));
        var delays = Enumerable.Range(0, 12).Select(_ => backoff.Next().TotalSeconds).ToArray();
        for (var i = 0; i < delays.Length; i++)
        {
            Assert.InRange(delays[i], 0.001, Math.Min(30, Math.Pow(2, i)));
        }

        Assert.True(delays.Skip(6).Average() > 5, "later delays reach toward the 30 s cap");
        backoff.Reset();
        Assert.InRange(backoff.Next().TotalSeconds, 0.001, 1);

        // Seeded: the same seed gives the same delays.
        var again = new ReconnectBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), new Random(3));
        Assert.Equal(delays, Enumerable.Range(0, 12).Select(_ => again.Next().TotalSeconds));
    }

    [Fact]
    public void Sink_StoresReadingsWithSiteLabels_AndHealthSeries()
    {
        var clock = new FakeTimeProvider(T0);
        using var store = new Tsdb(new TsdbOptions { Clock = clock });
        var log = new StringWriter();
        var sink = new CollectorSink(store, Labels.From(("site", "s1")), clock, log);

        Assert.True(sink.Sample("modbus", "meter-1", Labels.Metric("aida_power_watts", ("asset", "meter-1")), T0.ToUnixTimeMilliseconds(), 1234));
        sink.Up("modbus", "meter-1", TimeSpan.FromMilliseconds(20));
        clock.Advance(TimeSpan.FromSeconds(1));
        sink.Error("modbus", "meter-1", "connection refused");
        sink.Malformed("modbus", "meter-1", "frame length 3 below 8");

        // A reading whose labels break the naming rules is counted as malformed, not thrown.
        Assert.False(sink.Sample("modbus", "meter-1", Labels.Metric("bad metric"), T0.ToUnixTimeMilliseconds(), 1));

        var engine = new PromQLEngine(store);
        var at = clock.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.Equal(1234, engine.Instant("aida_power_watts{site=\"s1\",asset=\"meter-1\"}", at).Series.Single().Samples[0].Value);
        Assert.Equal(0, engine.Instant("aida_collector_up{collector=\"modbus\",device=\"meter-1\"}", at).Series.Single().Samples[0].Value);

        // Two bad frames in one millisecond: the second count is written with the next poll.
        clock.Advance(TimeSpan.FromSeconds(1));
        sink.Up("modbus", "meter-1", TimeSpan.FromMilliseconds(20));
        at = clock.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.Equal(1, engine.Instant("aida_collector_up{collector=\"modbus\",device=\"meter-1\"}", at).Series.Single().Samples[0].Value);
        Assert.Equal(2, engine.Instant("aida_collector_malformed_total{device=\"meter-1\"}", at).Series.Single().Samples[0].Value);
        Assert.Equal(1, engine.Instant("aida_collector_errors_total{device=\"meter-1\"}", at).Series.Single().Samples[0].Value);
        Assert.Equal((true, 1L, 2L), sink.HealthOf("modbus", "meter-1"));

        // Reached again after a poll it did not answer: when is kept (a device back from an outage may have restarted);
        // its first contact, or an answer after one with an error (Failed), is no return.
        // (from the start of the poll that reached it, as its readings are stamped)
        Assert.Equal(clock.GetUtcNow() - TimeSpan.FromMilliseconds(20), sink.ReturnOf("modbus", "meter-1")?.At);
        sink.Up("modbus", "meter-2", TimeSpan.FromMilliseconds(20));
        sink.Failed("modbus", "meter-2", "exception response 2 (illegal data address)");
        clock.Advance(TimeSpan.FromSeconds(1));
        sink.Up("modbus", "meter-2", TimeSpan.FromMilliseconds(20));
        Assert.Null(sink.ReturnOf("modbus", "meter-2"));
        Assert.StartsWith("answered again at ", sink.ReturnOf("modbus", "meter-1")?.How, StringComparison.Ordinal);

        // A device down when Aida started and reached later is a return too (a person or an earlier run set it), said as
        // its first answer, not as an answer again.
        sink.Error("modbus", "meter-3", "connection refused");
        clock.Advance(TimeSpan.FromSeconds(1));
        sink.Up("modbus", "meter-3", TimeSpan.FromMilliseconds(20));
        Assert.StartsWith("answered for the first time at ", sink.ReturnOf("modbus", "meter-3")?.How, StringComparison.Ordinal);
        Assert.Equal(clock.GetUtcNow() - TimeSpan.FromMilliseconds(20), sink.ReturnOf("modbus", "meter-3")?.At);

        // Logged once; the next problems within the log interval are only counted.
        Assert.Single(log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("meter-1", StringComparison.Ordinal));
        Assert.Contains("meter-1: connection refused", log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_RestartsACollectorThatThrows_AndStopsOnCancel()
    {
        var clock = new FakeTimeProvider(T0);
        using var store = new Tsdb(new TsdbOptions { Clock = clock });
        var sink = new CollectorSink(store, Labels.Empty, clock, TextWriter.Null);
        var flaky = new ThrowingCollector();
        using var cts = new CancellationTokenSource();
        var run = new CollectorHost([flaky], sink).RunAsync(cts.Token);

        await flaky.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var restarted = flaky.NextStart();
        clock.Advance(CollectorHost.MaxRestartDelay);
        await restarted.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(flaky.Runs >= 2);
        Assert.True(sink.HealthOf("test", "flaky").Errors >= 1);

        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void SiteFile_Errors_NameFileLineAndField()
    {
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { ["test"] = (e, s) => new ThrowingCollector(s.Name) }, TimeProvider.System);
        var site = loader.Parse("site: s1\nlabels: {region: eu}\ncollectors:\n  - {type: test, name: a, interval: 2s}\n", "site.yaml");
        Assert.Equal("a", site.Collectors.Single().Name);
        Assert.Equal("s1", site.Labels.Get("site"));
        Assert.Equal("eu", site.Labels.Get("region"));

        var unknown = Assert.Throws<ConfigException>(() => loader.Parse("site: s1\ncollectors:\n  - type: modbsu\n    name: a\n", "site.yaml"));
        Assert.Contains("site.yaml:3", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("unknown collector type 'modbsu'", unknown.Message, StringComparison.Ordinal);

        var twice = Assert.Throws<ConfigException>(() => loader.Parse("site: s1\ncollectors:\n  - {type: test, name: a}\n  - {type: test, name: a}\n", "site.yaml"));
        Assert.Contains("collectors[1].name", twice.Message, StringComparison.Ordinal);

        var typo = Assert.Throws<ConfigException>(() => loader.Parse("site: s1\ncollectors:\n  - {type: test, name: a, intervall: 2s}\n", "site.yaml"));
        Assert.Contains("intervall", typo.Message, StringComparison.Ordinal);

        var label = Assert.Throws<ConfigException>(() => loader.Parse("site: s1\nlabels: {1bad: x}\n", "site.yaml"));
        Assert.Contains("labels.1bad", label.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SiteFile_DefaultTimeout_IsTheInterval_WithinThreeToTenSeconds()
    {
        // Regression: at --speed 100 the twin's site polls every 100 ms, and a 100 ms timeout failed confirmed writes
        // whenever the host was busy; later 1 s failed a Redfish #Chassis.Reset confirmation on a loaded CI host.
        var seen = new List<CollectorSettings>();
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { ["test"] = (e, s) => { seen.Add(s); return new ThrowingCollector(s.Name); } }, TimeProvider.System);
        loader.Parse("site: s1\ncollectors:\n  - {type: test, name: a, interval: 100ms}\n  - {type: test, name: b, interval: 5s}\n  - {type: test, name: c, interval: 1m}\n  - {type: test, name: d, interval: 100ms, timeout: 50ms}\n", "site.yaml");
        Assert.Equal([TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50)], seen.Select(s => s.Timeout));
    }

    private sealed class ThrowingCollector(string name = "flaky") : ICollector
    {
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Runs { get; private set; }

        public string Name => name;

        public string Kind => "test";

        public Task NextStart()
        {
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _next.Task;
        }

        public Task RunAsync(CollectorSink sink, CancellationToken ct)
        {
            Runs++;
            _next.TrySetResult();
            Started.TrySetResult();
            throw new InvalidOperationException("bug");
        }
    }
}
