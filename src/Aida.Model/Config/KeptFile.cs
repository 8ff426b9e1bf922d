using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aida.Model.Config;

/// <summary>A JSON list a live run keeps in its data directory for a restart (<c>agent-responses.json</c>,
/// <c>pending-actions.json</c>, <c>agent-mode.json</c>, <c>twin-actuators.json</c>): read entry by entry, each checked by
/// its reader, and written whole beside the file and moved over it, so a crash leaves the old or the new list, never
/// half of one. Snake-case names, enums in kebab case.</summary>
public static class KeptFile
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false) },
    };

    /// <summary>The entries of <paramref name="path"/>, each as <paramref name="entry"/> reads it with its number (from 1);
    /// none when the file does not exist.</summary>
    /// <exception cref="FormatException">The file is not a JSON list of <paramref name="what"/>, or
    /// <paramref name="entry"/> refused one; the message names the file.</exception>
    public static List<T> Read<TStored, T>(string path, string what, Func<TStored?, int, T> entry)
        where TStored : class
    {
        if (!File.Exists(path))
        {
            return [];
        }

        List<TStored?>? stored;
        try
        {
            stored = JsonSerializer.Deserialize<List<TStored?>>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not a list of {what}: {e.Message}", e);
        }

        return [.. (stored ?? []).Select((x, i) => entry(x, i + 1))];
    }

    /// <summary>Writes <paramref name="entries"/> whole beside <paramref name="path"/> and moves it over.</summary>
    public static void Write<TStored>(string path, IEnumerable<TStored> entries)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(entries, Json));
        File.Move(temp, path, overwrite: true);
    }
}
