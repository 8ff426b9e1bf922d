using Aida.Model.Config;
using Aida.Twin.Weather;

namespace Aida.Twin.Tests.Weather;

public class EpwWeatherTests
{
    private static string Leesburg => Path.Combine(BundledFiles.Root!, "weather", "USA_VA_Leesburg.Exec.epw");

    [Fact]
    public void Leesburg_JulyIsWarmerThanJanuary()
    {
        var july = EpwWeather.Load(Leesburg, new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero));
        var january = EpwWeather.Load(Leesburg, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        double Mean(EpwWeather w) => Enumerable.Range(0, 24 * 14).Average(h => w.At(h * 3600).DryBulbCelsius);
        Assert.InRange(Mean(july), 20, 30);
        Assert.InRange(Mean(january), -6, 8);
    }

    [Fact]
    public void At_InterpolatesBetweenHours()
    {
        var w = EpwWeather.Load(Leesburg, new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero));
        var a = w.At(0).DryBulbCelsius;
        var b = w.At(3600).DryBulbCelsius;
        Assert.Equal((a + b) / 2, w.At(1800).DryBulbCelsius, 6);
    }

    [Fact]
    public void At_WrapsAroundTheEndOfTheYear()
    {
        var w = EpwWeather.Load(Leesburg, new DateTimeOffset(2025, 12, 31, 23, 0, 0, TimeSpan.Zero));
        Assert.True(double.IsFinite(w.At(7200).DryBulbCelsius));
    }

    [Fact]
    public void Load_TruncatedFile_NamesTheProblem()
    {
        var path = Path.Combine(Path.GetTempPath(), $"aida-{Guid.NewGuid():N}.epw");
        File.WriteAllLines(path, File.ReadLines(Leesburg).Take(100));
        try
        {
            var e = Assert.Throws<ConfigException>(() => EpwWeather.Load(path, DateTimeOffset.UnixEpoch));
            Assert.Contains("has 92 hourly rows, expected 8760", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_BadField_NamesLineAndField()
    {
        var path = Path.Combine(Path.GetTempPath(), $"aida-{Guid.NewGuid():N}.epw");
        var lines = File.ReadAllLines(Leesburg);
        var f = lines[20].Split(',');
        f[6] = "hot";
        lines[20] = string.Join(',', f);
        File.WriteAllLines(path, lines);
        try
        {
            var e = Assert.Throws<ConfigException>(() => EpwWeather.Load(path, DateTimeOffset.UnixEpoch));
            Assert.Contains(":21: field 7 (dry bulb): 'hot' is not a valid value", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
