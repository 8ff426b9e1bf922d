using Aida.Model.Config;
using Aida.Reliability.OpenSlo;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Reliability.Tests.OpenSlo;

/// <summary>Bad input never crashes the loader: a damaged SLO file either loads or is a <see cref="ConfigException"/>.</summary>
public sealed class SloLoaderRobustnessTests
{
    private static readonly string[] Lines = File.ReadAllLines(SyntheticPlant.SloFile);

    private static readonly string[] Junk = ["", ":", "- x", "{", "]", "0", "-1", "1.5", "null", "~", "\"", "'", "&a", "*a", "[1, 2]", "{a: b}", "---", "\t", "1e999", "P1D", "99h"];

    private static bool LoadsOrRefusesCleanly(string text)
    {
        try
        {
            SloLoader.Parse(text, "damaged.yaml");
            return true;
        }
        catch (ConfigException e)
        {
            return e.Message.StartsWith("damaged.yaml", StringComparison.Ordinal);
        }
    }

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property ALineDeleted_LoadsOrIsAConfigError() =>
        Prop.ForAll(Gen.Choose(0, Lines.Length - 1).ToArbitrary(), i => LoadsOrRefusesCleanly(string.Join('\n', Lines.Where((_, j) => j != i))));

    [Property(MaxTest = 500, Replay = "1234567890123456789,987654321987654321")]
    public Property AValueReplacedByJunk_LoadsOrIsAConfigError() =>
        Prop.ForAll(
            (from i in Gen.Choose(0, Lines.Length - 1) from j in Gen.Choose(0, Junk.Length - 1) select (i, j)).ToArbitrary(),
            c =>
            {
                var damaged = (string[])Lines.Clone();
                var line = damaged[c.i];
                var colon = line.IndexOf(": ", StringComparison.Ordinal);
                damaged[c.i] = colon >= 0 ? line[..(colon + 2)] + Junk[c.j] : line + Junk[c.j];
                return LoadsOrRefusesCleanly(string.Join('\n', damaged));
            });
}
