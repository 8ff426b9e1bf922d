using Aida.Model.Plant;

namespace Aida.Telemetry.Series;

/// <summary>The series a plant point is stored as: its metric name and its labels, exactly.</summary>
public static class PointSeries
{
    /// <summary>The point's series labels (its labels plus <c>__name__</c>).</summary>
    public static Labels Labels(PointInfo point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return Series.Labels.From(point.Labels.Prepend(new KeyValuePair<string, string>(Series.Labels.MetricNameLabel, point.Metric)));
    }

    /// <summary>Matchers selecting the point's series (and any series with those labels and more: compare the label count
    /// or the labels to tell them apart).</summary>
    public static LabelMatcher[] Matchers(PointInfo point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return [LabelMatcher.MetricName(point.Metric), .. point.Labels.Select(kv => new LabelMatcher(kv.Key, MatcherType.Equal, kv.Value))];
    }
}
