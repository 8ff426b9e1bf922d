using Aida.Model.Facility;

namespace Aida.Automation.Optimiser;

/// <summary>The settings the optimiser chooses: one value per kind of actuator plant-wide (every CDU gets the same
/// setpoint and pump speed, every CRAH the same setpoint), and per hall the fan speed of its running CRAHs and how many
/// run.</summary>
/// <remarks>Fans are per hall because the halls' air loads differ (a training hall at 0.9 utilisation, an inference
/// hall following the day) and fan power goes with the cube of speed: one plant-wide speed runs the lighter hall's fans
/// at the heavier hall's speed.</remarks>
internal readonly record struct CoolingSettings(
    double FacilityWater,
    double CduSupply,
    double CrahSupply,
    double CduPump,
    double[] HallFans,
    double FacilityPump,
    bool Economiser,
    int[] HallCrahs)
{
    /// <summary>The slowest hall's fan speed (for the reason line).</summary>
    public double MinFan => HallFans.Length == 0 ? double.NaN : HallFans.Min();

    public int Crahs => HallCrahs.Sum();
}

/// <summary>What the model predicts for one set of settings.</summary>
internal readonly record struct CoolingPrediction(double FacilityMw, double OverheadMw, double FacilityWaterSupply, double MaxGpu, double MaxInlet, double MaxCduSupply);

/// <summary>A grey-box model of the cooling plant, every coefficient identified online by recursive least squares from
/// <see cref="CoolingSnapshot"/>s, with priors shaped by the physics and sized from the factory file (never from the
/// twin's parameters or state).</summary>
/// <remarks>
/// Sub-models, each affine in its parameters (features in MW, kW, K, speed ratios so that every parameter is O(1-10)):
/// <list type="bullet">
/// <item>pump and fan power: <c>P = k s³</c> per unit (affinity laws, ASHRAE HVAC Systems and Equipment ch. 21, 44);</item>
/// <item>facility-water supply: setpoint + bias (the bias learns a chiller plant that cannot hold its setpoint);</item>
/// <item>facility-water return rise: <c>a H / q</c>, H heat into the loop (IT + pump and fan work), q pump speed;</item>
/// <item>economiser heat: <c>b max(0, T_return - T_db - approach) + c</c> while enabled (dry-cooler approach from the factory);</item>
/// <item>chiller power: <c>d n + e H_ch (T_cond - T_fws)/T_fws[K]</c>, Carnot-shaped (TWIN.md), H_ch = H - economiser heat,
/// T_cond from the factory's condenser approach and minimum condensing temperature;</item>
/// <item>dry-cooler fans: <c>k (duty)³</c>; the rest (UPS, transformer, busway, lighting): <c>f + g IT + h IT²</c>;</item>
/// <item>hottest GPU of a CDU's racks above its CDU supply: <c>θ0 + θ1 x + θ2 x p^-0.8 + θ3 X / p</c>, x the hottest
/// rack's power, X the CDU's load, p pump speed (cold-plate conduction, convection by Dittus-Boelter, coolant rise);</item>
/// <item>CDU supply: <c>max(setpoint, T_fws + approach)</c>, approach <c>u + v X / (m_min c_p)</c> learned when the CDU cannot
/// hold its setpoint; CRAH supply air: <c>max(setpoint, T_fws + coil approach)</c>, coil approach learned likewise;</item>
/// <item>hottest rack inlet of a hall above its supply air: <c>w0 + w1 shortfall ΔT_rack</c>, shortfall the share of
/// the racks' air demand the running CRAHs do not supply (recirculation).</item>
/// </list>
/// </remarks>
internal sealed class IdentifiedCoolingModel
{
    // Water c_p (Incropera Table A.6) and air density and c_p (ASHRAE Fundamentals ch. 1).
    private const double WaterCp = 4180;
    private const double AirDensity = 1.2;
    private const double AirCp = 1006;

    // Forgetting factor per sample: the GPU model takes one sample per CDU per observation (10 a minute on ref-10mw),
    // so 0.999 remembers ~1,000 samples, about 100 minutes; the plant-wide models take one a minute and remember
    // 1/(1-0.995) = 200 minutes: "a few hours of data", as Lazic et al. (NeurIPS 2018) identified theirs.
    private const double PerUnitForgetting = 0.999;
    private const double PlantForgetting = 0.995;

