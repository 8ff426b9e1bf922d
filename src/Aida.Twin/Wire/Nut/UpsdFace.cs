using System.Globalization;
using System.Net;
using System.Text;
using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Protocols.Nut;

namespace Aida.Twin.Wire.Nut;

/// <summary>The plant's UPSes behind one upsd (NUT protocol, RFC 9271) on 127.0.0.1 (or the host given), each UPS named as
/// its asset.</summary>
/// <remarks>
/// Built from each UPS's points (<c>ASSET/output_power</c>, <c>ASSET/on_battery</c>, <c>ASSET/battery</c>,
/// <c>ASSET/eco_mode</c>) read through
/// <see cref="IPlant"/> at every request, and its rating from the factory file:
/// <list type="bullet">
/// <item><c>ups.status</c>: <c>OL</c> on line (<c>OL CHRG</c> while the battery is below full), <c>OB DISCHRG</c> on battery,
/// plus <c>LB</c> below <c>battery.charge.low</c> (20 %), and <c>BYPASS</c> while on line in eco mode (the load on the
/// static bypass).</item>
/// <item><c>ups.realpower</c> (W), <c>ups.realpower.nominal</c> (W), <c>ups.load</c> (% of the rating).</item>
/// <item><c>battery.charge</c> (%), <c>battery.charge.low</c>, <c>battery.runtime</c> (s: the charge left times the rated
/// autonomy, scaled by rating over load, a linear estimate).</item>
/// <item><c>input.eco.switchable</c>: <c>ECO</c> in eco mode, else <c>normal</c> (the Eaton mge-hid name of the ECO mode
/// switch, NUT 2.8.3 and later): the setting itself, which stays <c>ECO</c> while the UPS runs on battery, when
/// <c>BYPASS</c> is gone from <c>ups.status</c>.</item>
/// <item><c>device.*</c>/<c>ups.mfr</c>/<c>ups.model</c> identity strings, and <c>device.uptime</c> (whole seconds since
/// served or <see cref="Restart">restarted</see>), which tells a collector that a UPS restarted.</item>
/// </list>
/// A point whose sensor is not reporting leaves its variables out (<c>GET VAR</c> answers <c>ERR VAR-NOT-SUPPORTED</c>).
/// <para>Eco mode is written as an Eaton UPS takes it through NUT (usbhid-ups, mge-hid): the instant commands
/// <c>experimental.ecomode.enable</c> and <c>experimental.ecomode.disable</c> write the UPS's <c>eco_mode</c> actuator, for the
/// user <see cref="Username"/> with the face's password; it reads back as <c>input.eco.switchable</c> (since session 43; before,
/// as <c>BYPASS</c> in <c>ups.status</c>, which a UPS on battery drops: Aida then took eco mode for switched off behind its
/// back).</para>
/// </remarks>
public sealed class UpsdFace : IWireFace, INutControl
{
    /// <summary>The upsd user that may run the instant commands.</summary>
    public const string Username = "aida";

    /// <summary>Its password unless the face is given another: fixed, so that a site file written once (the bundled
    /// <c>sites/twin-local.yaml</c>) works with every later <c>aida twin serve</c>; the twin guards nothing.</summary>
    public const string DefaultPassword = "twin-upsd";

    /// <summary>The instant commands each UPS has, eco mode on and off (NUT's <c>data/cmdvartab</c>).</summary>
    public const string EcoOn = "experimental.ecomode.enable";

    /// <inheritdoc cref="EcoOn"/>
    public const string EcoOff = "experimental.ecomode.disable";

    /// <summary>Eco mode as the site entry reads it: the ECO mode switch reading <c>ECO</c>.</summary>
    public const string EcoState = "input.eco.switchable=ECO";

    /// <summary>The charge (percent) under which <c>LB</c> is set, NUT's usual <c>battery.charge.low</c>.</summary>
    public const double LowBatteryPercent = 20;

    private readonly IPlant _plant;
    private readonly List<UpsPoints> _ups = [];
    private readonly int _port;
    private readonly IPAddress _host;
    private readonly string _password;
    private readonly TimeProvider _clock;
    // Each UPS's start (its device.uptime counts from it) and its eco mode when served, which a restart goes back to.
    private long[] _started = [];
    private double[] _servedEco = [];
    private NutServer? _server;

