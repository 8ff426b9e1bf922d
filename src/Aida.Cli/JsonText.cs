using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Aida.Cli;

/// <summary>The indented JSON a command prints with <c>--json</c>: UTF-8 as written (°C stays °C), one trailing newline.</summary>
internal static class JsonText
{
    public static string Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + Environment.NewLine;
    }
}
