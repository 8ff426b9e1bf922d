using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida run --mode agent: the agent operates the live twin as it does a simulation, from the run's telemetry,
/// with its incidents and audit log kept under --data.</summary>
public class LiveAgentTests
{
    [Fact]
    public void ALeak_RunLive_IsFoundAndIsolatedByTheAgent_WithNoFalseIncident()
    {
        var scenario = Scratch("""
            name: live-leak
            description: a coolant leak at rack h1-c03 40 min into the run
            factory: ref-10mw
            start: 2025-07-01T00:00:00Z
            duration: 1h
            step: 1s
            seed: 7
            workload:
              training:
                - {name: pretrain-hall-1, racks: [hall-1], utilisation: 0.92}
              inference:
                - {name: serving, racks: [hall-2], mean: 0.6, amplitude: 0.2}
            faults:
              - {kind: leak, asset: h1-c03, start: 40m, duration: 20m, litres_per_minute: 3}
            """);
        var dir = TempDir();
        var (code, output, err) = Invoke("run", "--scenario", scenario, "--mode", "agent", "--speed", "36000", "--status-every", "30m", "--data", dir, "--urls", "none");
        Assert.True(code == 0, err);
        Assert.Contains("mode agent", output, StringComparison.Ordinal);

        var (verify, verified, _) = Invoke("audit", "verify", "--data", dir);
        Assert.Equal(0, verify);
        Assert.Contains("intact", verified, StringComparison.Ordinal);
        // The agent opened the leak's incident from the live telemetry and isolated the rack through its guard; the
        // optimiser's moves raised no other incident (they once raised false economiser and valve-stuck ones).
        Assert.Contains("h1-c03/isolate", Invoke("audit", "show", "--data", dir, "--limit", "100000").Out, StringComparison.Ordinal);
        var incidents = Invoke("incidents", "list", "--db", Path.Combine(dir, "incidents.db")).Out;
        Assert.Contains("LeakDetected on h1-c03", incidents, StringComparison.Ordinal);
        Assert.Contains("(1 incident)", incidents, StringComparison.Ordinal);
    }
}
