using System.Net;
using Aida.Observability.Incidents;
using Aida.Server.Access;
using Aida.Telemetry.Tests.Storage;

namespace Aida.Server.Tests;

/// <summary>A person moves an incident while the data directory's disk is full: a clear refusal that changed nothing, not
/// a bare 500, the refusal listed by the audit API while it is held in memory, and the move made once space is freed.</summary>
public sealed class IncidentFullDiskTests
{
    [SkippableFact]
    public async Task APersonsAcknowledge_OnAFullDisk_Is507NamingTheDisk_ChangesNothing_IsAudited_AndIsMadeOnceSpaceIsFreed()
    {
        using var disk = SmallDisk.Mount(4096);
        await using var server = await TestServer.StartAsync(dataDir: Path.Combine(disk.Path, "data"));
        var op = server.Keys[Role.Operator];
        var filler = disk.FillUp();

        using (var refused = await server.Send(HttpMethod.Post, "/api/incidents/1/acknowledge", op, """{"note":"on my way"}"""))
        {
            Assert.Equal(HttpStatusCode.InsufficientStorage, refused.StatusCode);
            var problem = await TestServer.Json(refused);
            Assert.Equal("not written: the disk refuses", problem.GetProperty("title").GetString());
            Assert.Matches("^the data directory's disk refuses the write \\(SQLite Error 1[03]: .+\\): nothing was changed; free space there and try again$", problem.GetProperty("detail").GetString());
        }

        // Nothing moved; the refusal is sealed into the audit chain, held in memory while the log's disk refuses too.
        Assert.Equal(IncidentState.Open, server.Context.Incidents!.Get(1).Incident.State);
        Assert.True(server.Context.Audit.Held.Entries >= 1);
        var listed = (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/audit?actor=api:operator-1", op))).EnumerateArray().Last();
        Assert.StartsWith("refused: acknowledge incident 1: ", listed.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(listed.GetProperty("held").GetBoolean());

        File.Delete(filler);
        using (var moved = await server.Send(HttpMethod.Post, "/api/incidents/1/acknowledge", op, """{"note":"on my way"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        }

        Assert.Equal(IncidentState.Acknowledged, server.Context.Incidents.Get(1).Incident.State);
        Assert.Equal(0, server.Context.Audit.Held.Entries);
        var audited = server.Context.Audit.Last(2, "incident 1", null);
        Assert.Contains(audited, e => e.Detail == "open -> acknowledged: on my way");
        Assert.Contains((await TestServer.Json(await server.Send(HttpMethod.Get, "/api/audit?actor=api:operator-1", op))).EnumerateArray(),
            e => e.GetProperty("detail").GetString()!.StartsWith("refused: acknowledge incident 1: the data directory's disk refuses the write", StringComparison.Ordinal) && !e.GetProperty("held").GetBoolean());
    }
}
