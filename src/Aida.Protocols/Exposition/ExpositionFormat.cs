namespace Aida.Protocols.Exposition;

/// <summary>The two text formats a Prometheus <c>/metrics</c> endpoint serves.</summary>
public enum ExpositionFormat
{
    /// <summary>Prometheus text format 0.0.4 (<c>text/plain; version=0.0.4</c>): timestamps in integer milliseconds.</summary>
    PrometheusText,

    /// <summary>OpenMetrics 1.0 (<c>application/openmetrics-text; version=1.0.0</c>): timestamps in (fractional) seconds,
    /// exemplars, <c># UNIT</c>, and a mandatory <c># EOF</c> as the last line.</summary>
    OpenMetrics,
}

/// <summary>HTTP content negotiation for the exposition formats, as Prometheus 2.x scrapes.</summary>
public static class ExpositionContentType
{
    public const string PrometheusText = "text/plain; version=0.0.4; charset=utf-8";

    public const string OpenMetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// <summary>The Accept header a scraper sends: OpenMetrics preferred, the text format accepted (Prometheus' own
    /// scrape Accept header, <c>scrape.go</c>).</summary>
    public const string ScrapeAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    /// <summary>The format of a response from its Content-Type: OpenMetrics only when it says so; anything else, or none,
    /// is read as the text format (as Prometheus does).</summary>
    public static ExpositionFormat FromContentType(string? contentType) =>
        contentType is not null && contentType.TrimStart().StartsWith("application/openmetrics-text", StringComparison.OrdinalIgnoreCase)
            ? ExpositionFormat.OpenMetrics
            : ExpositionFormat.PrometheusText;

    /// <summary>The format to answer a request in, from its Accept header: OpenMetrics when the client lists it (with a
    /// non-zero quality), else the text format.</summary>
    public static ExpositionFormat FromAccept(string? accept)
    {
        if (string.IsNullOrEmpty(accept))
        {
            return ExpositionFormat.PrometheusText;
        }

        foreach (var part in accept.Split(','))
        {
            var fields = part.Split(';');
            if (!fields[0].Trim().Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var zero = false;
            for (var i = 1; i < fields.Length; i++)
            {
                var f = fields[i].Trim();
                if (f.StartsWith("q=", StringComparison.OrdinalIgnoreCase) && double.TryParse(f[2..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var q) && q <= 0)
                {
                    zero = true;
                }
            }

            if (!zero)
            {
                return ExpositionFormat.OpenMetrics;
            }
        }

        return ExpositionFormat.PrometheusText;
    }

    public static string Of(ExpositionFormat format) => format == ExpositionFormat.OpenMetrics ? OpenMetrics : PrometheusText;
}
