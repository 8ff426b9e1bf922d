using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Aida.Model.Config;

/// <summary>A node of a YAML config file that remembers where it came from, so every error names file, line and field.</summary>
/// <remarks>
/// Readers pull fields by name and the node checks, on <see cref="RejectUnknown"/>, that nothing else was written:
/// a misspelt key is an error, not a silently ignored setting.
/// </remarks>
public sealed class ConfigNode
{
    private readonly YamlNode _node;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private ConfigNode(string file, string path, YamlNode node)
    {
        File = file;
        Path = path;
        _node = node;
    }

    public string File { get; }

    /// <summary>Dotted path from the document root, e.g. <c>racks[3]</c>.</summary>
    public string Path { get; }

    public int Line => (int)_node.Start.Line;

    /// <summary>Parses a YAML file; a missing file or malformed YAML is a <see cref="ConfigException"/>.</summary>
    public static ConfigNode Load(string path, string? displayName = null)
    {
        var name = displayName ?? path;
        if (!System.IO.File.Exists(path))
        {
            throw new ConfigException(name, 0, "", "file not found");
        }

        return Parse(System.IO.File.ReadAllText(path), name);
    }

    /// <summary>Parses YAML text; <paramref name="file"/> is only used in error messages.</summary>
    public static ConfigNode Parse(string text, string file)
    {
        var stream = LoadStream(text, file);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigException(file, 1, "", "expected a YAML mapping at the top level");
        }

