using Aida.Automation.Safety;
using Aida.Model.Plant;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Automation.Tests.Safety;

/// <summary>Whatever people do with lockouts (lock out now or planned ahead, several of one asset one after another, move
/// the end or the start, release or call off, by the holder, another or an approver), and however time passes: no write
/// reaches a locked-out asset, no asset is refused for a lockout that does not hold (no longer, or not yet), and no two
/// lockouts of one asset overlap. Checked against a model of the lockouts kept by the test, not by the guard.</summary>
public sealed class LockoutProperties
{
    private static readonly string[] Assets = ["cdu-h1-a", "chiller-2", "h1-a01"];

    private static readonly string[] ActuatorsOf = ["cdu-h1-a/pump_speed", "chiller-2/enable", "h1-a01/isolate"];

    private static readonly string[] People = ["api:alice", "api:bob"];

    private sealed record Booked(string Asset, string By, DateTimeOffset Since, DateTimeOffset? Until);

    /// <summary>One step: 0 lock out, 1 move the end, 2 release, 3 time passes, 4 the agent writes, 5 move a planned
    /// one's start; the asset, the person (and whether an approver), the minutes of an end (0: until released) or seconds
    /// passing, and for a lock out or a move of its start the minutes until it starts (0: now; else planned).</summary>
    public static Arbitrary<(int Op, int Asset, int Person, bool Approver, int Amount, int Ahead)[]> Steps() =>
        Gen.ArrayOf(
            from op in Gen.Frequency((2, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2)), (2, Gen.Constant(3)), (4, Gen.Constant(4)), (1, Gen.Constant(5)))
            from asset in Gen.Choose(0, Assets.Length - 1)
            from person in Gen.Choose(0, People.Length - 1)
            from approver in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
            // Time passes mostly in whole minutes, as ends are set, so that a check lands on an end to the second.
            from amount in op == 3 ? Gen.Frequency((3, Gen.Choose(1, 90).Select(m => m * 60)), (1, Gen.Choose(1, 59)))
                : Gen.Frequency((1, Gen.Constant(0)), (3, Gen.Choose(1, 120)))
            from ahead in Gen.Frequency((2, Gen.Constant(0)), (1, Gen.Choose(1, 120)))
            select (op, asset, person, approver, amount, ahead)).ToArbitrary();

    /// <summary>1,000 sequences from a fixed seed (the same ones every run).</summary>
    [Property(MaxTest = 1000, Replay = "3141592653589793238,2718281828459045235", Arbitrary = [typeof(LockoutProperties)])]
    public void NoWriteReachesALockedOutAsset_AndNoneIsRefusedForALockoutThatDoesNotHold((int Op, int Asset, int Person, bool Approver, int Amount, int Ahead)[] steps)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2025, 7, 1, 2, 0, 0, TimeSpan.Zero));
        var plant = new SafetyEnvelopeTests.RecordingPlant();
        var guard = new GuardedPlant(plant, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory), clock, "agent:aida");
        // Every lockout not over yet: several of one asset, one after another, never overlapping.
        var model = new List<Booked>();
        bool Kept(Booked l) => l.Until is not { } u || clock.GetUtcNow() < u;
        bool HoldsNow(Booked l) => Kept(l) && clock.GetUtcNow() >= l.Since;
        bool Holds(string asset) => model.Any(l => l.Asset == asset && HoldsNow(l));
        List<Booked> Of(string asset) => [.. model.Where(l => l.Asset == asset && Kept(l)).OrderBy(l => l.Since)];
        bool Overlaps(string asset, DateTimeOffset since, DateTimeOffset? until, DateTimeOffset? except) =>
            Of(asset).Any(l => l.Since != except && l.Since < (until ?? DateTimeOffset.MaxValue) && since < (l.Until ?? DateTimeOffset.MaxValue));

        foreach (var (op, a, p, approver, amount, ahead) in steps)
        {
            var asset = Assets[a];
            var person = People[p];
            var now = clock.GetUtcNow();
            var start = now.AddMinutes(ahead);
            DateTimeOffset? end = amount == 0 ? null : start.AddMinutes(amount);
            var mine = Of(asset);
            // Extend and release take the one held, else the soonest planned; a release with a lead names the last one
            // by its start; a move of a start takes the soonest planned, else the one held.
            var named = op == 2 && ahead > 0 && mine.Count > 1 ? mine[^1].Since : (DateTimeOffset?)null;
            var target = named is not null ? mine[^1] : op == 5 ? mine.FirstOrDefault(l => !HoldsNow(l)) ?? mine.FirstOrDefault() : mine.FirstOrDefault();
            // A moved end counts from now, or a planned lockout's start.
            DateTimeOffset Moved() => (target is not null && !HoldsNow(target) ? target.Since : now).AddMinutes(Math.Max(1, amount));
            switch (op)
            {
                case 0 when Overlaps(asset, start, end, except: null):
                    Assert.Throws<LockoutOverlapException>(() => guard.Lockouts.Add(asset, person, "work", end, ahead == 0 ? null : start));
                    break;
                case 0:
                    Assert.Equal(start, guard.Lockouts.Add(asset, person, "work", end, ahead == 0 ? null : start).Since);
                    model.Add(new Booked(asset, person, start, end));
                    break;
                case 1 or 2 or 5 when target is null:
                    Assert.Throws<KeyNotFoundException>(() => op == 1 ? guard.Lockouts.Extend(asset, person, Moved(), approver)
                        : op == 2 ? guard.Lockouts.Release(asset, person, "done", approver)
                        : guard.Lockouts.Reschedule(asset, person, start, approver));
                    break;
                case 5 when HoldsNow(target!):
                    Assert.Throws<InvalidOperationException>(() => guard.Lockouts.Reschedule(asset, person, start, approver));
                    break;
                case 1 or 2 or 5 when target!.By != person && !approver:
                    Assert.Throws<UnauthorizedAccessException>(() => op == 1 ? guard.Lockouts.Extend(asset, person, Moved(), approver)
                        : op == 2 ? guard.Lockouts.Release(asset, person, "done", approver, named)
                        : guard.Lockouts.Reschedule(asset, person, start, approver));
                    break;
                case 1 when Overlaps(asset, target!.Since, Moved(), except: target.Since):
                    Assert.Throws<LockoutOverlapException>(() => guard.Lockouts.Extend(asset, person, Moved(), approver));
                    break;
                case 1:
                    var moved = Moved();
                    Assert.Equal(target!.By, guard.Lockouts.Extend(asset, person, moved, approver).By);
                    model[model.IndexOf(target)] = target with { Until = moved };
                    break;
                case 2:
                    Assert.Equal(target!.Since, guard.Lockouts.Release(asset, person, "done", approver, named).Since);
                    model.Remove(target);
                    break;
                case 3:
                    clock.Advance(TimeSpan.FromSeconds(amount));
                    break;
                case 5 when Overlaps(asset, start, target!.Until + (start - target.Since), except: target.Since):
                    Assert.Throws<LockoutOverlapException>(() => guard.Lockouts.Reschedule(asset, person, start, approver));
                    break;
                case 5:
                    // Moved with its length kept; a start not after now starts it now.
                    var was = target!;
                    Assert.Equal(start, guard.Lockouts.Reschedule(asset, person, start, approver).Since);
                    model[model.IndexOf(was)] = was with { Since = start, Until = was.Until + (start - was.Since) };
                    break;
                default:
                    var before = plant.Writes.Count;
                    var result = guard.Write(ActuatorsOf[a], a == 1 ? 1 : 0.8);
                    if (Holds(asset))
                    {
                        Assert.Equal(before, plant.Writes.Count);
                        Assert.False(result.Ok);
                    }
                    else
                    {
                        Assert.DoesNotContain("locked out", result.Message ?? "", StringComparison.Ordinal);
                    }

                    break;
            }

            Assert.Equal(Assets.Where(Holds).Order(StringComparer.Ordinal), guard.Lockouts.Held.Select(l => l.Asset));
            Assert.Equal(
                model.Where(l => Kept(l) && !HoldsNow(l)).Select(l => (l.Asset, l.Since)).OrderBy(l => l.Since).ThenBy(l => l.Asset, StringComparer.Ordinal),
                guard.Lockouts.Planned.Select(l => (l.Asset, l.Since)));
        }
    }
}
