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

    // What could not be written (a full disk, an I/O error), by full path: the newest list for each, written by the next
    // write of that file or by RetryUnwritten. Under Gate, so an older list never lands over a newer one.
    private static readonly Dictionary<string, string> Unkept = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    /// <summary>Writes <paramref name="entries"/> whole beside <paramref name="path"/> and moves it over; false when the
    /// disk refused (full, an I/O error): the list is then held in memory and written by the next write of the file or
    /// <see cref="RetryUnwritten"/>, and until then a restart would read the file as it was (<see cref="Unwritten"/>
    /// lists it). The caller goes on with what it keeps in memory.</summary>
    public static bool Write<TStored>(string path, IEnumerable<TStored> entries)
    {
        var text = JsonSerializer.Serialize(entries, Json);
        lock (Gate)
        {
            return Keep(Path.GetFullPath(path), text);
        }
    }

    /// <summary>The files whose newest list could not be written yet, by full path.</summary>
    public static IReadOnlyList<string> Unwritten
    {
        get
        {
            lock (Gate)
            {
                return [.. Unkept.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Tries again to write every list the disk refused; how many are still unwritten.</summary>
    public static int RetryUnwritten()
    {
        lock (Gate)
        {
            foreach (var (path, text) in Unkept.ToList())
            {
                Keep(path, text);
            }

            return Unkept.Count;
        }
    }

    private static bool Keep(string path, string text)
    {
        var temp = path + ".tmp";
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, path, overwrite: true);
            Unkept.Remove(path);
            return true;
        }
        catch (IOException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // Left to be overwritten by the next try.
            }

            Unkept[path] = text;
            return false;
        }
    }
}