    private readonly Factory _factory;
    private readonly CoolingPoints _points;
    private readonly RecursiveLeastSquares _cduPump, _crahFan, _fwPump, _fwBias, _returnRise, _economiser, _chiller, _dryCooler, _rest;
    private readonly RecursiveLeastSquares _gpu, _cduApproach, _coilApproach, _inlet;
    private readonly double _dryCoolerApproach, _dryCoolerCapacityMw, _condenserApproach, _minCondensing;
    private readonly bool _evaporative, _waterCooled;
    private readonly double _cduDesignFlow, _fwShareFlow;
    private double[] _lastCduSetpoint = [];

    public IdentifiedCoolingModel(Factory factory, CoolingPoints points)
    {
        _factory = factory;
        _points = points;
        var c = factory.Cooling;
        var cdu = c.Cdus.Count > 0 ? c.Cdus[0] : null;
        var crah = c.Crahs.Count > 0 ? c.Crahs[0] : null;
        var chiller = c.Chillers.Count > 0 ? c.Chillers[0] : null;
        // The economiser is dry coolers (against the dry bulb) or cooling towers (against the wet bulb), never both.
        _evaporative = c.EvaporativeEconomiser;
        _waterCooled = chiller?.Condenser == CondenserKind.Water;
        _dryCoolerApproach = _evaporative ? c.CoolingTowers.Average(d => d.ApproachCelsius) : c.DryCoolers.Count > 0 ? c.DryCoolers.Average(d => d.ApproachCelsius) : 8;
        _dryCoolerCapacityMw = (_evaporative ? c.CoolingTowers.Where(d => !d.Standby).Sum(d => d.CapacityWatts) : c.DryCoolers.Where(d => !d.Standby).Sum(d => d.CapacityWatts)) / 1e6;
        _condenserApproach = chiller?.CondenserApproachCelsius ?? 12;
        _minCondensing = chiller?.MinCondensingCelsius ?? 30;

        // Prior variances: a tenth to a half of each prior's scale, so the first minutes of data move it, not noise.
        _cduPump = new([cdu?.PumpPowerWattsAtDesign / 1e3 ?? 10], 4, PerUnitForgetting);
        _crahFan = new([crah?.FanPowerWattsAtDesign / 1e3 ?? 10], 4, PerUnitForgetting);
        _fwPump = new([c.FacilityWater.PumpPowerWattsAtDesign * c.FacilityWater.PumpsRequired / 1e3], 100, PlantForgetting);
        _fwBias = new([0], 1, PlantForgetting);
        _returnRise = new([1e6 / (Math.Max(1, c.FacilityWater.DesignFlowKgPerS) * WaterCp)], 0.25, PlantForgetting);
        _economiser = new([_dryCoolerCapacityMw / 15, 0], 0.25, PlantForgetting);
        _chiller = new([0, chiller is null ? 2 : 1 / chiller.CarnotFraction], 1, PlantForgetting);
        _dryCooler = new([(c.DryCoolers.Sum(d => d.FanPowerWatts) + c.CoolingTowers.Sum(d => d.FanPowerWatts)) / 1e3], 100, PlantForgetting);
        _rest = new([0, 50, 0], 1e4, PlantForgetting);

        // GPU prior from the factory's GPU and rack: junction rise per 100 kW of rack = GPU share of rack power per GPU x R,
        // split by the convective share; coolant rise = liquid share x 1 MW / (2 m c_p) (the plates sit mid-loop).
        var gpu = factory.Gpu;
        var rack = factory.RackProfile;
        var perGpuWattsPer100Kw = 1e5 * (rack.Gpus * gpu.MaxPowerWatts / rack.MaxPowerWatts(gpu)) / Math.Max(1, rack.Gpus);
        var rise = perGpuWattsPer100Kw * gpu.ThermalResistanceKPerWatt;
        var coolant = rack.LiquidFraction * 1e6 / (2 * Math.Max(1, cdu?.DesignFlowKgPerS ?? 30) * WaterCp);
        _gpu = new([0, rise * (1 - gpu.ConvectiveShare), rise * gpu.ConvectiveShare, coolant], 1, PerUnitForgetting);

        // CDU approach above facility water with the valve fully open: the plate exchanger's smaller capacity rate
        // (m_min: the CDU's secondary flow, or its share of facility water) limits it to
        // T_s - T_fws = (1 - eps)/eps x Q/(m_min c_p) (effectiveness-NTU, Incropera §11.4); the feature is Q/(m_min c_p).
        _cduDesignFlow = Math.Max(1, cdu?.DesignFlowKgPerS ?? 30);
        _fwShareFlow = Math.Max(1, c.FacilityWater.DesignFlowKgPerS / Math.Max(1, c.Cdus.Count));
        var eps = Math.Clamp(cdu?.HxEffectiveness ?? 0.75, 0.1, 1);
        _cduApproach = new([0, (1 - eps) / eps], 0.25, PlantForgetting);
        _coilApproach = new([crah?.CoilApproachCelsius ?? 3], 1, PlantForgetting);
        _inlet = new([1, 1], 1, PlantForgetting);
    }

