using System.CommandLine;
using Aida.Telemetry.Storage;
using static Aida.Cli.AidaCommand;

namespace Aida.Cli;

/// <summary><c>aida serve</c>: the embedded store behind the Prometheus HTTP API and a remote-write receiver, so Grafana
/// can add Aida as a Prometheus data source and Prometheus agents, the OpenTelemetry Collector or Telegraf can push to it.</summary>
internal static class ServeCommand
{
    public static Command Build(TextWriter stdout)
    {
        var data = new Option<string>("--data") { Description = "Store directory (created if missing); a run's output directory works too", Required = true };
        var listen = new Option<string>("--listen") { Description = "Address and port to listen on", DefaultValueFactory = _ => "127.0.0.1:9480" };
        var retention = new Option<string>("--retention") { Description = "Keep this much data, counted back from the newest sample", DefaultValueFactory = _ => "15d" };
        var command = new Command("serve", "Serve a telemetry store over the Prometheus HTTP API (/api/v1/query, query_range, series, labels) and accept remote-write (/api/v1/write)")
        {
            data, listen, retention,
        };
        command.SetAction(async (parse, token) =>
        {
            var directory = parse.GetValue(data)!;
            var tsdbDir = ApiHost.StoreDirectory(directory);
            var endpoint = ApiHost.ParseListen(parse.GetValue(listen)!, "--listen");
            var keep = ParseDuration(parse.GetValue(retention), "--retention")!.Value;
            using var store = new Tsdb(new TsdbOptions { DataDirectory = tsdbDir, Retention = keep });
            await using var app = await ApiHost.StartAsync(endpoint, store, TimeProvider.System, acceptRemoteWrite: true, token);
            await stdout.WriteLineAsync($"aida serve: {store.Stats.SeriesCount} series from {tsdbDir} on http://{endpoint}/ (Prometheus API and /api/v1/write); Ctrl-C stops");

            // Cut the head into blocks and apply retention once a minute, as Prometheus' compactor does on its own schedule.
            using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1), TimeProvider.System);
            try
            {
                while (await timer.WaitForNextTickAsync(token))
                {
                    store.Compact();
                }
            }
            catch (OperationCanceledException)
            {
            }

            await app.StopAsync(CancellationToken.None);
            store.Flush();
            return Ok;
        });
        return command;
    }
}
