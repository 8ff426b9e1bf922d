using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida run --mode agent: the agent operates the live twin as it does a simulation, from the run's telemetry,
/// with its incidents and audit log kept under --data.</summary>
public class LiveAgentTests
{
    [Fact]
    public void ALeak_RunLive_IsFoundAndIsolatedByTheAgent_WithNoFalseIncident()
    {
        var scenario = LiveLeak();
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

    [Fact]
    public void TheEmbeddedTwinStartedAgain_KeepsTheActuatorsTheLastRunMoved_ARackIsolatedStaysIsolated()
    {
        // Regression: aida run started again on the same --data began the twin at its design state: the rack the agent
        // had isolated for its leak ran again (and the agent's guard, which takes up the audit log, counted it isolated),
        // which no real plant does when its operator restarts. Now the twin keeps what moved in twin-actuators.json.
        var scenario = LiveLeak();
        var dir = TempDir();
        var first = Invoke("run", "--scenario", scenario, "--mode", "agent", "--speed", "36000", "--status-every", "30m", "--data", dir, "--urls", "none");
        Assert.True(first.Code == 0, first.Err);
        var kept = Aida.Twin.Simulation.KeptActuators.Read(Path.Combine(dir, RunCommand.TwinActuatorsFile));
        Assert.Contains(kept, k => k is { Actuator: "h1-c03/isolate", Command: 1, Target: 1, Value: 1 });

        var second = Invoke("run", "--scenario", scenario, "--mode", "agent", "--speed", "36000", "--duration", "5m", "--status-every", "30m", "--data", dir, "--urls", "none");
        Assert.True(second.Code == 0, second.Err);
        Assert.Contains($"resuming: the twin takes up {kept.Count} actuator(s) where the last run left them", second.Out, StringComparison.Ordinal);
        // The rack read isolated through the second run (its leak, 40 min into the scenario, not reached in 5 min).
        var isolated = Invoke("query", "--data", dir, "min_over_time(aida_rack_isolated{rack=\"h1-c03\"}[4m])", "--json");
        Assert.Matches("\"value\":\\[[0-9.]+,\"1\"\\]", isolated.Out);
    }

    /// <summary>A coolant leak at rack h1-c03 40 min into an hour of ref-10mw.</summary>
    private static string LiveLeak() => Scratch("""
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
}
