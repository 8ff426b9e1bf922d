using System.Globalization;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.CrashHost;

/// <summary>The series the crash host writes and the value of each sample, compiled into the test project too.</summary>
internal static class CrashSeries
{
    public const int Count = 4;

    public static Labels Labels(int series) => Aida.Telemetry.Series.Labels.Metric("crash_test_value", ("series", series.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Sample <paramref name="i"/>'s value: every 97th a staleness marker, so its bit pattern is checked too.</summary>
    public static double Value(int series, long i) => i % 97 == 96 ? StaleMarker.Value : (series * 1_000_000) + (i * 0.1);
}
