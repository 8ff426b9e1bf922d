namespace Aida.Model.Config;

/// <summary>A configuration file that cannot be used, with the place and field at fault.</summary>
/// <remarks>The message reads <c>file:line: field: problem</c>, the shape compilers use, so editors can jump to it.</remarks>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, int line, string field, string problem)
        : base(Format(file, line, field, problem))
    {
        File = file;
        Line = line;
        Field = field;
        Problem = problem;
    }

    public ConfigException() : base("invalid configuration")
    {
        File = "";
        Field = "";
        Problem = "invalid configuration";
    }

    public ConfigException(string message) : base(message)
    {
        File = "";
        Field = "";
        Problem = message;
    }

    public ConfigException(string message, Exception innerException) : base(message, innerException)
    {
        File = "";
        Field = "";
        Problem = message;
    }

    /// <summary>The file as the user named it (relative paths stay relative).</summary>
    public string File { get; }

    /// <summary>1-based line, or 0 when the problem is the file as a whole.</summary>
    public int Line { get; }

    /// <summary>Dotted path of the field, e.g. <c>racks[3].cdu</c>; empty for the whole file.</summary>
    public string Field { get; }

    public string Problem { get; }

    private static string Format(string file, int line, string field, string problem)
    {
        var where = line > 0 ? $"{file}:{line}" : file;
        return field.Length > 0 ? $"{where}: {field}: {problem}" : $"{where}: {problem}";
    }
}
