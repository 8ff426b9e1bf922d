using System.Globalization;
using System.Net.Sockets;
using Aida.Model.Config;
using Aida.Protocols.Nut;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors.Nut;

/// <summary>Polls UPSes through upsd (the NUT network protocol, RFC 9271) every interval: <c>LIST VAR</c> per UPS, every
/// numeric variable and the <c>ups.status</c> flags as series.</summary>
/// <remarks>
/// Site-file entry (<c>type: nut</c>): <c>address</c> (<c>host[:port]</c>, port 3493 by default), <c>ups</c> (optional list
/// of UPS names; default: every UPS <c>LIST UPS</c> names, asked again each poll), <c>ups_label</c> (the label naming the
/// UPS, default <c>ups</c>), <c>metrics</c> (optional renames: a list of <c>{variable, metric, scale}</c>, where
/// <c>variable</c> may be a status flag as <c>ups.status:OB</c>, or <c>VARIABLE=VALUE</c>, 1 while the variable reads that
/// text and 0 otherwise, as <c>input.eco.switchable=ECO</c>), <c>username</c> and <c>password</c> (a user of upsd's
/// <c>upsd.users</c>, needed by <c>commands</c>), <c>commands</c> (the actuators it writes: a list of <c>{actuator, ups,
/// on, off, state}</c> for a pair of instant commands, or <c>{actuator, ups, variable, state}</c> for a writable
/// variable; <c>tolerance</c> and <c>timeout</c> optional; <see cref="NutCommandWriter"/>), plus the common fields.
/// <para>Naming rule: variable <c>battery.charge</c> becomes <c>nut_battery_charge</c> (<c>nut_</c>, then the name with every
/// character other than a letter, digit or underscore turned into <c>_</c>), in the variable's own unit (NUT: percent,
/// seconds, volts, watts...). Values that are not numbers (<c>ups.model</c>, ...) are skipped. <c>ups.status</c> becomes one
/// 0/1 series per known flag: <c>nut_status_online</c> (OL), <c>nut_status_on_battery</c> (OB), <c>nut_status_low_battery</c>
/// (LB), ... (<see cref="StatusFlags"/>). A renamed variable is stored under its new name only, multiplied by its scale.</para>
/// <para>A series that stops being listed gets a staleness marker. An <c>ERR</c> for one UPS (DATA-STALE,
/// DRIVER-NOT-CONNECTED, UNKNOWN-UPS) is an error upsd answered (counted; upsd stays up) and marks that UPS's series stale; garbage from the peer is
/// counted as malformed and the connection is dropped and reopened after a jittered backoff.</para>
/// <para>A UPS that lists <c>device.uptime</c> (NUT's seconds since the device started) and restarts behind upsd, whose
/// connection stays, is found by it (<see cref="UptimeWatch"/>) and reported to the sink
/// (<see cref="CollectorSink.Restarted"/>): its settings (eco mode) are then taken to be where they next read back.</para>
/// </remarks>
public sealed class NutCollector : ICollector, IActuatorSource
{
    public const string Type = "nut";

    public const int DefaultPort = 3493;

