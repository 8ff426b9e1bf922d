using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Aida.Twin.Simulation;

/// <summary>The outcome of one run: energy, PUE, extremes, operator toil and the injected faults (ground truth).</summary>
public sealed record SimulationSummary
{
    public required string Scenario { get; init; }

    /// <summary>The factory the scenario runs (its name, as in <c>factories/NAME.yaml</c>).</summary>
    public string Factory { get; init; } = "";
    public required string Mode { get; init; }
    public required int Seed { get; init; }
    public required double DurationSeconds { get; init; }
    public required double StepSeconds { get; init; }
    public required double ItEnergyKwh { get; init; }
    public required double FacilityEnergyKwh { get; init; }
    public required double CoolingEnergyKwh { get; init; }
    public required double ElectricalLossesKwh { get; init; }
    public required double MiscEnergyKwh { get; init; }
    public required double Pue { get; init; }

    /// <summary>ISO/IEC 30134-2 category: IT energy is metered at the rack input, so this is a category 3 PUE.</summary>
    public string PueCategory => "PUE3";
    public required IReadOnlyDictionary<string, double> EnergyBreakdownKwh { get; init; }
    public required double MaxRackInletCelsius { get; init; }
    public required double MaxGpuTemperatureCelsius { get; init; }
    public required double MaxFacilityWaterSupplyCelsius { get; init; }
    public required double GpuThrottledSeconds { get; init; }
    public required double GpuShutdownSeconds { get; init; }

    /// <summary>GPU-seconds of work held back by pausing racks' workload (an operator's or agent's action).</summary>
    public double GpuPausedSeconds { get; init; }

    /// <summary>GPU-seconds a power cap held a GPU below the power its work asked for (an operator's or agent's cap: work
    /// slowed on purpose, where <see cref="GpuThrottledSeconds"/> is work slowed by heat).</summary>
    public double GpuCappedSeconds { get; init; }
    public required double RackUnpoweredSeconds { get; init; }
    public required double UpsOnBatterySeconds { get; init; }
    public required double MinUpsBatteryRatio { get; init; }
    public required double EconomiserHours { get; init; }
    public required double HeatRejectedKwh { get; init; }
    public required double HeatIntoFacilityWaterKwh { get; init; }

    /// <summary>Water the cooling towers drew (evaporation and blowdown), litres; 0 on a dry plant.</summary>
    public double WaterLitres { get; init; }

    /// <summary>Water usage effectiveness (The Green Grid WUE, ISO/IEC 30134-9): site water over IT energy, litres per kWh.
    /// The twin's only site water is the towers' make-up.</summary>
    public double Wue => ItEnergyKwh > 0 ? WaterLitres / ItEnergyKwh : 0;
    public required int TrainingInterruptions { get; init; }

    /// <summary>Training-job restarts the plant caused: a rack lost (isolated or unpowered), a share paused or moved, or
    /// either undone.</summary>
    public int TrainingPlantRestarts { get; init; }
    public required OperatorSummary Operator { get; init; }
    public required IReadOnlyList<FaultRecord> Faults { get; init; }

    /// <summary>How each SLO of the pack fared over the run's telemetry; null when the run kept no telemetry.</summary>
    public IReadOnlyList<SloOutcome>? Slos { get; init; }

    /// <summary>In agent mode, what Aida's agent did; null otherwise.</summary>
    public AgentOutcome? Agent { get; init; }

    /// <summary>The derived metrics as Aida's observability computed them from the run's telemetry alone (not from the
    /// twin's truth above); null when the run kept no telemetry.</summary>
    public ObservedMetrics? Observed { get; init; }

    /// <summary>The summary as indented JSON with snake_case names and fixed rounding, byte-identical for equal runs.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("scenario", Scenario);
            w.WriteString("factory", Factory);
            w.WriteString("mode", Mode);
            w.WriteNumber("seed", Seed);
            Num(w, "duration_seconds", DurationSeconds, 0);
            Num(w, "step_seconds", StepSeconds, 3);
            Num(w, "it_energy_kwh", ItEnergyKwh, 3);
            Num(w, "facility_energy_kwh", FacilityEnergyKwh, 3);
            Num(w, "cooling_energy_kwh", CoolingEnergyKwh, 3);
            Num(w, "electrical_losses_kwh", ElectricalLossesKwh, 3);
            Num(w, "misc_energy_kwh", MiscEnergyKwh, 3);
            Num(w, "pue", Pue, 4);
            w.WriteString("pue_category", PueCategory);
            w.WriteStartObject("energy_breakdown_kwh");
            foreach (var (k, v) in EnergyBreakdownKwh)
            {
                Num(w, k, v, 3);
            }

