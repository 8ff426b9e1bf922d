using System.Globalization;
using System.Net.Sockets;
using Aida.Protocols.Nut;

namespace Aida.Telemetry.Collectors.Nut;

/// <summary>One <c>commands:</c> item of a NUT entry: the actuator, its UPS, how it is written (a pair of instant
/// commands for 1 and 0, or a writable variable set to the value), the variable read back to confirm it, how close the
/// read-back must be and how long to wait for it.</summary>
/// <param name="On">The instant command for 1 (<c>experimental.ecomode.enable</c>), or null when a variable is set.</param>
/// <param name="Off">The instant command for 0, or null when a variable is set.</param>
/// <param name="Variable">The variable <c>SET VAR</c> writes, or null for instant commands.</param>
/// <param name="State">What is read back: a variable (its number), or <c>ups.status:FLAG</c> (1 while the flag is up).</param>
public sealed record NutCommandSpec(string Actuator, string Ups, string? On, string? Off, string? Variable, string State, double Tolerance, TimeSpan Timeout);

/// <summary>Writes a UPS setting through upsd: logs in with the entry's user, sends <c>INSTCMD</c> (the on or off command)
/// or <c>SET VAR</c>, then reads the state back every <see cref="PollEvery"/> until it reads the value written, for at
/// most the item's timeout.</summary>
/// <remarks>upsd answers <c>OK</c> once it has handed the request to the driver, not once the UPS has done it: only the
/// read-back confirms. Each write opens its own connection (writes are rare: the UPS policy's once a minute at most), so a
/// failure never disturbs the collector's polling. upsd's refusals are named with what to check
/// (<see cref="Explain"/>).</remarks>
public sealed class NutCommandWriter(NutCommandSpec spec, string host, int port, string username, string password, TimeProvider clock) : IActuatorWriter
{
    /// <summary>How often the state is read back while waiting.</summary>
    public static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(250);

    public NutCommandSpec Spec { get; } = spec;

    public string Actuator => Spec.Actuator;

    public async Task<ActuatorWriteOutcome> WriteAsync(double value, CancellationToken ct)
    {
        if (!double.IsFinite(value))
        {
            return new ActuatorWriteOutcome(false, double.NaN, $"{value} is not a number");
        }

        string request;
        if (Spec.Variable is null)
        {
            if (value != 0 && value != 1)
            {
                return new ActuatorWriteOutcome(false, double.NaN, $"{value.ToString(CultureInfo.InvariantCulture)} is neither 1 ({Spec.On}) nor 0 ({Spec.Off})");
            }

            request = "INSTCMD " + (value == 1 ? Spec.On : Spec.Off);
        }
        else
        {
            request = $"SET VAR {Spec.Variable} {value.ToString("R", CultureInfo.InvariantCulture)}";
        }

        using var timeout = new CancellationTokenSource(Spec.Timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var last = double.NaN;
        try
        {
            await using var client = await NutClient.ConnectAsync(host, port, linked.Token).ConfigureAwait(false);
            await client.AuthenticateAsync(username, password, linked.Token).ConfigureAwait(false);
            if (Spec.Variable is null)
            {
                await client.InstantCommandAsync(Spec.Ups, value == 1 ? Spec.On! : Spec.Off!, linked.Token).ConfigureAwait(false);
            }
            else
            {
                await client.SetVarAsync(Spec.Ups, Spec.Variable, value.ToString("R", CultureInfo.InvariantCulture), linked.Token).ConfigureAwait(false);
            }

            while (true)
            {
                last = await ReadStateAsync(client, linked.Token).ConfigureAwait(false);
                if (Math.Abs(last - value) <= Spec.Tolerance)
                {
                    return new ActuatorWriteOutcome(true, last, null);
                }

                await Task.Delay(PollEvery, clock, linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new ActuatorWriteOutcome(false, last,
                $"{Spec.Ups}: {Spec.State} did not read {value.ToString(CultureInfo.InvariantCulture)} within {Spec.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s of {request} (last: {last.ToString(CultureInfo.InvariantCulture)})");
        }
        catch (NutErrorException e)
        {
            return new ActuatorWriteOutcome(false, last, $"{host}:{port}: {e.Message}{Explain(e.Code)}");
        }
        catch (Exception e) when (e is NutProtocolException or IOException or SocketException)
        {
            return new ActuatorWriteOutcome(false, last, $"{host}:{port}: {e.Message}");
        }
    }

    /// <summary>What to check for upsd's refusals an operator meets when setting this up.</summary>
    public static string Explain(string code) => code switch
    {
        "ACCESS-DENIED" => " (upsd.users: the user's password, and 'instcmds' or 'actions = SET' for it)",
        "CMD-NOT-SUPPORTED" => " (this UPS's driver does not offer that instant command: upscmd -l names those it does)",
        "VAR-NOT-SUPPORTED" or "READONLY" => " (not a writable variable of this UPS: upsrw names those that are)",
        "UNKNOWN-UPS" => " (no UPS of that name in ups.conf)",
        "USERNAME-REQUIRED" or "PASSWORD-REQUIRED" => " (the entry needs username and password)",
        _ => "",
    };

    /// <summary>The state now: a variable's number, 1/0 for a status flag up or down or for a <c>VARIABLE=VALUE</c> reading
    /// that text or not; NaN when unreadable.</summary>
    private async Task<double> ReadStateAsync(NutClient client, CancellationToken ct)
    {
        var flag = Spec.State.StartsWith("ups.status:", StringComparison.Ordinal) ? Spec.State[11..] : null;
        var equals = NutCollector.SplitEquals(Spec.State);
        string text;
        try
        {
            text = await client.GetVarAsync(Spec.Ups, flag is not null ? "ups.status" : equals?.Variable ?? Spec.State, ct).ConfigureAwait(false);
        }
        catch (NutErrorException e) when (e.Code is "DATA-STALE" or "VAR-NOT-SUPPORTED" or "DRIVER-NOT-CONNECTED")
        {
            return double.NaN; // not readable for now: the timeout decides
        }

        if (flag is not null)
        {
            return Array.IndexOf(text.Split(' ', StringSplitOptions.RemoveEmptyEntries), flag) >= 0 ? 1 : 0;
        }

        if (equals is { } reading)
        {
            return text == reading.Value ? 1 : 0;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
    }
}
