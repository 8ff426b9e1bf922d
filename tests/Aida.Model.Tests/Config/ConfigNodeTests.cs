using Aida.Model.Config;

namespace Aida.Model.Tests.Config;

public class ConfigNodeTests
{
    [Fact]
    public void Parse_MalformedYaml_NamesFileAndLine()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigNode.Parse("name: x\nsite: [unclosed\nother: 1\n", "f.yaml"));
        Assert.StartsWith("f.yaml:", e.Message, StringComparison.Ordinal);
        Assert.Contains("malformed YAML", e.Message, StringComparison.Ordinal);
        Assert.True(e.Line >= 2);
    }

    [Fact]
    public void RejectUnknown_NamesTheMisspeltField()
    {
        var root = ConfigNode.Parse("name: x\nnmae: y\n", "f.yaml");
        root.String("name");
        var e = Assert.Throws<ConfigException>(root.RejectUnknown);
        Assert.Equal("f.yaml:2: nmae: unknown field", e.Message);
    }

    [Fact]
    public void Number_OutOfRange_NamesFieldPathAndRange()
    {
        var root = ConfigNode.Parse("gpu:\n  max_power_watts: 9000\n", "f.yaml");
        var e = Assert.Throws<ConfigException>(() => root.Required("gpu").Number("max_power_watts", 1, 5000));
        Assert.Equal("f.yaml:2: gpu.max_power_watts: 9000 is out of range [1, 5000]", e.Message);
    }

    [Theory]
    [InlineData("x: abc", "'abc' is not a number")]
    [InlineData("x: .nan", "'.nan' is not a number")] // YAML NaN is not a usable setting
    [InlineData("x: [1, 2]", "expected a single value")]
    public void Number_NotANumber_IsRejected(string yaml, string problem)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigNode.Parse(yaml, "f.yaml").Number("x"));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Required_Missing_SaysRequired()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigNode.Parse("a: 1", "f.yaml").String("name"));
        Assert.Equal("f.yaml:1: name: is required", e.Message);
    }

    [Fact]
    public void Load_MissingFile_SaysNotFound()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigNode.Load("/nonexistent/x.yaml"));
        Assert.Equal("/nonexistent/x.yaml: file not found", e.Message);
    }

    [Fact]
    public void Duration_Negative_IsRejected()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigNode.Parse("duration: -1h", "s.yaml").Duration("duration"));
        Assert.Contains("s.yaml:1: duration: duration '-1h' is negative", e.Message, StringComparison.Ordinal);
    }
}
