namespace Aida.Model.Config;

/// <summary>Finds the factories, scenarios and weather files that ship with Aida.</summary>
/// <remarks>
/// Looked for beside the binary first (the build copies them there), then in the current directory and its parents,
/// so <c>dotnet run</c> from anywhere in a checkout finds the checkout's files.
/// </remarks>
public static class BundledFiles
{
    public static string? Root { get; } = FindRoot();

    /// <summary>Resolves <paramref name="name"/> as a path (absolute, or relative to <paramref name="relativeTo"/> or the current
    /// directory) or as a bundled name: <c>reference</c> is <c>scenarios/reference.yaml</c>, <c>ref-10mw</c> is <c>factories/ref-10mw.yaml</c>.</summary>
    public static string Resolve(string name, string folder, string? relativeTo = null)
    {
        var candidates = new List<string>();
        if (Path.IsPathRooted(name))
        {
            return name;
        }

        if (relativeTo is not null)
        {
            candidates.Add(Path.Combine(relativeTo, name));
        }

        candidates.Add(Path.GetFullPath(name));
        if (Root is not null)
        {
            candidates.Add(Path.Combine(Root, name));
            candidates.Add(Path.Combine(Root, folder, name));
            candidates.Add(Path.Combine(Root, folder, name + ".yaml"));
        }

        foreach (var c in candidates)
        {
            if (File.Exists(c))
            {
                return c;
            }
        }

        return name;
    }

    /// <summary>A file Aida ships and runs on (the safety envelope, a runbook), by folder and name: only ever the
    /// install's own (<see cref="Root"/>), never a file of that name in the current directory, which
    /// <see cref="Resolve"/> would take first. A scenario named <c>leak.yaml</c> where the command ran once became the
    /// runbooks' directory; an <c>envelope.yaml</c> there would have become the safety envelope.</summary>
    /// <exception cref="FileNotFoundException">Aida's files are not beside the binary nor above the current directory.</exception>
    /// <param name="name">The file in <paramref name="folder"/>; null for the folder itself (the runbooks').</param>
    public static string Shipped(string folder, string? name = null)
    {
        var relative = name is null ? folder : Path.Combine(folder, name);
        return Root is { } root
            ? Path.Combine(root, relative)
            : throw new FileNotFoundException($"{relative}: the files Aida ships are neither beside the binary nor in a parent of the current directory", relative);
    }

    private static string? FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (Directory.Exists(Path.Combine(dir.FullName, "factories")) && Directory.Exists(Path.Combine(dir.FullName, "scenarios")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }
}
