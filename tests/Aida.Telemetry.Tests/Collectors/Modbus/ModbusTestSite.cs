using System.Net;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Modbus;
using Aida.Telemetry.PromQL;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Collectors.Modbus;

/// <summary>A store, a sink and a fake clock, and Modbus collectors built from site-file YAML, for collector tests.</summary>
internal sealed class ModbusTestSite : IDisposable
{
    public static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    // Real-time guard against a hang: a test fails rather than waits forever; never a timing assumption.
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    public ModbusTestSite()
    {
        Store = new Tsdb(new TsdbOptions { Clock = Clock });
        Sink = new CollectorSink(Store, Labels.Empty, Clock, Log);
    }

    public FakeTimeProvider Clock { get; } = new(T0);

    public Tsdb Store { get; }

    public CollectorSink Sink { get; }

    public StringWriter Log { get; } = new();

    public static ModbusCollector Collector(string entryFields, IPEndPoint endpoint, FakeTimeProvider clock, string name = "meter-1")
    {
        var yaml = $"site: test\ncollectors:\n  - type: modbus\n    name: {name}\n    address: {endpoint}\n{entryFields}";
        var loader = new SiteLoader(new Dictionary<string, CollectorFactory> { [ModbusCollector.Type] = ModbusCollector.Factory }, clock);
        return (ModbusCollector)loader.Parse(yaml, "site.yaml").Collectors.Single();
    }

    public ModbusCollector Collector(string entryFields, IPEndPoint endpoint, string name = "meter-1") => Collector(entryFields, endpoint, Clock, name);

    /// <summary>The latest value of the one series <paramref name="selector"/> selects, at the clock's now.</summary>
    public double Value(string selector)
    {
        var result = new PromQLEngine(Store).Instant(selector, Clock.GetUtcNow().ToUnixTimeMilliseconds());
        return Assert.Single(result.Series).Samples[0].Value;
    }

    /// <summary>Whether <paramref name="selector"/> selects a reading at the clock's now (a staleness marker or nothing
    /// within the lookback reads as missing).</summary>
    public bool Reads(string selector) =>
        new PromQLEngine(Store).Instant(selector, Clock.GetUtcNow().ToUnixTimeMilliseconds()).Series.Count > 0;

    /// <summary>Advances the fake clock by <paramref name="step"/> until <paramref name="until"/> completes: the collector
    /// registers its timers asynchronously, so one advance may come before the timer it is meant for.</summary>
    public async Task AdvanceUntil(Task until, TimeSpan step)
    {
        var deadline = DateTime.UtcNow + Guard;
        while (!until.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, "the awaited poll did not come");
            Clock.Advance(step);
            await Task.WhenAny(until, Task.Delay(10));
        }

        await until;
    }

    public void Dispose() => Store.Dispose();
}

/// <summary>Polls of a collector as tasks, to await instead of sleeping.</summary>
internal sealed class PollWatch
{
    private readonly Lock _lock = new();
    private readonly List<bool> _outcomes = [];
    private TaskCompletionSource<bool> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PollWatch(ModbusCollector collector) => collector.Polled = (ok, _) =>
    {
        TaskCompletionSource<bool> done;
        lock (_lock)
        {
            _outcomes.Add(ok);
            done = _next;
            _next = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        done.SetResult(ok);
    };

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _outcomes.Count;
            }
        }
    }

    /// <summary>The next poll's outcome (true when every read succeeded).</summary>
    public Task<bool> Next()
    {
        lock (_lock)
        {
            return _next.Task;
        }
    }
}
