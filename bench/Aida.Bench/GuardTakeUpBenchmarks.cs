using System.Globalization;
using Aida.Automation.Audit;
using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Model.Scenarios;
using Aida.Twin.Simulation;
using BenchmarkDotNet.Attributes;

namespace Aida.Bench;

/// <summary>What a restart costs the safety envelope: building a <see cref="GuardedPlant"/> on an audit log takes up every
/// write on record (<see cref="AuditLog.Scan"/> over the log's actions and results), so the start-up grows with the log.
/// The log here is the agent's mix on the reference factory: per write a decision, the action, its result (one in 50
/// refused) and an observation, spread over the twin's actuators, one write every 10 s. The faults scenario's 12 h of
/// <c>faults/crah-fan-failure</c> wrote 4,216 entries, so 100,000 is about 12 days of such operation and 1,000,000 about
/// four months. Baseline: the same guard built with no audit log (nothing to take up).</summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Aida.Bench -- --filter '*GuardTakeUp*' --job short</c>. The logs
/// are written to /dev/shm (tmpfs) so the setup's fsyncs are quick; every take-up appends one observation, which the
/// next iteration reads too (a few hundred in a run, against the 100,000 or more of the log).</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class GuardTakeUpBenchmarks : IDisposable
{
    private readonly string _dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "aida-bench-takeup-" + Environment.ProcessId);
    private Simulator _sim = null!;
    private SafetyEnvelope _envelope = null!;
    private AuditLog _audit = null!;
    private SteppedClock _clock = null!;

    /// <summary>Entries in the audit log.</summary>
    [Params(100_000, 1_000_000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var scenario = ScenarioLoader.Load("reference");
        _sim = new Simulator(scenario, new SimulationOptions { Duration = TimeSpan.FromMinutes(1) });
        _envelope = new SafetyEnvelope(SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml")), scenario.Factory);
        Directory.CreateDirectory(_dir);
        _clock = new SteppedClock(scenario.Start);
        _audit = new AuditLog(Path.Combine(_dir, $"audit-{Entries}.db"), _clock);
        var actuators = _sim.Plant.Actuators.Where(a => _envelope.Spec.RuleFor(a.Name) is not null).ToList();
        for (var i = 0; _audit.Count < Entries; i++)
        {
            var a = actuators[i % actuators.Count];
            var value = (a.Min + ((a.Max - a.Min) * ((i % 7) + 1) / 8)).ToString("R", CultureInfo.InvariantCulture);
            _clock.Now += TimeSpan.FromSeconds(10);
            _audit.Append("agent:aida", AuditKind.Decision, "A" + i.ToString(CultureInfo.InvariantCulture), $"proposed by optimiser: {a.Name} = {value}");
            _audit.Append("agent:aida", AuditKind.Action, a.Name, value);
            _audit.Append("agent:aida", AuditKind.Result, a.Name, i % 50 == 0 ? $"refused: {a.Name}: a step too large" : "accepted");
            _audit.Append("agent:aida", AuditKind.Observation, "optimiser", "plan: facility 1.2 MW predicted");
        }

        // The restart comes a minute after the last entry: nothing of the last minute to count against the rates.
        _clock.Now += TimeSpan.FromMinutes(1);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _audit?.Dispose();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public int NoAuditLog() => new GuardedPlant(_sim.Plant, _envelope, _clock, "agent:aida").TakenUp.MayBeAt.Count;

    [Benchmark]
    public int TakeUp() => new GuardedPlant(_sim.Plant, _envelope, _clock, "agent:aida", _audit).TakenUp.MayBeAt.Count;
}
