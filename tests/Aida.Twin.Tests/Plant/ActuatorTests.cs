using Aida.Model.Plant;
using Aida.Twin.Simulation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Twin.Tests.Plant;

public class ActuatorTests
{
    private static Simulator Tiny(string faults = "") =>
        new(TestPlants.Tiny(faults: faults), new SimulationOptions { NoOperator = true });

    [Fact]
    public void Write_OutOfRange_IsRefusedAndNamesTheRange()
    {
        var sim = Tiny();
        var result = sim.Plant.Write("cdu-1/supply_setpoint", 80);
        Assert.Equal(WriteStatus.OutOfRange, result.Status);
        Assert.Equal("cdu-1/supply_setpoint: 80 celsius is outside [15, 50]", result.Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Write_NotANumber_IsRefused(double value) =>
        Assert.Equal(WriteStatus.NotANumber, Tiny().Plant.Write("facility-water/supply_setpoint", value).Status);

    [Fact]
    public void Write_UnknownActuator_IsRefused() =>
        Assert.Equal(WriteStatus.UnknownActuator, Tiny().Plant.Write("cdu-9/supply_setpoint", 30).Status);

    [Fact]
    public void WorkloadPause_IdlesTheRacksGpus_CoolsThem_AndCountsTheWorkHeldBack()
    {
        var sim = Tiny();
        sim.Advance(1800);
        var rack = sim.Scenario.Factory.Racks[0].Id;
        var (power, gpu) = (sim.Truth(rack + "/power"), sim.Truth(rack + "/gpu_max_temperature"));
        Assert.True(sim.Plant.Write(rack + "/workload_pause", 1).Ok);
        sim.Advance(600);

        // Paused GPUs idle: powered and cooled (the rack is not isolated), its power and temperatures fall.
        Assert.Equal(1, sim.Truth(rack + "/workload_paused"));
        Assert.Equal(1, sim.Truth(rack + "/powered"));
        Assert.True(sim.Truth(rack + "/power") < 0.5 * power, $"{sim.Truth(rack + "/power")} W paused against {power} W");
        Assert.True(sim.Truth(rack + "/gpu_max_temperature") < gpu - 5);
        var gpus = sim.Scenario.Factory.RackProfile.Gpus;
        Assert.InRange(sim.Summary().GpuPausedSeconds, gpus * 599.0, gpus * 601.0);

        Assert.True(sim.Plant.Write(rack + "/workload_pause", 0).Ok);
        sim.Advance(900);
        Assert.Equal(power, sim.Truth(rack + "/power"), power * 0.05);
        Assert.InRange(sim.Summary().GpuPausedSeconds, gpus * 599.0, gpus * 601.0);
    }

    [Fact]
    public void GpuPowerCap_BelowWhatTheWorkAsksFor_IsCountedAsCappedTime_TheGpusOwnMaximumIsNot()
    {
        var sim = Tiny();
        sim.Advance(1800);
        Assert.Equal(0, sim.Summary().GpuCappedSeconds); // at the 1,200 W maximum the cap is the GPU's own limit
        var rack = sim.Scenario.Factory.Racks[0].Id;
        var power = sim.Truth(rack + "/power");
        Assert.True(sim.Plant.Write(rack + "/gpu_power_limit", 700).Ok);
        sim.Advance(600);

        var gpus = sim.Scenario.Factory.RackProfile.Gpus;
        Assert.True(sim.Truth(rack + "/power") < power - (gpus * 100), $"{sim.Truth(rack + "/power")} W capped against {power} W");
        Assert.InRange(sim.Summary().GpuCappedSeconds, gpus * 599.0, gpus * 601.0);
        Assert.True(sim.Plant.Write(rack + "/gpu_power_limit", 1200).Ok);
        sim.Advance(600);
        Assert.InRange(sim.Summary().GpuCappedSeconds, gpus * 599.0, gpus * 601.0);
    }

    [Fact]
    public void WorkloadMove_RunsTheRacksJobsOnASpareRackOfAnotherCdu_AndBringsThemBack()
    {
        // The faults week's first day: hall 1 trains on every rack, hall 2's rows D and E are idle until 36 h.
        var week = Aida.Model.Scenarios.ScenarioLoader.Load("faults-week");
        var sim = new Simulator(week with { Faults = [] }, new SimulationOptions { NoOperator = true, Duration = TimeSpan.FromHours(2) });
        sim.Advance(1800);
        var f = week.Factory;
        var source = f.Racks[0];
        var before = f.Racks.ToDictionary(r => r.Id, r => sim.Truth(r.Id + "/power"));
        var it = before.Values.Sum();

        Assert.True(sim.Plant.Write(source.Id + "/workload_move", 1).Ok);
        sim.Advance(60);

        // Moving a share of the synchronous job is a checkpointed restart of all of it (15 min).
        Assert.Equal(1, sim.Truth(source.Id + "/job_stalled"));
        Assert.True(f.Racks.Sum(r => sim.Truth(r.Id + "/power")) < 0.7 * it, "the job idles while it restarts");
        sim.Advance(1140);
        Assert.Equal(0, sim.Truth(source.Id + "/job_stalled"));

        // The source idles (powered, not paused); one idle rack on another CDU now draws what the source drew; the
        // racks' total is about the same (the same work, on other GPUs).
        Assert.Equal(1, sim.Truth(source.Id + "/workload_moved"));
        Assert.Equal(0, sim.Truth(source.Id + "/workload_paused"));
        Assert.True(sim.Truth(source.Id + "/power") < 0.5 * before[source.Id]);
        var risen = Assert.Single(f.Racks, r => sim.Truth(r.Id + "/power") > before[r.Id] + (0.5 * before[source.Id]));
        Assert.NotEqual(source.Cdu, risen.Cdu);
        Assert.Equal(it, f.Racks.Sum(r => sim.Truth(r.Id + "/power")), it * 0.03);
        Assert.Equal(0, sim.Summary().GpuPausedSeconds);

        Assert.True(sim.Plant.Write(source.Id + "/workload_move", 0).Ok);
        sim.Advance(1200); // the restart to bring the share home
        Assert.Equal(0, sim.Truth(source.Id + "/workload_moved"));
        Assert.Equal(before[source.Id], sim.Truth(source.Id + "/power"), before[source.Id] * 0.05);
        Assert.Equal(before[risen.Id], sim.Truth(risen.Id + "/power"), before[source.Id] * 0.05);
    }

    [Fact]
    public void WorkloadMove_WithNoSpareRack_DoesNothing()
    {
        // Tiny: every rack trains, none is spare: the move finds no room and the rack keeps running.
        var sim = Tiny();
        sim.Advance(1800);
        var rack = sim.Scenario.Factory.Racks[0].Id;
        var power = sim.Truth(rack + "/power");
        Assert.True(sim.Plant.Write(rack + "/workload_move", 1).Ok);
        sim.Advance(600);

        Assert.Equal(0, sim.Truth(rack + "/workload_moved"));
        Assert.Equal(power, sim.Truth(rack + "/power"), power * 0.05);
    }

    [Fact]
    public void UpsEcoMode_CutsTheUpsLossToTheBypassCurve_AndIsReported()
    {
        var (doubleConversion, eco) = (Tiny(), Tiny());
        foreach (var ups in eco.Scenario.Factory.Power.Ups)
        {
            Assert.Equal(0, eco.Truth(ups.Id + "/eco_mode"));
            Assert.True(eco.Plant.Write(ups.Id + "/eco_mode", 1).Ok);
        }

        doubleConversion.Advance(3600);
        eco.Advance(3600);
        Assert.Equal(1, eco.Truth(eco.Scenario.Factory.Power.Ups[0].Id + "/eco_mode"));
        var (dc, bypass) = (doubleConversion.Summary().EnergyBreakdownKwh["ups_losses"], eco.Summary().EnergyBreakdownKwh["ups_losses"]);

        // Same load on both: ~99 % in eco mode against 94-96.5 % in double conversion (TWIN.md) is a loss of a fifth
        // to a third; IT power is untouched.
        Assert.InRange(bypass / dc, 0.1, 0.4);
        Assert.Equal(doubleConversion.Summary().ItEnergyKwh, eco.Summary().ItEnergyKwh, doubleConversion.Summary().ItEnergyKwh * 1e-9);
    }

    [Fact]
    public void Value_FollowsTarget_AtTheRateLimit()
    {
        var sim = Tiny();
        sim.Advance(10);
        var a = sim.Plant.Actuator("facility-water/supply_setpoint");
        var before = sim.Model.ActuatorBank.Value(a);
        Assert.True(sim.Plant.Write(a, before + 5).Ok);
        sim.Advance(10);
        var rate = sim.Plant.Actuators[a].MaxRatePerSecond;
        Assert.Equal(before + (10 * rate), sim.Model.ActuatorBank.Value(a), 6);
        sim.Advance(200);
        Assert.Equal(before + 5, sim.Model.ActuatorBank.Value(a), 6);
    }

    [Fact]
    public void FailedActuator_AcceptsWritesAndDoesNothing()
    {
        var sim = Tiny("faults:\n  - {kind: actuator-failure, actuator: cdu-1/supply_setpoint, start: 0s}");
        sim.Advance(5);
        var a = sim.Plant.Actuator("cdu-1/supply_setpoint");
        var before = sim.Model.ActuatorBank.Value(a);
        Assert.True(sim.Plant.Write(a, 40).Ok);
        sim.Advance(600);
        Assert.Equal(before, sim.Model.ActuatorBank.Value(a));
    }

    [Theory]
    [InlineData("cdu-1/supply_setpoint", 40)]
    [InlineData("cdu-1/pump_speed", 0.6)]
    [InlineData("crah-1/fan_speed", 0.5)]
    [InlineData("crah-1/supply_setpoint", 18)]
    [InlineData("r01/gpu_power_limit", 900)]
    public void FailedActuator_ReadsBackTheWrittenCommand_WhileTheActiveValueStays(string actuator, double write)
    {
        var sim = Tiny($"faults:\n  - {{kind: actuator-failure, actuator: {actuator}, start: 0s}}");
        sim.Advance(5);
        var before = sim.Truth(actuator);
        Assert.Equal(before, sim.Truth($"{actuator}_command"));
        Assert.True(sim.Plant.Write(actuator, write).Ok);
        sim.Advance(600);

        Assert.Equal(write, sim.Plant.ReadValue($"{actuator}_command"), 6);
        Assert.Equal(before, sim.Plant.ReadValue(actuator), 2);
    }

    [Theory]
    [InlineData("chiller-2", 300)]
    [InlineData("crah-3", 30)]
    public void StandbyStart_ReadsStartingThenRunning_AndAFailedStartReadsNeither(string unit, int startSeconds)
    {
        // The run command reads back at once; a healthy unit reads starting through its start (a chiller's restart
        // time, a CRAH's 30 s changeover), then running. A failed start actuator takes the command and does neither.
        foreach (var failed in new[] { false, true })
        {
            var sim = Tiny(failed ? $"faults:\n  - {{kind: actuator-failure, actuator: {unit}/enable, start: 0s}}" : "");
            sim.Advance(5);
            Assert.Equal(0, sim.Plant.ReadValue($"{unit}/enable_command"));
            Assert.True(sim.Plant.Write($"{unit}/enable", 1).Ok);
            sim.Advance(startSeconds / 2);

            Assert.Equal(1, sim.Plant.ReadValue($"{unit}/enable_command"));
            Assert.Equal(failed ? 0 : 1, sim.Plant.ReadValue($"{unit}/starting"));
            Assert.Equal(0, sim.Plant.ReadValue($"{unit}/running"));
            sim.Advance(startSeconds);
            Assert.Equal(0, sim.Plant.ReadValue($"{unit}/starting"));
            Assert.Equal(failed ? 0 : 1, sim.Plant.ReadValue($"{unit}/running"));
            Assert.Equal(0, sim.Plant.ReadValue($"{unit}/fault"));
        }
    }

    [Fact]
    public void UnitInMaintenance_ReadsSo_AndDoesNotStartOnCommand()
    {
        var tiny = TestPlants.Tiny();
        var scenario = tiny with { Setpoints = tiny.Setpoints with { Maintenance = ["crah-3"] } };
        var sim = new Simulator(scenario, new SimulationOptions { NoOperator = true });
        sim.Advance(5);
        Assert.True(sim.Plant.Write("crah-3/enable", 1).Ok);
        sim.Advance(120);

        Assert.Equal(1, sim.Plant.ReadValue("crah-3/maintenance"));
        Assert.Equal(1, sim.Plant.ReadValue("crah-3/enable_command"));
        Assert.Equal(0, sim.Plant.ReadValue("crah-3/running"));
        Assert.Equal(0, sim.Plant.ReadValue("crah-1/maintenance"));
    }

    [Fact]
    public void HealthySpeedAndCrahSetpoint_ReachTheirCommands()
    {
        var sim = Tiny();
        sim.Advance(5);
        var crah = sim.Model.Factory.Cooling.Crahs[0].Id;
        Assert.True(sim.Plant.Write($"{crah}/fan_speed", 0.7).Ok);
        Assert.True(sim.Plant.Write($"{crah}/supply_setpoint", 21).Ok);
        Assert.True(sim.Plant.Write("facility-water/pump_speed", 0.5).Ok);
        sim.Advance(600);

        Assert.Equal(0.7, sim.Plant.ReadValue($"{crah}/fan_speed_command"), 6);
        Assert.Equal(0.7, sim.Plant.ReadValue($"{crah}/fan_speed"), 6);
        Assert.Equal(21, sim.Plant.ReadValue($"{crah}/supply_setpoint_command"), 6);
        Assert.Equal(21, sim.Plant.ReadValue($"{crah}/supply_setpoint"), 6);
        Assert.Equal(0.5, sim.Plant.ReadValue("facility-water/pump_speed"), 6);
    }

    [Fact]
    public void HealthyActuator_ActiveSetpointReachesItsCommand_AndARefusedWriteLeavesTheCommand()
    {
        var sim = Tiny();
        sim.Advance(5);
        Assert.True(sim.Plant.Write("facility-water/supply_setpoint", 25).Ok);
        Assert.False(sim.Plant.Write("facility-water/supply_setpoint", 80).Ok);
        sim.Advance(600);

        Assert.Equal(25, sim.Plant.ReadValue("facility-water/supply_setpoint_command"), 6);
        Assert.Equal(25, sim.Plant.ReadValue("facility-water/supply_setpoint"), 6);
    }

    [Fact]
    public void ScheduledWrite_ReachesThePlantAtItsTime()
    {
        var scenario = TestPlants.Tiny() with { Writes = [new Aida.Model.Scenarios.ScheduledWrite(TimeSpan.FromMinutes(10), "cdu-1/supply_setpoint", 33, 1)] };
        var sim = new Simulator(scenario, new SimulationOptions { NoOperator = true });
        var a = sim.Plant.Actuator("cdu-1/supply_setpoint");
        var initial = sim.Model.ActuatorBank.Command(a);
        sim.Advance(599);
        Assert.Equal(initial, sim.Model.ActuatorBank.Command(a));
        sim.Advance(2);
        Assert.Equal(33, sim.Model.ActuatorBank.Command(a));
        Assert.Equal(33, sim.ActuatorTarget(a));
    }

    [Property(MaxTest = 40, Replay = "1234567890123456789,987654321987654321")]
    public Property NoSequenceOfWrites_MovesAnActuatorOutsideItsRange() =>
        Prop.ForAll(
            Gen.ArrayOf(from i in Gen.Choose(0, 40) from v in Gen.Choose(-1000, 1000) select (i, v / 10.0)).ToArbitrary(),
            writes =>
            {
                var sim = Tiny();
                foreach (var (i, v) in writes)
                {
                    sim.Plant.Write(i % sim.Plant.Actuators.Count, v);
                    sim.Advance(1);
                }

                sim.Advance(120);
                return sim.Plant.Actuators.All(a => sim.Model.ActuatorBank.Value(a.Index) >= a.Min && sim.Model.ActuatorBank.Value(a.Index) <= a.Max);
            });

    [Theory]
    [InlineData(0.5)] // half speed: an eighth of the power
    [InlineData(0.8)]
    [InlineData(0.2)]
    public void CrahFanPower_InThePlant_FollowsTheCubeOfSpeed(double speed)
    {
        var sim = Tiny();
        sim.Advance(10);
        var full = sim.Truth("crah-1/fan_power");
        Assert.True(sim.Plant.Write("crah-1/fan_speed", speed).Ok);
        sim.Advance(100);
        Assert.Equal(full * speed * speed * speed, sim.Truth("crah-1/fan_power"), 6);
    }
}
