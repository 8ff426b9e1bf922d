using System.Globalization;
using System.Text;

namespace Aida.Protocols.Exposition;

/// <summary>Writes the Prometheus text format 0.0.4 or OpenMetrics 1.0: a family's <c># HELP</c> and <c># TYPE</c>, then its
/// samples; <see cref="Finish"/> adds OpenMetrics' <c># EOF</c>.</summary>
/// <remarks>Not thread-safe; one writer per response.</remarks>
public sealed class ExpositionWriter(StringBuilder output, ExpositionFormat format)
{
    public ExpositionFormat Format { get; } = format;

    /// <summary>Starts a family. <paramref name="type"/> is <c>gauge</c>, <c>counter</c>, ...; OpenMetrics names a
    /// counter's family without its <c>_total</c> suffix, which this handles, and requires that suffix on a counter's
    /// samples, so a counter named without it (DCGM's <c>DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION</c>) is typed
    /// <c>unknown</c> there.</summary>
    public void Family(string name, string help, string type)
    {
        var family = name;
        if (Format == ExpositionFormat.OpenMetrics && type == "counter")
        {
            if (name.EndsWith("_total", StringComparison.Ordinal))
            {
                family = name[..^6];
            }
            else
            {
                type = "unknown";
            }
        }

        output.Append("# HELP ").Append(family).Append(' ');
        foreach (var c in help)
        {
            output.Append(c switch { '\\' => "\\\\", '\n' => "\\n", '"' when Format == ExpositionFormat.OpenMetrics => "\\\"", _ => c.ToString() });
        }

        output.Append('\n').Append("# TYPE ").Append(family).Append(' ').Append(type).Append('\n');
    }

    /// <summary>One sample line; labels in the order given, values escaped.</summary>
    public void Sample(string name, ReadOnlySpan<KeyValuePair<string, string>> labels, double value, long? timestampMs = null)
    {
        output.Append(name);
        if (labels.Length > 0)
        {
            output.Append('{');
            for (var i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                {
                    output.Append(',');
                }

                output.Append(labels[i].Key).Append("=\"");
                AppendEscaped(output, labels[i].Value);
                output.Append('"');
            }

            output.Append('}');
        }

        output.Append(' ').Append(FormatValue(value));
        if (timestampMs is { } ts)
        {
            output.Append(' ');
            if (Format == ExpositionFormat.OpenMetrics)
            {
                output.Append((ts / 1000.0).ToString("0.###", CultureInfo.InvariantCulture));
            }
            else
            {
                output.Append(ts.ToString(CultureInfo.InvariantCulture));
            }
        }

        output.Append('\n');
    }

    /// <summary>Ends the exposition (OpenMetrics: <c># EOF</c>).</summary>
    public void Finish()
    {
        if (Format == ExpositionFormat.OpenMetrics)
        {
            output.Append("# EOF\n");
        }
    }

    /// <summary>A value as the Go client libraries write it: shortest round-trip form, <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>.</summary>
    public static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e'),
    };

    /// <summary>A label value as the text format writes it between its quotes (backslash, quote and newline escaped).</summary>
    public static string EscapeLabelValue(string value)
    {
        var sb = new StringBuilder(value.Length);
        AppendEscaped(sb, value);
        return sb.ToString();
    }

    private static void AppendEscaped(StringBuilder sb, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
    }
}