    /// <summary>Observations taken into the model.</summary>
    public int Observations { get; private set; }

    /// <summary>Takes one snapshot, with the settings in force while it was taken, into every sub-model it informs.</summary>
    public void Observe(CoolingSnapshot s, CoolingSettings u)
    {
        Observations++;
        for (var c = 0; c < s.CduPumpPowerKw.Length; c++)
        {
            _cduPump.Update([Cube(u.CduPump)], s.CduPumpPowerKw[c]);
            _gpu.Update(GpuFeatures(s.CduMaxRackPower100Kw[c], s.CduRackPowerMw[c], u.CduPump), s.CduMaxGpu[c] - s.CduSupply[c]);
            // Learned only while the setpoint has stood since the last observation: right after a lower setpoint the supply
            // lags it (the loop's time constant), which is not an exchanger that cannot reach it.
            var steady = _lastCduSetpoint.Length == s.CduSetpoint.Length && _lastCduSetpoint[c].Equals(s.CduSetpoint[c]);
            if (steady && s.CduSupply[c] > s.CduSetpoint[c] + 0.5)
            {
                _cduApproach.Update([1, ExchangerRise(s.CduRackPowerMw[c], u)], s.CduSupply[c] - s.FacilityWaterSupply);
            }
        }

        _lastCduSetpoint = (double[])s.CduSetpoint.Clone();
        var halls = s.HallMaxInlet.Length;
        Span<double> air = stackalloc double[halls];
        Span<int> running = stackalloc int[halls];
        for (var i = 0; i < s.CrahFanPowerKw.Length; i++)
        {
            if (!s.CrahRunning[i])
            {
                continue;
            }

            var fan = _points.CrahHall[i] is var hall and >= 0 && hall < u.HallFans.Length ? u.HallFans[hall] : u.MinFan;
            _crahFan.Update([Cube(fan)], s.CrahFanPowerKw[i]);
            if (s.CrahSupplyAir[i] > u.CrahSupply + 0.5)
            {
                _coilApproach.Update([1], s.CrahSupplyAir[i] - s.FacilityWaterSupply);
            }

            if (_points.CrahHall[i] is var h and >= 0)
            {
                air[h] += s.CrahSupplyAir[i];
                running[h]++;
            }
        }

        for (var h = 0; h < halls; h++)
        {
            if (running[h] > 0)
            {
                _inlet.Update([1, Shortfall(s.HallRackPowerMw[h], running[h], u.HallFans[h]) * _factory.RackProfile.AirDeltaCelsius], s.HallMaxInlet[h] - (air[h] / running[h]));
            }
        }

        _fwPump.Update([Cube(u.FacilityPump)], s.FacilityWaterPumpKw);
        _fwBias.Update([1], s.FacilityWaterSupply - s.FacilityWaterSetpoint);
        var mechKw = Sum(s.CduPumpPowerKw) + Sum(s.CrahFanPowerKw) + s.FacilityWaterPumpKw;
        var heat = s.ItMw + (mechKw / 1e3);
        _returnRise.Update([heat / u.FacilityPump], s.FacilityWaterReturn - s.FacilityWaterSupply);
        if (s.EconomiserEnabled)
        {
            _economiser.Update([Math.Max(0, s.FacilityWaterReturn - EconomiserSink(s) - _dryCoolerApproach), 1], s.EconomiserHeatMw);
            _dryCooler.Update([Cube(s.EconomiserHeatMw / Math.Max(1e-3, _dryCoolerCapacityMw))], s.DryCoolerFanKw);
        }

        _chiller.Update([s.ChillersRunning, ChillerLoad(Math.Max(0, heat - s.EconomiserHeatMw), s.FacilityWaterSupply, CondenserSink(s))], s.ChillerPowerMw);
        var known = (mechKw / 1e3) + s.ChillerPowerMw + (s.DryCoolerFanKw / 1e3);
        _rest.Update([1, s.ItMw, s.ItMw * s.ItMw], (s.FacilityMw - s.ItMw - known) * 1e3);
    }

