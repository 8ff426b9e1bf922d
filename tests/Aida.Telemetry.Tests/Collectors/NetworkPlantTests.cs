using Aida.Model.Plant;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Collectors;

public class NetworkPlantTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    private static readonly Dictionary<string, string> CduLabels = new() { ["site"] = "s1", ["asset"] = "cdu-1" };

    private readonly FakeTimeProvider _clock = new(T0);

    private readonly Tsdb _store;

    private readonly DesignPlant _design = new(
        [
            new PointInfo(0, "cdu-1/supply_temperature", "cdu-1", "aida_cdu_supply_celsius", CduLabels, "celsius", TimeSpan.FromSeconds(10)),
            new PointInfo(1, "cdu-1/flow", "cdu-1", "aida_cdu_flow_kg_per_second", CduLabels, "kg/s", TimeSpan.FromSeconds(10)),
        ],
        [new ActuatorInfo(0, "cdu-1/supply_setpoint", "cdu-1", "celsius", 15, 50, 1)]);

    public NetworkPlantTests() => _store = new Tsdb(new TsdbOptions { Clock = _clock });

    private int Series(string metric, params (string, string)[] extra) =>
        _store.GetOrCreateSeries(Labels.From(CduLabels.Select(kv => (kv.Key, kv.Value)).Concat(extra).Append((Labels.MetricNameLabel, metric)).ToArray()));

    [Fact]
    public void Read_IsTheLatestSampleOfTheSeriesNamedAndLabelledAsThePoint()
    {
        var supply = Series("aida_cdu_supply_celsius");
        var other = Series("aida_cdu_supply_celsius", ("probe", "spare")); // more labels: another series
        _store.Append(supply, T0.ToUnixTimeMilliseconds() - 20_000, 30);
        _store.Append(supply, T0.ToUnixTimeMilliseconds() - 10_000, 31.5);
        _store.Append(other, T0.ToUnixTimeMilliseconds(), 99);
        var plant = new NetworkPlant(_design, _store, [], _clock, TextWriter.Null);

        var reading = plant.Read(0);
        Assert.Equal(31.5, reading.Value);
        Assert.Equal(T0.AddSeconds(-10), reading.Timestamp);

        // Nothing collected for the flow: missing, as a silent sensor.
        Assert.True(plant.Read(1).IsMissing);
        Assert.True(plant.Read(7).IsMissing);
    }

    [Fact]
    public void Read_IsMissing_AfterAStalenessMarker_OrWhenOlderThanTheLookback()
    {
        var supply = Series("aida_cdu_supply_celsius");
        _store.Append(supply, T0.ToUnixTimeMilliseconds(), 30);
        var plant = new NetworkPlant(_design, _store, [], _clock, TextWriter.Null);
        Assert.Equal(30, plant.Read(0).Value);

        _clock.Advance(NetworkPlant.Lookback + TimeSpan.FromSeconds(1));
        Assert.True(plant.Read(0).IsMissing);

        _store.Append(supply, _clock.GetUtcNow().ToUnixTimeMilliseconds(), 31);
        Assert.Equal(31, plant.Read(0).Value);
        _clock.Advance(TimeSpan.FromSeconds(10));
        _store.Append(supply, _clock.GetUtcNow().ToUnixTimeMilliseconds(), StaleMarker.Value);
        Assert.True(plant.Read(0).IsMissing);
    }

    [Fact]
    public void Write_GoesToTheWriter_WithTheDesignsRange_AndReportsWhatTheDeviceSaid()
    {
        var log = new StringWriter();
        var setpoint = new ScriptedWriter("cdu-1/supply_setpoint", new ActuatorWriteOutcome(true, 20, null));
        var isolate = new ScriptedWriter("rack-1/isolate", new ActuatorWriteOutcome(false, 0, "read back 0 after writing 1"));
        var plant = new NetworkPlant(_design, _store, [setpoint, isolate, new ScriptedWriter("cdu-1/supply_setpoint", default)], _clock, log);

        // The second writer of the same actuator is left out; the design's range applies, unbounded where it has none.
        Assert.Equal(2, plant.Actuators.Count);
        Assert.Equal((15.0, 50.0), (plant.Actuators[0].Min, plant.Actuators[0].Max));
        Assert.Equal(double.PositiveInfinity, plant.Actuators[1].Max);
        Assert.Contains("1 actuators have more than one writer; the first in the site file writes each (cdu-1/supply_setpoint)", log.ToString(), StringComparison.Ordinal);

        Assert.True(plant.Write(0, 20).Ok);
        Assert.Equal([20.0], setpoint.Written);
        Assert.Equal(WriteStatus.OutOfRange, plant.Write(0, 60).Status);
        Assert.Equal(WriteStatus.NotANumber, plant.Write(0, double.NaN).Status);
        Assert.Equal(WriteStatus.UnknownActuator, plant.Write(5, 1).Status);
        Assert.Equal([20.0], setpoint.Written); // refused writes never reach the device

        var unconfirmed = plant.Write(1, 1);
        Assert.Equal(WriteStatus.Unconfirmed, unconfirmed.Status);
        Assert.Contains("read back 0 after writing 1", unconfirmed.Message, StringComparison.Ordinal);
        Assert.Contains("rack-1/isolate", log.ToString(), StringComparison.Ordinal);
    }

    private sealed class DesignPlant(IReadOnlyList<PointInfo> points, IReadOnlyList<ActuatorInfo> actuators) : IPlant
    {
        public IReadOnlyList<PointInfo> Points => points;

        public IReadOnlyList<ActuatorInfo> Actuators => actuators;

        public PointReading Read(int point) => throw new InvalidOperationException("the design is never read");

        public WriteResult Write(int actuator, double value) => throw new InvalidOperationException("the design is never written");
    }

    [Fact]
    public void AWriteToADeviceDown_AfterOneThatFailed_IsNotSent_UntilItsCollectorReachesItAgain()
    {
        var down = false;
        var lost = new ScriptedWriter("cdu-1/supply_setpoint", new ActuatorWriteOutcome(false, double.NaN, "connecting to 127.0.0.1:15021: Connection refused"));
        DeviceReturn? back = null;
        var plant = new NetworkPlant(_design, _store, [lost], _clock, TextWriter.Null, w => ReferenceEquals(w, lost) && down, w => ReferenceEquals(w, lost) ? back : null);

        // Up by its collector, a failed write is tried again; down, after a failed write, it is not sent.
        Assert.Equal(WriteStatus.Unconfirmed, plant.Write(0, 20).Status);
        Assert.Equal(WriteStatus.Unconfirmed, plant.Write(0, 20).Status);
        Assert.False(plant.WritesHeldBack(0));
        down = true;
        Assert.True(plant.WritesHeldBack(0));
        var skipped = plant.Write(0, 21);
        Assert.Equal(WriteStatus.NotSent, skipped.Status);
        Assert.Contains("cdu-1/supply_setpoint: 21 not sent: its device is down", skipped.Message, StringComparison.Ordinal);
        Assert.Equal([20.0, 20.0], lost.Written);

        // Reached again, writes go, and the plant says when its device came back (the guard takes it from its read-back).
        Assert.Null(plant.ReturnOf(0));
        down = false;
        Assert.False(plant.WritesHeldBack(0));
        back = DeviceReturn.ReachedAgain(_clock.GetUtcNow());
        Assert.Equal(back, plant.ReturnOf(0));
        Assert.Null(plant.ReturnOf(1));
        plant.Write(0, 22);
        Assert.Equal([20.0, 20.0, 22.0], lost.Written);
    }

    [Fact]
    public void AWriteToADeviceDown_WhoseLastWriteWasConfirmed_IsSent()
    {
        var fine = new ScriptedWriter("cdu-1/supply_setpoint", new ActuatorWriteOutcome(true, 20, null));
        var plant = new NetworkPlant(_design, _store, [fine], _clock, TextWriter.Null, _ => true);

        Assert.True(plant.Write(0, 20).Ok);
        Assert.True(plant.Write(0, 20).Ok);
        Assert.Equal([20.0, 20.0], fine.Written);
    }

    private sealed class ScriptedWriter(string actuator, ActuatorWriteOutcome outcome) : IActuatorWriter
    {
        public List<double> Written { get; } = [];

        public string Actuator => actuator;

        public Task<ActuatorWriteOutcome> WriteAsync(double value, CancellationToken ct)
        {
            Written.Add(value);
            return Task.FromResult(outcome);
        }
    }
}
