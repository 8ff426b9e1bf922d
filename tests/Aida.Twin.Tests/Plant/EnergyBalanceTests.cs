using Aida.Twin.Simulation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Twin.Tests.Plant;

public class EnergyBalanceTests
{
    /// <summary>Runs the tiny plant to steady state, then measures one hour.</summary>
    private static (double It, double Auxiliary, double Rejected, double Pue) SteadyHour(double u, double fw, double cdu, double ambient)
    {
        var sim = new Simulator(TestPlants.Tiny(u, fw, cdu, ambient: ambient), new SimulationOptions { NoOperator = true });
        sim.Advance(3 * 3600);
        var t = sim.Model.Totals;
        var (it0, aux0, rej0, fac0) = (t.ItJoules, t.CduPumpJoules + t.CrahFanJoules + t.FacilityPumpJoules, t.HeatRejectedJoules, t.FacilityJoules);
        sim.Advance(3600);
        return (t.ItJoules - it0, t.CduPumpJoules + t.CrahFanJoules + t.FacilityPumpJoules - aux0, t.HeatRejectedJoules - rej0, (t.FacilityJoules - fac0) / (t.ItJoules - it0));
    }

    [Property(MaxTest = 12, Replay = "1234567890123456789,987654321987654321")]
    public Property AtSteadyState_HeatRemoved_EqualsItHeat_Within1Percent() =>
        Prop.ForAll(
            (from u in Gen.Choose(10, 100) from fw in Gen.Choose(14, 24) from cdu in Gen.Choose(28, 40) from amb in Gen.Choose(-10, 35)
             select (u / 100.0, (double)fw, (double)cdu, (double)amb)).ToArbitrary(),
            x =>
            {
                var (it, aux, rejected, _) = SteadyHour(x.Item1, x.Item2, x.Item3, x.Item4);

                // Pumps and fans turn their shaft work into heat in the water and air they move, so it is rejected too.
                return Math.Abs(rejected - (it + aux)) <= 0.01 * it;
            });

    [Property(MaxTest = 12, Replay = "1234567890123456789,987654321987654321")]
    public Property Pue_IsAlwaysAboveOne() =>
        Prop.ForAll(
            (from u in Gen.Choose(0, 100) from fw in Gen.Choose(10, 30) from amb in Gen.Choose(-20, 40) select (u / 100.0, (double)fw, (double)amb)).ToArbitrary(),
            x => SteadyHour(x.Item1, x.Item2, 32, x.Item3).Pue > 1);
}
