using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Storage;

/// <summary>A full disk under the store, on a real (small) tmpfs: before, the WAL's write threw out of the append into
/// <c>aida run</c>'s control loop and stopped the plant's operation ("No space left on device"), and a block cut that
/// failed part-way left the blocks it had written to be found again, failing every later cut.</summary>
public sealed class TsdbFullDiskTests
{
    private const int Series = 200;
    private const long Step = 10_000;

    [SkippableFact]
    public void AFullDisk_FailsNoAppend_TheHeadKeepsEverySample_AndOnceFreedTheWalAndBlocksHoldThemAll()
    {
        using var disk = SmallDisk.Mount(256);
        var clock = new FakeTimeProvider(TsdbTests.Start);
        var options = new TsdbOptions
        {
            DataDirectory = Path.Combine(disk.Path, "tsdb"),
            Clock = clock,
            BlockDuration = TimeSpan.FromMinutes(30),
            MaxBlockDuration = TimeSpan.FromMinutes(30),
        };
        var random = new Random(7);
        var appended = 0L;
        var t = TsdbTests.T0;
        using (var store = new Tsdb(options))
        {
            var ids = Enumerable.Range(0, Series).Select(i => store.GetOrCreateSeries(Labels.Metric("m", ("i", i.ToString(System.Globalization.CultureInfo.InvariantCulture))))).ToArray();
            void StepOnce()
            {
                foreach (var id in ids)
                {
                    Assert.Equal(AppendStatus.Ok, store.Append(id, t, Math.Round(random.NextDouble() * 1000, 3)));
                    appended++;
                }

                t += Step;
                clock.Advance(TimeSpan.FromMilliseconds(Step));
            }

            // Until the disk is full: the WAL fails, the appends do not.
            for (var i = 0; i < 1000 && store.WalFailing is null; i++)
            {
                StepOnce();
            }

            var failing = Assert.IsType<WalFailure>(store.WalFailing);
            Assert.Contains("No space left on device", failing.Message, StringComparison.Ordinal);

            // An hour more on the full disk: every append stored, the cuts fail and leave no block half-written.
            var cutsFailed = 0;
            for (var i = 0; i < 360; i++)
            {
                StepOnce();
                if (i % 60 == 59)
                {
                    try
                    {
                        store.Compact();
                    }
                    catch (IOException)
                    {
                        cutsFailed++;
                    }
                }
            }

            Assert.True(cutsFailed > 0, "no block cut met the full disk");
            Assert.Empty(Directory.EnumerateDirectories(Path.Combine(options.DataDirectory, "blocks")));
            Assert.Equal(appended, store.Select(long.MinValue, long.MaxValue, [new LabelMatcher("__name__", MatcherType.Equal, "m")]).Sum(s => (long)s.Samples.Count));

            // Freed: the next tries checkpoint the head into the WAL and cut the blocks.
            disk.Grow(64 << 10);
            for (var i = 0; i < 360 && store.WalFailing is not null; i++)
            {
                StepOnce();
            }

            Assert.Null(store.WalFailing);
            Assert.Equal(1, store.WalTrouble.Recoveries);
            store.Compact();
            Assert.NotEmpty(Directory.EnumerateDirectories(Path.Combine(options.DataDirectory, "blocks")));
            StepOnce();
        }

        // What a restart finds: every sample, from the blocks and the WAL.
        using var reopened = new Tsdb(options with { ReadOnly = true });
        Assert.Equal(appended, reopened.Select(long.MinValue, long.MaxValue, [new LabelMatcher("__name__", MatcherType.Equal, "m")]).Sum(s => (long)s.Samples.Count));
    }
}
