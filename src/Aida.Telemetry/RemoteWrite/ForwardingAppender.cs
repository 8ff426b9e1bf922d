using Aida.Telemetry.Series;

namespace Aida.Telemetry.RemoteWrite;

/// <summary>Appends to a local store and forwards every sample the store accepted to a remote store through a
/// <see cref="RemoteWriteSender"/> (batched, retried, buffered on disk).</summary>
public sealed class ForwardingAppender(ISampleAppender local, RemoteWriteSender sender) : ISampleAppender
{
    private readonly List<Labels> _labels = [];

    public int GetOrCreateSeries(Labels labels)
    {
        var id = local.GetOrCreateSeries(labels);
        while (_labels.Count <= id)
        {
            _labels.Add(Labels.Empty);
        }

        _labels[id] = labels;
        return id;
    }

    public AppendStatus Append(int series, long timestampMs, double value)
    {
        var status = local.Append(series, timestampMs, value);
        if (status == AppendStatus.Ok)
        {
            sender.Enqueue(_labels[series], new Sample(timestampMs, value));
        }

        return status;
    }
}
