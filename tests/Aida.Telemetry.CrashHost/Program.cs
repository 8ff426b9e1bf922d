using System.Globalization;
using Aida.Telemetry.CrashHost;
using Aida.Telemetry.Storage;

// Appends CrashSeries.Count series at a fixed rate into the store at args[0], forever, and after each WAL flush prints
// "flushed <timestamp>": every sample up to that timestamp is durable. Values follow CrashSeries.Value so the test can
// check each one it finds.
if (args.Length != 2 || !long.TryParse(args[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var start))
{
    Console.Error.WriteLine("usage: Aida.Telemetry.CrashHost <data directory> <first timestamp ms>");
    return 2;
}

using var tsdb = new Tsdb(new TsdbOptions { DataDirectory = args[0], WalFlushInterval = TimeSpan.FromMilliseconds(20) });
var ids = new int[CrashSeries.Count];
for (var s = 0; s < ids.Length; s++)
{
    ids[s] = tsdb.GetOrCreateSeries(CrashSeries.Labels(s));
}

Console.WriteLine("ready");
var timestamps = new long[ids.Length];
var values = new double[ids.Length];
var flushes = tsdb.Stats.WalFlushes;
for (long i = 0; ; i++)
{
    var t = start + i;
    for (var s = 0; s < ids.Length; s++)
    {
        timestamps[s] = t;
        values[s] = CrashSeries.Value(s, i);
    }

    // One batch per tick: a flush happens after the whole batch, so "flushed t" covers every series at t.
    tsdb.AppendBatch(ids, timestamps, values);
    var now = tsdb.Stats.WalFlushes;
    if (now != flushes)
    {
        flushes = now;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"flushed {t}"));
    }

    if (i % 50 == 0)
    {
        Thread.Sleep(1);
    }
}