    /// <param name="ups">The factory's UPSes (for names and ratings); each needs its three points in the plant.</param>
    /// <param name="port">The TCP port; 0 picks a free one.</param>
    /// <param name="host">The address upsd listens on (default 127.0.0.1).</param>
    /// <param name="password">The password of <see cref="Username"/> (default <see cref="DefaultPassword"/>), written into the site entry.</param>
    /// <param name="clock">The UPSes' own clock, which their <c>device.uptime</c> counts (default the system's).</param>
    public UpsdFace(IPlant plant, IReadOnlyList<Ups> ups, int port = 0, IPAddress? host = null, string? password = null, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        _password = password ?? DefaultPassword;
        _host = host ?? IPAddress.Loopback;
        ArgumentNullException.ThrowIfNull(plant);
        ArgumentNullException.ThrowIfNull(ups);
        _plant = plant;
        _port = port;
        foreach (var u in ups)
        {
            if (!NutLine.IsBareWord(u.Id))
            {
                throw new ArgumentException($"UPS id '{u.Id}' cannot be a NUT UPS name", nameof(ups));
            }

            _ups.Add(new UpsPoints(u, plant.Point(u.Id + "/output_power"), plant.Point(u.Id + "/on_battery"), plant.Point(u.Id + "/battery"), plant.Point(u.Id + "/eco_mode"), plant.Actuator(u.Id + "/eco_mode")));
        }
    }

    public IReadOnlyList<string> Endpoints { get; private set; } = [];

    /// <summary>Where upsd listens, once started.</summary>
    public IPEndPoint? Endpoint => _server?.Endpoint;

    public Task StartAsync(CancellationToken ct)
    {
        var now = _clock.GetTimestamp();
        _started = [.. _ups.Select(_ => now)];
        _servedEco = [.. _ups.Select(u => Read(u.Eco))];
        _server = new NutServer(new IPEndPoint(_host, _port), Snapshot, this);
        _server.Start();
        Endpoints = [$"nut upsd {_server.Endpoint} ({_ups.Count} UPS: {string.Join(", ", _ups.Select(u => u.Ups.Id))})"];
        return Task.CompletedTask;
    }

    /// <summary>The UPSes served, by name (their asset ids).</summary>
    public IReadOnlyList<string> Names => [.. _ups.Select(u => u.Ups.Id)];

    /// <summary>Restarts the UPS <paramref name="ups"/> as its network card or controller restarts behind upsd (a
    /// watchdog, a firmware update): upsd stays up and answers, its <c>device.uptime</c> starts again from 0, and its
    /// eco mode goes back to the setting it was served with, written to the plant, so a collector finds the restart by
    /// the uptime alone.</summary>
    /// <exception cref="ArgumentException">No such UPS is served, or the face is not started.</exception>
    public void Restart(string ups)
    {
        var index = _ups.FindIndex(u => u.Ups.Id == ups);
        if (index < 0 || index >= _started.Length)
        {
            throw new ArgumentException($"no UPS {ups} is served", nameof(ups));
        }

        Interlocked.Exchange(ref _started[index], _clock.GetTimestamp());
        if (_ups[index].EcoActuator >= 0 && !double.IsNaN(_servedEco[index]))
        {
            _plant.Write(_ups[index].EcoActuator, _servedEco[index]);
        }
    }

    public string SiteCollectors()
    {
        var address = _server?.Endpoint.ToString() ?? "(start the face first)";
        var sb = new StringBuilder();
        sb.Append("  - type: nut\n")
          .Append("    name: upsd-twin\n")
          .Append("    address: ").Append(address).Append('\n')
          .Append("    interval: 5s\n")
          .Append("    ups_label: asset\n")
          .Append("    metrics:\n")
          .Append("      - {variable: ups.realpower, metric: aida_ups_output_power_watts}\n")
          .Append("      - {variable: battery.charge, metric: aida_ups_battery_ratio, scale: 0.01}\n")
          .Append("      - {variable: \"ups.status:OB\", metric: aida_ups_on_battery}\n")
          .Append("      - {variable: \"").Append(EcoState).Append("\", metric: aida_ups_eco_mode}\n");
        var writable = _ups.Where(u => u.EcoActuator >= 0).ToList();
        if (writable.Count > 0)
        {
            sb.Append("    username: ").Append(Username).Append('\n')
              .Append("    password: \"").Append(_password).Append("\"\n")
              .Append("    commands:\n");
            foreach (var u in writable)
            {
                sb.Append("      - {actuator: ").Append(u.Ups.Id).Append("/eco_mode, ups: ").Append(u.Ups.Id)
                  .Append(", on: ").Append(EcoOn).Append(", off: ").Append(EcoOff).Append(", state: \"").Append(EcoState).Append("\"}\n");
            }
        }

        return sb.ToString();
    }

