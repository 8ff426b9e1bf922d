using System.Globalization;
using System.Text.Json;

namespace Aida.Telemetry.Collectors.Mqtt;

/// <summary>One <c>commands:</c> item of an MQTT entry: the actuator, where to publish the command, where the device
/// reports the setting's state, the state's value field, how close a read-back must be, and how long to wait for it.</summary>
public sealed record MqttCommandSpec(string Actuator, string Topic, string StateTopic, JsonFieldPath Value, double Tolerance, TimeSpan Timeout);

/// <summary>Writes a setting over MQTT: publishes <c>{"value": x}</c> (QoS 1) to the command topic and confirms it when the
/// device's state topic reports a value within the tolerance of <c>x</c>.</summary>
/// <remarks>A state message carrying an <c>error</c> string (the device refused the command) fails the write at once with
/// that reason. States arrive through the owning <see cref="MqttCollector"/>'s subscription.</remarks>
public sealed class MqttCommandWriter : IActuatorWriter
{
    private readonly MqttCollector _collector;
    private readonly object _gate = new();
    private TaskCompletionSource<(double Value, string? Error)>? _waiting;
    private double _lastState = double.NaN;

    internal MqttCommandWriter(MqttCollector collector, MqttCommandSpec spec)
    {
        _collector = collector;
        Spec = spec;
    }

    public MqttCommandSpec Spec { get; }

    public string Actuator => Spec.Actuator;

    /// <summary>The last value the state topic reported (NaN before any).</summary>
    public double LastState
    {
        get
        {
            lock (_gate)
            {
                return _lastState;
            }
        }
    }

    public async Task<ActuatorWriteOutcome> WriteAsync(double value, CancellationToken ct)
    {
        if (!double.IsFinite(value))
        {
            return new ActuatorWriteOutcome(false, double.NaN, $"{Actuator}: {value} is not a number");
        }

        var waiting = new TaskCompletionSource<(double Value, string? Error)>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiting = waiting;
        }

        try
        {
            var payload = string.Create(CultureInfo.InvariantCulture, $"{{\"value\":{value:R}}}");
            var problem = await _collector.PublishAsync(Spec.Topic, payload, ct).ConfigureAwait(false);
            if (problem is not null)
            {
                return new ActuatorWriteOutcome(false, LastState, $"{Actuator}: {problem}");
            }

            using var timeout = new CancellationTokenSource(Spec.Timeout, _collector.Clock);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            while (true)
            {
                (double Value, string? Error) state;
                try
                {
                    state = await waiting.Task.WaitAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    return new ActuatorWriteOutcome(false, LastState,
                        $"{Actuator}: '{Spec.StateTopic}' did not report {value.ToString(CultureInfo.InvariantCulture)} within {Spec.Timeout.TotalSeconds} s (last: {LastState.ToString(CultureInfo.InvariantCulture)})");
                }

                if (state.Error is not null)
                {
                    return new ActuatorWriteOutcome(false, state.Value, $"{Actuator}: refused: {state.Error}");
                }

                if (Math.Abs(state.Value - value) <= Spec.Tolerance)
                {
                    return new ActuatorWriteOutcome(true, state.Value, null);
                }

                // A state from before the command took effect: wait for the next one.
                waiting = new TaskCompletionSource<(double Value, string? Error)>(TaskCreationOptions.RunContinuationsAsynchronously);
                lock (_gate)
                {
                    _waiting = waiting;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                if (_waiting == waiting)
                {
                    _waiting = null;
                }
            }
        }
    }

    internal void StateReceived(JsonElement? root)
    {
        var value = double.NaN;
        string? error = null;
        if (root is { } r)
        {
            if (Spec.Value.Find(r) is { } field && JsonFieldPath.TryReadValue(field, out var v))
            {
                value = v;
            }

            if (r.ValueKind == JsonValueKind.Object && r.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String)
            {
                error = e.GetString();
            }
        }
        else
        {
            error = "state payload is not JSON";
        }

        TaskCompletionSource<(double, string?)>? waiting;
        lock (_gate)
        {
            if (!double.IsNaN(value))
            {
                _lastState = value;
            }

            waiting = _waiting;
        }

        waiting?.TrySetResult((value, error));
    }
}
