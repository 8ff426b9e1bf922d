using Aida.Server.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;

namespace Aida.Server.Mcp;

/// <summary>Aida's MCP server: the tools of <see cref="McpTools"/> over streamable HTTP at <c>/mcp</c>, behind the
/// API's keys and roles (docs/mcp.md).</summary>
public static class AidaMcp
{
    /// <summary>Where the MCP endpoint is served.</summary>
    public const string Path = "/mcp";

    /// <summary>Registers the MCP server and its tools over <paramref name="context"/>.</summary>
    /// <remarks>Stateless: every JSON-RPC request is a POST answered in its own HTTP request, so the API's
    /// authentication middleware sees each call, and a tool finds its caller on the current request through
    /// <see cref="IHttpContextAccessor"/> (which the host only fills when one is registered).</remarks>
    public static IServiceCollection AddAidaMcp(this IServiceCollection services, ServerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        services.AddHttpContextAccessor();
        services.AddMcpServer(o => o.ServerInfo = new Implementation { Name = "aida", Version = typeof(AidaMcp).Assembly.GetName().Version?.ToString() ?? "0" })
            .WithHttpTransport(o => o.Stateless = true)
            .WithTools(new McpTools(context, new HttpContextAccessor()));
        return services;
    }

    /// <summary>Maps the MCP endpoint at <see cref="Path"/>; the API's middleware authenticates it.</summary>
    public static IEndpointConventionBuilder MapAidaMcp(this IEndpointRouteBuilder endpoints) => endpoints.MapMcp(Path);
}
