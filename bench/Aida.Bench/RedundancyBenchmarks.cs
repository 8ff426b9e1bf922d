using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Observability.Derived;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>What each group's redundancy (<see cref="SpareCapacity.NowAsync"/>, the minute's
/// <c>aida_redundancy_spare_units</c>) costs the derived series writer, on ref-10mw and ref-1gw (100 halls, 1,000 CDUs,
/// 8,000 racks, 50 chillers: 402 groups, a query each). The store holds what it reads: every rack's power (with
/// its hall), every CDU's flow, supply and return, the facility water's, every UPS's output and transformer's load, and
/// the chillers' and CRAHs' fault and maintenance flags, and the dry and wet bulb (since session 54), every 10 s for the last
/// 6 min (synthetic values).</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*Redundancy*' --job short</c>.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class RedundancyBenchmarks : IDisposable
{
    private const long SampleMs = 10_000;
    private Tsdb _store = null!;
    private SpareCapacity _capacity = null!;
    private DateTimeOffset _at;

    [Params("ref-10mw.yaml", "ref-1gw.yaml")]
    public string Factory { get; set; } = "ref-10mw.yaml";

    [GlobalSetup]
    public void Setup()
    {
        var factory = FactoryLoader.Load(BundledFiles.Shipped("factories", Factory));
        _store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var series = new List<(int Id, double Value)>();
        void Add(Labels labels, double value) => series.Add((_store.GetOrCreateSeries(labels), value));
        foreach (var rack in factory.Racks)
        {
            Add(Labels.Metric("aida_rack_power_watts", ("hall", rack.Hall), ("rack", rack.Id)), 100_000);
        }

        foreach (var cdu in factory.Cooling.Cdus)
        {
            Add(Labels.Metric("aida_cdu_flow_kg_per_second", ("asset", cdu.Id), ("hall", cdu.Hall)), 25);
            Add(Labels.Metric("aida_cdu_supply_celsius", ("asset", cdu.Id), ("hall", cdu.Hall)), 30);
            Add(Labels.Metric("aida_cdu_return_celsius", ("asset", cdu.Id), ("hall", cdu.Hall)), 38);
        }

        foreach (var (metric, value) in new[] { ("aida_facility_water_flow_kg_per_second", 30_000.0), ("aida_facility_water_supply_celsius", 20), ("aida_facility_water_return_celsius", 27) })
        {
            Add(Labels.Metric(metric, ("asset", "facility-water")), value);
        }

        // The ambient the economiser's units are rated against (since session 54).
        Add(Labels.Metric("aida_ambient_dry_bulb_celsius"), 15);
        Add(Labels.Metric("aida_ambient_wet_bulb_celsius"), 12);

        foreach (var ups in factory.Power.Ups)
        {
            Add(Labels.Metric("aida_ups_output_power_watts", ("asset", ups.Id)), 0.4 * ups.RatedWatts);
        }

        foreach (var tx in factory.Power.Transformers)
        {
            Add(Labels.Metric("aida_transformer_load_watts", ("asset", tx.Id)), 0.4 * tx.RatedVa);
        }

        foreach (string unit in factory.Cooling.Chillers.Select(c => c.Id).Concat(factory.Cooling.Crahs.Select(c => c.Id)))
        {
            Add(Labels.Metric("aida_asset_fault", ("asset", unit)), 0);
            Add(Labels.Metric("aida_asset_maintenance", ("asset", unit)), 0);
        }

        var end = ((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / SampleMs) - 1) * SampleMs;
        var ids = series.Select(s => s.Id).ToArray();
        var values = series.Select(s => s.Value).ToArray();
        var timestamps = new long[ids.Length];
        for (var t = end - (6 * 60_000); t <= end; t += SampleMs)
        {
            Array.Fill(timestamps, t);
            _store.AppendBatch(ids, timestamps, values);
        }

        _at = DateTimeOffset.FromUnixTimeMilliseconds(end);
        _capacity = new SpareCapacity(new EmbeddedQueryEngine(_store), factory);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Every group's N+k at the newest sample, as the writer derives it each minute.</summary>
    [Benchmark]
    public async Task<int> NowAsync() => (await _capacity.NowAsync(_at)).Count(r => r.Spare is not null);
}
