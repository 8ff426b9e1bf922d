namespace Aida.Telemetry.Series;

/// <summary>One sample: milliseconds since the Unix epoch, and a value.</summary>
public readonly record struct Sample(long TimestampMs, double Value);

/// <summary>Prometheus' staleness marker: a NaN with a particular bit pattern, written when a series disappears, so
/// queries stop returning it (prometheus.io/docs/prometheus/latest/querying/basics/#staleness).</summary>
public static class StaleMarker
{
    public const ulong Bits = 0x7ff0000000000002;

    public static double Value { get; } = BitConverter.UInt64BitsToDouble(Bits);

    public static bool Is(double value) => BitConverter.DoubleToUInt64Bits(value) == Bits;
}

/// <summary>A series and its samples in a time range, oldest first.</summary>
public sealed record SeriesSamples(Labels Labels, IReadOnlyList<Sample> Samples);
