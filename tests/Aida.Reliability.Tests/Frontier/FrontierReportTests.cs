using System.Text.Json;
using Aida.Reliability.Frontier;

namespace Aida.Reliability.Tests.Frontier;

public class FrontierReportTests
{
    private static FrontierReport Report(bool withSlos)
    {
        Assert.True(SweepSpec.TryParse("facility_water_supply=18..26:8", out var spec, out _));
        IReadOnlyList<FrontierSlo> Slos(double consumed) => withSlos
            ? [new FrontierSlo("rack-inlet-envelope", 0.999, 1 - (consumed * 0.001), consumed), new FrontierSlo("power-redundancy", 0.999, 1, 0)]
            : [];
        return new FrontierReport("reference", "none", 42, TimeSpan.FromHours(2), spec!,
        [
            new FrontierPoint(18, 13_300, 16_500, 2_000, 1.245, 0, 23.5, 72.6, 0, Slos(0)),
            new FrontierPoint(26, 13_300, 15_300, 900, 1.154, 2, 30.5, 72.6, 0, Slos(12.5)),
        ]);
    }

    [Fact]
    public void Table_HasARowPerSettingAndABudgetColumnPerSlo()
    {
        var w = new StringWriter();
        Report(withSlos: true).WriteTable(w);
        var lines = w.ToString().TrimEnd().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Contains("rack-inlet-envelope budget", lines[0], StringComparison.Ordinal);
        Assert.Contains("1.154", lines[2], StringComparison.Ordinal);
        Assert.Contains("1250.0 %", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_HasAttainedAndConsumedPerSlo()
    {
        var csv = Report(withSlos: true).ToCsv().TrimEnd().Split('\n');
        Assert.StartsWith("facility_water_supply,it_energy_kwh,", csv[0], StringComparison.Ordinal);
        Assert.EndsWith("power-redundancy_attained,power-redundancy_budget_consumed", csv[0], StringComparison.Ordinal);
        Assert.StartsWith("26,13300,15300,900,1.154,", csv[2], StringComparison.Ordinal);
        Assert.Equal(csv[0].Split(',').Length, csv[2].Split(',').Length);
    }

    [Fact]
    public void Json_ParsesAndCarriesTheSweep()
    {
        var json = JsonDocument.Parse(Report(withSlos: true).ToJson()).RootElement;
        Assert.Equal("facility_water_supply=18..26:8", json.GetProperty("sweep").GetString());
        Assert.Equal(7200, json.GetProperty("duration_seconds").GetDouble());
        var point = json.GetProperty("points")[1];
        Assert.Equal(1.154, point.GetProperty("pue").GetDouble());
        Assert.Equal(12.5, point.GetProperty("slos")[0].GetProperty("budget_consumed").GetDouble());
    }

    [Theory]
    // Without SLOs: two panels (efficiency, temperatures); with them, two more (PUE and energy against budget).
    [InlineData(false, 520)]
    [InlineData(true, 1040)]
    public void Chart_WritesPngAndSvgWithAPanelRowPerPair(bool withSlos, int height)
    {
        var dir = Directory.CreateTempSubdirectory("aida-frontier-chart").FullName;
        try
        {
            AssertChart(withSlos, height, dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void AssertChart(bool withSlos, int height, string dir)
    {
        var png = Path.Combine(dir, "f.png");
        var svg = Path.Combine(dir, "f.svg");
        FrontierChart.SavePng(Report(withSlos), png);
        FrontierChart.SaveSvg(Report(withSlos), svg);

        var bytes = File.ReadAllBytes(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        // The IHDR chunk holds width and height, big-endian, at bytes 16-23.
        Assert.Equal(1600, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]);
        Assert.Equal(height, (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23]);
        var text = File.ReadAllText(svg);
        Assert.Contains($"width=\"1600\" height=\"{height}\"", text, StringComparison.Ordinal);
        Assert.Contains("PUE", text, StringComparison.Ordinal);
    }
}
