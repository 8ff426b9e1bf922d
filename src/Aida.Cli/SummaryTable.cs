using Aida.Twin.Simulation;
using static Aida.Cli.AidaCommand;

namespace Aida.Cli;

/// <summary>The human-readable summary of a run.</summary>
internal static class SummaryTable
{
    public static void Write(TextWriter w, SimulationSummary s)
    {
        var rows = new List<(string, string)>
        {
            ("scenario", s.Scenario),
            ("mode", s.Mode),
            ("seed", s.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("simulated", $"{Format(s.DurationSeconds / 3600, "0.##")} h"),
            ("IT energy", $"{Format(s.ItEnergyKwh / 1000, "0.0")} MWh (mean {Format(s.ItEnergyKwh / (s.DurationSeconds / 3600) / 1000, "0.00")} MW)"),
            ("facility energy", $"{Format(s.FacilityEnergyKwh / 1000, "0.0")} MWh"),
            ("  cooling", $"{Format(s.CoolingEnergyKwh / 1000, "0.0")} MWh"),
            ("  electrical losses", $"{Format(s.ElectricalLossesKwh / 1000, "0.0")} MWh"),
            ("  lighting and office", $"{Format(s.MiscEnergyKwh / 1000, "0.0")} MWh"),
            ("PUE", $"{Format(s.Pue, "0.000")} ({s.PueCategory})"),
            ("max rack inlet", $"{Format(s.MaxRackInletCelsius, "0.0")} °C"),
            ("max GPU temperature", $"{Format(s.MaxGpuTemperatureCelsius, "0.0")} °C"),
            ("max facility water", $"{Format(s.MaxFacilityWaterSupplyCelsius, "0.0")} °C"),
            ("GPU throttled", $"{Format(s.GpuThrottledSeconds / 3600, "0.0")} GPU-hours"),
            ("GPU shut down", $"{Format(s.GpuShutdownSeconds / 3600, "0.0")} GPU-hours"),
            ("GPU paused", $"{Format(s.GpuPausedSeconds / 3600, "0.0")} GPU-hours"),
            ("GPU power-capped", $"{Format(s.GpuCappedSeconds / 3600, "0.0")} GPU-hours"),
            ("racks unpowered", $"{Format(s.RackUnpoweredSeconds / 3600, "0.0")} rack-hours"),
            ("UPS on battery", $"{Format(s.UpsOnBatterySeconds / 60, "0.0")} min (lowest charge {Format(s.MinUpsBatteryRatio * 100, "0")} %)"),
            ("economiser", $"{Format(s.EconomiserHours, "0.0")} h"),
            ("alarms", $"{s.Operator.AlarmsRaised} raised, {s.Operator.AlarmsFixed} fixed"),
            ("manual actions", $"{s.Operator.ManualActions} ({s.Operator.WrongFixes} wrong first fixes)"),
            ("mean time to notice", $"{Format(s.Operator.MeanTimeToNoticeSeconds / 60, "0.0")} min"),
            ("mean time to fix", $"{Format(s.Operator.MeanTimeToFixSeconds / 60, "0.0")} min"),
        };
        for (var i = 0; i < s.Faults.Count; i++)
        {
            var f = s.Faults[i];
            var end = f.EndSeconds is { } e ? $"{Format(e / 3600, "0.##")} h" : "end";
            var answer = s.Agent?.Responses is { Count: > 0 } responses && i < responses.Count ? "; " + Answer(responses[i]) : "";
            rows.Add(("fault", $"{f.Kind} on {f.Asset} from {Format(f.StartSeconds / 3600, "0.##")} h to {end}{answer}"));
        }

        if (s.Agent is { } agent)
        {
            rows.Add(("remediated by the agent", $"{agent.RemediatedWithoutManualAction} of {agent.FaultsInjected} faults with no manual action; of those {agent.MitigatedWithinFiveMinutes} fixed within 5 min of detection, {agent.RepairedWithinFiveMinutes} also verified within 5 min"));
            rows.Add(("incidents", $"{agent.IncidentsOpened} opened; at the end {string.Join(", ", agent.IncidentsByState.Select(kv => $"{kv.Value} {kv.Key}"))}"));
            if (agent.DetectionFailures > 0)
            {
                rows.Add(("detection", $"{agent.DetectionFailures} rounds could not read their telemetry (audited; each read again at the next round)"));
            }
        }

        if (s.Observed is { } o)
        {
            var halls = string.Join(", ", o.PartialPue.Select(h => $"{h.Key} {Format(h.Value, "0.000")}"));
            rows.Add(("PUE from telemetry", $"{Format(o.Pue, "0.000")} ({o.PueCategory}); partial PUE {halls}; CLF {Format(o.Clf, "0.000")}, PLF {Format(o.Plf, "0.000")}"));
            if (o.CarbonKg is { } kg)
            {
                rows.Add(("carbon", $"{Format(kg / 1000, "0.0")} t CO2, CUE {Format(o.CueKgPerKwh ?? double.NaN, "0.000")} kg/kWh IT"));
            }
        }

        foreach (var slo in s.Slos ?? [])
        {
            var attained = double.IsNaN(slo.Attained) ? "no data" : $"{Format(slo.Attained * 100, "0.###")} % (objective {Format(slo.Objective * 100, "0.###")} %)";
            var corrected = slo.Corrected is { } c
                ? $"; with the readings answered as lying left out {Format(c.Attained * 100, "0.###")} %, {Format(c.BudgetConsumed * 100, "0.0")} % spent"
                : "";
            rows.Add(($"SLO {slo.Name}", $"{attained}, {Format(slo.BudgetConsumed * 100, "0.0")} % of the budget spent, {slo.AlertsFired} alerts fired{corrected}"));
        }

        foreach (var x in s.Agent?.ExcludedReadings ?? [])
        {
            var until = x.UntilSeconds is { } u ? $"to {Format(u / 3600, "0.##")} h" : "to the end";
            // An exclusion taken up from before a restart began before this run did.
            var from = x.FromSeconds < 0 ? $"{Format(-x.FromSeconds / 3600, "0.##")} h before the start" : $"{Format(x.FromSeconds / 3600, "0.##")} h";
            rows.Add(("left out of the SLOs", $"{x.Series} from {from} {until} ({x.Reason})"));
        }

        static string Answer(FaultResponseRecord r) => r.DetectSeconds is not { } d
            ? "agent: not found"
            : $"agent: found after {Format(d / 60, "0.#")} min, runbook {r.Runbook} {r.RunbookState}{(r.MitigateSeconds is { } m ? $", fix in {Format(m / 60, "0.#")} min" : "")}{(r.RepairSeconds is { } x ? $", ended {Format(x / 60, "0.#")} min after" : "")}{(r.NeededApproval ? ", approved by a person" : "")}";

        var width = rows.Max(r => r.Item1.Length);
        foreach (var (k, v) in rows)
        {
            w.WriteLine($"{k.PadRight(width)}  {v}");
        }
    }
}
