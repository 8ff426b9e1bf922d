using System.Globalization;
using System.Text.Json;

namespace Aida.Reliability.Budgets;

/// <summary>One reading a person left out of the SLIs: its number, the exclusion, and who filed it.</summary>
public sealed record FiledExclusion(int Id, ReadingExclusion Exclusion, string By);

/// <summary>The readings people left out of the SLIs during a live run (a sensor found lying that the agent did not
/// name: a technician's report, a calibration record), beside those the agent leaves out. Thread-safe: the API files
/// them, the run's budgets read them. With a file, kept there (JSON, replaced whole on each change) and read back when
/// the run starts again on the same data directory.</summary>
public sealed class FiledExclusions
{
    // A person reads and may edit the file: quotes in a series written as they are (the file is never served as HTML).
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly object _lock = new();
    private readonly string? _path;
    private FiledExclusion[] _filed = [];

    /// <param name="path">Where they are kept (null: in memory only).</param>
    /// <exception cref="FormatException">The file is not a list of exclusions; the message names it and the entry.</exception>
    public FiledExclusions(string? path = null)
    {
        _path = path;
        _filed = path is null ? [] : [.. Read(path)];
    }

    /// <summary>The exclusions kept in <paramref name="path"/>, in order (none when it does not exist): those people
    /// filed, or those the agent left out (<c>agent-exclusions.json</c>).</summary>
    /// <exception cref="FormatException">The file is not a list of exclusions; the message names it and the entry.</exception>
    public static IReadOnlyList<FiledExclusion> Read(string path)
    {
        if (!System.IO.File.Exists(path))
        {
            return [];
        }

        List<Stored>? stored;
        try
        {
            stored = JsonSerializer.Deserialize<List<Stored>>(System.IO.File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not a list of reading exclusions: {e.Message}", e);
        }

        var filed = new List<FiledExclusion>();
        foreach (var (x, i) in (stored ?? []).Select((x, i) => (x, i)))
        {
            try
            {
                if (x.Id != i + 1 || x.Series is null || x.Reason is null || x.By is null)
                {
                    throw new ArgumentException($"id {x.Id} (expected {i + 1}), series, reason and by are required");
                }

                filed.Add(new FiledExclusion(x.Id, ReadingExclusion.Of(x.Series, x.From, x.Until, x.Reason), x.By));
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"{path}: entry {i + 1}: {e.Message}", e);
            }
        }

        return filed;
    }

    /// <summary>Writes <paramref name="filed"/> whole beside <paramref name="path"/> and moves it over: a crash leaves the
    /// old or the new list, never half of one.</summary>
    public static void Write(string path, IEnumerable<FiledExclusion> filed)
    {
        var temp = path + ".tmp";
        System.IO.File.WriteAllText(temp, JsonSerializer.Serialize(filed.Select(f => new Stored(f.Id, f.Exclusion.Series.ToString(), f.Exclusion.From, f.Exclusion.Until, f.Exclusion.Reason, f.By)), Json));
        System.IO.File.Move(temp, path, overwrite: true);
    }

    /// <summary>Every exclusion filed, in order, with its current span.</summary>
    public IReadOnlyList<FiledExclusion> All => _filed;

    /// <summary>The exclusions themselves, for <see cref="SloEvaluator"/>.</summary>
    public IReadOnlyList<ReadingExclusion> Exclusions => [.. _filed.Select(f => f.Exclusion)];

    /// <summary>Files an exclusion of the reading <paramref name="selector"/> names (<see cref="ReadingExclusion.Of"/>).</summary>
    /// <exception cref="ArgumentException">The selector or span is wrong; the message says how.</exception>
    public FiledExclusion File(string selector, DateTimeOffset from, DateTimeOffset? until, string reason, string by)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("reason: say why the reading is not to be counted (the sensor's fault, its incident)");
        }

        lock (_lock)
        {
            var id = _filed.Length + 1;
            var filed = new FiledExclusion(id, ReadingExclusion.Of(selector, from, until, $"{reason} (filed by {by}, exclusion {id.ToString(CultureInfo.InvariantCulture)})"), by);
            Save([.. _filed, filed]);
            return filed;
        }
    }

    /// <summary>Ends exclusion <paramref name="id"/> at <paramref name="at"/>: the reading counts again from then.</summary>
    /// <exception cref="KeyNotFoundException">No exclusion has that number.</exception>
    /// <exception cref="ArgumentException">It has ended already, or <paramref name="at"/> is not after its start.</exception>
    public FiledExclusion End(int id, DateTimeOffset at)
    {
        lock (_lock)
        {
            var i = id - 1;
            if (i < 0 || i >= _filed.Length)
            {
                throw new KeyNotFoundException($"no exclusion {id} (filed: {_filed.Length})");
            }

            var filed = _filed[i];
            if (filed.Exclusion.Until is { } until)
            {
                throw new ArgumentException($"exclusion {id} ended already, at {until:u}");
            }

            var ended = filed with { Exclusion = filed.Exclusion with { Until = at } };
            if (ended.Exclusion.Problem() is { } problem)
            {
                throw new ArgumentException(problem);
            }

            var list = (FiledExclusion[])_filed.Clone();
            list[i] = ended;
            Save(list);
            return ended;
        }
    }

    /// <summary>Keeps <paramref name="filed"/> in the file (<see cref="Write"/>), then serves it.</summary>
    private void Save(FiledExclusion[] filed)
    {
        if (_path is not null)
        {
            Write(_path, filed);
        }

        _filed = filed;
    }

    private sealed record Stored(int Id, string? Series, DateTimeOffset From, DateTimeOffset? Until, string? Reason, string? By);
}
