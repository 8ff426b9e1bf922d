using Aida.Telemetry.Collectors;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Telemetry.Tests.Collectors;

public class UptimeWatchTests
{
    private const long T0 = 1_700_000_000_000;

    // A device that runs on, just started or up for months, reads at polls 0.2 s to 1 h apart an uptime in whole
    // seconds (truncated) from a clock up to 0.5 % off Aida's: never a restart.
    [Property(MaxTest = 500, Replay = "1234567890123456789,987654321987654321")]
    public Property ADeviceThatRuns_IsNeverFoundRestarted() =>
        Prop.ForAll(
            Gen.OneOf(Gen.Choose(0, 3), Gen.Choose(0, 10_000_000)).ToArbitrary(),
            Gen.Choose(995, 1005).ToArbitrary(),
            Gen.Choose(200, 3_600_000).ListOf().ToArbitrary(),
            (startUptime, ratePermille, gapsMs) =>
            {
                var watch = new UptimeWatch(1);
                var at = T0;
                var found = watch.Read(at, startUptime);
                foreach (var gap in gapsMs)
                {
                    at += gap;
                    var uptime = Math.Floor(startUptime + ((at - T0) / 1000.0 * ratePermille / 1000));
                    found ??= watch.Read(at, uptime);
                }

                return found is null;
            });

    // A device restarted between two polls is found, whenever it had been up longer than the gap before (its uptime
    // goes back), or restarted later than a few seconds and 2 % of the gap after the poll before (it reads younger than
    // the gap).
    [Property(MaxTest = 500, Replay = "1234567890123456789,987654321987654321")]
    public Property ARestartBetweenTwoPolls_IsFound_WhenItsUptimeCanTell() =>
        Prop.ForAll(
            Gen.Choose(0, 10_000_000).ToArbitrary(),
            Gen.Choose(995, 1005).ToArbitrary(),
            Gen.Choose(1_000, 3_600_000).Zip(Gen.Choose(1, 999)).ToArbitrary(),
            (upBefore, ratePermille, gapAndRestart) =>
            {
                var (gapMs, restartPermille) = gapAndRestart;
                var watch = new UptimeWatch(1);
                watch.Read(T0, upBefore);
                var restartAfter = gapMs / 1000.0 * restartPermille / 1000; // seconds after the poll before
                var uptime = Math.Floor((gapMs / 1000.0 - restartAfter) * ratePermille / 1000);
                var found = watch.Read(T0 + gapMs, uptime);
                var tellable = upBefore > (1.01 * gapMs / 1000) + 2 || restartAfter > (0.02 * gapMs / 1000) + 3;
                return (found is not null || !tellable).Label($"restart {restartAfter} s after a poll {gapMs} ms apart, up {upBefore} s before, read {uptime} s: {found ?? "not found"}");
            });

    [Fact]
    public void AReadingNotFiniteOrNegative_IsNotJudged_NorKept()
    {
        var watch = new UptimeWatch(1);
        Assert.Null(watch.Read(T0, 86_400));
        Assert.Null(watch.Read(T0 + 1_000, double.NaN));
        Assert.Null(watch.Read(T0 + 2_000, -5));
        Assert.Null(watch.Read(T0 + 3_000, double.PositiveInfinity));

        // Judged against the last good reading, 3 s before.
        Assert.Null(watch.Read(T0 + 4_000, 86_404));
        Assert.Equal("its uptime read 2 s, 10 s after it read 86404 s", watch.Read(T0 + 14_000, 2));
    }

    [Fact]
    public void AnUptimeInMinutes_IsJudgedAtItsResolution()
    {
        // A register counting minutes (scale 60): a poll 10 s apart reads the same minute, or the next: no restart.
        var watch = new UptimeWatch(60);
        Assert.Null(watch.Read(T0, 600));
        Assert.Null(watch.Read(T0 + 10_000, 600));
        Assert.Null(watch.Read(T0 + 20_000, 660));

        // Back to minute 0: a restart.
        Assert.NotNull(watch.Read(T0 + 30_000, 0));
    }

    [Fact]
    public void ASixteenBitUptimeThatWraps_ReadsAsARestart()
    {
        // Documented: a 16-bit count of seconds wraps every 18 h; give a 32-bit one.
        var watch = new UptimeWatch(1);
        Assert.Null(watch.Read(T0, 65_530));
        Assert.NotNull(watch.Read(T0 + 10_000, 4));
    }
}
