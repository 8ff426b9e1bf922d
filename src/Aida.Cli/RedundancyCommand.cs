using System.CommandLine;
using System.Text.Json.Nodes;

namespace Aida.Cli;

/// <summary><c>aida redundancy</c>: each group of units that share a load (the chillers, the economiser's units, each
/// hall's CDUs, CRAHs and busways, each UPS pair and its transformers) with its N+k at the present load and why, from a
/// live run's API (<c>GET /api/redundancy</c>): the least redundant first, as the dashboard lists them.</summary>
internal static class RedundancyCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var api = new Option<string>("--api") { Description = "The live run's API: HOST:PORT as given to aida run --api, or http://HOST:PORT" };
        var key = new Option<string>("--key") { Description = $"An API key (aida keys issue, any role); else ${LiveApi.KeyVariable}" };
        var json = new Option<bool>("--json") { Description = "Print JSON (as GET /api/redundancy gives it) instead of a line per group" };
        var command = new Command("redundancy",
            "Each group of units that share a load (the chillers, the economiser's, each hall's CDUs, CRAHs and busways, each UPS pair and its transformers): N+k at the present load, " +
            "the units in fault, in maintenance or locked out counted out, and why (what is in service against what load), from a live run (aida run --api); the least redundant first")
        {
            api, key, json,
        };
        command.SetAction(async (parse, token) =>
        {
            var (code, body) = await LiveApi.SendAsync(HttpMethod.Get, LiveApi.Address(parse.GetValue(api)), "api/redundancy", LiveApi.KeyOf(parse.GetValue(key)), null, stderr, token);
            if (body is not JsonObject answer)
            {
                return code;
            }

            if (parse.GetValue(json))
            {
                stdout.WriteLine(answer.ToJsonString());
                return code;
            }

            stdout.WriteLine($"at {answer["at"]}:");
            // The API lists them least redundant first.
            foreach (var group in (answer["groups"]?.AsArray() ?? []).OfType<JsonObject>())
            {
                stdout.WriteLine($"  {Said(group)} {group["said"]}");
            }

            return code;
        });
        return command;
    }

    /// <summary>The group's N+k, padded: <c>short</c>, <c>N</c>, <c>N+2</c>, <c>?</c> when not measured.</summary>
    private static string Said(JsonObject group) => (group["spare"] is JsonValue v && v.TryGetValue(out int spare)
        ? spare < 0 ? "short" : spare == 0 ? "N" : $"N+{spare}"
        : "?").PadRight(6);
}
