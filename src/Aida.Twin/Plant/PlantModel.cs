using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Twin.Physics;
using Aida.Twin.Sensors;
using Aida.Twin.Weather;

namespace Aida.Twin.Plant;

/// <summary>The physics of one AI factory: IT load, thermal chain, heat rejection and power chain, as structs of arrays.</summary>
/// <remarks>
/// One <see cref="Step"/> advances every model by <c>dt</c> seconds. First-order lags are integrated exactly
/// (<c>x += (x_eq - x)(1 - e^(-dt/tau))</c>), so the step can be a few seconds without going unstable. The plant is seen
/// from outside only through <see cref="IPlant"/>: sensors (with noise, sampling and faults) and actuators (with ranges,
/// rate limits and failures). Ground truth is read by the simulator's evaluation code through internal members.
/// </remarks>
internal sealed partial class PlantModel : IPlant, IGpuCatalog
{
    // GPU thermal mass: die, package, HBM and cold plate, ~600 J/K gives a time constant of ~20 s at 0.03 K/W
    // (TWIN.md: "time constant seconds").
    private const double CduSupplyTimeConstant = 60; // s; TWIN.md: CDU loop time constant ~1-2 min

    // A CDU controller's valve alarm: the opening asked and the one the actuator reports apart by more than 5 % of
    // stroke for 13 s. Belimo's MFT actuators alarm when the actuator "is in a position and not responding to the control
    // input" after 13 s ("Mechanical Overload", AFB24-MFT user guide M40035, 2010); 5 % is above a positioner's dead band
    // (GEMÜ 1435 ePos manual: ≥ 1 % recommended), so a valve that follows never alarms.
    private const double ValveDeviationRatio = 0.05;
    private const double ValveDeviationSeconds = 13;
    private const double AirTimeConstant = 180; // s; TWIN.md: air side 2-5 min
    private const double PumpChangeoverSeconds = 5; // s; BMS lead/lag changeover of a standby pump
    private const double CrahChangeoverSeconds = 30; // s; standby CRAH start on a unit failure
    private const double LowCoolantLevel = 0.6; // pumps trip on low suction pressure below this fraction of fill
    private const double BatteryRechargeSeconds = 4 * 3600; // typical recharge to 90 % in a few hours (IEEE 1184)

    private readonly Factory _f;
    private readonly DateTimeOffset _start;
    private readonly IWeatherSource _weather;
    private readonly int _gpusPerRack;

    // --- GPUs (one element per GPU) ---
    private readonly float[] _gpuTemp;
    private readonly float[] _gpuPower;
    private readonly float[] _gpuIdle;
    private readonly float[] _gpuSpan;
    private readonly float[] _gpuR;
    private readonly bool[] _gpuDown;
    private readonly uint[] _gpuClockEvents; // GpuClockEvents bits: why each GPU ran below full clocks in the last step

    // --- racks ---
    private readonly int[] _rackCdu;
    private readonly int[] _rackHall;
    private readonly int[][] _rackBusways;
    private readonly double[] _rackUtil;
    private readonly double[] _rackSwing;
    private readonly double[] _rackPower;
    private readonly double[] _rackEnergy;
    private readonly double[] _rackMaxGpuTemp;
    private readonly int[] _rackThrottled;
    private readonly double[] _rackInlet;
    private readonly double[] _rackInletOffset;
    private readonly double[] _rackFouling;
    private readonly double[] _rackFoulingRate;
    private readonly double[] _rackFoulingSince;
    private readonly bool[] _rackLeak;
    private readonly bool[] _rackPowered;
    private readonly int[] _aRackPowerLimit;
    private readonly int[] _aRackIsolate;
    private readonly int[] _rackPlacement;
    private readonly bool[] _rackJobStalled;
    private readonly int[] _aRackPause;
    private readonly int[] _aRackMove;

