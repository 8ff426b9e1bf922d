using System.CommandLine;
using Aida.Server.Access;

namespace Aida.Cli;

/// <summary><c>aida keys</c>: the API keys of a data directory (DIR/keys.db), stored hashed; a key is printed once, when
/// issued.</summary>
internal static class KeysCommand
{
    public static Command Build(TextWriter stdout)
    {
        var command = new Command("keys", "API keys for aida run --api, with roles viewer, operator, approver, admin (DIR/keys.db, stored hashed)");
        var data = new Option<string>("--data") { Description = "Data directory of the run that serves the API", Required = true };
        var name = new Argument<string>("name") { Description = "Who holds the key (a person or a tool), 1-64 characters" };
        var role = new Option<string>("--role") { Description = "viewer, operator, approver or admin", Required = true };
        var issue = new Command("issue", "Issue a key: printed once, never stored (only its SHA-256 is)") { name, role, data };
        issue.SetAction(parse =>
        {
            var r = ApiKeyStore.ParseRole(parse.GetValue(role)!) ?? throw new BadInputException($"--role: unknown role '{parse.GetValue(role)}' (expected viewer, operator, approver or admin)");
            using var keys = Open(parse.GetValue(data)!);
            try
            {
                stdout.WriteLine(keys.Issue(parse.GetValue(name)!, r));
            }
            catch (ArgumentException e)
            {
                throw new BadInputException($"name: {e.Message.Split(" (Parameter", 2)[0]}");
            }

            return AidaCommand.Ok;
        });
        var list = new Command("list", "Every key's holder and role (never the key)") { data };
        list.SetAction(parse =>
        {
            using var keys = Open(parse.GetValue(data)!);
            foreach (var caller in keys.List())
            {
                stdout.WriteLine($"{caller.Name,-32} {ApiKeyStore.RoleName(caller.Role)}");
            }

            return AidaCommand.Ok;
        });
        var revokeName = new Argument<string>("name") { Description = "Whose key to revoke" };
        var revoke = new Command("revoke", "Revoke a holder's key") { revokeName, data };
        revoke.SetAction(parse =>
        {
            using var keys = Open(parse.GetValue(data)!);
            if (!keys.Revoke(parse.GetValue(revokeName)!))
            {
                throw new BadInputException($"name: '{parse.GetValue(revokeName)}' has no key");
            }

            stdout.WriteLine($"revoked {parse.GetValue(revokeName)}");
            return AidaCommand.Ok;
        });
        command.Subcommands.Add(issue);
        command.Subcommands.Add(list);
        command.Subcommands.Add(revoke);
        return command;
    }

    internal static ApiKeyStore Open(string directory)
    {
        Directory.CreateDirectory(directory);
        return new ApiKeyStore(Path.Combine(directory, "keys.db"));
    }
}
