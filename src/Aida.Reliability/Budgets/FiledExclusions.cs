using System.Globalization;

namespace Aida.Reliability.Budgets;

/// <summary>One reading a person left out of the SLIs: its number, the exclusion, and who filed it.</summary>
public sealed record FiledExclusion(int Id, ReadingExclusion Exclusion, string By);

/// <summary>The readings people left out of the SLIs during a live run (a sensor found lying that the agent did not
/// name: a technician's report, a calibration record), beside those the agent leaves out. Thread-safe: the API files
/// them, the run's budgets read them. Kept for the life of the process.</summary>
public sealed class FiledExclusions
{
    private readonly object _lock = new();
    private FiledExclusion[] _filed = [];

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
            _filed = [.. _filed, filed];
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
            _filed = list;
            return ended;
        }
    }
}
