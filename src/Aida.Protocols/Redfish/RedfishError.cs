using System.Text.Json;

namespace Aida.Protocols.Redfish;

/// <summary>The Redfish error response body (DSP0266 §"Error responses"): an <c>error</c> object with a <c>code</c>, a
/// <c>message</c> and <c>@Message.ExtendedInfo</c> entries naming a message of the Base registry.</summary>
public static class RedfishError
{
    /// <summary>The Base message registry version the message ids below belong to.</summary>
    public const string BaseRegistry = "Base.1.8";

    /// <summary>An error body for one Base registry message (e.g. <c>PropertyValueOutOfRange</c>, <c>MalformedJSON</c>).</summary>
    /// <param name="property">The property the message is about, as a JSON pointer into the request body (or null).</param>
    public static string Body(string messageId, string message, string? property = null)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("code", $"{BaseRegistry}.GeneralError");
            json.WriteString("message", message);
            json.WriteStartArray("@Message.ExtendedInfo");
            json.WriteStartObject();
            json.WriteString("@odata.type", "#Message.v1_1_1.Message");
            json.WriteString("MessageId", $"{BaseRegistry}.{messageId}");
            json.WriteString("Message", message);
            if (property is not null)
            {
                json.WriteStartArray("RelatedProperties");
                json.WriteStringValue(property);
                json.WriteEndArray();
            }

            json.WriteString("Severity", "Warning");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The message of an error body: the first extended-info message, else <c>error.message</c>; null when the text
    /// is not a Redfish error body.</summary>
    public static string? MessageOf(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (error.TryGetProperty("@Message.ExtendedInfo", out var info) && info.ValueKind == JsonValueKind.Array)
            {
                foreach (var entry in info.EnumerateArray())
                {
                    if (entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("Message", out var m) && m.ValueKind == JsonValueKind.String)
                    {
                        return m.GetString();
                    }
                }
            }

            return error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String ? message.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