        return new ConfigNode(file, "", root);
    }

    /// <summary>Parses every document of a multi-document YAML file (documents separated by <c>---</c>), each a mapping;
    /// empty documents are skipped. A missing file or malformed YAML is a <see cref="ConfigException"/>.</summary>
    public static IReadOnlyList<ConfigNode> LoadDocuments(string path, string? displayName = null)
    {
        var name = displayName ?? path;
        if (!System.IO.File.Exists(path))
        {
            throw new ConfigException(name, 0, "", "file not found");
        }

        return ParseDocuments(System.IO.File.ReadAllText(path), name);
    }

    /// <inheritdoc cref="LoadDocuments"/>
    public static IReadOnlyList<ConfigNode> ParseDocuments(string text, string file)
    {
        var stream = LoadStream(text, file);
        var documents = new List<ConfigNode>(stream.Documents.Count);
        foreach (var document in stream.Documents)
        {
            if (IsNull(document.RootNode))
            {
                continue;
            }

            if (document.RootNode is not YamlMappingNode root)
            {
                throw new ConfigException(file, (int)document.RootNode.Start.Line, "", "expected a YAML mapping at the top of the document");
            }

            documents.Add(new ConfigNode(file, "", root));
        }

        return documents;
    }

    private static YamlStream LoadStream(string text, string file)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StringReader(text);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            var problem = e.InnerException?.Message ?? e.Message;
            problem = problem.Replace("\n", " ", StringComparison.Ordinal);
            throw new ConfigException(file, (int)e.Start.Line, "", $"malformed YAML: {StripPosition(problem)}");
        }
        catch (InvalidOperationException)
        {
            // Some scanner failures surface without a position: rescan token by token to find the line.
            throw new ConfigException(file, FailingLine(text), "", "malformed YAML: cannot read this line");
        }

        return stream;
    }

    private static int FailingLine(string text)
    {
        using var reader = new StringReader(text);
        var scanner = new Scanner(reader);
        try
        {
            while (scanner.MoveNext())
            {
            }
        }
        catch (Exception e) when (e is InvalidOperationException or YamlException)
        {
            return (int)scanner.CurrentPosition.Line;
        }

        return 0;
    }

    private static string StripPosition(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 1, Idx: 10) - (Line: ...): "; we already print the line.
        var i = message.LastIndexOf("): ", StringComparison.Ordinal);
        return i >= 0 && message.StartsWith("(Line", StringComparison.Ordinal) ? message[(i + 3)..] : message;
    }

    public ConfigException Error(string problem) => new(File, Line, Path, problem);

    public ConfigException Error(string field, string problem) => new(File, Line, Join(field), problem);

    public bool Has(string key) => Mapping.Children.ContainsKey(new YamlScalarNode(key));

    public ConfigNode? Optional(string key)
    {
        _read.Add(key);
        return Mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) && !IsNull(child)
            ? new ConfigNode(File, Join(key), child)
            : null;
    }

    public ConfigNode Required(string key) => Optional(key) ?? throw Error(key, "is required");

    public IReadOnlyList<ConfigNode> List(string key, bool required = false)
    {
        var node = required ? Required(key) : Optional(key);
        if (node is null)
        {
            return [];
        }

        if (node._node is not YamlSequenceNode seq)
        {
            throw node.Error("expected a list");
        }

        var items = new List<ConfigNode>(seq.Children.Count);
        for (var i = 0; i < seq.Children.Count; i++)
        {
            items.Add(new ConfigNode(File, $"{node.Path}[{i}]", seq.Children[i]));
        }

        return items;
    }

    /// <summary>Whether this node is a list (a YAML sequence).</summary>
    public bool IsList => _node is YamlSequenceNode;

    /// <summary>The keys of a mapping node, in file order.</summary>
    public IReadOnlyList<string> Keys => Mapping.Children.Keys.Select(k => ((YamlScalarNode)k).Value ?? "").ToList();

    public string Scalar()
    {
        if (_node is not YamlScalarNode s || s.Value is null)
        {
            throw Error("expected a single value");
        }

        return s.Value;
    }

    public string String(string key) => Required(key).Scalar();

    public string? OptionalString(string key) => Optional(key)?.Scalar();

    public string String(string key, string fallback) => Optional(key)?.Scalar() ?? fallback;

    public double Number(string key, double? min = null, double? max = null) => Required(key).AsNumber(min, max);

    public double NumberOr(string key, double fallback, double? min = null, double? max = null) =>
        Optional(key)?.AsNumber(min, max) ?? fallback;

    public int Integer(string key, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        var node = Optional(key);
        if (node is null)
        {
            return fallback;
        }

        if (!int.TryParse(node.Scalar(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            throw node.Error($"'{node.Scalar()}' is not a whole number");
        }

        if (value < min || value > max)
        {
            throw node.Error($"{value} is out of range [{min}, {max}]");
        }

        return value;
    }

    public bool Boolean(string key, bool fallback)
    {
        var node = Optional(key);
        if (node is null)
        {
            return fallback;
        }

        return node.Scalar() switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            var other => throw node.Error($"'{other}' is not true or false"),
        };
    }

    public double AsNumber(double? min = null, double? max = null)
    {
        var text = Scalar();
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            throw Error($"'{text}' is not a number");
        }

        if (value < min || value > max)
        {
            throw Error($"{text} is out of range [{Fmt(min)}, {Fmt(max)}]");
        }

        return value;
    }

    public TimeSpan Duration(string key, TimeSpan fallback, bool allowZero = true) =>
        Optional(key) is { } node ? node.AsDuration(allowZero) : fallback;

    public TimeSpan Duration(string key, bool allowZero = true) => Required(key).AsDuration(allowZero);

    public TimeSpan AsDuration(bool allowZero = true)
    {
        var text = Scalar();
        if (!PromDuration.TryParse(text, out var value, out var problem))
        {
            throw Error(problem);
        }

        if (value == TimeSpan.Zero && !allowZero)
        {
            throw Error("must be longer than zero");
        }

        return value;
    }

    public T Enum<T>(string key, T fallback, IReadOnlyDictionary<string, T> names)
    {
        var node = Optional(key);
        if (node is null)
        {
            return fallback;
        }

        return names.TryGetValue(node.Scalar(), out var value)
            ? value
            : throw node.Error($"unknown value '{node.Scalar()}' (expected one of: {string.Join(", ", names.Keys)})");
    }

    /// <summary>Fails on any key this node has that the reader never asked for.</summary>
    public void RejectUnknown()
    {
        foreach (var (key, value) in Mapping.Children)
        {
            var name = ((YamlScalarNode)key).Value ?? "";
            if (!_read.Contains(name))
            {
                throw new ConfigException(File, (int)key.Start.Line, Join(name), "unknown field");
            }
        }
    }

    private YamlMappingNode Mapping => _node as YamlMappingNode ?? throw Error("expected a mapping of fields");

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: "" or "~" or "null" };

    private string Join(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    private static string Fmt(double? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "∞";
}
