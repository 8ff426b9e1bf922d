using Aida.Model.Scenarios;
using Aida.Twin.Physics;

namespace Aida.Twin.Workload;

/// <summary>GPU utilisation per rack over time: training jobs that move together, diurnal inference, idle racks.</summary>
/// <remarks>
/// Training (Llama 3 paper, Dubey et al. 2024, §3.3.4): all GPUs of a job share one utilisation, with synchronous dips
/// at each collective step, deep dips while checkpointing, and drops to idle when the job fails and restarts (419
/// interruptions in 54 days on 16k GPUs, i.e. one every ~3 h). Inference follows the day with per-rack AR(1) noise.
/// <para>
/// A job's racks can change under it (<see cref="Placement"/>). A rack lost to the plant (isolated or unpowered, its
/// share not moved elsewhere) fails the job at once, as a synchronous job fails when a member disappears, and it
/// restarts elastically on the racks it has left (PyTorch Elastic: a membership change restarts every worker from the
/// last checkpoint, between min and max nodes): it is stalled for its restart time and then for the work it redoes
/// since its last checkpoint. A planned change, a rack's share paused or moved to another rack by the scheduler or a
/// rack taken back, is a stop checkpointed on demand: the restart time only. Those stalls are the plant's and its
/// operators', published per rack of the job (<see cref="PlantStalled"/>); the job's own failures are not.
/// </para>
/// </remarks>
internal sealed class WorkloadModel
{
    private readonly WorkloadSpec _spec;
    private readonly Random _random;
    private readonly double[] _utilisation;
    private readonly double[] _inferenceNoise;
    private readonly bool[] _plantStalled;
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
        _plantStalled = new bool[rackCount];
        _jobs = new JobState[spec.Training.Count];
        _startHourUtc = start.UtcDateTime.TimeOfDay.TotalHours;
        Array.Fill(_utilisation, spec.IdleUtilisation);
        _training = [.. spec.Training];
        _trainingRacks = [.. spec.Training.Select(j => j.Racks.ToArray())];
        for (var j = 0; j < _jobs.Length; j++)
        {
            _jobs[j].Excluded = new bool[_trainingRacks[j].Length];
            _jobs[j].Host = [.. _trainingRacks[j]];
        }

        _inference = [.. spec.Inference];
        _inferenceRacks = [.. spec.Inference.Select(i => i.Racks.ToArray())];
    }

    /// <summary>Utilisation per rack, 0-1, as of the last <see cref="Step"/>.</summary>
    public ReadOnlySpan<double> Utilisation => _utilisation;

    /// <summary>Per rack, true while the training job it belongs to is stalled by the plant: restarting after it
    /// lost a rack, redoing the work since its last checkpoint, or restarting for a planned change of its racks.</summary>
    public ReadOnlySpan<bool> PlantStalled => _plantStalled;

    /// <summary>Number of training-job interruptions of the jobs' own (ground truth for evaluation).</summary>
    public int Interruptions { get; private set; }

    /// <summary>Number of training-job restarts the plant caused: a rack lost, paused, moved or taken back.</summary>
    public int PlantRestarts { get; private set; }

    /// <summary>Advances the workload; <paramref name="placement"/> says per rack where its share of a job runs
    /// (<see cref="Placement"/>; empty: every rack at home).</summary>
    public void Step(double now, double dt, ReadOnlySpan<int> placement = default)
    {
        for (var j = 0; j < _jobs.Length; j++)
        {
            var racks = _trainingRacks[j];
            ref var state = ref _jobs[j];
            if (!placement.IsEmpty)
            {
                Reschedule(ref state, _training[j], racks, placement, now);
            }

            var u = TrainingUtilisation(ref state, _training[j], now, dt);
            var stalled = state.StalledUntil > now;
            for (var i = 0; i < racks.Length; i++)
            {
                _utilisation[racks[i]] = state.Excluded[i] ? _spec.IdleUtilisation : u;
                _plantStalled[racks[i]] = stalled;
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

    /// <summary>A change of a job's racks: the elastic restarts of the remarks.</summary>
    private void Reschedule(ref JobState state, TrainingJobSpec job, int[] racks, ReadOnlySpan<int> placement, double now)
    {
        // Outside its window the job runs nothing, whichever racks it has (its racks idle either way).
        if (now < job.Start.TotalSeconds || (job.End is { } end && now >= end.TotalSeconds))
        {
            return;
        }

        var restarting = state.RestartUntil > now;
        var lost = false;
        var planned = false;
        var left = 0;
        for (var i = 0; i < racks.Length; i++)
        {
            var at = placement[racks[i]];
            if (at >= 0)
            {
                // Back in the job (a restart under way takes it along), or running on another rack than before.
                planned |= state.Excluded[i] || at != state.Host[i];
                state.Excluded[i] = false;
                state.Host[i] = at;
                left++;
            }
            else if (!state.Excluded[i])
            {
                state.Excluded[i] = true;
                lost |= at == Placement.Lost;
                planned |= at == Placement.Held;
            }
        }

        var restart = job.RestartTime.TotalSeconds;
        if (!restarting && lost)
        {
            // The work since the last checkpoint is redone after the restart: stalled all the same.
            var running = now - Math.Max(job.Start.TotalSeconds, state.ResumedAt);
            var every = job.CheckpointEvery.TotalSeconds;
            var redo = every > 0 && running > every ? running % every : Math.Max(0, running);
            Restart(ref state, now + restart, redo);
        }
        else if (!restarting && planned)
        {
            Restart(ref state, now + restart, 0);
        }

        if (left == 0 || (state.Waiting && planned))
        {
            // No rack to run on: the job waits, stalled, and restarts once one comes back (from that moment).
            state.RestartUntil = Math.Max(state.RestartUntil, now + restart);
            state.ResumedAt = state.RestartUntil;
            state.StalledUntil = Math.Max(state.StalledUntil, state.RestartUntil);
        }

        state.Waiting = left == 0;
    }

    private void Restart(ref JobState state, double until, double redo)
    {
        PlantRestarts++;
        state.RestartUntil = until;
        state.ResumedAt = until;
        state.StalledUntil = Math.Max(state.StalledUntil, until + redo);
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

        /// <summary>Until when the plant holds the job back (restart, then the work redone).</summary>
        public double StalledUntil;

        /// <summary>True while the plant has left the job no rack to run on.</summary>
        public bool Waiting;

        /// <summary>Per rack of the job: left out since the plant took it.</summary>
        public bool[] Excluded;

        /// <summary>Per rack of the job: the rack its share ran on when last placed.</summary>
        public int[] Host;
    }
}

/// <summary>Where a rack's share of a job runs, as the scheduler places it: a rack index (its own, or the rack its
/// work moved to), or one of these.</summary>
internal static class Placement
{
    /// <summary>The rack is gone under the job (isolated or unpowered): the job fails.</summary>
    public const int Lost = -1;

    /// <summary>The rack's share is held (paused): a planned stop.</summary>
    public const int Held = -2;
}
