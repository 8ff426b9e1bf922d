using Aida.Model.Facility;
using Aida.Model.Plant;

namespace Aida.Automation.Optimiser;

/// <summary>The readings the optimiser uses at one instant, gathered from <see cref="IPlant"/> points by name (the names
/// the twin and real sites expose). Missing, non-finite or stuck readings are NaN.</summary>
internal sealed class CoolingSnapshot
{
    public CoolingSnapshot(int cdus, int crahs, int halls)
    {
        CduSupply = new double[cdus];
        CduSetpoint = new double[cdus];
        CduPumpPowerKw = new double[cdus];
        CduRackPowerMw = new double[cdus];
        CduMaxRackPower100Kw = new double[cdus];
        CduMaxGpu = new double[cdus];
        CrahSupplyAir = new double[crahs];
        CrahFanPowerKw = new double[crahs];
        CrahRunning = new bool[crahs];
        CrahFault = new bool[crahs];
        HallMaxInlet = new double[halls];
        HallRackPowerMw = new double[halls];
    }

    public double ItMw { get; set; }

    public double FacilityMw { get; set; }

    public double DryBulb { get; set; }

    /// <summary>The wet bulb, read only on a plant whose towers or water-cooled chillers work against it; NaN otherwise.</summary>
    public double WetBulb { get; set; } = double.NaN;

    public double FacilityWaterSupply { get; set; }

    public double FacilityWaterReturn { get; set; }

    public double FacilityWaterSetpoint { get; set; }

    public double FacilityWaterPumpKw { get; set; }

    public double EconomiserHeatMw { get; set; }

    public bool EconomiserEnabled { get; set; }

    public double ChillerPowerMw { get; set; }

    public int ChillersRunning { get; set; }

    /// <summary>The economiser's fans: dry coolers' or cooling towers'.</summary>
    public double DryCoolerFanKw { get; set; }

    public double[] CduSupply { get; }

    public double[] CduSetpoint { get; }

    public double[] CduPumpPowerKw { get; }

    public double[] CduRackPowerMw { get; }

    public double[] CduMaxRackPower100Kw { get; }

    public double[] CduMaxGpu { get; }

    public double[] CrahSupplyAir { get; }

    public double[] CrahFanPowerKw { get; }

    public bool[] CrahRunning { get; }

    public bool[] CrahFault { get; }

    public double[] HallMaxInlet { get; }

    public double[] HallRackPowerMw { get; }

    /// <summary>Share of the rack temperature readings (GPU and inlet) that are missing or judged stuck.</summary>
    public double MissingShare { get; set; }
}

/// <summary>Resolves the point names of a factory once, reads a <see cref="CoolingSnapshot"/> and flags stuck sensors.</summary>
/// <remarks>A reading that repeats exactly for <see cref="StuckAfter"/> consecutive observations is treated as missing:
/// every analogue point carries noise (RTDs 0.1-0.3 K, power meters 0.5 %), so an unchanging value over that many
/// minutes says the sensor, not the plant, is steady. 15 observations (15 min at one a minute) is long enough that
/// the 1 K quantisation of GPU maxima rarely repeats that often under 0.5 K noise. A point the caller distrusts (a sensor
/// diagnosed lying) is read as missing from the next reading on.</remarks>
internal sealed class CoolingPoints
{
    private const int StuckAfter = 15;

    private readonly Factory _factory;
    private readonly Dictionary<int, (double Value, int Repeats)> _history = [];
    private bool _observe;
    private readonly int _it, _facility, _dryBulb, _wetBulb, _fws, _fwr, _fwSetpoint, _fwPump, _ecoHeat, _ecoEnabled;
    private readonly int[] _chillerPower, _chillerRunning, _dryCooler;
    private readonly int[] _cduSupply, _cduSetpoint, _cduPump;
    private readonly int[] _crahAir, _crahFan, _crahRunning, _crahFault;
    private readonly int[] _rackPower, _rackEnergy, _rackGpu, _rackInlet, _rackCdu, _rackHall;

    // Per rack, its energy counter at the last observation, and the mean power between the last two.
    private readonly (double Joules, DateTimeOffset At)[] _lastEnergy;
    private readonly double[] _meanPower;

    private static readonly IReadOnlySet<int> NoPoints = new HashSet<int>();
    private readonly Func<IReadOnlySet<int>> _distrusted;