    /// <summary>Per rack: the rack its jobs run on after a move (-1: here).</summary>
    private readonly int[] _moveTarget;

    /// <summary>Per rack: the utilisation it runs this step, moves and pauses applied.</summary>
    private readonly double[] _effectiveUtil;

    // --- CDUs ---
    private readonly double[] _cduCoolant;
    private readonly double[] _cduSupply;
    private readonly double[] _cduReturn;
    private readonly double[] _cduFlow;
    private readonly double[] _cduValve;
    private readonly double[] _cduValveCommand;
    private readonly double[] _cduValveDeviatingSince;
    private readonly double[] _cduValveStuck;
    private readonly double[] _cduLevel;
    private readonly double[] _cduLeakLitresPerSecond;
    private readonly double[] _cduHeatIn;
    private readonly double[] _cduHeatToWater;
    private readonly double[] _cduPumpPower;
    private readonly int[] _cduPumpsFailed;
    private readonly int[] _cduPumpsMaintenance;
    private readonly int[] _cduPumpsRunning;
    private readonly double[] _cduChangeoverAt;
    private readonly double[] _cduFlowFactor;
    private readonly double[] _cduCoolantCapacity;
    private readonly int[] _aCduSetpoint;
    private readonly int[] _aCduPumpSpeed;

    // --- CRAHs and halls ---
    private readonly int[] _crahHall;
    private readonly AssetState[] _crahState;
    private readonly double[] _crahStartAt;
    private readonly double[] _crahFanPower;
    private readonly double[] _crahSupplyAir;
    private readonly int[] _aCrahSetpoint;
    private readonly int[] _aCrahFanSpeed;
    private readonly int[] _aCrahEnable;
    private readonly double[] _hallAirHeat;
    private readonly double[] _hallAirflow;
    private readonly double[] _hallSupplyAir;
    private readonly double[] _hallRecirculation;

    // --- facility water and heat rejection ---
    private double _fwSupply;
    private double _fwReturn;
    private double _fwFlow;
    private double _fwPumpPower;
    private double _fwHeatIn;
    private double _economiserHeat;
    private double _chillerHeat;
    private readonly int _aFwSetpoint;
    private readonly int _aFwPumpSpeed;
    private readonly int _aEconomiser;
    private readonly int[] _aUpsEco;
    private readonly AssetState[] _chillerState;
    private readonly double[] _chillerStartAt;
    private readonly double[] _chillerPower;
    private readonly double[] _chillerHeatArr;
    private readonly int[] _aChillerEnable;
    private readonly AssetState[] _dryCoolerState;
    private readonly double[] _dryCoolerPower;
    private readonly double[] _dryCoolerSpeed;
    private readonly double[] _dryCoolerFouling;
    private readonly double[] _dryCoolerFoulingRate;
    private readonly double[] _dryCoolerFoulingSince;
    private readonly double[] _towerPower;
    private readonly double[] _towerSpeed;
    private readonly double[] _towerFouling;
    private readonly double[] _towerFoulingRate;
    private readonly double[] _towerFoulingSince;
    private readonly double[] _towerWaterLitres;
    private readonly int[] _towerFeed;
    private readonly double[] _condenserPumpPower;

    // --- power chain ---
    private readonly bool[] _utilityUp;
    private readonly bool[] _generatorFailToStart;
    private readonly bool[] _generatorRunning;
    private readonly double[] _generatorStartAt;
    private readonly bool[] _feedPowered;
    private readonly int[] _txFeed;
    private readonly double[] _txLoad;
    private readonly double[] _txLoss;
    private readonly int[] _upsTx;
    private readonly double[] _upsOutput;
    private readonly double[] _upsLoss;
    private readonly double[] _upsBattery;
    private readonly bool[] _upsOnBattery;
    private readonly bool[] _upsAlive;
    private readonly int[] _buswayUps;
    private readonly double[] _buswayLoad;
    private readonly double[] _buswayLoss;