    /// <summary>Predicts the plant's steady state under <paramref name="u"/>: power at the load and weather of
    /// <paramref name="s"/>, temperatures at the load of <paramref name="peak"/> (null: of <paramref name="s"/>).</summary>
    public CoolingPrediction Predict(CoolingSnapshot s, CoolingSettings u, CoolingSnapshot? peak = null)
    {
        var t = peak ?? s;
        var cdus = s.CduRackPowerMw.Length;
        var fws = u.FacilityWater + Math.Max(0, _fwBias.Predict([1]));
        var mechKw = (cdus * Math.Max(0, _cduPump.Predict([Cube(u.CduPump)]))) + Math.Max(0, _fwPump.Predict([Cube(u.FacilityPump)]));
        for (var h = 0; h < u.HallFans.Length; h++)
        {
            mechKw += u.HallCrahs[h] * Math.Max(0, _crahFan.Predict([Cube(u.HallFans[h])]));
        }

        var it = s.ItMw;
        var heat = it + (mechKw / 1e3);
        var ret = fws + Math.Max(0, _returnRise.Predict([heat / u.FacilityPump]));
        var eco = u.Economiser ? Math.Clamp(_economiser.Predict([Math.Max(0, ret - EconomiserSink(s) - _dryCoolerApproach), 1]), 0, heat) : 0;
        var chillers = Math.Max(0, _chiller.Predict([s.ChillersRunning, ChillerLoad(heat - eco, fws, CondenserSink(s))]));
        var dry = u.Economiser ? Math.Max(0, _dryCooler.Predict([Cube(eco / Math.Max(1e-3, _dryCoolerCapacityMw))])) / 1e3 : 0;
        var rest = _rest.Predict([1, it, it * it]) / 1e3;
        var overhead = (mechKw / 1e3) + chillers + dry + rest;

        var maxGpu = double.NegativeInfinity;
        var maxCdu = double.NegativeInfinity;
        for (var c = 0; c < cdus; c++)
        {
            var approach = Math.Max(0, _cduApproach.Predict([1, ExchangerRise(t.CduRackPowerMw[c], u)]));
            var supply = Math.Max(u.CduSupply, fws + approach);
            maxCdu = Math.Max(maxCdu, supply);
            maxGpu = Math.Max(maxGpu, supply + _gpu.Predict(GpuFeatures(t.CduMaxRackPower100Kw[c], t.CduRackPowerMw[c], u.CduPump)));
        }

        var maxInlet = double.NegativeInfinity;
        for (var h = 0; h < s.HallRackPowerMw.Length; h++)
        {
            maxInlet = Math.Max(maxInlet, HallInlet(t, u, h, u.HallFans[h]));
        }

        return new CoolingPrediction(it + overhead, overhead, fws, maxGpu, maxInlet, maxCdu);
    }

    /// <summary>The warmest CDU supply reachable with its valve fully open under <paramref name="u"/>'s water and flows, at
    /// the load of <paramref name="t"/>: facility water plus the exchanger's approach, the lowest setpoint every CDU can
    /// hold.</summary>
    public double CduReachable(CoolingSnapshot t, CoolingSettings u)
    {
        var fws = u.FacilityWater + Math.Max(0, _fwBias.Predict([1]));
        var reach = fws;
        for (var c = 0; c < t.CduRackPowerMw.Length; c++)
        {
            reach = Math.Max(reach, fws + Math.Max(0, _cduApproach.Predict([1, ExchangerRise(t.CduRackPowerMw[c], u)])));
        }

        return reach;
    }

