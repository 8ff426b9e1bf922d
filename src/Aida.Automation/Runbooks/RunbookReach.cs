using Aida.Automation.Actions;
using Aida.Model.Facility;
using Aida.Model.Scenarios;

namespace Aida.Automation.Runbooks;

/// <summary>One way a runbook would write an asset: its action on the asset, and the faults (of which assets) that start
/// it. What a lockout of that asset takes away: while it is held, that step is refused and the run rolls back to a
/// person.</summary>
/// <param name="Sections">Where the step is: <c>steps</c>, <c>rollback</c>, <c>restore</c>, in that order.</param>
/// <param name="FaultAssets">The assets whose fault starts the runbook with the step on this asset, in factory order
/// (<c>site</c> for a site-wide fault).</param>
public sealed record RunbookWrite(string Runbook, string Trigger, IReadOnlyList<string> Sections, ActionKind Action, IReadOnlyList<string> FaultAssets)
{
    /// <summary>One line for a person: <c>runbook chiller-trip would start_standby it on a chiller-trip of chiller-1 or
    /// chiller-2</c>.</summary>
    public string Describe(string asset)
    {
        var others = FaultAssets.Where(f => f != asset).ToList();
        var own = others.Count < FaultAssets.Count;
        var named = others.Count switch
        {
            0 => "",
            1 => others[0],
            <= 3 => $"{string.Join(", ", others.Take(others.Count - 1))} or {others[^1]}",
            _ => $"{string.Join(", ", others.Take(3))} or {others.Count - 3} more",
        };
        var on = (own, others.Count) switch
        {
            (true, 0) => $"on its own {Trigger}",
            (true, _) => $"on its own {Trigger} or one of {named}",
            (false, 1) when others[0] == "site" => $"on a {Trigger}",
            _ => $"on a {Trigger} of {named}",
        };
        var where = Sections.SequenceEqual(["steps"]) ? ""
            : Sections[0] == "steps" ? $" (and in its {string.Join(" and ", Sections.Skip(1))})"
            : $" (in its {string.Join(" and ", Sections)})";
        return $"runbook {Runbook} would {ActionKindNames.Name(Action)} it {on}{where}";
    }
}

/// <summary>Which runbooks would write an asset, and on which faults: worked out from the runbooks' action steps and their
/// bindings over the factory's assets (a chiller-trip of chiller-1 binds <c>{standby_chillers}</c> to chiller-3). What a
/// person locking the asset out should know beforehand: locking out chiller-3, the only standby, leaves a chiller trip
/// with nothing to start; locking out a rack leaves its own leak with no isolation.</summary>
public static class RunbookReach
{
    /// <summary>The runbook steps that would write <paramref name="asset"/>, by runbook, trigger and section.</summary>
    public static IReadOnlyList<RunbookWrite> Of(Factory factory, IReadOnlyList<Runbook> runbooks, string asset)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var kinds = factory.Topology.AssetKinds;
        var hallOf = factory.Racks.Select(r => (r.Id, r.Hall)).Concat(factory.Cooling.Cdus.Select(c => (c.Id, c.Hall)))
            .Concat(factory.Cooling.Crahs.Select(c => (c.Id, c.Hall))).Concat(factory.Halls.Select(h => (h.Id, h.Id)))
            .ToDictionary(x => x.Item1, x => x.Item2, StringComparer.Ordinal);
        var hall = hallOf.GetValueOrDefault(asset);
        Dictionary<(string, string), IReadOnlyList<string>> bound = [];
        List<RunbookWrite> writes = [];
        foreach (var book in runbooks)
        {
            var sections = new[] { ("steps", book.Steps), ("rollback", book.Rollback), ("restore", (IReadOnlyList<RunbookStep>)[.. book.Restores.SelectMany(r => r.Steps)]) };
            foreach (var trigger in book.Triggers)
            {
                if (!FaultCatalog.TryParse(trigger, out var fault))
                {
                    continue;
                }

                // The assets a fault of this kind may hit here (a sensor's or an actuator's: any asset's); a site-wide
                // fault binds to the site.
                var anyAsset = fault.AssetKinds.Contains("point") || fault.AssetKinds.Contains("actuator");
                List<string> hit = [.. kinds.Where(k => anyAsset || fault.AssetKinds.Contains(k.Value)).Select(k => k.Key)];
                if (fault.AssetKinds.Contains("site"))
                {
                    hit.Add("site");
                }

                // One line per action and faults, naming every section it is in (a rollback's and a restore's
                // move_workload are one thing to know).
                List<(string Section, ActionKind Kind, List<string> FaultAssets)> found = [];
                foreach (var (section, steps) in sections)
                {
                    foreach (var action in steps.OfType<ActionStep>().Select(a => (a.Kind, a.Target)).Distinct())
                    {
                        // Only the site-wide bindings reach past the fault's own asset and hall: the rest need not be
                        // bound for every rack of a 1 GW factory.
                        var siteWide = action.Target is "{standby_chillers}" or "{chillers}" or "{all_racks}" || !action.Target.StartsWith('{');
                        var faultAssets = hit.Where(f => (siteWide || f == asset || (hall is not null && hallOf.GetValueOrDefault(f) == hall))
                            && Targets(factory, bound, action.Target, f).Contains(asset)).ToList();
                        if (faultAssets.Count > 0)
                        {
                            found.Add((section, action.Kind, faultAssets));
                        }
                    }
                }

                writes.AddRange(found.GroupBy(f => (f.Kind, string.Join(",", f.FaultAssets)))
                    .Select(g => new RunbookWrite(book.Name, trigger, [.. g.Select(f => f.Section).Distinct()], g.Key.Kind, g.First().FaultAssets)));
            }
        }

        return writes;
    }

    private static IReadOnlyList<string> Targets(Factory factory, Dictionary<(string, string), IReadOnlyList<string>> bound, string target, string faultAsset)
    {
        if (target == "{asset}" || !target.StartsWith('{') || !target.EndsWith('}'))
        {
            return [target == "{asset}" ? faultAsset : target];
        }

        var name = target[1..^1];
        if (!Runbook.Bindings.Contains(name))
        {
            return [];
        }

        if (!bound.TryGetValue((faultAsset, name), out var targets))
        {
            bound[(faultAsset, name)] = targets = RunbookBindings.One(factory, faultAsset, name);
        }

        return targets;
    }
}
