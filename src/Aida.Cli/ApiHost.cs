using System.Net;
using Aida.Telemetry.Http;
using Aida.Telemetry.Query;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Aida.Cli;

/// <summary>What <c>aida run</c> and <c>aida serve</c> share: where a store lives, and the web host that serves it.</summary>
internal static class ApiHost
{
    /// <summary>A run's output directory holds its store in <c>tsdb/</c>; a store directory may also be named directly.</summary>
    public static string StoreDirectory(string directory) =>
        Directory.Exists(Path.Combine(directory, "tsdb")) ? Path.Combine(directory, "tsdb") : directory;

    public static IPEndPoint ParseListen(string text, string option) =>
        IPEndPoint.TryParse(text, out var endpoint) && endpoint.Port != 0
            ? endpoint
            : throw new BadInputException($"{option}: '{text}' is not an address:port");

    /// <summary>Starts the Prometheus HTTP API over <paramref name="store"/> (and, when asked, the remote-write receiver).</summary>
    public static async Task<WebApplication> StartAsync(IPEndPoint endpoint, Tsdb store, TimeProvider clock, bool acceptRemoteWrite, CancellationToken token)
    {
        // Rooted at the binary, with no configuration reloaded on change: by default the host watches the directory it
        // was started from and every directory under it (an inotify watch each: 14,007 from /tmp), for an appsettings
        // file Aida does not use.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(endpoint));
        var app = builder.Build();
        app.MapPrometheusApi(new EmbeddedQueryEngine(store), clock);
        if (acceptRemoteWrite)
        {
            app.MapRemoteWrite(store, clock);
        }

        await app.StartAsync(token);
        return app;
    }
}
