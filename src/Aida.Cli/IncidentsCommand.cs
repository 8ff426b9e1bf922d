using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Aida.Observability.Incidents;
using static Aida.Cli.AidaCommand;

namespace Aida.Cli;

/// <summary><c>aida incidents</c>: list, show and move incidents of an incident store (SQLite) through their lifecycle.</summary>
internal static class IncidentsCommand
{
    public static Command Build(TextWriter stdout)
    {
        var command = new Command("incidents", "List, show, acknowledge, mitigate and resolve incidents in an incident store");
        command.Subcommands.Add(List(stdout));
        command.Subcommands.Add(Show(stdout));
        command.Subcommands.Add(Move(stdout, "ack", IncidentState.Acknowledged, "Acknowledge an incident: someone is on it"));
        command.Subcommands.Add(Move(stdout, "mitigate", IncidentState.Mitigated, "Mark an incident mitigated: the impact is contained"));
        command.Subcommands.Add(Move(stdout, "resolve", IncidentState.Resolved, "Resolve an incident: it is over"));
        return command;
    }

    private static Option<string> DbOption() => new("--db") { Description = "The incident store (a SQLite file)", Required = true };

    private static Argument<long> IdArgument() => new("id") { Description = "The incident's id" };

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of text" };

    private static Command List(TextWriter stdout)
    {
        var db = DbOption();
        var state = new Option<string?>("--state") { Description = "Only incidents in this state: open, acknowledged, mitigated or resolved" };
        var json = JsonOption();
        var command = new Command("list", "List incidents, newest first") { db, state, json };
        command.SetAction(parse =>
        {
            IncidentState? only = parse.GetValue(state) is { } s
                ? IncidentStore.ParseState(s) ?? throw new BadInputException($"--state: unknown state '{s}' (expected open, acknowledged, mitigated or resolved)")
                : null;
            using var store = Open(parse.GetValue(db)!);
            var incidents = store.List(only);
            if (parse.GetValue(json))
            {
                stdout.Write(JsonText.Write(w =>
                {
                    w.WriteStartArray();
                    foreach (var i in incidents)
                    {
                        IncidentJson.Write(w, i);
                    }

                    w.WriteEndArray();
                }));
                return Ok;
            }

            var sb = new StringBuilder();
            sb.AppendLine("  id  state         severity  opened               last alert           alerts  assets  title");
            foreach (var i in incidents)
            {
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"{i.Id,4}  {IncidentStore.Name(i.State),-12}  {i.Severity,-8}  {Stamp(i.Opened)}  {Stamp(i.LastAlert)}  {i.AlertCount,6}  {i.Assets.Count,6}  {i.Title}");
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"({incidents.Count} incident{(incidents.Count == 1 ? "" : "s")})");
            stdout.Write(sb.ToString());
            return Ok;
        });
        return command;
    }

    private static Command Show(TextWriter stdout)
    {
        var db = DbOption();
        var id = IdArgument();
        var json = JsonOption();
        var command = new Command("show", "Show one incident: its state, assets, root cause and timeline") { db, id, json };
        command.SetAction(parse =>
        {
            using var store = Open(parse.GetValue(db)!);
            var detail = Guard(() => store.Get(parse.GetValue(id)));
            stdout.Write(parse.GetValue(json) ? JsonText.Write(w => IncidentJson.Write(w, detail)) : Describe(detail));
            return Ok;
        });
        return command;
    }

    private static Command Move(TextWriter stdout, string verb, IncidentState to, string description)
    {
        var db = DbOption();
        var id = IdArgument();
        var by = new Option<string>("--by") { Description = "Who is making the change", Required = true };
        var note = new Option<string?>("--note") { Description = "Why, or what was done" };
        var command = new Command(verb, description) { db, id, by, note };
        command.SetAction(parse =>
        {
            var who = parse.GetValue(by)!;
            if (string.IsNullOrWhiteSpace(who))
            {
                throw new BadInputException("--by: a name is needed");
            }

            using var store = Open(parse.GetValue(db)!);
            var incident = parse.GetValue(id);
            var from = Guard(() => store.Transition(incident, to, who, parse.GetValue(note)));
            stdout.WriteLine($"incident {incident}: {IncidentStore.Name(from)} -> {IncidentStore.Name(to)} by {who}");
            return Ok;
        });
        return command;
    }

    /// <summary>Opens an existing store; a missing file is an error rather than a new empty store.</summary>
    private static IncidentStore Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new BadInputException($"--db: no incident store at '{path}'");
        }

        return Guard(() => new IncidentStore(path));
    }

    /// <summary>The store's refusals (an unknown id, a backwards change, a file that is not a store) are input the user can fix.</summary>
    private static T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or InvalidDataException)
        {
            throw new BadInputException(e.Message, e);
        }
    }

    internal static string Describe(IncidentDetail detail)
    {
        var i = detail.Incident;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"incident {i.Id}: {i.Title}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  state       {IncidentStore.Name(i.State)}{(i.Resolved is { } r ? $" at {Stamp(r)}" : "")}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  severity    {i.Severity}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  opened      {Stamp(i.Opened)}, last alert {Stamp(i.LastAlert)}");
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"  alerts      {i.AlertCount} on {i.Assets.Count} asset{(i.Assets.Count == 1 ? "" : "s")}: {string.Join(", ", i.Assets.Select(a => $"{a.Key} {a.Value}"))}");
        if (detail.RootCause is { } finding)
        {
            sb.AppendLine("  root cause");
            for (var k = 0; k < finding.Ranked.Count; k++)
            {
                var c = finding.Ranked[k];
                sb.AppendLine(CultureInfo.InvariantCulture, $"    {k + 1}. {c.FaultKind} on {c.Asset} (score {Format(c.Score, "0.000")})");
                foreach (var e in c.Evidence)
                {
                    sb.AppendLine(CultureInfo.InvariantCulture, $"       - {e}");
                }
            }
        }

        sb.AppendLine("  timeline");
        foreach (var e in detail.Timeline)
        {
            var what = e.Kind switch
            {
                TimelineEntryKind.AlertFolded => $"alert   {e.Text}",
                TimelineEntryKind.StateChanged => $"state   {IncidentStore.Name(e.From!.Value)} -> {IncidentStore.Name(e.To!.Value)} by {e.By}{(e.Text.Length > 0 ? $": {e.Text}" : "")}",
                _ => $"rca     {e.Text} (by {e.By})",
            };
            sb.AppendLine(CultureInfo.InvariantCulture, $"    {Stamp(e.At)}  {what}");
        }

        return sb.ToString();
    }

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
