using Aida.Telemetry.Collectors;
using Aida.Telemetry.Collectors.Modbus;
using Aida.Telemetry.Collectors.Mqtt;
using Aida.Telemetry.Collectors.Nut;
using Aida.Telemetry.Collectors.Slurm;
using Aida.Telemetry.Collectors.Scrape;
using Aida.Telemetry.Collectors.Redfish;

namespace Aida.Cli;

/// <summary>The collector types a site file may name (its entries' <c>type</c>), each with the factory that builds it.</summary>
internal static class CollectorCatalog
{
    public static IReadOnlyDictionary<string, CollectorFactory> Types { get; } = new Dictionary<string, CollectorFactory>(StringComparer.Ordinal)
    {
        [RedfishCollector.Type] = RedfishCollector.Create,
        [ModbusCollector.Type] = ModbusCollector.Factory,
        [ScrapeCollector.Type] = ScrapeCollector.Create,
        [NutCollector.Type] = NutCollector.Create,
        [MqttCollector.Type] = MqttCollector.Create,
        [SlurmCollector.Type] = SlurmCollector.Create,
    };

    /// <summary>Loads a site file with every known collector type; errors name the file, line and field.</summary>
    public static Site Load(string path, TimeProvider clock) => new SiteLoader(Types, clock).Load(path);

    /// <summary>The writers of every collector of a site that declares some.</summary>
    public static IReadOnlyList<IActuatorWriter> Writers(Site site) =>
        site.Collectors.OfType<IActuatorSource>().SelectMany(s => s.Writers).ToList();
}
