using System.Globalization;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

public class FrontierCommandTests
{
    [Fact]
    public void Help_NamesTheSweepForm()
    {
        var (code, output, _) = Invoke("frontier", "--help");
        Assert.Equal(0, code);
        Assert.Contains("PARAM=FROM..TO:STEP", output, StringComparison.Ordinal);
        Assert.Contains("facility_water_supply", output, StringComparison.Ordinal);
    }

    [Fact]
    public void TinySweep_WarmerWater_LowersPue_AndWritesTableCsvJsonAndChart()
    {
        var dir = TempDir();
        var (code, output, err) = Invoke("frontier", "--scenario", "reference", "--sweep", "facility_water_supply=18..26:8", "--duration", "1h", "--out", dir);
        Assert.True(code == 0, err);

        var rows = output.Split('\n').Where(l => l.TrimStart().StartsWith("18 ", StringComparison.Ordinal) || l.TrimStart().StartsWith("26 ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        double Pue(string row) => double.Parse(row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3], CultureInfo.InvariantCulture);
        Assert.True(Pue(rows[1]) < Pue(rows[0]), output);

        foreach (var file in new[] { "frontier.csv", "frontier.json", "frontier.png", "frontier.svg" })
        {
            Assert.True(new FileInfo(Path.Combine(dir, file)).Length > 0, file);
        }

        // The pack's SLOs are judged at each point: warmer water spends more of the rack-inlet budget.
        var csv = File.ReadAllText(Path.Combine(dir, "frontier.csv")).TrimEnd().Split('\n');
        Assert.Equal(3, csv.Length);
        var column = Array.IndexOf(csv[0].Split(','), "rack-inlet-envelope_budget_consumed");
        Assert.True(column > 0, csv[0]);
        double Consumed(string row) => double.Parse(row.Split(',')[column], CultureInfo.InvariantCulture);
        Assert.True(Consumed(csv[2]) > Consumed(csv[1]), string.Join('\n', csv));
        Assert.False(Directory.Exists(Path.Combine(dir, "runs")), "telemetry stores are removed unless --keep-telemetry");
    }

    [Theory]
    // An unknown parameter, an empty range, a zero step, a malformed sweep, an unknown mode, a bad duration.
    [InlineData("--sweep", "pump_colour=1..2:1", "--sweep: unknown parameter 'pump_colour'")]
    [InlineData("--sweep", "facility_water_supply=30..20:2", "--sweep: 'facility_water_supply=30..20:2': empty range")]
    [InlineData("--sweep", "facility_water_supply=20..30:0", "STEP must be above zero")]
    [InlineData("--sweep", "facility_water_supply:20-30", "expected PARAM=FROM..TO:STEP")]
    [InlineData("--mode", "robot", "--mode: unknown mode 'robot'")]
    [InlineData("--duration", "soon", "--duration:")]
    public void BadInput_ExitsTwoWithOneLine(string option, string value, string expected)
    {
        var args = new List<string> { "frontier", "--out", TempDir() };
        if (option != "--sweep")
        {
            args.AddRange(["--sweep", "facility_water_supply=20..22:2"]);
        }

        args.AddRange([option, value]);
        var (code, _, err) = Invoke([.. args]);
        Assert.Equal(2, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void MissingSweep_ExitsTwo()
    {
        var (code, _, err) = Invoke("frontier");
        Assert.Equal(2, code);
        Assert.Contains("--sweep", err, StringComparison.Ordinal);
    }
}
