using Aida.Model.Config;

namespace Aida.Model.Tests;

/// <summary>Paths of the checkout's bundled files, and scratch files for bad-input tests.</summary>
internal static class Repo
{
    public static string Root => BundledFiles.Root ?? throw new InvalidOperationException("bundled factories/ and scenarios/ not found above the test binary");

    public static string Factory(string name) => Path.Combine(Root, "factories", name + ".yaml");

    /// <summary>Writes <paramref name="text"/> to a fresh temporary file and returns its path.</summary>
    public static string Scratch(string text, string name = "test.yaml")
    {
        var dir = Path.Combine(Path.GetTempPath(), "aida-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The bundled 10 MW factory with one line replaced, for targeted bad-input tests.</summary>
    public static string FactoryWith(string find, string replace)
    {
        var text = File.ReadAllText(Factory("ref-10mw"));
        Assert.Contains(find, text);
        return Scratch(text.Replace(find, replace, StringComparison.Ordinal), "ref-10mw.yaml");
    }
}
