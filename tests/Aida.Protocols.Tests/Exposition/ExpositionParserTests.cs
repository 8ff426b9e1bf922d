using System.Text;
using Aida.Protocols.Exposition;

namespace Aida.Protocols.Tests.Exposition;

public class ExpositionParserTests
{
    [Fact]
    public void TextFormat_ReadsNamesLabelsEscapesSpecialValuesTimestampsAndMetadata()
    {
        const string text = """
            # HELP http_requests_total The total number of HTTP requests.\nSecond line \\ end
            # TYPE http_requests_total counter
            http_requests_total{method="post",code="200"} 1027 1395066363000
            http_requests_total{ method = "post" , code = "400" , } 3 1395066363000
            # a free comment
            msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
            metric_without_timestamp_and_labels 12.47
            something_weird{problem="division by zero"} +Inf -3982045
            neg -Inf
            nan NaN
            rpc_duration_seconds{quantile="0.99"} 76656
            rpc_duration_seconds_sum 1.7560473e+07
            http_request_duration_seconds_bucket{le="+Inf"} 144320

            """;
        var doc = ExpositionParser.Parse(text, ExpositionFormat.PrometheusText);
        Assert.Empty(doc.Errors);
        Assert.Equal(10, doc.Samples.Count);
        Assert.Equal("The total number of HTTP requests.\nSecond line \\ end", doc.Families["http_requests_total"].Help);
        Assert.Equal("counter", doc.Families["http_requests_total"].Type);
        var first = doc.Samples[0];
        Assert.Equal("http_requests_total", first.Name);
        Assert.Equal([new("method", "post"), new("code", "200")], first.Labels);
        Assert.Equal(1027, first.Value);
        Assert.Equal(1395066363000, first.TimestampMs);
        Assert.Equal("400", doc.Samples[1].Labels[1].Value);
        Assert.Equal("C:\\DIR\\FILE.TXT", doc.Samples[2].Labels[0].Value);
        Assert.Equal("Cannot find file:\n\"FILE.TXT\"", doc.Samples[2].Labels[1].Value);
        Assert.Equal(1.458255915e9, doc.Samples[2].Value);
        Assert.Null(doc.Samples[3].TimestampMs);
        Assert.Equal(double.PositiveInfinity, doc.Samples[4].Value);
        Assert.Equal(-3982045, doc.Samples[4].TimestampMs);
        Assert.Equal(double.NegativeInfinity, doc.Samples[5].Value);
        Assert.True(double.IsNaN(doc.Samples[6].Value));
        Assert.Equal("+Inf", doc.Samples[9].Labels[0].Value);
    }

    [Fact]
    public void OpenMetrics_ReadsSecondsTimestampsExemplarsUnitAndEof()
    {
        const string text = """
            # TYPE acme_http_router_request_seconds summary
            # UNIT acme_http_router_request_seconds seconds
            # HELP acme_http_router_request_seconds Latency though all of ACME's "HTTP" request router.
            acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32 1520879607.789
            foo_total 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
            # EOF

            """;
        var doc = ExpositionParser.Parse(text, ExpositionFormat.OpenMetrics);
        Assert.Empty(doc.Errors);
        Assert.True(doc.SawEof);
        Assert.Equal("seconds", doc.Families["acme_http_router_request_seconds"].Unit);
        Assert.Equal(1520879607789, doc.Samples[0].TimestampMs);
        Assert.Equal(17, doc.Samples[1].Value);
    }

    [Theory]
    [InlineData("m{a=\"1\"", "unterminated label set")] // no closing brace
    [InlineData("m{a=1} 2", "expected a quoted value")] // unquoted value
    [InlineData("m{a=\"x\\q\"} 1", "unknown escape")] // bad escape
    [InlineData("m{a=\"1\",a=\"2\"} 1", "given twice")] // duplicate label
    [InlineData("m 1.2.3", "is not a number")] // bad value
    [InlineData("m", "missing value")] // no value
    [InlineData("m 1 12.5", "not whole milliseconds")] // text-format timestamps are integers
    [InlineData("m 1 2 3", "unexpected text")] // trailing garbage
    [InlineData("9m 1", "expected a metric name")] // name starts with a digit
    [InlineData("# TYPE m bogus", "unknown type")] // unknown family type
    [InlineData("m{__name__=\"other\"} 1", "reserved")] // a scraped label may not rename the series
    public void BadLines_AreReportedWithTheirLineNumber_AndTheRestIsKept(string bad, string problem)
    {
        var doc = ExpositionParser.Parse($"good 1\n{bad}\nalso_good 2\n", ExpositionFormat.PrometheusText);
        var error = Assert.Single(doc.Errors);
        Assert.Equal(2, error.Line);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Equal(["good", "also_good"], doc.Samples.Select(s => s.Name));
    }

