using System.Net;
using Aida.Model.Config;
using Aida.Protocols.Modbus;
using Aida.Telemetry.Collectors.Modbus;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Collectors.Modbus;

public class ModbusDeviceMapTests
{
    private static readonly IPEndPoint Device = new(IPAddress.Loopback, 15020);

    [Fact]
    public void SiteEntry_ReadsEveryField()
    {
        var collector = ModbusTestSite.Collector("""
                unit: 3
                max_gap: 2
                max_registers_per_read: 60
                labels: {asset: meter-1, hall: h1}
                registers:
                  - {address: 0, function: input, type: float32, word_order: little, byte_order: little, scale: 1000, offset: -5, unit: watts, metric: aida_power_watts}
                  - {address: 4, type: int16, metric: aida_mode, labels: {hall: h2, phase: a}}
                  - {address: 6, function: input, type: uint32, metric: aida_device_uptime_seconds, uptime: true}
                writable:
                  - {actuator: meter-1/limit, address: 10, type: uint32, scale: 0.1, offset: 1}
            """, Device, new FakeTimeProvider());

        var map = collector.Map;
        Assert.Equal(Device, map.Endpoint);
        Assert.Equal((3, 2, 60), (map.Unit, map.MaxGap, map.MaxRegistersPerRead));
        var power = map.Points[0];
        Assert.Equal(new ModbusValueFormat(ModbusDataType.Float32, ModbusOrder.Little, ModbusOrder.Little), power.Format);
        Assert.Equal((ModbusRegisterTable.Input, 1000.0, -5.0, "watts"), (power.Table, power.Scale, power.Offset, power.Unit));
        Assert.Equal("aida_power_watts", power.Labels.MetricName);
        Assert.Equal("h1", power.Labels.Get("hall"));

        // The register's labels win over the entry's; the defaults are holding, uint16... here int16, big/big.
        var mode = map.Points[1];
        Assert.Equal((ModbusRegisterTable.Holding, "h2", "a", "meter-1"), (mode.Table, mode.Labels.Get("hall"), mode.Labels.Get("phase"), mode.Labels.Get("asset")));
        Assert.Equal(new ModbusValueFormat(ModbusDataType.Int16), mode.Format);
        Assert.Equal(2, map.Uptime); // the register that tells a restart between two polls

        var limit = Assert.Single(map.Writable);
        Assert.Equal(new ModbusWritable("meter-1/limit", 10, new ModbusValueFormat(ModbusDataType.UInt32), 0.1, 1), limit);
        Assert.Equal("meter-1/limit", Assert.Single(collector.Writers).Actuator);
    }

    [Theory]
    // A misspelt type names the field and the choices.
    [InlineData("registers:\n  - {address: 0, type: float, metric: m}\n", "site.yaml:7", "collectors[0].registers[0].type", "float32")]
    // No address.
    [InlineData("registers:\n  - {type: uint16, metric: m}\n", "site.yaml:7", "collectors[0].registers[0].address", "required")]
    // A float64 at 65533 runs past the last register.
    [InlineData("registers:\n  - {address: 65533, type: float64, metric: m}\n", "site.yaml:7", "registers[0].address", "runs past")]
    // A metric name Prometheus refuses.
    [InlineData("registers:\n  - {address: 0, metric: 9lives}\n", "site.yaml:7", "registers[0].metric", "not a valid metric name")]
    // Two registers giving the same series.
    [InlineData("registers:\n  - {address: 0, metric: m}\n  - {address: 1, metric: m}\n", "site.yaml:8", "registers[1].metric", "registers[0]")]
    // A misspelt register field.
    [InlineData("registers:\n  - {address: 0, metric: m, scael: 2}\n", "site.yaml:7", "registers[0].scael", "unknown field")]
    // Input is read-only but "function" only takes holding or input.
    [InlineData("registers:\n  - {address: 0, metric: m, function: coil}\n", "site.yaml:7", "registers[0].function", "holding, input")]
    // The same actuator twice.
    [InlineData("writable:\n  - {actuator: a/b, address: 0}\n  - {actuator: a/b, address: 1}\n", "site.yaml:8", "writable[1].actuator", "earlier")]
    // A zero scale cannot be inverted for a write.
    [InlineData("writable:\n  - {actuator: a/b, address: 0, scale: 0}\n", "site.yaml:7", "writable[0].scale", "zero")]
    // Two registers each said to read the device's uptime.
    [InlineData("registers:\n  - {address: 0, metric: a, uptime: true}\n  - {address: 2, metric: b, uptime: true}\n", "site.yaml:8", "registers[1].uptime", "registers[0] already reads the device's uptime")]
    // Uptime is yes or no.
    [InlineData("registers:\n  - {address: 0, metric: a, uptime: maybe}\n", "site.yaml:7", "registers[0].uptime", "maybe")]
    // Unit id 300.
    [InlineData("unit: 300\nregisters:\n  - {address: 0, metric: m}\n", "site.yaml:6", "collectors[0].unit", "out of range")]
    // Nothing to read or write.
    [InlineData("unit: 1\n", "site.yaml:3", "collectors[0].registers", "at least one")]
    public void SiteEntry_Errors_NameFileLineAndField(string fields, string line, string field, string problem)
    {
        var indented = string.Concat(fields.Split('\n').Select(l => l.Length == 0 ? "" : "    " + l + "\n"));
        var e = Assert.Throws<ConfigException>(() => ModbusTestSite.Collector(indented, Device, new FakeTimeProvider()));
        Assert.Contains(line, e.Message, StringComparison.Ordinal);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    // Host names are kept for DNS; the port defaults to 502.
    [InlineData("meter-7.site.example:1502", "meter-7.site.example", 1502)]
    [InlineData("meter-7", "meter-7", 502)]
    [InlineData("10.0.0.7", "10.0.0.7", 502)]
    [InlineData("[::1]:15020", "::1", 15020)]
    public void Address_TakesHostsIpsAndDefaultPort(string address, string host, int port)
    {
        var loader = new Aida.Telemetry.Collectors.SiteLoader(new Dictionary<string, Aida.Telemetry.Collectors.CollectorFactory> { ["modbus"] = ModbusCollector.Factory }, TimeProvider.System);
        var site = loader.Parse($"site: s\ncollectors:\n  - {{type: modbus, name: m, address: \"{address}\", registers: [{{address: 0, metric: m}}]}}\n", "site.yaml");
        var endpoint = ((ModbusCollector)site.Collectors[0]).Map.Endpoint;
        Assert.Equal((host, port), endpoint switch
        {
            IPEndPoint ip => (ip.Address.ToString(), ip.Port),
            DnsEndPoint dns => (dns.Host, dns.Port),
            _ => ("", 0),
        });
    }

    [Fact]
    public void Address_WithABadPort_IsAnError()
    {
        var loader = new Aida.Telemetry.Collectors.SiteLoader(new Dictionary<string, Aida.Telemetry.Collectors.CollectorFactory> { ["modbus"] = ModbusCollector.Factory }, TimeProvider.System);
        var e = Assert.Throws<ConfigException>(() => loader.Parse("site: s\ncollectors:\n  - {type: modbus, name: m, address: \"meter:99999\", registers: [{address: 0, metric: m}]}\n", "site.yaml"));
        Assert.Contains("collectors[0].address", e.Message, StringComparison.Ordinal);
    }
}