    /// <summary>Every UPS's variables now.</summary>
    internal IReadOnlyList<NutUpsSnapshot> Snapshot()
    {
        var result = new List<NutUpsSnapshot>(_ups.Count);
        for (var i = 0; i < _ups.Count; i++)
        {
            var u = _ups[i];
            var power = Read(u.Power);
            var onBattery = Read(u.OnBattery);
            var battery = Read(u.Battery);
            var rated = u.Ups.RatedWatts;
            var vars = new List<KeyValuePair<string, string>>
            {
                new("device.type", "ups"),
                new("device.mfr", "Aida"),
                new("device.model", "twin UPS"),
                new("ups.mfr", "Aida"),
                new("ups.model", "twin UPS"),
                new("battery.charge.low", Number(LowBatteryPercent)),
                new("ups.realpower.nominal", Number(rated)),
                new("device.uptime", Number(Math.Floor(_clock.GetElapsedTime(i < _started.Length ? Interlocked.Read(ref _started[i]) : _clock.GetTimestamp()).TotalSeconds))),
            };
            if (!double.IsNaN(onBattery))
            {
                var status = onBattery >= 0.5 ? "OB DISCHRG" : battery < 0.999 ? "OL CHRG" : "OL";
                if (battery * 100 < LowBatteryPercent)
                {
                    status += " LB";
                }

                if (onBattery < 0.5 && Read(u.Eco) >= 0.5)
                {
                    status += " BYPASS";
                }

                vars.Add(new("ups.status", status));
            }

            if (Read(u.Eco) is var eco && !double.IsNaN(eco))
            {
                vars.Add(new("input.eco.switchable", eco >= 0.5 ? "ECO" : "normal"));
            }

            if (!double.IsNaN(battery))
            {
                vars.Add(new("battery.charge", Number(battery * 100)));
                if (!double.IsNaN(power))
                {
                    var runtime = battery * u.Ups.RuntimeAtRatedLoad.TotalSeconds * rated / Math.Max(power, 0.01 * rated);
                    vars.Add(new("battery.runtime", Number(Math.Round(runtime))));
                }
            }

            if (!double.IsNaN(power))
            {
                vars.Add(new("ups.realpower", Number(power)));
                vars.Add(new("ups.load", Number(rated > 0 ? 100 * power / rated : 0)));
            }

            result.Add(new NutUpsSnapshot(u.Ups.Id, $"Aida twin UPS {u.Ups.Id} ({u.Ups.Mode})", vars));
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
            _server = null;
        }
    }

    bool INutControl.MayControl(string username, string password) =>
        username == Username && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes(_password));

    IReadOnlyList<string> INutControl.Commands(string ups) =>
        _ups.Exists(u => u.Ups.Id == ups && u.EcoActuator >= 0) ? [EcoOff, EcoOn] : [];

    string? INutControl.Run(string ups, string command)
    {
        var u = _ups.Find(x => x.Ups.Id == ups);
        if (u is null || u.EcoActuator < 0 || command is not (EcoOn or EcoOff))
        {
            return "CMD-NOT-SUPPORTED";
        }

        return _plant.Write(u.EcoActuator, command == EcoOn ? 1 : 0).Ok ? null : "INSTCMD-FAILED";
    }

    string? INutControl.Set(string ups, string variable, string value) =>
        Snapshot().Any(u => u.Name == ups && u.Variables.Any(v => v.Key == variable)) ? "READONLY" : "VAR-NOT-SUPPORTED";

    private double Read(int point) => point < 0 ? double.NaN : _plant.Read(point).Value;

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private sealed record UpsPoints(Ups Ups, int Power, int OnBattery, int Battery, int Eco, int EcoActuator);
}
