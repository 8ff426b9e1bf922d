using Aida.Model.Scenarios;
using Aida.Twin.Physics;

namespace Aida.Twin.Workload;

/// <summary>GPU utilisation per rack over time: training jobs that move together, diurnal inference, idle racks.</summary>
/// <remarks>
/// Training (Llama 3 paper, Dubey et al. 2024, §3.3.4): all GPUs of a job share one utilisation, with synchronous dips
/// at each collective step, deep dips while checkpointing, and drops to idle when the job fails and restarts (419
/// interruptions in 54 days on 16k GPUs, i.e. one every ~3 h). Inference follows the day with per-rack AR(1) noise.
/// </remarks>
internal sealed class WorkloadModel
{
    private readonly WorkloadSpec _spec;
    private readonly Random _random;
    private readonly double[] _utilisation;
    private readonly double[] _inferenceNoise;
    private readonly JobState[] _jobs;
    private readonly double _startHourUtc;

    // Arrays, not the spec's lists: enumerating an IReadOnlyList allocates, and this runs every step.
    private readonly TrainingJobSpec[] _training;
    private readonly int[][] _trainingRacks;
    private readonly InferenceSpec[] _inference;
    private readonly int[][] _inferenceRacks;

    public WorkloadModel(WorkloadSpec spec, int rackCount, DateTimeOffset start, int seed)
    {
        _spec = spec;
        _random = new Random(seed);
        _utilisation = new double[rackCount];
        _inferenceNoise = new double[rackCount];
        _jobs = new JobState[spec.Training.Count];
        _startHourUtc = start.UtcDateTime.TimeOfDay.TotalHours;
        Array.Fill(_utilisation, spec.IdleUtilisation);
        _training = [.. spec.Training];
        _trainingRacks = [.. spec.Training.Select(j => j.Racks.ToArray())];
        _inference = [.. spec.Inference];
        _inferenceRacks = [.. spec.Inference.Select(i => i.Racks.ToArray())];
    }

    /// <summary>Utilisation per rack, 0-1, as of the last <see cref="Step"/>.</summary>
    public ReadOnlySpan<double> Utilisation => _utilisation;

    /// <summary>Number of training-job interruptions so far (ground truth for evaluation).</summary>
    public int Interruptions { get; private set; }

    public void Step(double now, double dt)
    {
        for (var j = 0; j < _jobs.Length; j++)
        {
            var u = TrainingUtilisation(ref _jobs[j], _training[j], now, dt);
            foreach (var r in _trainingRacks[j])
            {
                _utilisation[r] = u;
            }
        }

        var hour = _startHourUtc + (now / 3600);
        for (var i = 0; i < _inference.Length; i++)
        {
            var inf = _inference[i];
            var diurnal = inf.Mean + (inf.Amplitude * Math.Cos(2 * Math.PI * (hour - inf.PeakHourUtc) / 24));

            // AR(1) with a five-minute correlation time: load moves smoothly, not white noise each second.
            var rho = Math.Exp(-dt / 300);
            var innovation = inf.Noise * Math.Sqrt(1 - (rho * rho));
            foreach (var r in _inferenceRacks[i])
            {
                _inferenceNoise[r] = (rho * _inferenceNoise[r]) + (innovation * _random.NextGaussian());
                _utilisation[r] = Math.Clamp(diurnal + _inferenceNoise[r], 0, 1);
            }
        }
    }

    private double TrainingUtilisation(ref JobState state, TrainingJobSpec job, double now, double dt)
    {
        var idle = _spec.IdleUtilisation;
        if (now < job.Start.TotalSeconds || (job.End is { } end && now >= end.TotalSeconds))
        {
            return idle;
        }

        if (state.RestartUntil > now)
        {
            return idle;
        }

        var mtbf = job.MeanTimeBetweenFailures.TotalSeconds;
        if (mtbf > 0 && _random.NextDouble() < dt / mtbf)
        {
            Interruptions++;
            state.RestartUntil = now + job.RestartTime.TotalSeconds;
            state.ResumedAt = state.RestartUntil;
            return idle;
        }

        var running = now - Math.Max(job.Start.TotalSeconds, state.ResumedAt);
        var every = job.CheckpointEvery.TotalSeconds;
        if (every > 0 && running > every && running % every < job.CheckpointDuration.TotalSeconds)
        {
            return job.CheckpointUtilisation;
        }

        var sync = job.SyncPeriod.TotalSeconds;
        if (sync > 0 && running % sync < dt)
        {
            return job.Utilisation * (1 - job.SyncDip);
        }

        return job.Utilisation;
    }

    private struct JobState
    {
        public double RestartUntil;
        public double ResumedAt;
    }
}
