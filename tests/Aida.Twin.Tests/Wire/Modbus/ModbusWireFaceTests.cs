using System.Net;
using Aida.Model.Config;
using Aida.Model.Plant;
using Aida.Protocols.Modbus;
using Aida.Twin.Simulation;
using Aida.Twin.Wire.Modbus;

namespace Aida.Twin.Tests.Wire.Modbus;

public class ModbusWireFaceTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static IPlant TinyPlant() => new Simulator(TestPlants.Tiny(), new SimulationOptions { NoOperator = true }).Plant;

    [Fact]
    public void Map_ServesEveryPointAndActuatorOfMeteringAndCoolingAssets_NotRacksHallsOrUpses()
    {
        var plant = TinyPlant();
        var devices = PlantRegisterMap.Build(plant);
        var assets = devices.Select(d => d.Asset).ToList();
        Assert.Equal(
            ["site", "facility-water", "economiser", "chiller-1", "chiller-2", "dc-1", "dc-2", "cdu-1", "crah-1", "crah-2", "crah-3", "utility-a", "utility-b", "gen-a", "gen-b", "tx-a", "tx-b"],
            assets);

        var served = devices.SelectMany(d => d.Inputs).Select(p => p.Point.Index).ToHashSet();
        foreach (var p in plant.Points)
        {
            var racky = p.Labels.ContainsKey("rack") || p.Labels.ContainsKey("le") || p.Asset.StartsWith("ups-", StringComparison.Ordinal);
            Assert.True(served.Contains(p.Index) != racky, $"{p.Name} served: {served.Contains(p.Index)}");
        }

        var writable = devices.SelectMany(d => d.Holding).Select(s => s.Actuator.Name).ToHashSet();
        Assert.Equal(plant.Actuators.Where(a => assets.Contains(a.Asset)).Select(a => a.Name).ToHashSet(), writable);
        Assert.Contains("cdu-1/supply_setpoint", writable);
        Assert.DoesNotContain("r01/gpu_power_limit", writable);

        // Registers are packed from 0 in the plant's order; energy counters are float64, on/off settings uint16.
        foreach (var d in devices)
        {
            var next = 0;
            foreach (var p in d.Inputs)
            {
                Assert.Equal(next, p.Address);
                Assert.Equal(p.Point.Unit == "joules" ? ModbusDataType.Float64 : ModbusDataType.Float32, p.Format.Type);
                next += p.Format.Registers;
            }
        }

        var chiller = devices.Single(d => d.Asset == "chiller-1").Holding.Single();
        Assert.Equal(("chiller-1/enable", (ushort)0, ModbusDataType.UInt16), (chiller.Actuator.Name, chiller.Address, chiller.Format.Type));
        Assert.Equal(ModbusDataType.Float64, devices[0].Inputs.Single(p => p.Point.Name == "site/facility_energy").Format.Type);
    }

    [Theory]
    // The maps docs/protocols.md documents, register by register.
    [InlineData("site", "ambient_dry_bulb 0, ambient_wet_bulb 2, it_power 4, facility_power 6, it_energy 8, facility_energy 12", "")]
    [InlineData("facility-water", "supply_temperature 0, return_temperature 2, flow 4, pump_power 6, supply_setpoint 8, supply_setpoint_command 10, pump_speed 12, pump_speed_command 14", "supply_setpoint 0, pump_speed 2")]
    [InlineData("economiser", "enabled 0, heat 2, enable_command 4", "enable 0")]
    [InlineData("chiller-1", "power 0, running 2, fault 4, enable_command 6, starting 8, maintenance 10", "enable 0")]
    [InlineData("dc-1", "fan_power 0, fan_speed 2", "")]
    [InlineData("cdu-1", "supply_temperature 0, return_temperature 2, flow 4, pump_power 6, valve 8, pumps_running 10, pump_faults 12, coolant_level 14, supply_setpoint 16, supply_setpoint_command 18, pump_speed 20, pump_speed_command 22, valve_command 24, valve_fault 26", "supply_setpoint 0, pump_speed 2")]
    [InlineData("crah-1", "supply_air_temperature 0, fan_power 2, running 4, fault 6, supply_setpoint 8, supply_setpoint_command 10, fan_speed 12, fan_speed_command 14, enable_command 16, starting 18, maintenance 20", "supply_setpoint 0, fan_speed 2, enable 4")]
    [InlineData("utility-a", "available 0", "")]
    [InlineData("gen-a", "running 0", "")]
    [InlineData("tx-a", "load 0", "")]
    public void Map_IsTheDocumentedOne(string asset, string inputs, string holding)
    {
        var device = PlantRegisterMap.Build(TinyPlant()).Single(d => d.Asset == asset);
        Assert.Equal(inputs, string.Join(", ", device.Inputs.Select(p => $"{p.Point.Name[(asset.Length + 1)..]} {p.Address}")));
        Assert.Equal(holding, string.Join(", ", device.Holding.Select(s => $"{s.Actuator.Name[(asset.Length + 1)..]} {s.Address}")));
    }

    [Fact]
    public async Task EveryServedPoint_ReadsOverTheWireAsThePlantReadsIt()
    {
        var plant = TinyPlant();
        await using var face = new ModbusWireFace(plant, IPAddress.Loopback, basePort: 0);
        await face.StartAsync(CancellationToken.None);
        var checkedPoints = 0;
        for (var i = 0; i < face.Devices.Count; i++)
        {
            var device = face.Devices[i];
            await using var client = await ModbusTcpClient.ConnectAsync(face.EndpointOf(i));
            var registers = new ushort[device.InputRegisters];
            for (var start = 0; start < registers.Length; start += 125)
            {
                var count = (ushort)Math.Min(125, registers.Length - start);
                var read = await client.ReadRegistersAsync(1, ModbusRegisterTable.Input, (ushort)start, count).WaitAsync(Guard);
                Assert.True(read.Ok, read.Problem);
                read.Registers.CopyTo(registers, start);
            }

            foreach (var p in device.Inputs)
            {
                var expected = plant.Read(p.Point.Index).Value;
                var actual = p.Format.Decode(registers.AsSpan(p.Address));
                Assert.Equal(p.Format.Type == ModbusDataType.Float32 ? (float)expected : expected, actual);
                checkedPoints++;
            }

            // One register past the map is an illegal address.
            var past = await client.ReadRegistersAsync(1, ModbusRegisterTable.Input, (ushort)device.InputRegisters, 1);
            Assert.Equal(ModbusExceptionCode.IllegalDataAddress, past.Exception);
        }

        Assert.Equal(face.Devices.Sum(d => d.Inputs.Count), checkedPoints);
    }

    [Fact]
    public async Task Setpoints_WriteThroughThePlant_AndRefusedValuesAreIllegalDataValue()
    {
        var plant = new RecordingPlant(TinyPlant());
        await using var face = new ModbusWireFace(plant, IPAddress.Loopback, basePort: 0);
        await face.StartAsync(CancellationToken.None);
        var cdu = IndexOf(face, "cdu-1");
        var setpoint = face.Devices[cdu].Holding.Single(s => s.Actuator.Name == "cdu-1/supply_setpoint");
        await using var client = await ModbusTcpClient.ConnectAsync(face.EndpointOf(cdu));

        // Before any write, the setpoint register reads the plant's setpoint point (30 °C in the tiny factory).
        var initial = await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, setpoint.Address, 2);
        Assert.Equal(30, setpoint.Format.Decode(initial.Registers));

        var words = new ushort[2];
        setpoint.Format.TryEncode(28.5, words, out _);
        Assert.True((await client.WriteMultipleRegistersAsync(1, setpoint.Address, words)).Ok);
        Assert.Equal(("cdu-1/supply_setpoint", 28.5), plant.Writes.Single());
        var back = await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, setpoint.Address, 2);
        Assert.Equal(28.5, setpoint.Format.Decode(back.Registers));

        // 99 °C is out of the plant's range: refused, nothing written, the register unchanged.
        setpoint.Format.TryEncode(99, words, out _);
        var refused = await client.WriteMultipleRegistersAsync(1, setpoint.Address, words);
        Assert.Equal(ModbusExceptionCode.IllegalDataValue, refused.Exception);
        Assert.Single(plant.Writes);
        Assert.Equal(28.5, setpoint.Format.Decode((await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, setpoint.Address, 2)).Registers));

        // Half a float (function 6 on a float32 setting) is an illegal address.
        var half = await client.WriteSingleRegisterAsync(1, setpoint.Address, 0x41E4);
        Assert.Equal(ModbusExceptionCode.IllegalDataAddress, half.Exception);
        Assert.Single(plant.Writes);
    }

    [Fact]
    public async Task OnOffSettings_AreUInt16_WrittenWithFunction6()
    {
        var plant = new RecordingPlant(TinyPlant());
        await using var face = new ModbusWireFace(plant, IPAddress.Loopback, basePort: 0);
        await face.StartAsync(CancellationToken.None);
        var chiller = IndexOf(face, "chiller-2");
        await using var client = await ModbusTcpClient.ConnectAsync(face.EndpointOf(chiller));

        // The plant has no point named chiller-2/enable: not known until commanded.
        Assert.Equal(PlantRegisterBank.NotCommanded, (await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, 0, 1)).Registers[0]);
        Assert.True((await client.WriteSingleRegisterAsync(1, 0, 1)).Ok);
        Assert.Equal(("chiller-2/enable", 1.0), plant.Writes.Single());
        Assert.Equal((ushort)1, (await client.ReadRegistersAsync(1, ModbusRegisterTable.Holding, 0, 1)).Registers[0]);
        Assert.Equal(ModbusExceptionCode.IllegalDataValue, (await client.WriteSingleRegisterAsync(1, 0, 2)).Exception);
    }

    [Fact]
    public void Ports_AreTheBasePortPlusTheDeviceIndex_AndSiteCollectorsCoverEveryDevice()
    {
        var face = new ModbusWireFace(TinyPlant(), IPAddress.Loopback, basePort: 30000);
        Assert.Equal("modbus site 127.0.0.1:30000", face.Endpoints[0]);
        Assert.Equal($"modbus cdu-1 127.0.0.1:{30000 + IndexOf(face, "cdu-1")}", face.Endpoints[IndexOf(face, "cdu-1")]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModbusWireFace(TinyPlant(), IPAddress.Loopback, basePort: 65530));

        var site = ConfigNode.Parse("site: test\ncollectors:\n" + face.SiteCollectors(), "twin-local.yaml");
        var entries = site.List("collectors");
        Assert.Equal(face.Devices.Count, entries.Count);
        var cdu = entries[IndexOf(face, "cdu-1")];
        Assert.Equal(("modbus", "modbus-cdu-1", "127.0.0.1:" + (30000 + IndexOf(face, "cdu-1")), "10s"), (cdu.String("type"), cdu.String("name"), cdu.String("address"), cdu.String("interval")));
        var supply = cdu.List("registers")[0];
        Assert.Equal(("aida_cdu_supply_celsius", "input", "float32"), (supply.String("metric"), supply.String("function"), supply.String("type")));
        var labels = supply.Required("labels");
        Assert.Equal(("test-site", "cdu-1", "hall-1"), (labels.String("site"), labels.String("asset"), labels.String("hall")));
        Assert.Equal("cdu-1/supply_setpoint", cdu.List("writable")[0].String("actuator"));
    }

    private static int IndexOf(ModbusWireFace face, string asset) => face.Devices.Select(d => d.Asset).ToList().IndexOf(asset);

    /// <summary>The twin, recording the writes that reach it.</summary>
    private sealed class RecordingPlant(IPlant inner) : IPlant
    {
        public List<(string Actuator, double Value)> Writes { get; } = [];

        public IReadOnlyList<PointInfo> Points => inner.Points;

        public IReadOnlyList<ActuatorInfo> Actuators => inner.Actuators;

        public PointReading Read(int point) => inner.Read(point);

        public WriteResult Write(int actuator, double value)
        {
            var result = inner.Write(actuator, value);
            if (result.Ok)
            {
                lock (Writes)
                {
                    Writes.Add((inner.Actuators[actuator].Name, value));
                }
            }

            return result;
        }
    }
}
