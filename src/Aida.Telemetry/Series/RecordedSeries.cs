namespace Aida.Telemetry.Series;

/// <summary>The series one writer records at each of its ticks into a store, as a Prometheus recording rule's results:
/// <see cref="Put"/> each value of a tick, then <see cref="EndTick"/>, which marks stale every series written at the tick
/// before and not at this one, so a query finds none rather than the last value for the five minutes of its lookback.
/// Every series carries the site's label. Used by the derived metrics (PUE, headroom) and the SLOs' statuses.</summary>
public sealed class RecordedSeries(ISampleAppender store, string site)
{
    private readonly ISampleAppender _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly Dictionary<string, int> _refs = new(StringComparer.Ordinal);
    private HashSet<int> _writtenBefore = [];
    private HashSet<int> _writtenNow = [];

    /// <summary>Appends <paramref name="value"/> to the series <paramref name="name"/>{site, <paramref name="labels"/>}
    /// at <paramref name="ms"/>.</summary>
    /// <returns>Whether the store took it (a value out of order, or the store refusing, is not written).</returns>
    public bool Put(string name, (string Name, string Value)[] labels, long ms, double value)
    {
        var key = labels.Length == 0 ? name : name + "\u0000" + string.Join('\u0000', labels.Select(l => l.Name + "=" + l.Value));
        if (!_refs.TryGetValue(key, out var id))
        {
            id = _store.GetOrCreateSeries(Labels.From([(Labels.MetricNameLabel, name), ("site", site), .. labels]));
            _refs[key] = id;
        }

        if (_store.Append(id, ms, value) != AppendStatus.Ok)
        {
            return false;
        }

        _writtenNow.Add(id);
        return true;
    }

    /// <summary>Ends the tick at <paramref name="ms"/>: a stale marker for each series written at the tick before and
    /// not at this one.</summary>
    public void EndTick(long ms)
    {
        foreach (var gone in _writtenBefore)
        {
            if (!_writtenNow.Contains(gone))
            {
                _store.Append(gone, ms, StaleMarker.Value);
            }
        }

        (_writtenBefore, _writtenNow) = (_writtenNow, _writtenBefore);
        _writtenNow.Clear();
    }
}
