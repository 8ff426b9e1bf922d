using System.Net;
using Aida.Automation.Actions;
using Aida.Server.Access;

namespace Aida.Server.Tests;

/// <summary>People take the controls back from the agent and hand them over again through the API.</summary>
public sealed class AgentModeApiTests
{
    [Fact]
    public async Task AnApproverPutsTheAgentInADryRun_OnlyAnAdminHandsBackAutonomy_AndEveryChangeIsAudited()
    {
        await using var server = await TestServer.StartWithAgentAsync();
        var (agent, keys) = (server.Agent!, server.Keys);
        var mode = await TestServer.Json(await server.Send(HttpMethod.Get, "/api/agent/mode", keys[Role.Viewer]));
        Assert.Equal(("supervised", "autonomous"), (mode.GetProperty("mode").GetString(), mode.GetProperty("highest").GetString()));

        // An operator may not; an approver takes autonomy away, with a reason.
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Send(HttpMethod.Post, "/api/agent/mode", keys[Role.Operator], """{"mode":"dry-run","reason":"x"}""")).StatusCode);
        var noReason = await server.Send(HttpMethod.Post, "/api/agent/mode", keys[Role.Approver], """{"mode":"dry-run"}""");
        Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);
        var badMode = await server.Send(HttpMethod.Post, "/api/agent/mode", keys[Role.Approver], """{"mode":"reckless","reason":"x"}""");
        Assert.Equal(HttpStatusCode.BadRequest, badMode.StatusCode);
        Assert.Contains("mode: 'reckless' is not dry-run, supervised or autonomous", await badMode.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var dry = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/agent/mode", keys[Role.Approver], """{"mode":"dry-run","reason":"chiller maintenance"}"""));
        Assert.Equal(("dry-run", "api:approver-1", "chiller maintenance"), (dry.GetProperty("mode").GetString(), dry.GetProperty("changed_by").GetString(), dry.GetProperty("reason").GetString()));
        Assert.Equal(AutomationMode.DryRun, agent.Mode);
        var again = await server.Send(HttpMethod.Post, "/api/agent/mode", keys[Role.Approver], """{"mode":"dry-run","reason":"x"}""");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("the agent is dry-run already", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Handing autonomy back needs an admin; the refusal is audited.
        var refused = await server.Send(HttpMethod.Post, "/api/agent/mode", keys[Role.Approver], """{"mode":"autonomous","reason":"done"}""");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("needs the admin role", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(AutomationMode.DryRun, agent.Mode);
        var handed = await TestServer.Json(await server.Send(HttpMethod.Post, "/api/agent/mode", keys[Role.Admin], """{"mode":"autonomous","reason":"maintenance done"}"""));
        Assert.Equal("autonomous", handed.GetProperty("mode").GetString());

        var audit = server.Context.Audit.Read();
        Assert.Contains(audit, e => e.Actor == "api:approver-1" && e.Subject == "agent:mode" && e.Detail == "supervised -> dry-run: chiller maintenance");
        Assert.Contains(audit, e => e.Actor == "api:approver-1" && e.Detail.StartsWith("refused: handing the agent more autonomy (dry-run -> autonomous) needs the admin role", StringComparison.Ordinal));
        Assert.Contains(audit, e => e.Actor == "api:admin-1" && e.Detail == "dry-run -> autonomous: maintenance done");
        var metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains("aida_agent_mode{mode=\"autonomous\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("aida_agent_mode{mode=\"dry-run\"} 0\n", metrics, StringComparison.Ordinal);
    }
}
