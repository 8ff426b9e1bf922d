using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace Aida.Server.Dashboard;

/// <summary>The dashboard's files (<c>Dashboard/wwwroot/</c>), embedded in the assembly and served from memory: nothing
/// is read from disk at run time, so no request path can reach a file outside them.</summary>
internal sealed class StaticFiles
{
    private const string Prefix = "wwwroot/";

    private static readonly FrozenDictionary<string, string> Types = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".ico"] = "image/x-icon",
        [".json"] = "application/json",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private readonly FrozenDictionary<string, byte[]> _files;

    private StaticFiles(FrozenDictionary<string, byte[]> files)
    {
        _files = files;
    }

    /// <summary>Every file embedded under <c>wwwroot/</c>, by its path below it.</summary>
    public static StaticFiles Embedded()
    {
        var assembly = typeof(StaticFiles).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name[Prefix.Length..].Replace('\\', '/')] = copy.ToArray();
        }

        return new StaticFiles(files.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>The file at <paramref name="path"/> (below the site root; empty for <c>index.html</c>), or a problem:
    /// 400 for a path that tries to leave the root or is not plain, 404 for one that is not there.</summary>
    public IResult Serve(string? path)
    {
        path ??= "";
        if (path.Length > 200 || path.Contains('\\', StringComparison.Ordinal) || path.Contains('\0', StringComparison.Ordinal) || path.Contains(':', StringComparison.Ordinal)
            || path.Split('/').Any(segment => segment is "." or ".." || segment.Contains('%', StringComparison.Ordinal)))
        {
            return Results.Problem(title: "bad path", detail: $"'{path}' is not a plain path below the dashboard's root", statusCode: StatusCodes.Status400BadRequest);
        }

        var name = path.Length == 0 || path.EndsWith('/') ? path + "index.html" : path;
        if (!_files.TryGetValue(name, out var bytes))
        {
            return Results.Problem(title: "not found", detail: $"no file '/{path}' (the dashboard is at /)", statusCode: StatusCodes.Status404NotFound);
        }

        var type = Types.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream");
        return Results.Bytes(bytes, type);
    }
}
