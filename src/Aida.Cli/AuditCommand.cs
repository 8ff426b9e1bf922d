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
        var command = new Command("verify", "Walk the hash chain: exit 0 when intact, 1 naming the first edited, removed or reordered entry") { data };
        command.SetAction(parse =>
        {
            using var log = Open(parse.GetValue(data)!);
            var v = log.Verify();
            if (v.Intact)
            {
                stdout.WriteLine($"{log.Path}: intact, {v.Entries:N0} entries");
                return AidaCommand.Ok;
            }

            stdout.WriteLine($"{log.Path}: TAMPERED at entry {v.FirstBadSequence}: {v.Problem} ({v.Entries:N0} entries verified before it)");
            return AidaCommand.Failure;
        });
        return command;
    }

    private static Command Show(TextWriter stdout)
    {
        var data = DataOption();
        var from = new Option<long>("--from") { Description = "First entry to print", DefaultValueFactory = _ => 1 };
        var limit = new Option<int>("--limit") { Description = "At most this many entries", DefaultValueFactory = _ => 100 };
        var command = new Command("show", "Print entries in order") { data, from, limit };
        command.SetAction(parse =>
        {
            using var log = Open(parse.GetValue(data)!);
            foreach (var e in log.Read(parse.GetValue(from), parse.GetValue(limit)))
            {
                stdout.WriteLine($"{e.Sequence,6}  {e.At:yyyy-MM-dd HH:mm:ss}  {e.Kind,-11}  {e.Actor,-28}  {e.Subject}  {e.Detail}");
            }

            return AidaCommand.Ok;
        });
        return command;
    }
}
