using Aida.Model.Facility;

namespace Aida.Model.Scenarios;

/// <summary>A run of the plant: which factory, weather, workload and faults, for how long, with which seed.</summary>
public sealed record Scenario(
    string Name,
    string Description,
    Factory Factory,
    WeatherSpec Weather,
    DateTimeOffset Start,
    TimeSpan Duration,
    TimeSpan Step,
    int Seed,
    WorkloadSpec Workload,
    IReadOnlyList<FaultSpec> Faults,
    SetpointSpec Setpoints,
    string SourceFile)
{
    /// <summary>How often every GPU is sampled into telemetry: the DCGM exporter's collection interval (default 30 s,
    /// dcgm-exporter's <c>-c 30000</c>).</summary>
    public TimeSpan GpuTelemetryInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Planned changes a person makes at the plant's own controls during the run (a setpoint changed at 02:00),
    /// outside any operator or agent the run plays: in every mode, at the same time, so a failed actuator is exposed
    /// the same way in each.</summary>
    public IReadOnlyList<ScheduledWrite> Writes { get; init; } = [];
}

/// <summary>A write of <paramref name="Value"/> to <paramref name="Actuator"/> (asset/setting) at <paramref name="At"/>
/// into the run; <paramref name="Line"/> is its line in the scenario file.</summary>
public sealed record ScheduledWrite(TimeSpan At, string Actuator, double Value, int Line);

/// <summary>Weather from an EPW file, or a synthetic profile when <see cref="EpwPath"/> is null.</summary>
public sealed record WeatherSpec(string? EpwPath, SyntheticWeatherSpec Synthetic);

/// <summary>A sinusoidal climate: seasonal and daily cycles around a mean, with a fixed dew-point depression.</summary>
public sealed record SyntheticWeatherSpec(double MeanCelsius, double SeasonalAmplitudeCelsius, double DailyAmplitudeCelsius, double DewPointDepressionCelsius);

public sealed record WorkloadSpec(IReadOnlyList<TrainingJobSpec> Training, IReadOnlyList<InferenceSpec> Inference, double IdleUtilisation);

/// <summary>A training job: its GPUs move together, with synchronous dips, checkpoints and restarts after failures.</summary>
public sealed record TrainingJobSpec(
    string Name,
    IReadOnlyList<int> Racks,
    double Utilisation,
    TimeSpan Start,
    TimeSpan? End,
    TimeSpan SyncPeriod,
    double SyncDip,
    TimeSpan CheckpointEvery,
    TimeSpan CheckpointDuration,
    double CheckpointUtilisation,
    TimeSpan MeanTimeBetweenFailures,
    TimeSpan RestartTime);

/// <summary>Inference serving: a diurnal sine with per-rack noise.</summary>
public sealed record InferenceSpec(string Name, IReadOnlyList<int> Racks, double Mean, double Amplitude, double PeakHourUtc, double Noise);

/// <summary>An injected fault: ground truth for evaluation, never visible to the pipeline.</summary>
public sealed record FaultSpec(FaultKind Kind, string Asset, string? Point, TimeSpan Start, TimeSpan? End, IReadOnlyDictionary<string, double> Parameters, int Line)
{
    public string KindName => FaultCatalog.Of(Kind).Name;

    public double Parameter(string name) =>
        Parameters.TryGetValue(name, out var v) ? v : FaultCatalog.Of(Kind).Parameters[name].Default;
}

/// <summary>Initial setpoints a scenario may override; null keeps the factory's or the operator's value.</summary>
public sealed record SetpointSpec(double? FacilityWaterSupplyCelsius, double? CduSupplyCelsius, double? CrahSupplyCelsius, IReadOnlyList<string> Maintenance);
