using System.Text;
using Aida.Protocols.Exposition;

namespace Aida.Protocols.Tests.Exposition;

/// <summary>Thousands of random and truncated inputs: nothing escapes the parser, every line is a sample, metadata or an
/// error, and lines that cannot be valid are counted as malformed.</summary>
public class ExpositionFuzzTests
{
    private const string Valid = """
        # HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
        # TYPE node_cpu_seconds_total counter
        node_cpu_seconds_total{cpu="0",mode="idle"} 123456.78
        node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1.2345e+10 1700000000000
        http_request_duration_seconds_bucket{le="0.5",path="/a\"b\\c"} 129389
        up 1
        """;

    [Fact]
    public void RandomBytes_NeverThrow_AndEveryLineIsAccountedFor()
    {
        var random = new Random(42);
        for (var i = 0; i < 3000; i++)
        {
            var text = RandomText(random, random.Next(0, 300));
            foreach (var format in new[] { ExpositionFormat.PrometheusText, ExpositionFormat.OpenMetrics })
            {
                var doc = ExpositionParser.Parse(text, format);
                var metaLines = text.Split('\n').Count(l => l.TrimStart(' ', '\t').StartsWith('#') || l.Trim(' ', '\t', '\r').Length == 0);
                Assert.True(doc.Samples.Count + doc.Errors.Count + metaLines >= doc.Lines, $"lines unaccounted for in {Escape(text)}");
                Assert.All(doc.Errors, e => Assert.InRange(e.Line, 1, doc.Lines + 1));
            }
        }
    }

    [Fact]
    public void GarbageLines_AreEachCountedMalformed()
    {
        var random = new Random(7);
        const string badStarts = "{}=\"0123456789.,-";
        for (var i = 0; i < 3000; i++)
        {
            var lines = Enumerable.Range(0, random.Next(1, 6))
                .Select(_ => badStarts[random.Next(badStarts.Length)] + RandomText(random, random.Next(0, 40)).Replace('\n', ' ')).ToList();
            var doc = ExpositionParser.Parse(string.Join('\n', lines), ExpositionFormat.PrometheusText);
            Assert.Equal(lines.Count, doc.Errors.Count);
            Assert.Empty(doc.Samples);
        }
    }

    [Fact]
    public void TruncatedBodies_KeepTheWholeLines_AndCountTheCutOne()
    {
        var lines = Valid.Split('\n');
        for (var cut = 0; cut <= Valid.Length; cut++)
        {
            var text = Valid[..cut];
            var doc = ExpositionParser.Parse(text, ExpositionFormat.PrometheusText);
            var open = ExpositionParser.Parse(text, ExpositionFormat.OpenMetrics);
            Assert.NotEmpty(open.Errors); // no # EOF
            var last = text.Split('\n')[^1];
            var inside = lines.FirstOrDefault(l => l.StartsWith(last, StringComparison.Ordinal) && l != last);
            var cutInsideLabels = inside is not null && last.Contains('{', StringComparison.Ordinal) && !last.Contains('}', StringComparison.Ordinal);
            if (cutInsideLabels)
            {
                Assert.Equal(text.Split('\n').Length, doc.Errors.Single().Line);
            }
        }
    }

    private static string RandomText(Random random, int length)
    {
        const string alphabet = "abcXYZ_:09 {}=\",\\\n\t#.+-eEINFnaHELPTYP\r\u00e9\u0000";
        var sb = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            sb.Append(random.Next(10) == 0 ? (char)random.Next(0, 0x3000) : alphabet[random.Next(alphabet.Length)]);
        }

        return sb.ToString();
    }

    private static string Escape(string text) => text.Replace("\n", "\\n", StringComparison.Ordinal);
}