    /// <param name="distrusted">Points read as missing (null: none): see <see cref="CoolingOptimiser.Distrusted"/>.</param>
    public CoolingPoints(Factory factory, IPlant plant, Func<IReadOnlySet<int>>? distrusted = null)
    {
        _factory = factory;
        _distrusted = distrusted ?? (() => NoPoints);
        var cooling = factory.Cooling;
        _it = plant.Point("site/it_power");
        _facility = plant.Point("site/facility_power");
        _dryBulb = plant.Point("site/ambient_dry_bulb");
        _wetBulb = cooling.EvaporativeEconomiser ? plant.Point("site/ambient_wet_bulb") : -1;
        _fws = plant.Point("facility-water/supply_temperature");
        _fwr = plant.Point("facility-water/return_temperature");
        _fwSetpoint = plant.Point("facility-water/supply_setpoint");
        _fwPump = plant.Point("facility-water/pump_power");
        _ecoHeat = plant.Point("economiser/heat");
        _ecoEnabled = plant.Point("economiser/enabled");
        // A water-cooled chiller's condenser pump runs with it: counted with the chiller, as the plant's chiller power.
        _chillerPower = [.. cooling.Chillers.Select(c => plant.Point(c.Id + "/power")),
            .. cooling.Chillers.Where(c => c.Condenser == CondenserKind.Water).Select(c => plant.Point(c.Id + "/condenser_pump_power"))];
        _chillerRunning = [.. cooling.Chillers.Select(c => plant.Point(c.Id + "/running"))];
        _dryCooler = [.. cooling.DryCoolers.Select(c => plant.Point(c.Id + "/fan_power")), .. cooling.CoolingTowers.Select(c => plant.Point(c.Id + "/fan_power"))];
        _cduSupply = [.. cooling.Cdus.Select(c => plant.Point(c.Id + "/supply_temperature"))];
        _cduSetpoint = [.. cooling.Cdus.Select(c => plant.Point(c.Id + "/supply_setpoint"))];
        _cduPump = [.. cooling.Cdus.Select(c => plant.Point(c.Id + "/pump_power"))];
        _crahAir = [.. cooling.Crahs.Select(c => plant.Point(c.Id + "/supply_air_temperature"))];
        _crahFan = [.. cooling.Crahs.Select(c => plant.Point(c.Id + "/fan_power"))];
        _crahRunning = [.. cooling.Crahs.Select(c => plant.Point(c.Id + "/running"))];
        _crahFault = [.. cooling.Crahs.Select(c => plant.Point(c.Id + "/fault"))];
        _rackPower = [.. factory.Racks.Select(r => plant.Point(r.Id + "/power"))];
        _rackEnergy = [.. factory.Racks.Select(r => plant.Point(r.Id + "/energy"))];
        _lastEnergy = new (double, DateTimeOffset)[factory.Racks.Count];
        Array.Fill(_lastEnergy, (double.NaN, DateTimeOffset.MinValue));
        _meanPower = new double[factory.Racks.Count];
        Array.Fill(_meanPower, double.NaN);
        _rackGpu = [.. factory.Racks.Select(r => plant.Point(r.Id + "/gpu_max_temperature"))];
        _rackInlet = [.. factory.Racks.Select(r => plant.Point(r.Id + "/inlet_temperature"))];
        var cduIndex = cooling.Cdus.Select((c, i) => (c.Id, i)).ToDictionary(x => x.Id, x => x.i, StringComparer.Ordinal);
        var hallIndex = factory.Halls.Select((h, i) => (h.Id, i)).ToDictionary(x => x.Id, x => x.i, StringComparer.Ordinal);
        _rackCdu = [.. factory.Racks.Select(r => cduIndex.GetValueOrDefault(r.Cdu, -1))];
        _rackHall = [.. factory.Racks.Select(r => hallIndex.GetValueOrDefault(r.Hall, -1))];
        CrahHall = [.. cooling.Crahs.Select(c => hallIndex.GetValueOrDefault(c.Hall, -1))];
        CduRacks = [.. cooling.Cdus.Select((_, c) => _rackCdu.Count(x => x == c))];
    }

    public int[] CrahHall { get; }

    public int[] CduRacks { get; }