    /// <summary>The <c>ups.status</c> flags (NUT's <c>docs/new-drivers.txt</c>, "Status data") and their series names.</summary>
    public static readonly IReadOnlyDictionary<string, string> StatusFlags = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["OL"] = "nut_status_online",
        ["OB"] = "nut_status_on_battery",
        ["LB"] = "nut_status_low_battery",
        ["HB"] = "nut_status_high_battery",
        ["RB"] = "nut_status_replace_battery",
        ["CHRG"] = "nut_status_charging",
        ["DISCHRG"] = "nut_status_discharging",
        ["BYPASS"] = "nut_status_bypass",
        ["CAL"] = "nut_status_calibrating",
        ["OFF"] = "nut_status_off",
        ["OVER"] = "nut_status_overloaded",
        ["TRIM"] = "nut_status_trimming",
        ["BOOST"] = "nut_status_boosting",
        ["FSD"] = "nut_status_forced_shutdown",
        ["ALARM"] = "nut_status_alarm",
    };

    private readonly CollectorSettings _settings;
    private readonly string _host;
    private readonly int _port;
    private readonly IReadOnlyList<string>? _ups;
    private readonly string _upsLabel;
    private readonly IReadOnlyDictionary<string, NutMetricRename> _renames;
    private readonly (string Key, string Variable, string Value)[] _equals; // the VARIABLE=VALUE renames
    private readonly Dictionary<string, HashSet<Labels>> _previous = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UptimeWatch> _uptimes = new(StringComparer.Ordinal);

    /// <summary>NUT's variable of a device's uptime in seconds (<c>docs/nut-names.txt</c>).</summary>
    public const string UptimeVariable = "device.uptime";

    public NutCollector(CollectorSettings settings, string host, int port, IReadOnlyList<string>? ups = null, string upsLabel = "ups",
        IReadOnlyDictionary<string, NutMetricRename>? renames = null, IReadOnlyList<IActuatorWriter>? writers = null)
    {
        Writers = writers ?? [];
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _host = host;
        _port = port;
        _ups = ups;
        _upsLabel = upsLabel;
        _renames = renames ?? new Dictionary<string, NutMetricRename>();
        _equals = [.. _renames.Keys.Select(k => (Key: k, Parts: SplitEquals(k))).Where(x => x.Parts is not null)
            .Select(x => (x.Key, x.Parts!.Value.Variable, x.Parts!.Value.Value))];
    }

    public string Name => _settings.Name;

    /// <summary>The actuators its <c>commands</c> write (<see cref="NutCommandWriter"/>).</summary>
    public IReadOnlyList<IActuatorWriter> Writers { get; }

    public string Kind => Type;

    /// <summary>Builds a collector from its site-file entry (registered as <c>nut</c>).</summary>
    public static ICollector Create(ConfigNode entry, CollectorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var address = entry.String("address");
        var (host, port) = HostPortAddress.Parse(address, DefaultPort) ?? throw entry.Error("address", $"'{address}' is not host[:port]");
        List<string>? ups = null;
        if (entry.Optional("ups") is not null)
        {
            ups = [];
            foreach (var item in entry.List("ups"))
            {
                var name = item.Scalar();
                if (!NutLine.IsBareWord(name))
                {
                    throw item.Error($"'{name}' is not a UPS name");
                }

                ups.Add(name);
            }
        }

        var upsLabel = entry.String("ups_label", "ups");
        if (!LabelRules.IsValidLabelName(upsLabel))
        {
            throw entry.Error("ups_label", $"'{upsLabel}' is not a valid label name");
        }

        var renames = new Dictionary<string, NutMetricRename>(StringComparer.Ordinal);
        foreach (var item in entry.List("metrics"))
        {
            var variable = item.String("variable");
            var metric = item.String("metric");
            if (!LabelRules.IsValidMetricName(metric))
            {
                throw item.Error("metric", $"'{metric}' is not a valid metric name");
            }

            if (ReadingProblem(variable) is { } problem)
            {
                throw item.Error("variable", problem);
            }

            if (!renames.TryAdd(variable, new NutMetricRename(metric, item.NumberOr("scale", 1))))
            {
                throw item.Error("variable", $"'{variable}' is renamed twice");
            }

            item.RejectUnknown();
        }

        var username = entry.OptionalString("username");
        var password = entry.OptionalString("password");
        if ((username is null) != (password is null))
        {
            throw entry.Error(password is null ? "password" : "username", "username and password go together");
        }

        if (username is not null && !NutLine.IsBareWord(username))
        {
            throw entry.Error("username", $"'{username}' is not a NUT user name");
        }

        if (password is not null && (password.Length == 0 || password.Any(char.IsControl)))
        {
            throw entry.Error("password", "a NUT password is not empty and has no control characters");
        }

        var writers = new List<IActuatorWriter>();
        foreach (var item in entry.List("commands"))
        {
            if (username is null)
            {
                throw entry.Error("commands", "commands need username and password: upsd runs INSTCMD and SET VAR only for a user of upsd.users");
            }

            var spec = ReadCommand(item, settings);
            if (writers.Exists(w => w.Actuator == spec.Actuator))
            {
                throw item.Error("actuator", $"'{spec.Actuator}' is written twice");
            }

            writers.Add(new NutCommandWriter(spec, host, port, username, password!, settings.Clock));
        }

        return new NutCollector(settings, host, port, ups, upsLabel, renames, writers);
    }

    private static NutCommandSpec ReadCommand(ConfigNode item, CollectorSettings settings)
    {
        var actuator = item.String("actuator");
        if (actuator.Length == 0 || actuator.Any(char.IsWhiteSpace))
        {
            throw item.Error("actuator", $"'{actuator}' is not an actuator name (asset/setting)");
        }

        var ups = NutWord(item, "ups", "a UPS name");
        var variable = item.Optional("variable") is null ? null : NutWord(item, "variable", "a NUT variable");
        var on = item.Optional("on") is null ? null : NutWord(item, "on", "an instant command");
        var off = item.Optional("off") is null ? null : NutWord(item, "off", "an instant command");
        if (variable is null && (on is null || off is null))
        {
            throw item.Error(on is null && off is null ? "actuator" : on is null ? "on" : "off",
                "give either on and off (the instant commands for 1 and 0) or variable (set to the value written)");
        }

        if (variable is not null && (on is not null || off is not null))
        {
            throw item.Error("variable", "give either on and off or variable, not both");
        }

        var state = item.OptionalString("state") ?? variable
            ?? throw item.Error("state", "on and off need a state to read back (a variable, VARIABLE=VALUE or ups.status:FLAG)");
        if (ReadingProblem(state) is { } problem)
        {
            throw item.Error("state", problem);
        }

        var spec = new NutCommandSpec(actuator, ups, on, off, variable, state, item.NumberOr("tolerance", 1e-6, 0),
            item.Duration("timeout", settings.Timeout, allowZero: false));
        item.RejectUnknown();
        return spec;
    }

    /// <summary>What is wrong with a reading as a site entry names it, or null: a variable, <c>ups.status:FLAG</c> (1 while
    /// the flag is up), or <c>VARIABLE=VALUE</c> (1 while the variable reads exactly that text, as an Eaton's
    /// <c>input.eco.switchable=ECO</c>).</summary>
    internal static string? ReadingProblem(string reading)
    {
        if (reading.StartsWith("ups.status:", StringComparison.Ordinal))
        {
            return StatusFlags.ContainsKey(reading[11..]) ? null : $"unknown status flag '{reading[11..]}' (known: {string.Join(", ", StatusFlags.Keys)})";
        }

        if (SplitEquals(reading) is var (variable, value))
        {
            return NutLine.IsBareWord(variable) && value.Length > 0 && !value.Contains('"', StringComparison.Ordinal)
                ? null
                : $"'{reading}' is not VARIABLE=VALUE (a NUT variable, then the text it reads)";
        }

        return NutLine.IsBareWord(reading) ? null : $"'{reading}' is not a NUT variable, VARIABLE=VALUE or ups.status:FLAG";
    }

    /// <summary>A <c>VARIABLE=VALUE</c> reading's two parts, or null for another kind.</summary>
    internal static (string Variable, string Value)? SplitEquals(string reading)
    {
        var eq = reading.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 || reading.StartsWith("ups.status:", StringComparison.Ordinal) ? null : (reading[..eq], reading[(eq + 1)..]);
    }

    private static string NutWord(ConfigNode item, string key, string what)
    {
        var word = item.String(key);
        if (!NutLine.IsBareWord(word))
        {
            throw item.Error(key, $"'{word}' is not {what}");
        }

        return word;
    }

    /// <summary>The series name of a NUT variable under the naming rule (<c>battery.charge</c> → <c>nut_battery_charge</c>).</summary>
    public static string MetricName(string variable)
    {
        var chars = new char[variable.Length + 4];
        "nut_".CopyTo(chars);
        for (var i = 0; i < variable.Length; i++)
        {
            var c = variable[i];
            chars[i + 4] = char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_';
        }

        return new string(chars);
    }

    public async Task RunAsync(CollectorSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var clock = _settings.Clock;
        var backoff = new ReconnectBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromTicks(Math.Max(_settings.Interval.Ticks, TimeSpan.FromSeconds(30).Ticks)), _settings.Random);
        NutClient? client = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var (ok, connection) = await PollOnceAsync(client, sink, ct).ConfigureAwait(false);
                client = connection;
                TimeSpan wait;
                if (ok)
                {
                    backoff.Reset();
                    wait = _settings.Interval;
                }
                else
                {
                    wait = backoff.Next();
                }

                await Task.Delay(wait, clock, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>One poll on the given connection (or a new one): whether it worked, and the connection to keep (null when
    /// it was dropped).</summary>
    internal async Task<(bool Ok, NutClient? Client)> PollOnceAsync(NutClient? client, CollectorSink sink, CancellationToken ct)
    {
        var clock = _settings.Clock;
        var start = clock.GetTimestamp();
        using var timeout = new CancellationTokenSource(_settings.Timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        string? problem = null;
        var malformed = false;
        var restarted = new List<string>();
        try
        {
            client ??= await NutClient.ConnectAsync(_host, _port, linked.Token).ConfigureAwait(false);
            var names = _ups ?? (await client.ListUpsAsync(linked.Token).ConfigureAwait(false)).Select(u => u.Name).ToList();
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var ups in names)
            {
                try
                {
                    var variables = await client.ListVarAsync(ups, linked.Token).ConfigureAwait(false);
                    Store(sink, ups, variables, now, restarted);
                }
                catch (NutErrorException e)
                {
                    // upsd answered: up, with an error counted and that UPS's readings stale.
                    sink.Failed(Kind, Name, $"{_host}:{_port} {ups}: {e.Message}");
                    MarkStale(sink, ups, [], now);
                }
            }

            if (_ups is null)
            {
                foreach (var gone in _previous.Keys.Except(names, StringComparer.Ordinal).ToList())
                {
                    MarkStale(sink, gone, [], now);
                    _previous.Remove(gone);
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            problem = $"no answer within {_settings.Timeout.TotalSeconds} s";
        }
        catch (NutProtocolException e)
        {
            problem = e.Message;
            malformed = true;
        }
        catch (NutErrorException e)
        {
            problem = e.Message;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            problem = e.Message;
        }

        if (problem is null)
        {
            sink.Up(Kind, Name, clock.GetElapsedTime(start));

            // After Up, which notes a return from an outage: a restart found in the same poll says more.
            if (restarted.Count > 0)
            {
                sink.Restarted(Kind, Name, (clock.GetUtcNow() - clock.GetElapsedTime(start)).ToUnixTimeMilliseconds(), string.Join("; ", restarted));
            }

            return (true, client);
        }

        if (malformed)
        {
            sink.Malformed(Kind, Name, $"{_host}:{_port}: {problem}");
        }

        sink.Error(Kind, Name, $"{_host}:{_port}: {problem}");
        var at = clock.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var ups in _previous.Keys.ToList())
        {
            MarkStale(sink, ups, [], at);
        }

        if (client is not null)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        return (false, null);
    }

    private void Store(CollectorSink sink, string ups, IReadOnlyList<KeyValuePair<string, string>> variables, long now, List<string> restarted)
    {
        var current = new HashSet<Labels>();
        foreach (var (name, text) in variables)
        {
            if (name == "ups.status")
            {
                var flags = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                foreach (var (flag, metric) in StatusFlags)
                {
                    var on = Array.IndexOf(flags, flag) >= 0 ? 1 : 0;
                    Write(sink, ups, "ups.status:" + flag, metric, on, now, current);
                }

                continue;
            }

            foreach (var (key, variable, value) in _equals)
            {
                if (variable == name)
                {
                    Write(sink, ups, key, "", text == value ? 1 : 0, now, current);
                }
            }

            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                continue;
            }

            Write(sink, ups, name, MetricName(name), number, now, current);
            if (name == UptimeVariable)
            {
                if (!_uptimes.TryGetValue(ups, out var watch))
                {
                    _uptimes[ups] = watch = new UptimeWatch(1);
                }

                if (watch.Read(now, number) is { } evidence)
                {
                    restarted.Add($"UPS {ups}: {evidence}");
                }
            }
        }

        MarkStale(sink, ups, current, now);
        _previous[ups] = current;
    }

    private void Write(CollectorSink sink, string ups, string variable, string defaultMetric, double value, long now, HashSet<Labels> current)
    {
        var metric = defaultMetric;
        if (_renames.TryGetValue(variable, out var rename))
        {
            metric = rename.Metric;
            value *= rename.Scale;
        }

        var labels = _settings.Labels.With(Labels.MetricNameLabel, metric).With(_upsLabel, ups);
        current.Add(labels);
        sink.Sample(Kind, Name, labels, now, value);
    }

    private void MarkStale(CollectorSink sink, string ups, HashSet<Labels> keep, long at)
    {
        if (!_previous.TryGetValue(ups, out var before))
        {
            return;
        }

        foreach (var labels in before)
        {
            if (!keep.Contains(labels))
            {
                sink.Stale(Kind, Name, labels, at);
            }
        }

        _previous[ups] = keep;
    }
}

/// <summary>A NUT variable stored under another name, multiplied by <paramref name="Scale"/>.</summary>
public readonly record struct NutMetricRename(string Metric, double Scale);
