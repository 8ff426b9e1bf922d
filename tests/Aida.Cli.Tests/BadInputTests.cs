using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>Bad input exits 2 with one line naming the problem.</summary>
public class BadInputTests
{
    private static void AssertBadInput((int Code, string Out, string Err) result, string expected)
    {
        Assert.Equal(2, result.Code);
        Assert.Contains(expected, result.Err, StringComparison.Ordinal);
        Assert.Single(result.Err.TrimEnd().Split('\n'));
        Assert.StartsWith("aida: ", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFile() =>
        AssertBadInput(Invoke("simulate", "--scenario", "/nonexistent/scenario.yaml"), "/nonexistent/scenario.yaml: file not found");

    [Fact]
    public void MalformedYaml()
    {
        var path = Scratch("name: x\nfactory: [ref-10mw\nduration: 1h\n");
        AssertBadInput(Invoke("simulate", "--scenario", path), $"{path}:3: malformed YAML");
    }

    [Fact]
    public void UnknownAsset()
    {
        var path = Scratch("name: x\nfactory: ref-10mw\nduration: 1h\nfaults:\n  - {kind: cdu-pump-failure, asset: cdu-h7-z}\n");
        AssertBadInput(Invoke("simulate", "--scenario", path), $"{path}:5: faults[0].asset: unknown asset 'cdu-h7-z'");
    }

    [Fact]
    public void UnknownPoint()
    {
        var path = Scratch("name: x\nfactory: ref-10mw\nduration: 1h\nfaults:\n  - {kind: sensor-stuck, point: cdu-h1-a/colour}\n");
        AssertBadInput(Invoke("simulate", "--scenario", path), $"{path}:5: faults[0].point: unknown point 'cdu-h1-a/colour'");
    }

    [Theory]
    [InlineData("{at: 30m, actuator: cdu-h1-a/colour, value: 28}", "writes[0].actuator: unknown actuator 'cdu-h1-a/colour'")]
    [InlineData("{at: 30m, actuator: cdu-h1-a/supply_setpoint, value: 80}", "writes[0].value: 80 celsius is outside cdu-h1-a/supply_setpoint's range [15, 50]")]
    [InlineData("{at: 2h, actuator: cdu-h1-a/supply_setpoint, value: 28}", "writes[0].at: 2h is not within the scenario's duration 1h")]
    [InlineData("{at: 30m, actuator: cdu-h1-a/supply_setpoint, value: warm}", "writes[0].value: 'warm' is not a number")]
    [InlineData("{at: 30m, actuator: cdu-h1-a/supply_setpoint}", "writes[0].value: is required")]
    public void BadScheduledWrite_NamesTheEntryAndTheProblem(string write, string expected)
    {
        var path = Scratch($"name: x\nfactory: ref-10mw\nduration: 1h\nwrites:\n  - {write}\n");
        AssertBadInput(Invoke("simulate", "--scenario", path), $"{path}:5: {expected}");
    }

    [Fact]
    public void NegativeDuration_OnTheCommandLine() =>
        AssertBadInput(Invoke("simulate", "--scenario", "reference", "--duration", "-1h"), "--duration: duration '-1h' is negative");

    [Fact]
    public void NegativeDuration_InTheScenario()
    {
        var path = Scratch("name: x\nfactory: ref-10mw\nduration: -3h\n");
        AssertBadInput(Invoke("simulate", "--scenario", path), $"{path}:3: duration: duration '-3h' is negative");
    }

    [Fact]
    public void OutOfRangeSetpoint()
    {
        var path = Scratch("name: x\nfactory: ref-10mw\nduration: 1h\nsetpoints:\n  facility_water_supply_celsius: 4\n");
        AssertBadInput(Invoke("simulate", "--scenario", path), $"{path}:5: setpoints.facility_water_supply_celsius: 4 is out of range [10, 45]");
    }

    [Fact]
    public void UnknownMode() =>
        AssertBadInput(Invoke("simulate", "--scenario", "reference", "--mode", "robot"), "--mode: unknown mode 'robot'");

    [Theory]
    [InlineData("127.0.0.1:9093")] // no scheme: a host:port is not a URL
    [InlineData("http://127.0.0.1:9093,ftp://127.0.0.1:9094")] // one of a pair not http
    public void AnAlertmanagerThatIsNotAnHttpUrl_IsNamed(string urls) =>
        AssertBadInput(Invoke("run", "--alertmanager", urls, "--duration", "1m", "--urls", "none"), $"--alertmanager: '{urls.Split(',')[^1]}' is not an Alertmanager's http://HOST:PORT");

    [Fact]
    public void AgentMode_WhereOnlyTheBaselinesRun_SaysWhereItRuns() =>
        AssertBadInput(Invoke("eval", "rca", "--suite", "scenarios/faults", "--mode", "agent"), "--mode agent: not here; Aida's agent runs in aida simulate, aida compare and aida run");

    [Fact]
    public void AgentMode_WithoutTelemetry_IsBadInput() =>
        AssertBadInput(Invoke("simulate", "--scenario", "reference", "--mode", "agent", "--no-telemetry"), "--no-telemetry: the agent works from the run's telemetry");

    [Fact]
    public void UnknownOption() =>
        AssertBadInput(Invoke("simulate", "--scenario", "reference", "--colour", "red"), "--colour");

    [Fact]
    public void MissingRequiredOption() =>
        AssertBadInput(Invoke("simulate"), "--scenario");

    [Theory]
    [InlineData("10s", "--stall-after: 10s is shorter than 20 s: a network site's loop steps every 10 s, and two missed ticks are the least that says it stalled")]
    [InlineData("soon", "--stall-after: ")]
    public void BadStallAfter(string value, string expected) =>
        AssertBadInput(Invoke("run", "--stall-after", value, "--duration", "1m", "--urls", "none"), expected);

    [Fact]
    public void BadSpeed() =>
        AssertBadInput(Invoke("run", "--speed", "0"), "--speed: 0 is out of range");

    [Fact]
    public void ValidateReportsTheFirstProblem()
    {
        var text = File.ReadAllText(Path.Combine(Root, "factories", "ref-10mw.yaml")).Replace("cdu: cdu-h1-a, busways: [bw-h1-a, bw-h1-b]}\n  - {id: h1-a02", "cdu: cdu-9, busways: [bw-h1-a, bw-h1-b]}\n  - {id: h1-a02", StringComparison.Ordinal);
        var path = Scratch(text, "ref-10mw.yaml");
        var result = Invoke("validate", path);
        Assert.Equal(2, result.Code);
        Assert.Matches(@":\d+: racks\[0\]\.cdu: unknown CDU 'cdu-9'", result.Err);
    }

    [Fact]
    public void Validate_TheShippedRunbooksAndEnvelope_AreOk_OnEveryShippedFactory()
    {
        var runbooks = Directory.GetFiles(Path.Combine(Root, "runbooks"), "*.yaml").Order(StringComparer.Ordinal).ToArray();
        foreach (var factory in new[] { "ref-10mw", "ref-10mw-tower", "ref-1gw" })
        {
            var (code, output, err) = Invoke(["validate", "--factory", factory, Path.Combine(Root, "safety", "envelope.yaml"), .. runbooks]);
            Assert.True(code == 0, err);
            Assert.Contains($"ok (safety envelope: 10 rules governing", output, StringComparison.Ordinal);
            Assert.Equal(runbooks.Length, output.Split('\n').Count(l => l.Contains(": ok (runbook '", StringComparison.Ordinal)));
        }
    }

    [Theory]
    [InlineData("triggers: [leak]\nsteps:\n  - {action: open_valve, target: \"{asset}\", value: 1}\n", ":5: steps[0].action: unknown action 'open_valve'")]
    [InlineData("triggers: [leak]\nsteps:\n  - {action: isolate_rack, target: h9-z99, value: 1}\n", ":5: steps[0].target: ")]
    [InlineData("triggers: [leak]\nsteps:\n  - {notify: \"call the utility\", severity: urgent}\n", ":5: steps[0].severity: unknown severity 'urgent' (expected one of critical, warning, info)")]
    public void Validate_ARunbookNamingAnUnknownActionOrAsset_NamesTheStep(string steps, string expected)
    {
        var path = Scratch("name: bad\ndescription: x\n" + steps, "bad-runbook.yaml");
        AssertBadInput(Invoke("validate", path), path + expected);
    }

    [Theory]
    [InlineData("max: 32, max_step", "max: 12, max_step", "limits[0].min: min 16 is above max 12")]
    [InlineData("\"cdu-*/supply_setpoint\"", "\"cdu-*/supply_setpont\"", "limits[1].actuator: 'cdu-*/supply_setpont' matches no actuator of the plant")]
    [InlineData("  - {actuator: \"*/pump_speed\", min: 0.5", "  - {actuator: \"*/pump_speed\", max: 1}\n  - {actuator: \"*/pump_speed\", min: 0.5", "'*/pump_speed' governs nothing: an earlier rule takes each actuator it matches")]
    public void Validate_AnEnvelopeWithMinAboveMax_OrARuleThatGovernsNothing_NamesTheRule(string from, string to, string expected)
    {
        var text = File.ReadAllText(Path.Combine(Root, "safety", "envelope.yaml"));
        Assert.Contains(from, text, StringComparison.Ordinal);
        var path = Scratch(text.Replace(from, to, StringComparison.Ordinal), "envelope.yaml");
        AssertBadInput(Invoke("validate", path), expected);
    }

    [Fact]
    public void Validate_ASiteFile_SaysWhatAnAgentCanWriteThere_AndNamesABadField()
    {
        // The bundled site writes every actuator of its factory but the workload ones: those are Slurm's, which the twin
        // does not serve.
        var (code, output, err) = Invoke("validate", Path.Combine(Root, "sites", "twin-local.yaml"));
        Assert.True(code == 0, err);
        Assert.Contains("ok (site 'leesburg-va': 120 collectors (redfish 80, modbus 36, scrape 3, nut 1); writes 212 actuators; 212 of ref-10mw's 372 by design; no writer for 160 (an agent cannot move them here: workload_move 80, workload_pause 80))", output, StringComparison.Ordinal);

        // A Slurm entry brings them; an actuator the factory lacks is named.
        var slurm = Scratch("site: s\ncollectors:\n  - type: slurm\n    name: sched\n    racks:\n      - {rack: h1-a01, nodes: \"h1-a01-n[1-8]\"}\n      - {rack: h9-z99, nodes: \"h9-z99-n[1-8]\"}\n", "slurm-site.yaml");
        (code, output, err) = Invoke("validate", slurm);
        Assert.True(code == 0, err);
        Assert.Contains("writes 4 actuators; 2 of ref-10mw's 372 by design", output, StringComparison.Ordinal);
        Assert.Contains("2 written that ref-10mw does not have (no agent writes them: h9-z99/workload_move, h9-z99/workload_pause)", output, StringComparison.Ordinal);

        var bad = Scratch("site: s\ncollectors:\n  - type: slurm\n    name: sched\n    racks:\n      - {rack: h1-a01, nodes: \"h1-a01-n[8-1]\"}\n", "bad-site.yaml");
        AssertBadInput(Invoke("validate", bad), "collectors[0].racks[0].nodes: hostlist 'h1-a01-n[8-1]': the range 8-1 runs backwards");
    }
}