    /// <summary>Reads a snapshot; <paramref name="observe"/> counts this reading toward the stuck-sensor check (once per
    /// observation), otherwise the check only applies what earlier observations found.</summary>
    public CoolingSnapshot Read(IPlant plant, bool observe)
    {
        _observe = observe;
        var cooling = _factory.Cooling;
        var s = new CoolingSnapshot(cooling.Cdus.Count, cooling.Crahs.Count, _factory.Halls.Count)
        {
            ItMw = Value(plant, _it, stuckCheck: true) / 1e6,
            FacilityMw = Value(plant, _facility, stuckCheck: true) / 1e6,
            DryBulb = Value(plant, _dryBulb, stuckCheck: false),
            WetBulb = Value(plant, _wetBulb, stuckCheck: false),
            FacilityWaterSupply = Value(plant, _fws, stuckCheck: true),
            FacilityWaterReturn = Value(plant, _fwr, stuckCheck: true),
            FacilityWaterSetpoint = Value(plant, _fwSetpoint, stuckCheck: false),
            FacilityWaterPumpKw = Value(plant, _fwPump, stuckCheck: false) / 1e3,
            EconomiserHeatMw = Value(plant, _ecoHeat, stuckCheck: false) / 1e6,
            EconomiserEnabled = Value(plant, _ecoEnabled, stuckCheck: false) >= 0.5,
            ChillerPowerMw = Sum(plant, _chillerPower) / 1e6,
            ChillersRunning = _chillerRunning.Count(p => Value(plant, p, stuckCheck: false) >= 0.5),
            DryCoolerFanKw = Sum(plant, _dryCooler) / 1e3,
        };
        for (var c = 0; c < _cduSupply.Length; c++)
        {
            s.CduSupply[c] = Value(plant, _cduSupply[c], stuckCheck: true);
            s.CduSetpoint[c] = Value(plant, _cduSetpoint[c], stuckCheck: false);
            s.CduPumpPowerKw[c] = Value(plant, _cduPump[c], stuckCheck: false) / 1e3;
            s.CduMaxGpu[c] = double.NaN;
        }

        for (var i = 0; i < _crahAir.Length; i++)
        {
            s.CrahSupplyAir[i] = Value(plant, _crahAir[i], stuckCheck: true);
            s.CrahFanPowerKw[i] = Value(plant, _crahFan[i], stuckCheck: false) / 1e3;
            s.CrahRunning[i] = Value(plant, _crahRunning[i], stuckCheck: false) >= 0.5;
            s.CrahFault[i] = Value(plant, _crahFault[i], stuckCheck: false) >= 0.5;
        }

        Array.Fill(s.HallMaxInlet, double.NaN);
        var missing = 0;
        for (var r = 0; r < _rackPower.Length; r++)
        {
            var power = RackPower(plant, r) / 1e6;
            var gpu = Value(plant, _rackGpu[r], stuckCheck: true);
            var inlet = Value(plant, _rackInlet[r], stuckCheck: true);
            missing += (double.IsNaN(gpu) ? 1 : 0) + (double.IsNaN(inlet) ? 1 : 0);
            if (_rackCdu[r] is var c and >= 0 && double.IsFinite(power))
            {
                s.CduRackPowerMw[c] += power;
                s.CduMaxRackPower100Kw[c] = Math.Max(s.CduMaxRackPower100Kw[c], power * 10);
                s.CduMaxGpu[c] = MaxOf(s.CduMaxGpu[c], gpu);
            }

            if (_rackHall[r] is var h and >= 0)
            {
                s.HallRackPowerMw[h] += double.IsFinite(power) ? power : 0;
                s.HallMaxInlet[h] = MaxOf(s.HallMaxInlet[h], inlet);
            }
        }

        s.MissingShare = _rackPower.Length == 0 ? 1 : missing / (2.0 * _rackPower.Length);
        return s;
    }

    /// <summary>A rack's power, W: the mean since the previous observation from its energy counter where it has one,
    /// else the instantaneous reading.</summary>
    /// <remarks>The air and water carry a rack's mean heat (their time constants are minutes); an instantaneous reading
    /// can alias. A training job's synchronisation dips (one second in every 12) repeat every minute at the same phase,
    /// so a reading once a minute can land in the dip every time: the faults week's hall 1 read 3.47 MW for an hour
    /// while it drew 4.5 MW, the fans were trimmed to that, and 34 racks ran over 27 °C. A counter that went backwards
    /// (a reset or a replaced meter) or a reading missing falls back to the instantaneous power for that minute.</remarks>
    private double RackPower(IPlant plant, int r)
    {
        var instant = Value(plant, _rackPower[r], stuckCheck: false);
        if (_rackEnergy[r] < 0)
        {
            return instant;
        }

        if (_observe)
        {
            var reading = plant.Read(_rackEnergy[r]);
            var (joules, at) = _lastEnergy[r];
            var seconds = (reading.Timestamp - at).TotalSeconds;
            _meanPower[r] = double.IsFinite(reading.Value) && double.IsFinite(joules) && seconds > 0 && reading.Value >= joules
                ? (reading.Value - joules) / seconds
                : double.NaN;
            _lastEnergy[r] = double.IsFinite(reading.Value) ? (reading.Value, reading.Timestamp) : (double.NaN, DateTimeOffset.MinValue);
        }

        return double.IsFinite(_meanPower[r]) ? _meanPower[r] : instant;
    }

    private static double MaxOf(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Max(a, b);

    private double Sum(IPlant plant, int[] points)
    {
        var sum = 0.0;
        foreach (var p in points)
        {
            sum += Value(plant, p, stuckCheck: false);
        }

        return sum;
    }

    private double Value(IPlant plant, int point, bool stuckCheck)
    {
        if (point < 0 || _distrusted().Contains(point))
        {
            return double.NaN;
        }

        var v = plant.Read(point).Value;
        if (!double.IsFinite(v))
        {
            return double.NaN;
        }

        if (!stuckCheck)
        {
            return v;
        }

        var seen = _history.TryGetValue(point, out var last);
        var repeats = seen && last.Value.Equals(v) ? last.Repeats + (_observe ? 1 : 0) : 0;
        if (_observe || !seen || !last.Value.Equals(v))
        {
            _history[point] = (v, repeats);
        }

        return repeats >= StuckAfter ? double.NaN : v;
    }
}
