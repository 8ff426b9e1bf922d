using Aida.Model.Config;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors;

/// <summary>A site as Aida collects from it: its name, the labels every sample gets, and its collectors.</summary>
public sealed record Site(string Name, string File, Labels Labels, IReadOnlyList<ICollector> Collectors);

/// <summary>What every collector entry of a site file has, parsed before its protocol's own fields.</summary>
/// <param name="Name">The entry's <c>name</c>, unique in the file.</param>
/// <param name="Labels">The entry's <c>labels</c> (e.g. <c>asset: cdu-h1-1</c>), added to each of its readings.</param>
/// <param name="Interval">The entry's <c>interval</c> (default 15 s): how often it polls.</param>
/// <param name="Timeout">The entry's <c>timeout</c> (default the interval, at least 1 s and at most 10 s): how long one
/// request may take.</param>
public sealed record CollectorSettings(string Name, Labels Labels, TimeSpan Interval, TimeSpan Timeout, TimeProvider Clock, Random Random);

/// <summary>Builds one collector from its entry of a site file (the common fields already read into the settings);
/// must read every field it accepts so that <see cref="ConfigNode.RejectUnknown"/> catches misspellings.</summary>
public delegate ICollector CollectorFactory(ConfigNode entry, CollectorSettings settings);

/// <summary>Reads a site file:</summary>
/// <remarks>
/// <code>
/// site: leesburg-1          # required; becomes the site label
/// labels: {region: us-east} # optional, added to every sample
/// collectors:
///   - type: modbus          # one of the registered protocols
///     name: cdu-h1-1        # unique
///     interval: 1s
///     timeout: 500ms
///     labels: {asset: cdu-h1-1}
///     ...                   # the protocol's own fields
/// </code>
/// Errors name file, line and field (<see cref="ConfigException"/>).
/// </remarks>
public sealed class SiteLoader(IReadOnlyDictionary<string, CollectorFactory> types, TimeProvider clock, int seed = 1)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(15);

    public static readonly TimeSpan MaxDefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The shortest default timeout: a fast poll (say every 100 ms) must not fail a device whose answer is held
    /// up by a busy host, nor a BMC that takes seconds to confirm a Redfish action (1 s failed a confirmed
    /// <c>#Chassis.Reset</c> on a loaded 2-core CI host).</summary>
    public static readonly TimeSpan MinDefaultTimeout = TimeSpan.FromSeconds(3);

    public Site Load(string path) => Read(ConfigNode.Load(path), path);

    public Site Parse(string yaml, string file) => Read(ConfigNode.Parse(yaml, file), file);

    private Site Read(ConfigNode root, string file)
    {
        var name = root.String("site");
        var siteLabels = ReadLabels(root, "labels").With("site", name);
        var collectors = new List<ICollector>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var entries = root.List("collectors");
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var type = entry.String("type");
            if (!types.TryGetValue(type, out var factory))
            {
                throw entry.Error("type", $"unknown collector type '{type}' (known: {string.Join(", ", types.Keys.Order(StringComparer.Ordinal))})");
            }

            var collectorName = entry.String("name");
            if (!names.Add(collectorName))
            {
                throw entry.Error("name", $"'{collectorName}' is used by an earlier collector");
            }

            var interval = entry.Duration("interval", DefaultInterval, allowZero: false);
            var fallback = interval < MinDefaultTimeout ? MinDefaultTimeout : interval > MaxDefaultTimeout ? MaxDefaultTimeout : interval;
            var timeout = entry.Duration("timeout", fallback, allowZero: false);
            var settings = new CollectorSettings(collectorName, ReadLabels(entry, "labels"), interval, timeout, clock, new Random(HashCode.Combine(seed, i)));
            collectors.Add(factory(entry, settings));
            entry.RejectUnknown();
        }

        root.RejectUnknown();
        return new Site(name, file, siteLabels, collectors);
    }

    /// <summary>A mapping of label names to values; each name must follow Prometheus' rules.</summary>
    public static Labels ReadLabels(ConfigNode node, string key)
    {
        ArgumentNullException.ThrowIfNull(node);
        var map = node.Optional(key);
        if (map is null)
        {
            return Labels.Empty;
        }

        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var label in map.Keys)
        {
            if (!LabelRules.IsValidLabelName(label))
            {
                throw map.Error(label, "is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
            }

            pairs.Add(new KeyValuePair<string, string>(label, map.String(label)));
        }

        map.RejectUnknown();
        return Labels.From(pairs);
    }
}
