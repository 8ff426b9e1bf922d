using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;

namespace Aida.Reliability.Tests;

/// <summary>The series the SLOs of <c>TestData/synthetic.yaml</c> read, one sample a minute: two GPUs' seconds and
/// throttled seconds (counters) and four racks' inlet temperature. During the fault, GPU 0 is throttled so the GPU SLO
/// burns at <see cref="FaultBurnRate"/> (at its 99.9 % objective) and rack <c>r1</c> runs at 29 °C (others 24 °C).</summary>
internal sealed record SyntheticPlant(DateTimeOffset Start, DateTimeOffset End, DateTimeOffset FaultStart, DateTimeOffset FaultEnd, double FaultBurnRate)
{
    public static readonly TimeSpan Step = TimeSpan.FromMinutes(1);

    public static string SloFile => Path.Combine(AppContext.BaseDirectory, "TestData", "synthetic.yaml");

    public static SloSet Slos => SloLoader.Load([SloFile]);

    /// <summary>GPU-seconds per GPU per step: one GPU busy for the whole minute.</summary>
    private const double GpuSecondsPerStep = 60;

    public IReadOnlyList<SeriesSamples> Series()
    {
        var total0 = new List<Sample>();
        var total1 = new List<Sample>();
        var throttled0 = new List<Sample>();
        var throttled1 = new List<Sample>();
        var racks = Enumerable.Range(0, 4).Select(_ => new List<Sample>()).ToArray();
        double total = 0, throttled = 0;
        var bad = FaultBurnRate * (1 - 0.999) * 2 * GpuSecondsPerStep;
        for (var t = Start; t <= End; t += Step)
        {
            var ms = t.ToUnixTimeMilliseconds();
            var inFault = t > FaultStart && t <= FaultEnd;
            if (t > Start)
            {
                total += GpuSecondsPerStep;
                throttled += inFault ? bad : 0;
            }

            total0.Add(new Sample(ms, total));
            total1.Add(new Sample(ms, total));
            throttled0.Add(new Sample(ms, throttled));
            throttled1.Add(new Sample(ms, 0));
            for (var r = 0; r < racks.Length; r++)
            {
                racks[r].Add(new Sample(ms, r == 1 && inFault ? 29 : 24));
            }
        }

        var series = new List<SeriesSamples>
        {
            new(Labels.From(("__name__", "slo_test_gpu_seconds_total"), ("gpu", "0")), total0),
            new(Labels.From(("__name__", "slo_test_gpu_seconds_total"), ("gpu", "1")), total1),
            new(Labels.From(("__name__", "slo_test_gpu_throttled_seconds_total"), ("gpu", "0")), throttled0),
            new(Labels.From(("__name__", "slo_test_gpu_throttled_seconds_total"), ("gpu", "1")), throttled1),
        };
        for (var r = 0; r < racks.Length; r++)
        {
            series.Add(new(Labels.From(("__name__", "slo_test_rack_inlet_celsius"), ("rack", $"r{r}")), racks[r]));
        }

        return series;
    }

    /// <summary>An in-memory store holding <see cref="Series"/>, whose clock is <paramref name="clock"/>.</summary>
    public Tsdb Store(TimeProvider clock)
    {
        var store = new Tsdb(new TsdbOptions { Clock = clock, FutureTolerance = TimeSpan.FromDays(3650), Retention = TimeSpan.FromDays(3650) });
        foreach (var s in Series())
        {
            var id = store.GetOrCreateSeries(s.Labels);
            foreach (var p in s.Samples)
            {
                var status = store.Append(id, p.TimestampMs, p.Value);
                if (status != AppendStatus.Ok)
                {
                    throw new InvalidOperationException($"append {s.Labels} at {p.TimestampMs}: {status}");
                }
            }
        }

        return store;
    }
}