    private readonly ActuatorBank _actuators = new();
    private readonly SensorBank _sensors;
    private double _heatWaveDelta;
    private readonly bool[] _swingScope;
    private FaultSpec? _swingFault;

    public PlantModel(Scenario scenario, IWeatherSource weather)
    {
        _f = scenario.Factory;
        _start = scenario.Start;
        _weather = weather;
        _sensors = new SensorBank(scenario.Seed ^ 0x5E45);
        var f = _f;
        var nRacks = f.Racks.Count;
        _gpusPerRack = f.RackProfile.Gpus;
        var nGpus = nRacks * _gpusPerRack;
        var random = new Random(scenario.Seed ^ 0x6A1);

        _gpuTemp = new float[nGpus];
        _gpuPower = new float[nGpus];
        _gpuIdle = new float[nGpus];
        _gpuSpan = new float[nGpus];
        _gpuR = new float[nGpus];
        _gpuDown = new bool[nGpus];
        _gpuClockEvents = new uint[nGpus];
        var gpu = f.Gpu;
        for (var g = 0; g < nGpus; g++)
        {
            // Part-to-part spread: ~3 % in power at equal clocks, ~5 % in junction-to-coolant resistance (TIM, flatness).
            var powerSpread = 1 + (0.03 * random.NextGaussian());
            _gpuIdle[g] = (float)(gpu.IdlePowerWatts * powerSpread);
            _gpuSpan[g] = (float)((gpu.MaxPowerWatts - gpu.IdlePowerWatts) * powerSpread);
            _gpuR[g] = (float)(gpu.ThermalResistanceKPerWatt * Math.Max(0.8, 1 + (0.05 * random.NextGaussian())));
        }

        var cduIndex = f.Cooling.Cdus.Select((c, i) => (c.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        var hallIndex = f.Halls.Select((h, i) => (h.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        var buswayIndex = f.Power.Busways.Select((b, i) => (b.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        _rackCdu = f.Racks.Select(r => cduIndex[r.Cdu]).ToArray();
        _rackHall = f.Racks.Select(r => hallIndex[r.Hall]).ToArray();
        _rackBusways = f.Racks.Select(r => r.Busways.Select(b => buswayIndex[b]).ToArray()).ToArray();
        _rackUtil = new double[nRacks];
        _rackSwing = new double[nRacks];
        Array.Fill(_rackSwing, double.NaN);
        _swingScope = new bool[nRacks];
        _rackPower = new double[nRacks];
        _rackEnergy = new double[nRacks];
        _rackMaxGpuTemp = new double[nRacks];
        _rackThrottled = new int[nRacks];
        _rackInlet = new double[nRacks];
        _rackInletOffset = new double[nRacks];
        for (var r = 0; r < nRacks; r++)
        {
            // Position in the row: end-of-row racks see more mixing, 0-1.5 K above supply (ASHRAE TC 9.9 thermal guidelines).
            _rackInletOffset[r] = 0.3 + (1.2 * random.NextDouble());
        }

        _rackFouling = new double[nRacks];
        Array.Fill(_rackFouling, 1.0);
        _rackFoulingRate = new double[nRacks];
        _rackFoulingSince = new double[nRacks];
        _rackLeak = new bool[nRacks];
        _rackPowered = new bool[nRacks];
        _aRackPowerLimit = new int[nRacks];
        _aRackIsolate = new int[nRacks];
        _aRackPause = new int[nRacks];
        _aRackMove = new int[nRacks];
        _moveTarget = new int[nRacks];
        Array.Fill(_moveTarget, -1);
        _effectiveUtil = new double[nRacks];
        _rackPlacement = [.. Enumerable.Range(0, nRacks)];
        _rackJobStalled = new bool[nRacks];

        var cdus = f.Cooling.Cdus;
        var nCdu = cdus.Count;
        _cduCoolant = new double[nCdu];
        _cduSupply = new double[nCdu];
        _cduReturn = new double[nCdu];
        _cduFlow = new double[nCdu];
        _cduValve = new double[nCdu];
        _cduValveCommand = new double[nCdu];
        _cduValveDeviatingSince = new double[nCdu];
        Array.Fill(_cduValveDeviatingSince, double.PositiveInfinity);
        _cduValveStuck = new double[nCdu];
        Array.Fill(_cduValveStuck, double.NaN);
        _cduLevel = new double[nCdu];
        Array.Fill(_cduLevel, 1.0);
        _cduLeakLitresPerSecond = new double[nCdu];
        _cduHeatIn = new double[nCdu];
        _cduHeatToWater = new double[nCdu];
        _cduPumpPower = new double[nCdu];
        _cduPumpsFailed = new int[nCdu];
        _cduPumpsMaintenance = new int[nCdu];
        _cduPumpsRunning = new int[nCdu];
        _cduChangeoverAt = new double[nCdu];
        _cduFlowFactor = new double[nCdu];
        _aCduSetpoint = new int[nCdu];
        _aCduPumpSpeed = new int[nCdu];
        _cduCoolantCapacity = new double[nCdu];
        for (var c = 0; c < nCdu; c++)
        {
            var racksOnCdu = _rackCdu.Count(x => x == c);
            _cduCoolantCapacity[c] = Physics.PhysicalConstants.WaterSpecificHeat * Physics.PhysicalConstants.WaterDensity / 1000
                * (cdus[c].CoolantLitres + (f.RackProfile.CoolantLitres * racksOnCdu));
        }

        var crahs = f.Cooling.Crahs;
        _crahHall = crahs.Select(c => hallIndex[c.Hall]).ToArray();
        _crahState = crahs.Select(c => c.Standby ? AssetState.Standby : AssetState.Running).ToArray();
        _crahStartAt = new double[crahs.Count];
        _crahFanPower = new double[crahs.Count];
        _crahSupplyAir = new double[crahs.Count];
        _aCrahSetpoint = new int[crahs.Count];
        _aCrahFanSpeed = new int[crahs.Count];
        _aCrahEnable = new int[crahs.Count];
        _hallAirHeat = new double[f.Halls.Count];
        _hallAirflow = new double[f.Halls.Count];
        _hallSupplyAir = new double[f.Halls.Count];
        _hallRecirculation = new double[f.Halls.Count];

        var chillers = f.Cooling.Chillers;
        _chillerState = chillers.Select(c => c.Standby ? AssetState.Standby : AssetState.Running).ToArray();
        _chillerStartAt = new double[chillers.Count];
        _chillerPower = new double[chillers.Count];
        _chillerHeatArr = new double[chillers.Count];
        _aChillerEnable = new int[chillers.Count];
        _aUpsEco = new int[f.Power.Ups.Count];
        var dcs = f.Cooling.DryCoolers;
        _dryCoolerState = dcs.Select(d => d.Standby ? AssetState.Standby : AssetState.Running).ToArray();
        _dryCoolerPower = new double[dcs.Count];
        _dryCoolerSpeed = new double[dcs.Count];
        _dryCoolerFouling = new double[dcs.Count];
        Array.Fill(_dryCoolerFouling, 1.0);
        _dryCoolerFoulingRate = new double[dcs.Count];
        _dryCoolerFoulingSince = new double[dcs.Count];
        var towers = f.Cooling.CoolingTowers;
        _towerPower = new double[towers.Count];
        _towerSpeed = new double[towers.Count];
        _towerFouling = new double[towers.Count];
        Array.Fill(_towerFouling, 1.0);
        _towerFoulingRate = new double[towers.Count];
        _towerFoulingSince = new double[towers.Count];
        _towerWaterLitres = new double[towers.Count];
        _condenserPumpPower = new double[chillers.Count];

        var p = f.Power;
        var feedIndex = p.Feeds.Select((x, i) => (x.Id, i)).ToDictionary(q => q.Id, q => q.i, StringComparer.Ordinal);
        var txIndex = p.Transformers.Select((x, i) => (x.Id, i)).ToDictionary(q => q.Id, q => q.i, StringComparer.Ordinal);
        var upsIndex = p.Ups.Select((x, i) => (x.Id, i)).ToDictionary(q => q.Id, q => q.i, StringComparer.Ordinal);
        _utilityUp = p.Feeds.Select(_ => true).ToArray();
        _generatorFailToStart = new bool[p.Generators.Count];
        _generatorRunning = new bool[p.Generators.Count];
        _generatorStartAt = new double[p.Generators.Count];
        Array.Fill(_generatorStartAt, double.NaN);
        _feedPowered = p.Feeds.Select(_ => true).ToArray();
        _txFeed = p.Transformers.Select(t => feedIndex[t.Feed]).ToArray();
        _txLoad = new double[p.Transformers.Count];
        _txLoss = new double[p.Transformers.Count];
        _upsTx = p.Ups.Select(u => txIndex[u.Transformer]).ToArray();
        _upsOutput = new double[p.Ups.Count];
        _upsLoss = new double[p.Ups.Count];
        _upsBattery = p.Ups.Select(_ => 1.0).ToArray();
        _upsOnBattery = new bool[p.Ups.Count];
        _upsAlive = p.Ups.Select(_ => true).ToArray();
        _buswayUps = p.Busways.Select(b => upsIndex[b.Ups]).ToArray();
        _buswayLoad = new double[p.Busways.Count];
        _buswayLoss = new double[p.Busways.Count];
        _chillerFeed = chillers.Select(c => feedIndex[c.Feed]).ToArray();
        _dryCoolerFeed = dcs.Select(d => feedIndex[d.Feed]).ToArray();
        _towerFeed = towers.Select(d => feedIndex[d.Feed]).ToArray();
        _feedIndexOfGenerator = p.Generators.Select(g => feedIndex[g.Feed]).ToArray();
        _chillerAutoStarted = new bool[chillers.Count];
        _crahAutoStarted = new bool[crahs.Count];
        _chillerGroup = new int[chillers.Count];
        _chillerRestartSeconds = chillers.Select(c => c.RestartTime.TotalSeconds).ToArray();
        _crahGroup = _crahHall.ToArray();
        _crahStartSeconds = crahs.Select(_ => CrahChangeoverSeconds).ToArray();
        _groupScratch = new int[f.Halls.Count + 1];

        // Actuators, then initial conditions at a plausible steady state.
        var sp = scenario.Setpoints;
        var fwSet = sp.FacilityWaterSupplyCelsius ?? f.Cooling.FacilityWater.SupplySetpointCelsius;
        _aFwSetpoint = _actuators.Add("facility-water", "supply_setpoint", "celsius", Aida.Model.Scenarios.SetpointLimits.FacilityWaterMin, Aida.Model.Scenarios.SetpointLimits.FacilityWaterMax, 0.05, fwSet);
        _aFwPumpSpeed = _actuators.Add("facility-water", "pump_speed", "ratio", 0.4, 1, 0.02, 1);
        _aEconomiser = _actuators.Add("economiser", "enable", "bool", 0, 1, 1e6, 1);
        for (var i = 0; i < chillers.Count; i++)
        {
            _aChillerEnable[i] = _actuators.Add(chillers[i].Id, "enable", "bool", 0, 1, 1e6, chillers[i].Standby ? 0 : 1);
        }

        for (var c = 0; c < nCdu; c++)
        {
            _aCduSetpoint[c] = _actuators.Add(cdus[c].Id, "supply_setpoint", "celsius", SetpointLimits.CduSupplyMin, SetpointLimits.CduSupplyMax, 0.05, sp.CduSupplyCelsius ?? cdus[c].SupplySetpointCelsius);
            _aCduPumpSpeed[c] = _actuators.Add(cdus[c].Id, "pump_speed", "ratio", 0.3, 1, 0.02, 1);
        }

        for (var i = 0; i < crahs.Count; i++)
        {
            _aCrahSetpoint[i] = _actuators.Add(crahs[i].Id, "supply_setpoint", "celsius", SetpointLimits.CrahSupplyMin, SetpointLimits.CrahSupplyMax, 0.05, sp.CrahSupplyCelsius ?? crahs[i].SupplySetpointCelsius);
            _aCrahFanSpeed[i] = _actuators.Add(crahs[i].Id, "fan_speed", "ratio", 0.2, 1, 0.02, 1);
            _aCrahEnable[i] = _actuators.Add(crahs[i].Id, "enable", "bool", 0, 1, 1e6, crahs[i].Standby ? 0 : 1);
        }

        for (var r = 0; r < nRacks; r++)
        {
            var id = f.Racks[r].Id;
            // NVIDIA power limits go down to roughly half of TDP (nvidia-smi -pl range); below that clocks collapse.
            _aRackPowerLimit[r] = _actuators.Add(id, "gpu_power_limit", "watts", 0.5 * gpu.MaxPowerWatts, gpu.MaxPowerWatts, 1e6, gpu.MaxPowerWatts);
            _aRackIsolate[r] = _actuators.Add(id, "isolate", "bool", 0, 1, 1e6, 0);

            // The scheduler's hold on the rack's jobs (workload placement, TWIN.md): paused GPUs idle, powered and cooled.
            _aRackPause[r] = _actuators.Add(id, "workload_pause", "bool", 0, 1, 1e6, 0);

            // The scheduler moves the rack's jobs to a spare rack on another CDU (value 1) or back (0); see Step.
            _aRackMove[r] = _actuators.Add(id, "workload_move", "bool", 0, 1, 1e6, 0);
        }

        // UPS operating mode (TWIN.md: eco mode ~99 %): 1 runs the UPS on its static bypass with the inverter on
        // standby, 0 in double conversion; starts as the facility file says.
        for (var u = 0; u < p.Ups.Count; u++)
        {
            _aUpsEco[u] = _actuators.Add(p.Ups[u].Id, "eco_mode", "bool", 0, 1, 1e6, p.Ups[u].Mode == UpsMode.Eco ? 1 : 0);
        }

        foreach (var m in sp.Maintenance)
        {
            ApplyMaintenance(m);
        }

        Ambient = weather.At(0);
        InitialiseThermalState(fwSet);
        RegisterPoints(scenario);
    }

    private readonly int[] _chillerFeed;
    private readonly int[] _feedIndexOfGenerator;
    private readonly bool[] _chillerAutoStarted;
    private readonly bool[] _crahAutoStarted;
    private readonly int[] _chillerGroup;
    private readonly double[] _chillerRestartSeconds;
    private readonly int[] _crahGroup;
    private readonly double[] _crahStartSeconds;
    private readonly int[] _groupScratch;
    private readonly int[] _dryCoolerFeed;

    public Factory Factory => _f;

    internal ActuatorBank ActuatorBank => _actuators;

    internal SensorBank SensorBank => _sensors;

    public IReadOnlyList<PointInfo> Points => _sensors.Info;

    public IReadOnlyList<ActuatorInfo> Actuators => _actuators.Info;

    /// <summary>The value an actuator was last told to move to (ground truth: for safety audits, never for analytics).</summary>
    internal double ActuatorTarget(int actuator) => _actuators.Target(actuator);

    public PointReading Read(int point)
    {
        if ((uint)point >= (uint)_sensors.Info.Count)
        {
            return new PointReading(double.NaN, _start);
        }

        var v = _sensors.Read(point, out var at);
        return new PointReading(v, double.IsNaN(at) ? _start : _start.AddSeconds(at));
    }

    public WriteResult Write(int actuator, double value) => _actuators.Write(actuator, value);

    /// <summary>The index of the actuator named <paramref name="name"/>, or -1.</summary>
    internal int FindActuator(string name) => _actuators.Find(name);

    /// <summary>The actuators moved from where the run began, with their command, target and value.</summary>
    internal List<(int Actuator, double Command, double Target, double Value)> MovedActuators() => _actuators.Moved();

    /// <inheritdoc cref="ActuatorBank.CheckRestore"/>
    internal void CheckRestore(int actuator, double command, double target, double value) => _actuators.CheckRestore(actuator, command, target, value);

    /// <inheritdoc cref="ActuatorBank.Restore"/>
    internal void RestoreActuator(int actuator, double command, double target, double value) => _actuators.Restore(actuator, command, target, value);

    private void ApplyMaintenance(string item)
    {
        var slash = item.IndexOf('/', StringComparison.Ordinal);
        var asset = slash >= 0 ? item[..slash] : item;
        for (var c = 0; c < _f.Cooling.Cdus.Count; c++)
        {
            if (_f.Cooling.Cdus[c].Id == asset)
            {
                _cduPumpsMaintenance[c] = Math.Min(_cduPumpsMaintenance[c] + 1, _f.Cooling.Cdus[c].Pumps);
            }
        }

        for (var i = 0; i < _f.Cooling.Crahs.Count; i++)
        {
            if (_f.Cooling.Crahs[i].Id == asset)
            {
                _crahState[i] = AssetState.Maintenance;
            }
        }

        for (var i = 0; i < _f.Cooling.Chillers.Count; i++)
        {
            if (_f.Cooling.Chillers[i].Id == asset)
            {
                _chillerState[i] = AssetState.Maintenance;
            }
        }
    }

    /// <summary>Starts the run from the setpoints now requested (the operator's standing ones) rather than the factory's defaults.</summary>
    public void Settle()
    {
        for (var i = 0; i < _actuators.Info.Count; i++)
        {
            _actuators.Initialise(i, _actuators.Target(i));
        }

        InitialiseThermalState(_actuators.Value(_aFwSetpoint));

        // A zero-length step fills in powers and flows for the initial state, and every sensor takes a first sample of it.
        Step(0);
        _sensors.Resample();
        _sensors.Sample(Now);
    }

    private void InitialiseThermalState(double fwSet)
    {
        _fwSupply = fwSet;
        _fwReturn = fwSet + 6;
        for (var c = 0; c < _f.Cooling.Cdus.Count; c++)
        {
            var set = _actuators.Value(_aCduSetpoint[c]);
            _cduSupply[c] = Math.Max(set, fwSet + 3);
            _cduCoolant[c] = _cduSupply[c] + 3;
            _cduReturn[c] = _cduSupply[c] + 6;
            _cduPumpsRunning[c] = Math.Min(_f.Cooling.Cdus[c].PumpsRequired, _f.Cooling.Cdus[c].Pumps - _cduPumpsMaintenance[c]);
        }

        for (var r = 0; r < _f.Racks.Count; r++)
        {
            var tc = _cduCoolant[_rackCdu[r]];
            for (var g = r * _gpusPerRack; g < (r + 1) * _gpusPerRack; g++)
            {
                _gpuTemp[g] = (float)(tc + (_gpuIdle[g] * _gpuR[g]));
            }

            _rackInlet[r] = _f.Cooling.Crahs.Count > 0 ? _f.Cooling.Crahs[0].SupplySetpointCelsius + _rackInletOffset[r] : 25;
        }

        for (var h = 0; h < _f.Halls.Count; h++)
        {
            _hallSupplyAir[h] = _f.Cooling.Crahs.Count > 0 ? _f.Cooling.Crahs[0].SupplySetpointCelsius : 25;
        }
    }
}