    [Fact]
    public void OpenMetrics_WithoutEof_OrWithContentAfterIt_IsAnError()
    {
        Assert.Contains("missing # EOF", ExpositionParser.Parse("a 1\n", ExpositionFormat.OpenMetrics).Errors.Single().Message, StringComparison.Ordinal);
        Assert.Equal(2, ExpositionParser.Parse("a 1\n\n# EOF\n", ExpositionFormat.OpenMetrics).Errors.Single().Line); // no blank lines
        var after = ExpositionParser.Parse("a 1\n# EOF\nb 2\n", ExpositionFormat.OpenMetrics);
        Assert.Equal(3, after.Errors.Single().Line);
        Assert.Single(after.Samples);
    }

    [Theory]
    [InlineData(ExpositionFormat.PrometheusText)]
    [InlineData(ExpositionFormat.OpenMetrics)]
    public void Writer_RoundTripsThroughTheParser(ExpositionFormat format)
    {
        var sb = new StringBuilder();
        var writer = new ExpositionWriter(sb, format);
        writer.Family("aida_energy_joules_total", "Energy \"used\"\nsince start.", "counter");
        writer.Sample("aida_energy_joules_total", [new("rack", "r\"1\\\n")], 1.5e300, 1_700_000_000_123);
        writer.Family("aida_odd", "odd values", "counter"); // a counter without _total: unknown in OpenMetrics
        writer.Sample("aida_odd", [], double.NaN);
        writer.Sample("aida_odd", [new("k", "v")], double.NegativeInfinity);
        writer.Sample("aida_odd", [new("k", "w")], 0.1);
        writer.Finish();
        var doc = ExpositionParser.Parse(sb.ToString(), format);
        Assert.Empty(doc.Errors);
        Assert.Equal(4, doc.Samples.Count);
        Assert.Equal("r\"1\\\n", doc.Samples[0].Labels[0].Value);
        Assert.Equal(1.5e300, doc.Samples[0].Value);
        Assert.Equal(1_700_000_000_123, doc.Samples[0].TimestampMs);
        Assert.True(double.IsNaN(doc.Samples[1].Value));
        Assert.Equal(double.NegativeInfinity, doc.Samples[2].Value);
        Assert.Equal(0.1, doc.Samples[3].Value);
        var family = format == ExpositionFormat.OpenMetrics ? "aida_energy_joules" : "aida_energy_joules_total";
        Assert.Equal("counter", doc.Families[family].Type);
        Assert.Equal("Energy \"used\"\nsince start.", doc.Families[family].Help);
        Assert.Equal(format == ExpositionFormat.OpenMetrics ? "unknown" : "counter", doc.Families["aida_odd"].Type);
    }

    [Theory]
    [InlineData("text/plain; version=0.0.4", ExpositionFormat.PrometheusText)]
    [InlineData("application/openmetrics-text; version=1.0.0; charset=utf-8", ExpositionFormat.OpenMetrics)]
    [InlineData(null, ExpositionFormat.PrometheusText)]
    public void ContentType_PicksTheFormat(string? contentType, ExpositionFormat expected) =>
        Assert.Equal(expected, ExpositionContentType.FromContentType(contentType));

    [Theory]
    [InlineData(ExpositionContentType.ScrapeAccept, ExpositionFormat.OpenMetrics)] // Prometheus' own header
    [InlineData("text/plain", ExpositionFormat.PrometheusText)]
    [InlineData("application/openmetrics-text;q=0,text/plain", ExpositionFormat.PrometheusText)] // refused explicitly
    [InlineData("", ExpositionFormat.PrometheusText)]
    public void Accept_NegotiatesTheAnswerFormat(string accept, ExpositionFormat expected) =>
        Assert.Equal(expected, ExpositionContentType.FromAccept(accept));
}
