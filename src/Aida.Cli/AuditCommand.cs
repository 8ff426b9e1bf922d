using System.CommandLine;
using Aida.Automation.Audit;

namespace Aida.Cli;

/// <summary><c>aida audit</c>: read and verify the hash-chained audit log of a data directory (DIR/audit.db).</summary>
internal static class AuditCommand
{
    public static Command Build(TextWriter stdout)
    {
        var command = new Command("audit", "Read and verify the tamper-evident audit log (DIR/audit.db)");
        command.Subcommands.Add(Verify(stdout));
        command.Subcommands.Add(Show(stdout));
        command.Subcommands.Add(Head(stdout));
        return command;
    }

    /// <summary>The audit log of a data directory, which must exist (verifying never creates one).</summary>
    internal static AuditLog Open(string directory)
    {
        var path = Path.Combine(directory, "audit.db");
        if (!File.Exists(path))
        {
            throw new BadInputException($"--data: {path}: no audit log (aida run --data {directory} writes one)");
        }

        try
        {
            return new AuditLog(path, TimeProvider.System);
        }
        catch (InvalidDataException e)
        {
            throw new BadInputException(e.Message);
        }
    }

    private static Option<string> DataOption() => new("--data") { Description = "Data directory of a run (holds audit.db)", Required = true };

    private static Command Verify(TextWriter stdout)
    {
        var data = DataOption();
        var anchor = new Option<string?>("--anchor")
        {
            Description = "A file of anchors kept elsewhere (lines 'SEQ HASH', as aida audit head prints them): each anchored entry must still have " +
                "that hash, which catches a log rebuilt consistently, head file and all",
        };
        var command = new Command("verify", "Walk the hash chain: exit 0 when intact, 1 naming the first edited, removed or reordered entry") { data, anchor };
        command.SetAction(parse =>
        {
            var anchors = parse.GetValue(anchor) is { } file ? ReadAnchors(file) : null;
            using var log = Open(parse.GetValue(data)!);
            var v = log.Verify(anchors);
            if (v.Intact)
            {
                var against = anchors is null ? "" : $", {anchors.Count:N0} anchors matched";
                stdout.WriteLine($"{log.Path}: intact, {v.Entries:N0} entries{against}");
                return AidaCommand.Ok;
            }

            stdout.WriteLine($"{log.Path}: TAMPERED at entry {v.FirstBadSequence}: {v.Problem} ({v.Entries:N0} entries verified before it)");
            return AidaCommand.Failure;
        });
        return command;
    }

    private static IReadOnlyDictionary<long, string> ReadAnchors(string file)
    {
        try
        {
            using var reader = new StreamReader(file);
            return AuditAnchors.Read(reader, file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException(e is FileNotFoundException or DirectoryNotFoundException ? $"--anchor: {file}: no such file" : $"--anchor: {file}: {e.Message}");
        }
        catch (InvalidDataException e)
        {
            throw new BadInputException($"--anchor: {e.Message}");
        }
    }

    private static Command Head(TextWriter stdout)
    {
        var data = DataOption();
        var command = new Command("head",
            "Print the newest entry's anchor, 'SEQ HASH TIME': append it where whoever can write the log cannot (a remote store, a ticket), " +
            "e.g. from cron, and verify against those lines with aida audit verify --anchor FILE; prints nothing for an empty log")
        {
            data,
        };
        command.SetAction(parse =>
        {
            using var log = Open(parse.GetValue(data)!);
            if (log.Newest() is { } newest)
            {
                stdout.WriteLine(AuditAnchors.Line(newest));
            }

            return AidaCommand.Ok;
        });
        return command;
    }

    private static Command Show(TextWriter stdout)
    {
        var data = DataOption();
        var from = new Option<long>("--from") { Description = "First entry to print", DefaultValueFactory = _ => 1 };
        var limit = new Option<int>("--limit") { Description = "At most this many entries", DefaultValueFactory = _ => 100 };
        var subject = new Option<string>("--subject") { Description = "Only entries about this subject or one under it (cdu-h1-a: also cdu-h1-a/supply_setpoint; lockouts; cooling-optimiser)" };
        var actor = new Option<string>("--actor") { Description = "Only entries by this actor (api:alice, agent:aida, runbook:leak)" };
        var command = new Command("show", "Print entries in order") { data, from, limit, subject, actor };
        command.SetAction(parse =>
        {
            using var log = Open(parse.GetValue(data)!);
            foreach (var e in log.Read(parse.GetValue(from), parse.GetValue(limit), parse.GetValue(subject), parse.GetValue(actor)))
            {
                stdout.WriteLine($"{e.Sequence,6}  {e.At:yyyy-MM-dd HH:mm:ss}  {e.Kind,-11}  {e.Actor,-28}  {e.Subject}  {e.Detail}");
            }

            return AidaCommand.Ok;
        });
        return command;
    }
}
