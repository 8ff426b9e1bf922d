using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aida.Automation.Safety;

namespace Aida.Cli;

/// <summary><c>aida lockouts</c>: lockout/tagout from a terminal. A technician locks an asset out of a live run's hands
/// (<c>aida run --api</c>), lists what is held and releases it, through the run's REST API: the run holds the lockouts
/// and its guard refuses every write to them, so a file edited behind its back would change nothing. <c>list --data
/// DIR</c> reads what a stopped run keeps (<c>DIR/lockouts.json</c>), which it holds again when started there.</summary>
internal static class LockoutsCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("lockouts", "Lockout/tagout from a terminal: lock an asset out of a live run's hands (aida run --api), now or planned, list what is held and planned, move its end, release it");
        var reasonText = "Why: the work on it (audited; required)";

        var listApi = Api();
        var listKey = Key();
        var data = new Option<string>("--data") { Description = "Instead of --api: the data directory of a stopped run, whose lockouts.json it holds again when started there" };
        var json = new Option<bool>("--json") { Description = "Print JSON (as GET /api/lockouts gives them) instead of text" };
        var list = new Command("list", "The assets held locked out, then those planned: who, from and until when, why") { listApi, listKey, data, json };
        list.SetAction(async (parse, token) =>
        {
            IReadOnlyList<(Lockout Lockout, string State)> held;
            if (parse.GetValue(data) is { } directory)
            {
                if (parse.GetValue(listApi) is not null)
                {
                    throw new BadInputException("--data: give --api (a live run) or --data (a stopped run's directory), not both");
                }

                // A stopped run's file, judged at the plant's now when started again there (aida run): the wall clock's,
                // or past the newest sample kept when a twin run at --speed ran ahead of it. That run ends those past.
                var wall = DateTimeOffset.UtcNow;
                var now = LiveTelemetry.NewestSample(directory) is { } newest && newest > wall ? newest : wall;
                held = [.. Kept(directory).Select(l => (l, l.PlannedAt(now) ? "planned" : l.HoldsAt(now) ? "held" : "ended"))];
            }
            else
            {
                var (code, body) = await LiveApi.SendAsync(HttpMethod.Get, LiveApi.Address(parse.GetValue(listApi), StoppedRun), "api/lockouts", LiveApi.KeyOf(parse.GetValue(listKey)), null, stderr, token);
                if (body is not JsonArray array)
                {
                    return code;
                }

                held = [.. array.Select(l => (FromJson(l!.AsObject()), (string?)l!["state"] ?? "held"))];
            }

            if (parse.GetValue(json))
            {
                stdout.WriteLine(new JsonArray([.. held.Select(h => (JsonNode)new JsonObject
                {
                    ["asset"] = h.Lockout.Asset, ["state"] = h.State, ["by"] = h.Lockout.By, ["reason"] = h.Lockout.Reason, ["since"] = h.Lockout.Since, ["until"] = h.Lockout.Until,
                })]).ToJsonString());
            }
            else
            {
                Print(stdout, held);
            }

            return AidaCommand.Ok;
        });

        var asset = new Argument<string>("asset") { Description = "The asset, as its actuators name it before the slash (cdu-h1-a, chiller-2, h1-a01)" };
        var addApi = Api();
        var addKey = Key();
        var reason = new Option<string>("--reason") { Description = reasonText, Required = true };
        var lasting = new Option<string>("--for") { Description = "How long from its start (30m, 4h, 1d); it ends by itself then. Default: until released" };
        var until = new Option<string>("--until") { Description = "Or when it ends (RFC 3339, 2026-12-07T06:00:00Z)" };
        var from = new Option<string>("--from") { Description = "Plan it: when the work starts (RFC 3339, plant time); Aida writes the asset until then. Default: now" };
        var add = new Command("add", "Lock an asset out: from now (or --from) on Aida writes none of its actuators, whoever asks, until it is released") { asset, addApi, addKey, reason, lasting, until, from };
        add.SetAction(async (parse, token) =>
        {
            var request = End(parse.GetValue(lasting), parse.GetValue(until));
            request["asset"] = parse.GetValue(asset);
            request["reason"] = parse.GetValue(reason);
            if (parse.GetValue(from) is { } start)
            {
                request["from"] = start;
            }

            var (code, body) = await LiveApi.SendAsync(HttpMethod.Post, LiveApi.Address(parse.GetValue(addApi), StoppedRun), "api/lockouts", LiveApi.KeyOf(parse.GetValue(addKey)), request, stderr, token);
            if (body is JsonObject lockout)
            {
                stdout.WriteLine($"{(Planned(lockout) ? "planned" : "locked out")}: {Describe(lockout)}");
                if (lockout["impact"] is JsonArray { Count: > 0 } impact)
                {
                    stdout.WriteLine("while it is held these runbook steps are refused, and their run rolls back to a person:");
                    foreach (var line in impact)
                    {
                        stdout.WriteLine($"  {line}");
                    }
                }

                WriteCapacity(stdout, lockout);
            }

            return code;
        });

        var releaseReason = new Option<string>("--reason") { Description = "Why: the work is done, say (audited; required)", Required = true };
        var release = OnAsset("release", "Release an asset's lockout, or call off a planned one: only the person who locked it out, or an approver", "The asset to hand back to Aida",
            [releaseReason], parse => new JsonObject { ["reason"] = parse.GetValue(releaseReason) },
            (name, lockout) => Planned(lockout) ? $"called off {name}'s lockout planned from {Stamp(FromJson(lockout).Since)}" : $"released {name}: Aida writes its actuators again",
            stdout, stderr);

        var extendFor = new Option<string>("--for") { Description = "Its new end, counted from the plant's now (2h); a planned one's, from its start" };
        var extendUntil = new Option<string>("--until") { Description = "Or its new end as a time (RFC 3339)" };
        var extend = OnAsset("extend", "Move the end of a lockout, which holds throughout (a release and a new lockout would leave a moment unlocked): only the person who locked it out, or an approver", "The asset whose lockout ends later (or sooner)",
            [extendFor, extendUntil], parse => End(parse.GetValue(extendFor), parse.GetValue(extendUntil)),
            (_, lockout) => $"extended: {Describe(lockout)}",
            stdout, stderr);

        var moveFrom = new Option<string>("--from") { Description = "Its new start (RFC 3339, plant time); its length is kept", Required = true };
        var reschedule = OnAsset("reschedule", "Move the start of a planned lockout (the work put off or brought forward), its length kept: only the person who booked it, or an approver", "The asset whose planned lockout moves",
            [moveFrom], parse => new JsonObject { ["from"] = parse.GetValue(moveFrom) },
            (_, lockout) => $"{(Planned(lockout) ? "moved" : "started now")}: {Describe(lockout)}",
            stdout, stderr);

        var impactAsset = new Argument<string>("asset") { Description = "The asset you mean to lock out" };
        var impactApi = Api();
        var impactKey = Key();
        var impactFrom = new Option<string>("--from") { Description = "When the work would start (RFC 3339, plant time); default now. The other lockouts over its time count as out" };
        var impactFor = new Option<string>("--for") { Description = "How long it would last from its start (4h); default: no end" };
        var impactUntil = new Option<string>("--until") { Description = "Or when it would end (RFC 3339)" };
        var impact = new Command("impact", "Before locking an asset out: the runbook steps of the live run's agent that would write it, and on which faults (refused while it is held); and what its group (the chillers, its hall's CDUs) would have left against the last 24 h's peak load (the economiser's dry coolers or towers at each 5 minutes' weather, judged at their worst moment), the other lockouts over the work's time counted out")
        {
            impactAsset, impactFrom, impactFor, impactUntil, impactApi, impactKey,
        };
        impact.SetAction(async (parse, token) =>
        {
            var name = parse.GetValue(impactAsset)!;
            var query = $"api/lockouts/impact?asset={Uri.EscapeDataString(name)}";
            foreach (var (field, value) in new[] { ("from", parse.GetValue(impactFrom)), ("for", parse.GetValue(impactFor)), ("until", parse.GetValue(impactUntil)) })
            {
                query += value is null ? "" : $"&{field}={Uri.EscapeDataString(value)}";
            }

            var (code, body) = await LiveApi.SendAsync(HttpMethod.Get, LiveApi.Address(parse.GetValue(impactApi), StoppedRun), query, LiveApi.KeyOf(parse.GetValue(impactKey)), null, stderr, token);
            if (body is JsonObject answer)
            {
                var steps = answer["runbooks"]?.AsArray() ?? [];
                stdout.WriteLine(answer["agent"]?.GetValue<bool>() != true ? $"no agent runs there: locking {name} out takes no runbook step from it"
                    : steps.Count == 0 ? $"no runbook step writes {name}: locking it out takes none from the agent"
                    : $"while {name} is locked out these runbook steps are refused, and their run rolls back to a person:");
                foreach (var line in steps)
                {
                    stdout.WriteLine($"  {line}");
                }

                WriteCapacity(stdout, answer);
            }

            return code;
        });

        command.Subcommands.Add(list);
        command.Subcommands.Add(add);
        command.Subcommands.Add(extend);
        command.Subcommands.Add(release);
        command.Subcommands.Add(reschedule);
        command.Subcommands.Add(impact);
        return command;
    }

    /// <summary>What the asset's group would have left with it out (the API's <c>capacity</c>), on a line of its own.</summary>
    private static void WriteCapacity(TextWriter stdout, JsonObject answer)
    {
        if (answer["capacity"] is JsonObject capacity)
        {
            stdout.WriteLine($"capacity: {capacity["said"]}");
        }
    }

    /// <summary>What <c>aida lockouts</c> takes instead of <c>--api</c>: a stopped run's file, for its list.</summary>
    private const string StoppedRun = "--data DIR for a stopped run's list";

    private static Option<string> Api() => new("--api") { Description = "The live run's API: HOST:PORT as given to aida run --api, or http://HOST:PORT" };

    private static Option<string> Key() => new("--key") { Description = $"An API key (aida keys issue); else ${LiveApi.KeyVariable}. Locking out needs the operator role" };

    /// <summary>A subcommand on one asset's lockout, <c>POST /api/lockouts/{asset}/{verb}</c>: the asset, <c>--api</c>,
    /// <c>--key</c> and its own options; the body built from them, and the answer said for a person.</summary>
    private static Command OnAsset(string verb, string description, string assetDescription, Option[] options, Func<ParseResult, JsonObject> body,
        Func<string, JsonObject, string> said, TextWriter stdout, TextWriter stderr)
    {
        var asset = new Argument<string>("asset") { Description = assetDescription };
        var api = Api();
        var key = Key();
        var since = new Option<string>("--since")
        {
            Description = "Which of the asset's lockouts, by its start to the second (RFC 3339 such as 2026-12-08T04:00:00Z; aida lockouts list shows it); default: the one held, else the soonest planned"
                + (verb == "reschedule" ? " (for reschedule: the soonest planned)" : ""),
        };
        var command = new Command(verb, description) { asset, api, key, since };
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, token) =>
        {
            var name = parse.GetValue(asset)!;
            var request = body(parse);
            if (parse.GetValue(since) is { } start)
            {
                request["since"] = start;
            }

            var (code, answer) = await LiveApi.SendAsync(HttpMethod.Post, LiveApi.Address(parse.GetValue(api), StoppedRun), $"api/lockouts/{Uri.EscapeDataString(name)}/{verb}", LiveApi.KeyOf(parse.GetValue(key)), request, stderr, token);
            if (answer is JsonObject lockout)
            {
                stdout.WriteLine(said(name, lockout));
            }

            return code;
        });
        return command;
    }

    /// <summary>A lockout's end as the API takes it: <c>for</c> and <c>until</c> as given (the API judges them).</summary>
    private static JsonObject End(string? lasting, string? until)
    {
        var end = new JsonObject();
        if (lasting is not null)
        {
            end["for"] = lasting;
        }

        if (until is not null)
        {
            end["until"] = until;
        }

        return end;
    }

    /// <summary>What a stopped run keeps in <paramref name="directory"/> (those whose end passed included).</summary>
    private static IReadOnlyList<Lockout> Kept(string directory)
    {
        var path = Path.Combine(directory, KeptLockouts.FileName);
        if (!Directory.Exists(directory))
        {
            throw new BadInputException($"--data: no directory {directory}");
        }

        try
        {
            return KeptLockouts.Read(path);
        }
        catch (FormatException e)
        {
            throw new BadInputException(e.Message);
        }
    }

    /// <param name="held">Each with its state: held, planned, or (in a stopped run's file) ended, which a run started
    /// again audits as ended.</param>
    private static void Print(TextWriter stdout, IReadOnlyList<(Lockout Lockout, string State)> held)
    {
        if (held.Count == 0)
        {
            stdout.WriteLine("no asset is locked out or planned to be");
            return;
        }

        stdout.WriteLine($"{"ASSET",-16} {"STATE",-8} {"BY",-20} {"FROM",-21} {"UNTIL",-21} REASON");
        foreach (var (l, state) in held)
        {
            stdout.WriteLine($"{l.Asset,-16} {state,-8} {l.By,-20} {Stamp(l.Since),-21} {(l.Until is { } u ? Stamp(u) : "until released"),-21} {l.Reason}");
        }
    }

    private static Lockout FromJson(JsonObject l) =>
        new((string)l["asset"]!, (string)l["by"]!, (string)l["reason"]!, l["since"]!.GetValue<DateTimeOffset>(), l["until"]?.GetValue<DateTimeOffset>());

    private static bool Planned(JsonObject l) => (string?)l["state"] == "planned";

    /// <summary>A lockout as the API answered it, said as held or as planned.</summary>
    private static string Describe(JsonObject l) => Planned(l) ? FromJson(l).DescribePlanned() : FromJson(l).Describe();

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
