using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;

namespace Aida.Bench;

/// <summary><c>remote-write-load</c>: POSTs pre-encoded remote-write 1.0 requests to one or more receivers and reports
/// samples per second, median over several runs; with two targets the runs alternate and the ratio of medians is printed.</summary>
/// <remarks>
/// <para>Every request body (protobuf + snappy, <see cref="WriteRequestCodec.EncodeCompressed"/>) is built before the
/// first POST, so the generator only sends bytes. Run r carries the same series with the next
/// <c>--samples-per-series</c> timestamps (spaced by <c>--interval</c>, ending before now), and every target receives the
/// same bytes for run r: each run appends to existing series, never out of order. The first <c>--warmup</c> runs create
/// the series and are reported apart.</para>
/// <para>As Prometheus' sender does, series are sharded over <c>--concurrency</c> connections, each sending its shard's
/// requests one after another (so a series' samples always arrive in time order); a request holds <c>--batch</c> samples.</para>
/// </remarks>
internal static class RemoteWriteLoad
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        Options o;
        try
        {
            o = Options.Parse(args);
        }
        catch (FormatException e)
        {
            output.WriteLine($"remote-write-load: {e.Message}");
            output.WriteLine("usage: remote-write-load --target [NAME=]URL [--target [NAME=]URL] [--series 10000] [--samples-per-series 30] [--batch 2000] [--concurrency 2] [--runs 5] [--warmup 1] [--interval-seconds 10] [--pause-seconds 2]");
            return 2;
        }

        var ci = CultureInfo.InvariantCulture;
        var totalRuns = o.Warmup + o.Runs;
        var sw = Stopwatch.StartNew();
        var payloads = Encode(o, totalRuns, out var bytesPerRun);
        var samplesPerRun = (long)o.Series * o.SamplesPerSeries;
        output.WriteLine(string.Create(ci,
            $"encoded {totalRuns} runs x {payloads[0].Sum(s => s.Length)} requests in {sw.Elapsed.TotalSeconds:0.0} s: {samplesPerRun:N0} samples per run ({o.Series:N0} series x {o.SamplesPerSeries}), {o.Batch} samples/request, {bytesPerRun / (double)samplesPerRun:0.00} compressed bytes/sample, concurrency {o.Concurrency}"));

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = o.Concurrency, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, AutomaticDecompression = DecompressionMethods.None };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(2) };
        var rates = o.Targets.ToDictionary(t => t.Name, _ => new List<double>());
        var failed = false;
        for (var run = 0; run < totalRuns; run++)
        {
            // Alternate which target goes first, so neither always follows the other's background work.
            var order = run % 2 == 0 ? o.Targets : [.. o.Targets.AsEnumerable().Reverse()];
            foreach (var target in order)
            {
                var result = await SendRunAsync(client, target.Url, payloads[run], samplesPerRun);
                var rate = result.Samples / result.Elapsed.TotalSeconds;
                var warm = run < o.Warmup ? " (warmup: creates the series, not counted)" : "";
                output.WriteLine(string.Create(ci,
                    $"run {run + 1}/{totalRuns} {target.Name}: {result.Samples:N0} samples in {result.Elapsed.TotalMilliseconds:0} ms = {rate:N0} samples/s; request p50 {result.P50Ms:0.0} ms, p99 {result.P99Ms:0.0} ms; errors {result.Errors}{warm}"));
                if (result.Errors > 0)
                {
                    output.WriteLine($"  first error: {result.FirstError}");
                    failed = true;
                }

                if (run >= o.Warmup)
                {
                    rates[target.Name].Add(rate);
                }

                await Task.Delay(o.Pause);
            }
        }

        output.WriteLine();
        foreach (var t in o.Targets)
        {
            var r = rates[t.Name];
            output.WriteLine(string.Create(ci, $"{t.Name}: median {Median(r):N0} samples/s over {r.Count} runs (min {r.Min():N0}, max {r.Max():N0})"));
        }

        if (o.Targets.Count == 2)
        {
            var (a, b) = (o.Targets[0].Name, o.Targets[1].Name);
            output.WriteLine(string.Create(ci, $"ratio {a}/{b} of medians: {Median(rates[a]) / Median(rates[b]):0.00}"));
        }

        return failed ? 1 : 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>payloads[run][shard] = that shard's request bodies in sending order.</summary>
    private static byte[][][][] Encode(Options o, int totalRuns, out long bytesPerRun)
    {
        var intervalMs = o.IntervalSeconds * 1000L;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var start = ((now / intervalMs) - ((long)totalRuns * o.SamplesPerSeries)) * intervalMs;
        var labels = new Labels[o.Series];
        var level = new double[o.Series];
        var random = new Random(42);
        for (var i = 0; i < o.Series; i++)
        {
            var id = i.ToString("D5", CultureInfo.InvariantCulture);
            labels[i] = Labels.Metric("rwbench_temperature_celsius", ("job", "rwbench"), ("instance", $"node-{i / 100:D3}:9100"), ("sensor", id));
            level[i] = Math.Round(30 + (random.NextDouble() * 50), 1);
        }

        var payloads = new byte[totalRuns][][][];
        bytesPerRun = 0;
        for (var run = 0; run < totalRuns; run++)
        {
            // One sample per series per timestamp; the stream of each shard is timestamp-major, cut every --batch samples.
            var samples = new List<(int Series, Sample Sample)>[o.Concurrency];
            for (var shard = 0; shard < o.Concurrency; shard++)
            {
                samples[shard] = [];
            }

            for (var j = 0; j < o.SamplesPerSeries; j++)
            {
                var t = start + ((((long)run * o.SamplesPerSeries) + j) * intervalMs);
                for (var i = 0; i < o.Series; i++)
                {
                    if (random.Next(4) == 0)
                    {
                        level[i] = Math.Round(level[i] + ((random.Next(3) - 1) * 0.1), 1);
                    }

                    samples[i % o.Concurrency].Add((i, new Sample(t, level[i])));
                }
            }

            payloads[run] = new byte[o.Concurrency][][];
            for (var shard = 0; shard < o.Concurrency; shard++)
            {
                payloads[run][shard] = [.. samples[shard].Chunk(o.Batch).Select(batch => WriteRequestCodec.EncodeCompressed(
                    [.. batch.GroupBy(x => x.Series).Select(g => new SeriesSamples(labels[g.Key], [.. g.Select(x => x.Sample)]))]))];
                if (run == 0)
                {
                    bytesPerRun += payloads[run][shard].Sum(p => (long)p.Length);
                }
            }
        }

        return payloads;
    }

    /// <summary>Sends one run's requests; <paramref name="samples"/> is what they carry (known from encoding, so nothing
    /// is decoded between runs).</summary>
    private static async Task<RunResult> SendRunAsync(HttpClient client, Uri url, byte[][][] shards, long samples)
    {
        var latencies = new List<double>[shards.Length];
        var errors = 0;
        string? firstError = null;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(shards.Select((requests, shard) => Task.Run(async () =>
        {
            var mine = latencies[shard] = new List<double>(requests.Length);
            foreach (var body in requests)
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue(WriteRequestCodec.ContentType);
                content.Headers.ContentEncoding.Add("snappy");
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
                request.Headers.Add("X-Prometheus-Remote-Write-Version", WriteRequestCodec.ProtocolVersion);
                var t0 = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(request);
                if (!response.IsSuccessStatusCode)
                {
                    var text = await response.Content.ReadAsStringAsync();
                    if (Interlocked.Increment(ref errors) == 1)
                    {
                        firstError = $"{(int)response.StatusCode} {text.Trim()}";
                    }
                }

                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        })));
        var elapsed = sw.Elapsed;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new RunResult(samples, elapsed, all[all.Length / 2], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))], errors, firstError);
    }

    private sealed record RunResult(long Samples, TimeSpan Elapsed, double P50Ms, double P99Ms, int Errors, string? FirstError);

    private sealed record Target(string Name, Uri Url);

    private sealed record Options(List<Target> Targets, int Series, int SamplesPerSeries, int Batch, int Concurrency, int Runs, int Warmup, int IntervalSeconds, TimeSpan Pause)
    {
        public static Options Parse(string[] args)
        {
            var targets = new List<Target>();
            var values = new Dictionary<string, int>(StringComparer.Ordinal)
            {
                ["--series"] = 10_000, ["--samples-per-series"] = 30, ["--batch"] = 2000, ["--concurrency"] = 2,
                ["--runs"] = 5, ["--warmup"] = 1, ["--interval-seconds"] = 10, ["--pause-seconds"] = 2,
            };
            for (var i = 0; i < args.Length; i += 2)
            {
                if (i + 1 >= args.Length)
                {
                    throw new FormatException($"{args[i]} needs a value");
                }

                if (args[i] == "--target")
                {
                    var eq = args[i + 1].IndexOf('=', StringComparison.Ordinal);
                    var hasName = eq > 0 && !args[i + 1][..eq].Contains("://", StringComparison.Ordinal);
                    var url = new Uri(hasName ? args[i + 1][(eq + 1)..] : args[i + 1]);
                    targets.Add(new Target(hasName ? args[i + 1][..eq] : url.Authority, url));
                }
                else if (values.ContainsKey(args[i]) && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) && v >= (args[i] is "--warmup" or "--pause-seconds" ? 0 : 1))
                {
                    values[args[i]] = v;
                }
                else
                {
                    throw new FormatException($"bad option {args[i]} {args[i + 1]}");
                }
            }

            if (targets.Count == 0)
            {
                throw new FormatException("at least one --target is required");
            }

            return new Options(targets, values["--series"], values["--samples-per-series"], values["--batch"], values["--concurrency"], values["--runs"],
                values["--warmup"], values["--interval-seconds"], TimeSpan.FromSeconds(values["--pause-seconds"]));
        }
    }
}
