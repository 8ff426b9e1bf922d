using Aida.Model.Plant;
using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Plant;

/// <summary>Each bundled fault scenario moves what it should, with nobody responding.</summary>
public class FaultTests
{
    private static Simulator Unattended(string name, string duration, bool withoutFaults = false)
    {
        var s = TestPlants.Bundled($"faults/{name}", duration);
        if (withoutFaults)
        {
            s = s with { Faults = [] };
        }

        return new Simulator(s, new SimulationOptions { NoOperator = true });
    }

    private static double MaxOver(Simulator sim, IEnumerable<string> points) => points.Max(sim.Truth);

    [Fact]
    public void CduPumpFailure_HeatsThatCdusRacksUntilTheyThrottle_AndLeavesOthersAlone()
    {
        var sim = Unattended("cdu-pump-failure", "3h");
        sim.Advance(7200 - 60);
        var affected = Enumerable.Range(1, 8).Select(n => $"h1-a{n:00}/gpu_max_temperature").ToList();
        var others = Enumerable.Range(1, 8).Select(n => $"h1-b{n:00}/gpu_max_temperature").ToList();
        var before = MaxOver(sim, affected);
        var othersBefore = MaxOver(sim, others);
        sim.Advance(60 + 300);
        Assert.Equal(0, sim.Truth("cdu-h1-a/flow"));
        Assert.True(MaxOver(sim, affected) > before + 10, "GPU temperatures climb within minutes");
        Assert.True(sim.Model.Totals.GpuThrottledSeconds > 0, "with no response, GPUs throttle");
        Assert.InRange(MaxOver(sim, others), othersBefore - 3, othersBefore + 3);
    }

    [Fact]
    public void ChillerTrip_WarmsFacilityWater()
    {
        var sim = Unattended("chiller-trip", "3h");
        sim.Advance(7200 - 10);
        var before = sim.Truth("facility-water/supply_temperature");
        var trace = sim.Trace("facility-water/supply_temperature", 600, 30);
        Assert.True(trace.Max() > before + 1, $"facility water should warm: {before} -> {trace.Max()}");
    }

    [Fact]
    public void CrahFanFailure_RaisesRackInletsThroughRecirculation()
    {
        var sim = Unattended("crah-fan-failure", "3h");
        var baseline = Unattended("crah-fan-failure", "3h", withoutFaults: true);
        sim.Advance(7200 + 1800);
        baseline.Advance(7200 + 1800);
        Assert.True(sim.Truth("h1-a01/inlet_temperature") > baseline.Truth("h1-a01/inlet_temperature") + 3);
        Assert.InRange(sim.Truth("h2-a01/inlet_temperature"), baseline.Truth("h2-a01/inlet_temperature") - 0.5, baseline.Truth("h2-a01/inlet_temperature") + 0.5);
    }

    [Fact]
    public void ValveStuck_TheCduCannotHoldItsSetpoint()
    {
        var sim = Unattended("valve-stuck", "3h");
        sim.Advance(7200 + 1800);
        Assert.True(sim.Truth("cdu-h1-b/supply_temperature") > sim.Truth("cdu-h1-b/supply_setpoint") + 5);
        Assert.InRange(sim.Truth("cdu-h1-a/supply_temperature"), sim.Truth("cdu-h1-a/supply_setpoint") - 0.5, sim.Truth("cdu-h1-a/supply_setpoint") + 0.5);

        // The controller asks for more than the stuck valve gives, and the actuator says so; the healthy CDU's valve
        // follows what its controller asks.
        Assert.True(sim.Truth("cdu-h1-b/valve_command") > sim.Truth("cdu-h1-b/valve") + 0.05);
        Assert.Equal(1, sim.Truth("cdu-h1-b/valve_fault"));
        Assert.Equal(sim.Truth("cdu-h1-a/valve_command"), sim.Truth("cdu-h1-a/valve"));
        Assert.Equal(0, sim.Truth("cdu-h1-a/valve_fault"));
    }