    /// <summary>The hottest rack inlet of hall <paramref name="h"/> predicted under <paramref name="u"/> with its CRAHs
    /// at <paramref name="fan"/>, at the load of <paramref name="t"/>.</summary>
    public double HallInlet(CoolingSnapshot t, CoolingSettings u, int h, double fan)
    {
        var fws = u.FacilityWater + Math.Max(0, _fwBias.Predict([1]));
        var air = Math.Max(u.CrahSupply, fws + Math.Max(0, _coilApproach.Predict([1])));
        var rise = InletRise(Shortfall(t.HallRackPowerMw[h], Math.Max(1, u.HallCrahs[h]), fan) * _factory.RackProfile.AirDeltaCelsius);
        return air + Math.Max(0, rise);
    }

    /// <summary>Hottest inlet above supply air for a shortfall of <paramref name="shortfallKelvin"/> (the share of air
    /// demand not supplied times the racks' air rise): the learnt offset plus the learnt slope, taken at no less than 1.</summary>
    /// <remarks>Air the CRAHs do not supply is drawn from the hot aisle, at the racks' outlet temperature: mixing raises
    /// the mean inlet by the shortfall times the racks' rise, and the hottest rack by at least that. A hall's fans run
    /// above its demand, so the data seldom hold a shortfall and the slope is learnt from noise (0.48 on the faults week):
    /// when two CRAHs failed, the model then predicted 26.3 °C where the racks reached 28 °C, and the water came down two
    /// minutes late.</remarks>
    private double InletRise(double shortfallKelvin)
    {
        var theta = _inlet.Parameters;
        return theta[0] + (Math.Max(theta[1], 1) * shortfallKelvin);
    }

    /// <summary>Sets to NaN each CDU's hottest-GPU reading and each hall's hottest-inlet reading that departs from the
    /// model's prediction for the settings in force by more than a gate, and returns how many it set.</summary>
    /// <remarks>Innovation gating (Ljung 1999, §15.2, outlier-robust identification): a stuck or lying sensor is kept
    /// out of the model and out of the plan. Gates: 12 K for GPU maxima (twice the largest prediction error the
    /// reference runs showed in the first minutes, from the priors) and 5 K for inlets (their whole rise above supply
    /// air at the recirculation the envelope allows). A model gone wrong would gate every reading: the optimiser then
    /// sees nothing and restores full pumps and fans, which is safe.</remarks>
    public int Screen(CoolingSnapshot s, CoolingSettings u)
    {
        const double GpuGate = 12;
        const double InletGate = 5;
        var screened = 0;
        var fws = s.FacilityWaterSupply;
        for (var c = 0; c < s.CduMaxGpu.Length; c++)
        {
            var expected = s.CduSupply[c] + _gpu.Predict(GpuFeatures(s.CduMaxRackPower100Kw[c], s.CduRackPowerMw[c], u.CduPump));
            if (double.IsFinite(s.CduMaxGpu[c]) && !(Math.Abs(s.CduMaxGpu[c] - expected) <= GpuGate))
            {
                s.CduMaxGpu[c] = double.NaN;
                screened++;
            }
        }

        var air = Math.Max(u.CrahSupply, fws + Math.Max(0, _coilApproach.Predict([1])));
        var halls = s.HallMaxInlet.Length;
        for (var h = 0; h < halls; h++)
        {
            var expected = air + InletRise(Shortfall(s.HallRackPowerMw[h], Math.Max(1, u.HallCrahs[h]), u.HallFans[h]) * _factory.RackProfile.AirDeltaCelsius);
            if (double.IsFinite(s.HallMaxInlet[h]) && double.IsFinite(expected) && !(Math.Abs(s.HallMaxInlet[h] - expected) <= InletGate))
            {
                s.HallMaxInlet[h] = double.NaN;
                screened++;
            }
        }

        return screened;
    }