            w.WriteEndObject();
            Num(w, "max_rack_inlet_celsius", MaxRackInletCelsius, 2);
            Num(w, "max_gpu_temperature_celsius", MaxGpuTemperatureCelsius, 2);
            Num(w, "max_facility_water_supply_celsius", MaxFacilityWaterSupplyCelsius, 2);
            Num(w, "gpu_throttled_seconds", GpuThrottledSeconds, 0);
            Num(w, "gpu_shutdown_seconds", GpuShutdownSeconds, 0);
            Num(w, "gpu_paused_seconds", GpuPausedSeconds, 0);
            Num(w, "gpu_capped_seconds", GpuCappedSeconds, 0);
            Num(w, "rack_unpowered_seconds", RackUnpoweredSeconds, 0);
            Num(w, "ups_on_battery_seconds", UpsOnBatterySeconds, 0);
            Num(w, "min_ups_battery_ratio", MinUpsBatteryRatio, 4);
            Num(w, "economiser_hours", EconomiserHours, 2);
            Num(w, "heat_rejected_kwh", HeatRejectedKwh, 3);
            Num(w, "heat_into_facility_water_kwh", HeatIntoFacilityWaterKwh, 3);
            Num(w, "water_m3", WaterLitres / 1000, 3);
            Num(w, "wue_litres_per_kwh", Wue, 4);
            w.WriteNumber("training_interruptions", TrainingInterruptions);
            w.WriteNumber("training_plant_restarts", TrainingPlantRestarts);
            w.WriteStartObject("operator");
            w.WriteNumber("alarms_raised", Operator.AlarmsRaised);
            w.WriteNumber("alarms_noticed", Operator.AlarmsNoticed);
            w.WriteNumber("alarms_fixed", Operator.AlarmsFixed);
            w.WriteNumber("manual_actions", Operator.ManualActions);
            w.WriteNumber("wrong_fixes", Operator.WrongFixes);
            w.WriteNumber("actuator_writes", Operator.Writes);
            Num(w, "mean_time_to_notice_seconds", Operator.MeanTimeToNoticeSeconds, 1);
            Num(w, "mean_time_to_fix_seconds", Operator.MeanTimeToFixSeconds, 1);
            w.WriteEndObject();
            w.WriteStartArray("faults");
            foreach (var f in Faults)
            {
                w.WriteStartObject();
                w.WriteString("kind", f.Kind);
                w.WriteString("asset", f.Asset);
                Num(w, "start_seconds", f.StartSeconds, 0);
                if (f.EndSeconds is { } end)
                {
                    Num(w, "end_seconds", end, 0);
                }
                else
                {
                    w.WriteNull("end_seconds");
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (Slos is not null)
            {
                w.WriteStartArray("slos");
                foreach (var slo in Slos)
                {
                    w.WriteStartObject();
                    w.WriteString("name", slo.Name);
                    Num(w, "objective", slo.Objective, 6);
                    Num(w, "attained", slo.Attained, 6);
                    Num(w, "budget_consumed", slo.BudgetConsumed, 6);
                    Num(w, "budget_remaining", slo.BudgetRemaining, 6);
                    w.WriteNumber("alerts_fired", slo.AlertsFired);
                    if (slo.Corrected is { } c)
                    {
                        w.WriteStartObject("corrected");
                        Num(w, "attained", c.Attained, 6);
                        Num(w, "budget_consumed", c.BudgetConsumed, 6);
                        Num(w, "budget_remaining", c.BudgetRemaining, 6);
                        w.WriteNumber("alerts_fired", c.AlertsFired);
                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            if (Agent is { } a)
            {
                w.WriteStartObject("incidents");
                w.WriteNumber("injected", a.FaultsInjected);
                w.WriteNumber("detected", a.FaultsDetected);
                Num(w, "mttd_seconds", a.MttdSeconds, 0);
                Num(w, "mttr_seconds", a.MttrSeconds, 0);
                w.WriteNumber("opened", a.IncidentsOpened);
                w.WriteStartObject("by_state");
                foreach (var (state, count) in a.IncidentsByState)
                {
                    w.WriteNumber(state, count);
                }

                w.WriteEndObject();
                w.WriteNumber("remediated_without_manual_action", a.RemediatedWithoutManualAction);
                w.WriteNumber("mitigated_within_5_minutes", a.MitigatedWithinFiveMinutes);
                w.WriteNumber("repaired_within_5_minutes", a.RepairedWithinFiveMinutes);
                w.WriteStartArray("faults");
                foreach (var r in a.Responses)
                {
                    w.WriteStartObject();
                    w.WriteString("kind", r.Kind);
                    w.WriteString("asset", r.Asset);
                    Num(w, "detect_seconds", r.DetectSeconds ?? double.NaN, 0);
                    w.WriteString("runbook", r.Runbook);
                    w.WriteString("runbook_state", r.RunbookState);
                    Num(w, "mitigate_seconds", r.MitigateSeconds ?? double.NaN, 0);
                    Num(w, "repair_seconds", r.RepairSeconds ?? double.NaN, 0);
                    w.WriteBoolean("needed_approval", r.NeededApproval);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteNumber("manual_actions", Operator.ManualActions);
                w.WriteNumber("agent_actions", a.AgentActions);
                w.WriteNumber("optimiser_moves", a.OptimiserMoves);
                w.WriteNumber("refused_writes", a.RefusedWrites);
                w.WriteNumber("safety_violations", a.SafetyViolations);
                w.WriteNumber("detection_failures", a.DetectionFailures);
                w.WriteStartArray("excluded_readings");
                foreach (var x in a.ExcludedReadings)
                {
                    w.WriteStartObject();
                    w.WriteString("series", x.Series);
                    Num(w, "from_seconds", x.FromSeconds, 0);
                    Num(w, "until_seconds", x.UntilSeconds ?? double.NaN, 0);
                    w.WriteString("reason", x.Reason);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            if (Observed is { } o)
            {
                w.WriteStartObject("observed");
                Num(w, "pue", o.Pue, 4);
                w.WriteString("pue_category", o.PueCategory);
                w.WriteStartObject("partial_pue");
                foreach (var (hall, value) in o.PartialPue)
                {
                    Num(w, hall, value, 4);
                }

                w.WriteEndObject();
                Num(w, "clf", o.Clf, 4);
                Num(w, "plf", o.Plf, 4);
                if (o.CarbonKg is { } kg)
                {
                    Num(w, "carbon_kg", kg, 1);
                    Num(w, "cue_kg_per_kwh", o.CueKgPerKwh ?? double.NaN, 4);
                }

                if (o.WaterLitres is { } litres)
                {
                    Num(w, "water_m3", litres / 1000, 3);
                    Num(w, "wue_litres_per_kwh", o.Wue ?? double.NaN, 4);
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void Num(Utf8JsonWriter w, string name, double value, int decimals)
    {
        if (!double.IsFinite(value))
        {
            w.WriteNull(name);
            return;
        }

        // Rounded text keeps files byte-identical and readable; decimal() keeps trailing digits out of the way.
        w.WritePropertyName(name);
        w.WriteRawValue(Math.Round(value, decimals).ToString("0.############", CultureInfo.InvariantCulture));
    }
}

public sealed record OperatorSummary(
    string Mode,
    int AlarmsRaised,
    int AlarmsNoticed,
    int AlarmsFixed,
    int ManualActions,
    int WrongFixes,
    int Writes,
    double MeanTimeToNoticeSeconds,
    double MeanTimeToFixSeconds);

/// <summary>An injected fault, as ground truth: kind, asset (or point), start and end in seconds since the run began.</summary>
public sealed record FaultRecord(string Kind, string Asset, double StartSeconds, double? EndSeconds);

/// <summary>One SLO over a run: its objective, the SLI attained, the share of its window's budget the run spent and
/// what that leaves, and how many burn-rate alerts fired.</summary>
/// <summary>Derived metrics over a whole run from its telemetry: energy-based PUE (ISO/IEC 30134-2, with its category),
/// partial PUE per hall, cooling and power load factors, and carbon (kgCO2 and CUE) when the site names grid data.</summary>
public sealed record ObservedMetrics(double Pue, string PueCategory, IReadOnlyList<KeyValuePair<string, double>> PartialPue, double Clf, double Plf, double? CarbonKg, double? CueKgPerKwh)
{
    /// <summary>Site water from the towers' meters, litres; null on a plant that meters none.</summary>
    public double? WaterLitres { get; init; }

    /// <summary>WUE from the same meters and the IT meter, L/kWh; null with <see cref="WaterLitres"/>.</summary>
    public double? Wue { get; init; }
}

/// <summary>What Aida's agent did in a run: the injected faults it found (a root cause of the same kind on the same
/// asset) and how fast, how fast its runbooks finished after detection (mean over faults whose runbook succeeded), its
/// writes, the writes its guard refused, and writes outside the safety envelope that reached the plant (counted below
/// the guard, independently of it).</summary>
public sealed record AgentOutcome(int FaultsInjected, int FaultsDetected, double MttdSeconds, double MttrSeconds, int IncidentsOpened, int AgentActions, int OptimiserMoves, int RefusedWrites, int SafetyViolations)
{
    /// <summary>Per injected fault, in the summary's fault order: how the agent answered it.</summary>
    public IReadOnlyList<FaultResponseRecord> Responses { get; init; } = [];

    /// <summary>The incidents opened, by their state at the end of the run (open, acknowledged, mitigated, resolved):
    /// the agent moves those it answers along; what is still open no runbook answered.</summary>
    public IReadOnlyDictionary<string, int> IncidentsByState { get; init; } = new Dictionary<string, int>();

    /// <summary>The readings the agent answered as lying and left out of the SLIs that read them, in the order it left
    /// them out: the SLOs' <see cref="SloOutcome.Corrected"/> figures apply them.</summary>
    public IReadOnlyList<ExcludedReading> ExcludedReadings { get; init; } = [];

    /// <summary>Detection rounds that could not read their telemetry (a query over the engine's limits), each audited and
    /// read again at the next round: any at all means faults were found late.</summary>
    public int DetectionFailures { get; init; }

    /// <summary>Faults whose right cause the agent found and whose runbook succeeded with no person's approval asked.</summary>
    public int RemediatedWithoutManualAction => Responses.Count(r => r.RunbookState == "Succeeded" && !r.NeededApproval);

    /// <summary>Of those, the ones whose runbook's last action took effect within 5 min of detection (the fix applied).</summary>
    public int MitigatedWithinFiveMinutes => Responses.Count(r => r.RunbookState == "Succeeded" && !r.NeededApproval && r.MitigateSeconds <= 300);

    /// <summary>Of those, the ones whose runbook finished, its checks met, within 5 min of detection (the fix verified).</summary>
    public int RepairedWithinFiveMinutes => Responses.Count(r => r.RunbookState == "Succeeded" && !r.NeededApproval && r.RepairSeconds <= 300);
}

/// <summary>The agent's answer to one injected fault: when its right cause was found (seconds after onset; null: never),
/// the runbook it started and how that ended (Succeeded, RolledBack, Running, ...), how long from detection to its last
/// action taking effect (mitigated) and to the runbook's end with its checks met (repaired), and whether a person had to
/// approve anything.</summary>
public sealed record FaultResponseRecord(string Kind, string Asset, double? DetectSeconds, string? Runbook, string? RunbookState, double? MitigateSeconds, double? RepairSeconds, bool NeededApproval);

/// <summary>A reading left out of the SLIs that read it: the series, from and until when (seconds into the run; null:
/// to the end), and why.</summary>
public sealed record ExcludedReading(string Series, double FromSeconds, double? UntilSeconds, string Reason);

/// <summary>How an SLO fared over a run, as its SLI read the telemetry.</summary>
public sealed record SloOutcome(string Name, double Objective, double Attained, double BudgetConsumed, double BudgetRemaining, int AlertsFired)
{
    /// <summary>The same with the readings the agent answered as lying left out (<see cref="AgentOutcome.ExcludedReadings"/>);
    /// null when none was left out of this SLO's SLI.</summary>
    public SloOutcome? Corrected { get; init; }
}