    [Fact]
    public void ValveStuck_TheActuatorAlarmClearsWithTheRepair()
    {
        var fault = TestPlants.Bundled("faults/valve-stuck", "7h").Faults.Single();
        var sim = Unattended("valve-stuck", "7h");
        sim.Advance((int)fault.Start.TotalSeconds + 5);
        Assert.Equal(0, sim.Truth("cdu-h1-b/valve_fault")); // not before the actuator has failed to follow for 13 s
        sim.Advance(600); // the supply rising, the controller asks for more than the stuck valve gives
        Assert.Equal(1, sim.Truth("cdu-h1-b/valve_fault"));
        sim.Advance((int)(fault.End!.Value - fault.Start).TotalSeconds - 600);
        Assert.Equal(0, sim.Truth("cdu-h1-b/valve_fault"));
        Assert.Equal(sim.Truth("cdu-h1-b/valve_command"), sim.Truth("cdu-h1-b/valve"));
    }

    [Fact]
    public void ColdPlateFouling_RaisesGpuTemperaturesOverDays()
    {
        var sim = Unattended("cold-plate-fouling", "2d");
        sim.Advance(3600);
        var day0 = sim.Truth("h1-b01/gpu_max_temperature");
        sim.Advance(86_400);
        Assert.True(sim.Truth("h1-b01/gpu_max_temperature") > day0 + 5);
    }

    [Fact]
    public void DryCoolerFouling_CutsFreeCooling()
    {
        // Fouling matters only when the economiser runs: digital operation in March.
        var fouled = new Simulator(TestPlants.Bundled("faults/dry-cooler-fouling", "3d"), new SimulationOptions { Mode = OperatingMode.Digital }).Run();
        var clean = new Simulator(TestPlants.Bundled("faults/dry-cooler-fouling", "3d") with { Faults = [] }, new SimulationOptions { Mode = OperatingMode.Digital }).Run();
        Assert.True(fouled.EnergyBreakdownKwh["chillers"] > clean.EnergyBreakdownKwh["chillers"]);
    }

    [Fact]
    public void CoolingTowerScaling_SpeedsTheTowersFans_ForTheSameDuty_AndIsCleanedAtItsEnd()
    {
        // The evaporative plant in March under digital operation: the towers carry the whole load. Scale lowers their
        // conductance, so the same duty needs faster fans (power ~ speed³); the approach it adds is far below the
        // setpoint yet, so the duty is unchanged. The fault's end is the repair: back to clean at once.
        var scenario = TestPlants.Bundled("faults/cooling-tower-fouling", "13h");
        var fouled = new Simulator(scenario, new SimulationOptions { Mode = OperatingMode.Digital });
        var clean = new Simulator(scenario with { Faults = [] }, new SimulationOptions { Mode = OperatingMode.Digital });
        fouled.Advance(12 * 3600);
        clean.Advance(12 * 3600);
        var fans = fouled.Truth("ct-1/fan_power") / clean.Truth("ct-1/fan_power");
        // 11 h at 50 % a day: the conductance is 1.23 times lower, so the fans run 1.23 times faster, 1.86 times the power.
        Assert.InRange(fans, 1.7, 2.0);
        Assert.Equal(clean.Truth("economiser/heat"), fouled.Truth("economiser/heat"), 0.02 * clean.Truth("economiser/heat"));

        var repaired = new Simulator(scenario with { Faults = [.. scenario.Faults.Select(f => f with { End = TimeSpan.FromHours(6) })] }, new SimulationOptions { Mode = OperatingMode.Digital });
        repaired.Advance(12 * 3600);
        Assert.Equal(clean.Truth("ct-1/fan_power"), repaired.Truth("ct-1/fan_power"), 0.02 * clean.Truth("ct-1/fan_power"));
    }

    [Fact]
    public void UtilityOutageWithFailedGenerator_RunsTheUpsBatteryFlat_AndTheOtherSideCarriesTheLoad()
    {
        var sim = Unattended("generator-fail-to-start", "4h");
        sim.Advance(7200 + 30);
        Assert.Equal(1, sim.Truth("ups-a/on_battery"));
        Assert.Equal(0, sim.Truth("gen-a/running"));
        sim.Advance(3000);
        Assert.Equal(0, sim.Truth("ups-a/battery"));
        Assert.Equal(0, sim.Model.Totals.ItUnpoweredRackSeconds);
        Assert.True(sim.Truth("ups-b/output_power") > 6e6, "ups-b carries the whole IT load");
    }

