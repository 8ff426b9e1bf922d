using Aida.Telemetry.RemoteWrite;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Aida.Telemetry.Tests.Http;

namespace Aida.Telemetry.Tests.RemoteWrite;

public sealed class ForwardingAppenderTests : IDisposable
{
    private readonly string _buffer = Path.Combine(Path.GetTempPath(), $"aida-fwd-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_buffer))
        {
            Directory.Delete(_buffer, true);
        }
    }

    [Fact]
    public async Task AcceptedSamples_ReachTheRemoteStore_RefusedOnesDoNot()
    {
        using var remote = new Tsdb(new TsdbOptions { FutureTolerance = TimeSpan.FromDays(3650) });
        await using var host = await TestServerHost.StartAsync(e => e.MapRemoteWrite(remote, TimeProvider.System));
        using var local = new Tsdb(new TsdbOptions { FutureTolerance = TimeSpan.FromDays(3650) });
        await using var sender = new RemoteWriteSender(new RemoteWriteOptions
        {
            Url = new Uri("http://localhost/api/v1/write"),
            BufferDirectory = _buffer,
            HttpClient = host.Client,
        });
        var forwarding = new ForwardingAppender(local, sender);
        var id = forwarding.GetOrCreateSeries(Labels.Metric("aida_it_power_watts", ("site", "x")));
        const long t0 = 1_700_000_000_000;
        Assert.Equal(AppendStatus.Ok, forwarding.Append(id, t0, 1));
        Assert.Equal(AppendStatus.Ok, forwarding.Append(id, t0 + 10_000, 2));
        Assert.Equal(AppendStatus.OutOfOrder, forwarding.Append(id, t0 + 5_000, 3));
        await sender.FlushAsync();

        var stored = remote.Select(t0, t0 + 60_000, [LabelMatcher.MetricName("aida_it_power_watts")]).Single();
        Assert.Equal([new Sample(t0, 1), new Sample(t0 + 10_000, 2)], stored.Samples);
    }
}
