using Aida.Model.Plant;
using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Simulation;

public class KeptActuatorsTests
{
    private static Simulator NoOperator(string duration = "10m") =>
        new(TestPlants.Bundled("reference", duration), new SimulationOptions { NoOperator = true });

    [Fact]
    public void ATwinTakingUpWhatAnotherLeft_StartsWithItsActuatorsThere_AndKeepsThemAsMoved()
    {
        // A rack isolated and a CDU set point mid-ramp (command 27, its value on its way down from 30 at 0.05 K/s) when the
        // first run stopped: the second starts with both as they were, and lists them as moved for the next restart.
        var first = NoOperator();
        first.AdvanceSteps(10);
        Assert.True(first.Plant.Write(first.Plant.Actuator("h1-c03/isolate"), 1).Ok);
        Assert.True(first.Plant.Write(first.Plant.Actuator("cdu-h1-a/supply_setpoint"), 27).Ok);
        first.AdvanceSteps(1);
        var moved = first.MovedActuators();
        var setpoint = Assert.Single(moved, k => k.Actuator == "cdu-h1-a/supply_setpoint");
        Assert.Equal(27, setpoint.Command);
        Assert.Equal(29.95, setpoint.Value, 6);
        var path = Path.Combine(Directory.CreateTempSubdirectory("aida-kept-twin-").FullName, "twin-actuators.json");
        KeptActuators.Write(path, moved);

        var second = NoOperator();
        second.TakeUp(KeptActuators.Read(path));
        second.AdvanceSteps(20);

        Assert.Equal(1, second.Plant.ReadValue("h1-c03/isolated"));
        Assert.Equal(27, second.Plant.ReadValue("cdu-h1-a/supply_setpoint_command"));
        Assert.Equal(moved.Select(k => k.Actuator), second.MovedActuators().Select(k => k.Actuator));
        Assert.Equal(27, second.ActuatorTarget(second.Plant.Actuator("cdu-h1-a/supply_setpoint")));
        // On down its ramp from where it was (20 s at 0.05 K/s), not from the design's 30.
        Assert.Equal(28.95, second.MovedActuators().Single(k => k.Actuator == "cdu-h1-a/supply_setpoint").Value, 6);
    }

    [Theory]
    [InlineData("h9-z99/isolate", 1, 1, 1, "entry 2: 'h9-z99/isolate' is no actuator of ref-10mw")]
    [InlineData("cdu-h1-a/supply_setpoint", 80, 80, 25, "entry 2: cdu-h1-a/supply_setpoint: command 80 celsius is not within [15, 50]")]
    [InlineData("cdu-h1-a/pump_speed", 1, 1, double.NaN, "entry 2: cdu-h1-a/pump_speed: value NaN ratio is not within [0.3, 1]")]
    public void AnActuatorTheTwinCannotTakeUp_IsRefusedBeforeItsFirstStep_NamingTheEntry(string actuator, double command, double target, double value, string expected)
    {
        var twin = NoOperator();
        var e = Assert.Throws<ArgumentException>(() => twin.TakeUp([new KeptActuator("h1-c03/isolate", 1, 1, 1), new KeptActuator(actuator, command, target, value)]));
        Assert.Equal(expected, e.Message);
        twin.AdvanceSteps(1);
        Assert.Equal(0, twin.Plant.ReadValue("h1-c03/isolated"));
        Assert.Throws<InvalidOperationException>(() => twin.TakeUp([]));
    }

    [Theory]
    [InlineData("{}", "not a list of the twin's actuators")]
    [InlineData("[{\"actuator\": \"h1-c03/isolate\", \"command\": 1, \"target\": 1}]", "entry 1: actuator, command, target and value are required")]
    public void ABrokenFile_IsAnErrorNamingIt(string text, string expected)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("aida-kept-twin-").FullName, "twin-actuators.json");
        File.WriteAllText(path, text);
        var e = Assert.Throws<FormatException>(() => KeptActuators.Read(path));
        Assert.StartsWith(path + ": " + expected, e.Message, StringComparison.Ordinal);
    }
}