    /// <summary>Every sub-model's parameters, for the audit trail and the docs.</summary>
    public string Describe()
    {
        static string P(RecursiveLeastSquares m) => string.Join(", ", m.Parameters.Select(v => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)));
        return $"cdu pump [{P(_cduPump)}] crah fan [{P(_crahFan)}] fw pump [{P(_fwPump)}] fw bias [{P(_fwBias)}] return rise [{P(_returnRise)}] "
            + $"economiser [{P(_economiser)}] chiller [{P(_chiller)}] dry cooler [{P(_dryCooler)}] rest [{P(_rest)}] gpu [{P(_gpu)}] "
            + $"cdu approach [{P(_cduApproach)}] coil approach [{P(_coilApproach)}] inlet [{P(_inlet)}]";
    }

    /// <summary>Q/(m_min c_p) of a CDU's exchanger, K: its load over the smaller of its secondary flow and its share of
    /// facility water (both by the affinity law, flow ~ speed).</summary>
    private double ExchangerRise(double cduMw, CoolingSettings u) =>
        cduMw * 1e6 / (Math.Max(1e-3, Math.Min(_cduDesignFlow * u.CduPump, _fwShareFlow * u.FacilityPump)) * WaterCp);

    /// <summary>What the economiser cools toward: the wet bulb for cooling towers, the dry bulb for dry coolers.</summary>
    private double EconomiserSink(CoolingSnapshot s) => _evaporative ? s.WetBulb : s.DryBulb;

    /// <summary>What the chillers condense above: the wet bulb when water-cooled (towers), the dry bulb when air-cooled.</summary>
    private double CondenserSink(CoolingSnapshot s) => _waterCooled ? s.WetBulb : s.DryBulb;

    /// <summary>The chiller load feature: heat (MW) times the Carnot lift ratio (T_cond - T_evap) / T_evap.</summary>
    private double ChillerLoad(double heatMw, double fws, double sinkCelsius)
    {
        var condensing = Math.Max(sinkCelsius + _condenserApproach, _minCondensing);
        return Math.Max(0, heatMw) * Math.Max(0, condensing - fws) / (fws + 273.15);
    }

    /// <summary>The share of a hall's rack air demand (air heat over ρ c_p ΔT_rack) its running CRAHs do not supply.</summary>
    /// <summary>The fan speed at which <paramref name="crahs"/> running CRAHs supply a hall's rack air demand at
    /// <paramref name="hallMw"/> with <paramref name="excess"/> to spare (0.05: 5 % more air than the racks draw).</summary>
    public double FanForAirDemand(double hallMw, int crahs, double excess)
    {
        var rack = _factory.RackProfile;
        var demand = (1 - rack.LiquidFraction) * Math.Max(0, hallMw) * 1e6 / (AirDensity * AirCp * rack.AirDeltaCelsius);
        var airflow = _factory.Cooling.Crahs.Count == 0 ? 0 : _factory.Cooling.Crahs.Average(c => c.AirflowM3PerS);
        return crahs <= 0 || airflow <= 0 ? double.PositiveInfinity : demand * (1 + excess) / (crahs * airflow);
    }

    private double Shortfall(double hallMw, int crahs, double fan)
    {
        var rack = _factory.RackProfile;
        var demand = (1 - rack.LiquidFraction) * hallMw * 1e6 / (AirDensity * AirCp * rack.AirDeltaCelsius);
        var airflow = _factory.Cooling.Crahs.Count == 0 ? 0 : _factory.Cooling.Crahs.Average(c => c.AirflowM3PerS);
        var supply = crahs * fan * airflow;
        return demand <= 0 ? 0 : Math.Max(0, 1 - (supply / demand));
    }

    private static double[] GpuFeatures(double hottestRack100Kw, double cduMw, double pump) =>
        [1, hottestRack100Kw, hottestRack100Kw * Math.Pow(pump, -0.8), cduMw / pump];

    private static double Cube(double x) => x * x * x;

    private static double Sum(double[] values)
    {
        var s = 0.0;
        foreach (var v in values)
        {
            s += double.IsFinite(v) ? v : 0;
        }

        return s;
    }
}
