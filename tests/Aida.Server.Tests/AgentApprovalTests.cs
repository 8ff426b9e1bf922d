using System.Net;
using Aida.Automation.Actions;
using Aida.Automation.Runbooks;
using Aida.Model.Plant;
using Aida.Server.Access;

namespace Aida.Server.Tests;

/// <summary>A supervised agent (a site run over the network, no simulated approver) waits for people, and people answer
/// it through the API: the runbooks that wait as a whole, and the agent's own high-risk actions.</summary>
public sealed class AgentApprovalTests
{
    [Fact]
    public async Task AnApprover_ApprovesTheLeaksRunbookThroughTheApi_TheRackIsIsolated_AndPowersItAgainByApprovingTheAgentsAction()
    {
        // Before, the API decided only the actions proposed through it: the leak's runbook, waiting as a whole, could not
        // be approved by anyone and expired after 15 min, and an agent's pending action answered 404.
        await using var server = await TestServer.StartWithAgentAsync();
        var (sim, agent, keys) = (server.Sim!, server.Agent!, server.Keys);

        var runs = await TestServer.Json(await server.Send(HttpMethod.Get, "/api/runbook-runs", keys[Role.Viewer]));
        var waiting = Assert.Single(runs.EnumerateArray());
        var incident = waiting.GetProperty("incident").GetInt64();
        Assert.Equal(("leak", "h1-c03", "waiting_for_approval"), (waiting.GetProperty("runbook").GetString(), waiting.GetProperty("asset").GetString(), waiting.GetProperty("state").GetString()));
        Assert.Equal(agent.Responses[0].Run.Started + TimeSpan.FromMinutes(15), waiting.GetProperty("waiting_until").GetDateTimeOffset());

        var overview = await TestServer.Json(await server.Send(HttpMethod.Get, "/api/overview", keys[Role.Viewer]));
        Assert.Equal((1, 0), (overview.GetProperty("pending_runbooks").GetInt32(), overview.GetProperty("pending_actions").GetInt32()));

        Assert.Equal(HttpStatusCode.Forbidden, (await server.Send(HttpMethod.Post, $"/api/runbook-runs/{incident}/approve", keys[Role.Operator], "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Send(HttpMethod.Post, "/api/runbook-runs/999/approve", keys[Role.Approver], "{}")).StatusCode);
        var notANumber = await server.Send(HttpMethod.Post, "/api/runbook-runs/h1-c03/approve", keys[Role.Approver], "{}");
        Assert.Equal(HttpStatusCode.BadRequest, notANumber.StatusCode);
        Assert.Contains("'h1-c03' is not an incident number", await notANumber.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var approved = await TestServer.Json(await server.Send(HttpMethod.Post, $"/api/runbook-runs/{incident}/approve", keys[Role.Approver], """{"note":"isolate it"}"""));
        // The isolation goes with the runbook's approval, at once: nothing more waits.
        Assert.Equal(("succeeded", "api:approver-1"), (approved.GetProperty("state").GetString(), approved.GetProperty("decided_by").GetString()));
        Assert.Equal(1, approved.GetProperty("actions").GetArrayLength());
        Assert.Empty(agent.Executor.Pending);
        var again = await server.Send(HttpMethod.Post, $"/api/runbook-runs/{incident}/reject", keys[Role.Approver], "{}");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("is Succeeded, not waiting for approval", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        sim.AdvanceSteps(60);
        Assert.Equal(1, PlantLookup.ReadValue(sim.Plant, "h1-c03/isolated"));
        Assert.Equal(RunbookState.Succeeded, agent.Responses[0].Run.State);

        // Dry from 00:50: 15 min later the restore proposes powering the rack again, high risk, so it waits for a person.
        sim.AdvanceSteps((long)TimeSpan.FromMinutes(27).TotalSeconds);
        var restore = Assert.Single(agent.Executor.Pending);
        var listed = (await TestServer.Json(await server.Send(HttpMethod.Get, "/api/actions", keys[Role.Viewer]))).EnumerateArray()
            .Single(a => a.GetProperty("id").GetString() == restore.Action.Id);
        Assert.Equal(("agent", "pending_approval"), (listed.GetProperty("source").GetString(), listed.GetProperty("state").GetString()));
        var decided = await TestServer.Json(await server.Send(HttpMethod.Post, $"/api/actions/{restore.Action.Id}/approve", keys[Role.Approver], "{}"));
        Assert.Equal(("agent", "executed", "api:approver-1"), (decided.GetProperty("source").GetString(), decided.GetProperty("state").GetString(), decided.GetProperty("decided_by").GetString()));
        sim.AdvanceSteps(60);
        Assert.Equal(0, PlantLookup.ReadValue(sim.Plant, "h1-c03/isolated"));
        Assert.Equal(ActionState.Executed, restore.State);
        Assert.Contains(server.Context.Audit.Read(), e => e.Actor == "user:api:approver-1" && e.Subject == restore.Action.Id && e.Detail == "approved");
    }
}
