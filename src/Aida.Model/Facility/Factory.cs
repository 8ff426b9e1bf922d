namespace Aida.Model.Facility;

/// <summary>An AI factory as loaded from its YAML file: site, IT, power chain and cooling chain. Immutable.</summary>
/// <remarks>Assets are held in arrays in file order; the index of an asset is stable and is what the twin uses for its state arrays.</remarks>
public sealed record Factory(
    string Name,
    string Description,
    Site Site,
    GpuSpec Gpu,
    RackProfile RackProfile,
    IReadOnlyList<Hall> Halls,
    IReadOnlyList<Rack> Racks,
    PowerChain Power,
    CoolingChain Cooling,
    double MiscPowerWatts,
    string SourceFile)
{
    public int GpuCount => Racks.Count * RackProfile.Gpus;

    /// <summary>IT power with every GPU at its power limit and every rack's other equipment at full load.</summary>
    public double DesignItPowerWatts => Racks.Count * RackProfile.MaxPowerWatts(Gpu);

    private Topology.TopologyGraph? _topology;

    /// <summary>Which asset feeds (power) or cools (cooling) which.</summary>
    public Topology.TopologyGraph Topology => _topology ??= Aida.Model.Topology.TopologyGraph.Build(this);

    public int RackIndex(string id)
    {
        for (var i = 0; i < Racks.Count; i++)
        {
            if (Racks[i].Id == id)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>Where the factory is: the weather file gives its climate, the grid-carbon file (hourly gCO2/kWh, bundled
/// under <c>carbon/</c>) the carbon intensity of the power it draws.</summary>
public sealed record Site(string Name, string Weather, double Latitude, double Longitude)
{
    /// <summary>The grid-carbon CSV's name or path ("" when the factory names none).</summary>
    public string GridCarbon { get; init; } = "";

    /// <summary>The outdoor dry bulb the plant is designed to reject its heat at (°C): outdoor readings above it raise
    /// <c>AmbientHigh</c>. From <c>site.design_dry_bulb_celsius</c>, else the 0.4 % cooling dry bulb of the weather file
    /// a scenario runs (<see cref="Scenarios.EpwDesignConditions"/>), else null (the alerting's own default).</summary>
    public double? DesignDryBulbCelsius { get; init; }

    /// <summary>Where <see cref="DesignDryBulbCelsius"/> came from, for the alert's text ("" when it is null).</summary>
    public string DesignDryBulbSource { get; init; } = "";

    /// <summary>Whether the factory file set <see cref="DesignDryBulbCelsius"/> itself (a weather file then does not).</summary>
    public bool DesignDryBulbConfigured => DesignDryBulbSource == ConfiguredSource;

    /// <summary>The <see cref="DesignDryBulbSource"/> of a value the factory file sets.</summary>
    public const string ConfiguredSource = "site.design_dry_bulb_celsius";
}

/// <summary>One GPU model's power and thermal parameters.</summary>
/// <param name="ThermalResistanceKPerWatt">Junction to coolant through a clean cold plate at design flow.</param>
/// <param name="ConvectiveShare">The part of the thermal resistance that is coolant-side convection and so grows as flow falls.</param>
public sealed record GpuSpec(
    string Model,
    double MaxPowerWatts,
    double IdlePowerWatts,
    double ThrottleCelsius,
    double ShutdownCelsius,
    double ThermalResistanceKPerWatt,
    double ConvectiveShare,
    double HeatCapacityJPerK);

/// <summary>What every rack holds apart from its GPUs, and how its heat leaves.</summary>
public sealed record RackProfile(
    int Gpus,
    double OtherIdleWatts,
    double OtherMaxWatts,
    double LiquidFraction,
    double AirDeltaCelsius,
    double CoolantLitres)
{
    public double MaxPowerWatts(GpuSpec gpu) => Gpus * gpu.MaxPowerWatts + OtherMaxWatts;
}

public sealed record Hall(string Id, int Line);

/// <summary>A rack: where it stands, which CDU cools it and which busways feed it (A and B sides).</summary>
public sealed record Rack(string Id, string Hall, string Row, string Cdu, IReadOnlyList<string> Busways, int Line);

/// <summary>The power chain from utility to busway.</summary>
public sealed record PowerChain(
    IReadOnlyList<UtilityFeed> Feeds,
    IReadOnlyList<Generator> Generators,
    IReadOnlyList<Transformer> Transformers,
    IReadOnlyList<Ups> Ups,
    IReadOnlyList<Busway> Busways);

public sealed record UtilityFeed(string Id, double CapacityWatts);

public sealed record Generator(string Id, string Feed, double CapacityWatts, TimeSpan StartTime);

/// <summary>A medium-voltage transformer: loss = no-load + load loss * (S/S_rated)^2.</summary>
public sealed record Transformer(string Id, string Feed, double RatedVa, double NoLoadLossWatts, double LoadLossWatts, double PowerFactor);

public enum UpsMode
{
    DoubleConversion,
    Eco,
}

/// <summary>A UPS system with its battery; which transformer feeds it.</summary>
public sealed record Ups(string Id, string Transformer, double RatedWatts, UpsMode Mode, TimeSpan RuntimeAtRatedLoad);

/// <summary>A busway or PDU string; loss scales with the square of load.</summary>
public sealed record Busway(string Id, string Ups, string Hall, double RatedWatts, double LossFractionAtRated);

/// <summary>The cooling chain: heat rejection, facility water, CDUs and CRAHs.</summary>
public sealed record CoolingChain(
    FacilityWater FacilityWater,
    IReadOnlyList<DryCooler> DryCoolers,
    IReadOnlyList<Chiller> Chillers,
    IReadOnlyList<Cdu> Cdus,
    IReadOnlyList<Crah> Crahs,
    IReadOnlyList<CoolingTower> CoolingTowers)
{
    /// <summary>True when the economiser is cooling towers: free cooling then tracks the wet bulb, not the dry bulb.</summary>
    public bool EvaporativeEconomiser => CoolingTowers.Count > 0;
}

/// <summary>The facility water loop and its pumps.</summary>
public sealed record FacilityWater(
    double SupplySetpointCelsius,
    int Pumps,
    int PumpsRequired,
    double DesignFlowKgPerS,
    double PumpPowerWattsAtDesign,
    double VolumeLitres);

/// <summary>A dry cooler (closed-circuit fluid cooler): the economiser, free cooling when ambient allows.</summary>
/// <param name="CapacityWatts">The heat it rejects at <paramref name="RatedItdCelsius"/>: with its fans at full speed its
/// duty scales with the entering water's difference from the dry bulb (a coil of fixed conductance and airflow).</param>
/// <param name="RatedItdCelsius">Entering water minus dry bulb at <paramref name="CapacityWatts"/>: the initial
/// temperature difference a fluid cooler is rated at (default 15 K, fluid-cooler rating practice).</param>
public sealed record DryCooler(string Id, double CapacityWatts, double ApproachCelsius, double FanPowerWatts, bool Standby, string Feed, double RatedItdCelsius = DryCooler.DefaultRatedItd)
{
    /// <summary>K; entering water minus ambient at rated capacity (fluid cooler rating practice).</summary>
    public const double DefaultRatedItd = 15;

    /// <summary>What it rejects with the water entering <paramref name="itdCelsius"/> above the dry bulb: none at or
    /// below it.</summary>
    public double CapacityAt(double itdCelsius) => CapacityWatts * Math.Max(0, itdCelsius) / RatedItdCelsius;
}

/// <summary>
/// A cooling tower bank (open tower with a plate heat exchanger to the facility water, or a closed-circuit tower): the
/// economiser of an evaporative plant, and the heat sink of water-cooled chillers' condensers. It cools toward the wet
/// bulb, not the dry bulb, and evaporates water to do so.
/// </summary>
/// <param name="ApproachCelsius">Facility water leaving the economiser above the wet bulb at rated duty (tower approach plus the plate heat exchanger's).</param>
/// <param name="CyclesOfConcentration">How many times the basin water concentrates before it is blown down; blowdown = evaporation / (cycles - 1).</param>
/// <param name="RatedItdCelsius">Facility water entering the economiser minus the wet bulb at
/// <paramref name="CapacityWatts"/> (default 11 K: CTI STD-201's standard rating point is 95 °F hot water at 78 °F wet
/// bulb, 35 and 25.6 °C, 9.4 K, plus about 1.5 K across the plate heat exchanger between tower and facility water,
/// ASHRAE HVAC Systems and Equipment 2020, ch. 40: 1-2 K approach for plate units).</param>
public sealed record CoolingTower(string Id, double CapacityWatts, double ApproachCelsius, double FanPowerWatts, double CyclesOfConcentration, bool Standby, string Feed, double RatedItdCelsius = CoolingTower.DefaultRatedItd)
{
    /// <summary>K; the rated entering water over the wet bulb (CTI STD-201 plus a plate heat exchanger).</summary>
    public const double DefaultRatedItd = 11;

    /// <summary>What it rejects as the economiser with facility water entering <paramref name="itdCelsius"/> above the
    /// wet bulb: none at or below it.</summary>
    public double CapacityAt(double itdCelsius) => CapacityWatts * Math.Max(0, itdCelsius) / RatedItdCelsius;
}

/// <summary>How a chiller rejects its condenser heat.</summary>
public enum CondenserKind
{
    /// <summary>Air-cooled condenser coils: condenses above the dry bulb.</summary>
    Air,

    /// <summary>Water-cooled condenser on the cooling towers: condenses above the wet bulb.</summary>
    Water,
}

/// <summary>A chiller; COP is a fraction of Carnot between evaporating and condensing temperatures.</summary>
/// <param name="CondenserApproachCelsius">Condensing temperature above the dry bulb (air-cooled) or the wet bulb (water-cooled) at full load.</param>
/// <param name="CondenserPumpWatts">A water-cooled chiller's constant-speed condenser water pump, drawn while it runs; 0 for air-cooled.</param>
public sealed record Chiller(
    string Id,
    double CapacityWatts,
    double CarnotFraction,
    double CondenserApproachCelsius,
    double MinCondensingCelsius,
    double MinPowerFraction,
    bool Standby,
    string Feed,
    TimeSpan RestartTime,
    CondenserKind Condenser = CondenserKind.Air,
    double CondenserPumpWatts = 0);

/// <summary>A coolant distribution unit: pumps (N+1), a plate heat exchanger to facility water and a supply setpoint.</summary>
public sealed record Cdu(
    string Id,
    string Hall,
    double CapacityWatts,
    int Pumps,
    int PumpsRequired,
    double DesignFlowKgPerS,
    double PumpPowerWattsAtDesign,
    double HxEffectiveness,
    double SupplySetpointCelsius,
    double CoolantLitres,
    int Line);

/// <summary>A computer-room air handler or fan wall cooling a hall's air with facility water.</summary>
public sealed record Crah(
    string Id,
    string Hall,
    double AirflowM3PerS,
    double FanPowerWattsAtDesign,
    double CoilApproachCelsius,
    double SupplySetpointCelsius,
    bool Standby,
    int Line);