    [Fact]
    public void UtilityOutage_GeneratorPicksUpWithinSeconds()
    {
        var sim = Unattended("utility-outage", "3h");
        sim.Advance(7200 + 5);
        Assert.Equal(1, sim.Truth("ups-a/on_battery"));
        sim.Advance(10);
        Assert.Equal(0, sim.Truth("ups-a/on_battery"));
        Assert.Equal(1, sim.Truth("gen-a/running"));
    }

    [Fact]
    public void Leak_TripsTheSensor_DrainsTheCdu_AndStopsWhenTheRackIsIsolated()
    {
        var sim = Unattended("leak", "4h");
        sim.Advance(7200 + 600);
        Assert.Equal(1, sim.Truth("h1-c03/leak"));
        var level = sim.Truth("cdu-h1-c/coolant_level");
        Assert.True(level < 1);
        Assert.True(sim.Plant.Write("h1-c03/isolate", 1).Ok);
        sim.Advance(600);
        Assert.Equal(level, sim.Truth("cdu-h1-c/coolant_level"), 3);
        Assert.Equal(0, sim.Truth("h1-c03/power"));
    }

    [Fact]
    public void Leak_Unattended_TripsThePumpsOnLowLevel()
    {
        var sim = Unattended("leak", "6h");
        sim.Advance(7200 + (3 * 3600));
        Assert.Equal(0, sim.Truth("cdu-h1-c/flow"));
    }

    [Fact]
    public void PowerSwing_SwingsHallTwoByMegawatts()
    {
        var sim = Unattended("power-swing", "3h");
        sim.Advance(7200);
        var trace = sim.Trace("site/it_power", 600, 10);
        Assert.True(trace.Max() - trace.Min() > 2e6, $"swing {trace.Max() - trace.Min()} W");
    }

    [Fact]
    public void HeatWave_RaisesAmbient()
    {
        var sim = Unattended("heat-wave", "1d");
        var baseline = Unattended("heat-wave", "1d", withoutFaults: true);
        sim.Advance(12 * 3600);
        baseline.Advance(12 * 3600);
        Assert.Equal(baseline.Truth("site/ambient_dry_bulb") + 8, sim.Truth("site/ambient_dry_bulb"), 6);
    }

    [Theory]
    [InlineData("sensor-stuck", "cdu-h2-a/return_temperature", 0.2)] // frozen while the load (and return) moves
    [InlineData("sensor-drift", "cdu-h1-a/supply_temperature", 2)] // 2 K an hour for hours
    [InlineData("sensor-noise", "h2-b04/inlet_temperature", 1)] // sigma 3 K
    [InlineData("sensor-dropout", "cdu-h2-c/supply_temperature", 0)] // missing readings
    public void SensorFaults_MoveTheReading_NotThePlant(string scenario, string point, double departure)
    {
        var faulty = Unattended(scenario, "5h");
        var clean = Unattended(scenario, "5h", withoutFaults: true);
        var index = faulty.Plant.Point(point);
        var maxDeparture = 0.0;
        var missing = false;
        for (var t = 0; t < 18_000; t += 300)
        {
            faulty.Advance(300);
            clean.Advance(300);
            var reading = faulty.Plant.Read(index);
            missing |= reading.IsMissing;
            if (!reading.IsMissing)
            {
                maxDeparture = Math.Max(maxDeparture, Math.Abs(reading.Value - faulty.Truth(point)));
            }

            // The plant is untouched: its true state matches the fault-free run exactly.
            Assert.Equal(clean.Truth(point), faulty.Truth(point));
        }

        Assert.True(departure == 0 ? missing : maxDeparture > departure, $"{scenario}: the reading should depart from the truth (max {maxDeparture})");
        Assert.Equal(clean.Model.Totals.ItJoules, faulty.Model.Totals.ItJoules);
    }
}
