using Aida.Observability.Anomalies;
using Xunit.Abstractions;

namespace Aida.Observability.Tests.Anomalies;

public sealed class CduEnergyBalanceTests(ITestOutputHelper output)
{
    [Fact]
    public void SteadyLoop_Closes()
    {
        // 1 MW of racks, 85 % to liquid, 11 kW of pumps, 30 kg/s: the return runs 6.87 K above the supply.
        var delta = ((1e6 * 0.85) + 11e3) / (30 * CduEnergyBalance.WaterSpecificHeat);

        Assert.Equal(0, CduEnergyBalance.ResidualRatio(1e6, 0.85, 11e3, 30, 30, 30 + delta), 12);
        Assert.Equal(0, CduEnergyBalance.ResidualRatio(0, 0.85, 0, 0, 30, 30));
    }

    [Fact]
    public async Task FaultFreeRun_HasNoEnergyBalanceAnomaly_AndSmallResiduals()
    {
        var run = TwinTelemetry.Of("reference", TimeSpan.FromHours(2));
        var balance = new CduEnergyBalance(run.Query, run.Factory);

        var all = await balance.CheckAllAsync(run.Start + TimeSpan.FromMinutes(10), run.End);

        Assert.Equal(run.Factory.Cooling.Cdus.Count, all.Count);
        foreach (var cdu in all)
        {
            Assert.NotEmpty(cdu.Residual.Samples);
            Assert.Empty(cdu.Anomalies);
            output.WriteLine($"{cdu.Cdu}: residual {cdu.Residual.Samples.Min(s => s.Value):P2} .. {cdu.Residual.Samples.Max(s => s.Value):P2}");
        }
    }

    [Fact]
    public async Task DriftingSupplySensor_OpensTheBalance_OnThatCduOnly()
    {
        // sensor-drift: cdu-h1-a's supply reading drifts up 2 K an hour from 02:00; the plant itself is fine.
        var run = TwinTelemetry.Of("faults/sensor-drift", TimeSpan.FromHours(4));
        var balance = new CduEnergyBalance(run.Query, run.Factory);
        var faultStart = run.Start + TimeSpan.FromHours(2);

        var all = await balance.CheckAllAsync(run.Start + TimeSpan.FromMinutes(10), run.End);

        var drifting = all.Single(c => c.Cdu == "cdu-h1-a");
        var anomaly = Assert.Single(drifting.Anomalies);
        output.WriteLine(anomaly.ToString());
        Assert.Equal(AnomalyKind.EnergyBalance, anomaly.Kind);
        Assert.InRange(anomaly.Onset, faultStart - TimeSpan.FromMinutes(5), faultStart + TimeSpan.FromMinutes(20));
        Assert.True(anomaly.Detected - faultStart < TimeSpan.FromMinutes(45), $"detected {anomaly.Detected - faultStart} after the fault");
        Assert.All(all.Where(c => c.Cdu != "cdu-h1-a"), c => Assert.Empty(c.Anomalies));
    }

    [Fact]
    public async Task UnknownCdu_IsAClearError()
    {
        var run = TwinTelemetry.Of("reference", TimeSpan.FromHours(2));

        var e = await Assert.ThrowsAsync<ArgumentException>(() => new CduEnergyBalance(run.Query, run.Factory).CheckAsync("cdu-h9-z", run.Start, run.End));
        Assert.Contains("no CDU 'cdu-h9-z'", e.Message, StringComparison.Ordinal);
    }
}
