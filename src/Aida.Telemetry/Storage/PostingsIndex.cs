using Aida.Telemetry.Series;

namespace Aida.Telemetry.Storage;

/// <summary>Label name → value → ascending series ids, so a selector touches only the series that can match.</summary>
internal sealed class PostingsIndex
{
    private readonly Dictionary<string, Dictionary<string, List<int>>> _byName = new(StringComparer.Ordinal);

    /// <summary>Adds a series; ids must arrive in ascending order to keep lists sorted.</summary>
    public void Add(int id, Labels labels)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (!_byName.TryGetValue(labels.Name(i), out var values))
            {
                values = new Dictionary<string, List<int>>(StringComparer.Ordinal);
                _byName.Add(labels.Name(i), values);
            }

            if (!values.TryGetValue(labels.Value(i), out var ids))
            {
                ids = [];
                values.Add(labels.Value(i), ids);
            }

            ids.Add(id);
        }
    }

    public IEnumerable<string> Names() => _byName.Keys;

    public IEnumerable<string> Values(string name) => _byName.TryGetValue(name, out var values) ? values.Keys : [];

    /// <summary>Ids that may match all matchers, or null when no matcher narrows the set (every series is a candidate).
    /// Matchers that accept the empty string also accept series lacking the label, so they cannot narrow through
    /// postings; the caller checks every matcher against each candidate's labels.</summary>
    public List<int>? Candidates(IReadOnlyList<LabelMatcher> matchers)
    {
        List<int>? candidates = null;
        foreach (var matcher in matchers)
        {
            if (matcher.Matches(""))
            {
                continue;
            }

            var ids = Postings(matcher);
            candidates = candidates is null ? ids : Intersect(candidates, ids);
            if (candidates.Count == 0)
            {
                break;
            }
        }

        return candidates;
    }

    private List<int> Postings(LabelMatcher matcher)
    {
        if (!_byName.TryGetValue(matcher.Name, out var values))
        {
            return [];
        }

        if (matcher.Type == MatcherType.Equal)
        {
            return values.TryGetValue(matcher.Value, out var exact) ? exact : [];
        }

        List<int>? union = null;
        var lists = 0;
        foreach (var (value, ids) in values)
        {
            if (matcher.Matches(value))
            {
                lists++;
                if (lists == 1)
                {
                    union = ids;
                }
                else
                {
                    if (lists == 2)
                    {
                        union = [.. union!];
                    }

                    union!.AddRange(ids);
                }
            }
        }

        if (lists > 1)
        {
            // One series has one value per name, so the lists are disjoint: sorting is enough, no dedupe.
            union!.Sort();
        }

        return union ?? [];
    }

    private static List<int> Intersect(List<int> a, List<int> b)
    {
        var result = new List<int>(Math.Min(a.Count, b.Count));
        int i = 0, j = 0;
        while (i < a.Count && j < b.Count)
        {
            if (a[i] == b[j])
            {
                result.Add(a[i]);
                i++;
                j++;
            }
            else if (a[i] < b[j])
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return result;
    }
}
