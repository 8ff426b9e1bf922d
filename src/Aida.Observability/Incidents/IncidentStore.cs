using System.Diagnostics;
using System.Globalization;
using Aida.Observability.RootCause;
using Aida.Telemetry.Series;
using Microsoft.Data.Sqlite;

namespace Aida.Observability.Incidents;

/// <summary>Incidents, their lifecycle, timeline, alerts and root-cause findings in one SQLite file.</summary>
/// <remarks>
/// <para>The file is created with its schema when missing; <c>PRAGMA user_version</c> holds <see cref="SchemaVersion"/>
/// and the journal is WAL, so readers (other threads, other processes, <c>aida incidents list</c> beside a live
/// pipeline) never block the writer or each other. Every call opens a pooled connection of its own, so one store may be
/// used from many threads; writes run in one transaction each.</para>
/// <para>Times of folded alerts are the alerts' own (telemetry time); state changes and findings take their time from
/// the <see cref="TimeProvider"/> given (a simulation's virtual clock or the wall clock).</para>
/// <para>Errors say what is wrong: an unknown id is a <see cref="KeyNotFoundException"/> naming it, a refused state
/// change an <see cref="InvalidOperationException"/> naming the incident and both states, a file that is not an
/// incident store (not SQLite, corrupted, another application's database, a newer schema) an
/// <see cref="InvalidDataException"/> naming the file.</para>
/// </remarks>
public sealed class IncidentStore : IDisposable
{
    /// <summary>Whether <paramref name="e"/> is the disk refusing a write (SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN), not a
    /// fault of the statement: the write can be tried again once the disk takes it.</summary>
    public static bool IsDiskRefusal(Microsoft.Data.Sqlite.SqliteException e) => e.SqliteErrorCode is 10 or 13 or 14;

    /// <summary>The schema this build writes and reads.</summary>
    public const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'mitigated', 'resolved')),
            severity TEXT NOT NULL,
            opened_ms INTEGER NOT NULL,
            last_alert_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            resolved_ms INTEGER,
            alert_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX incidents_by_state ON incidents (state, opened_ms);
        CREATE INDEX incidents_by_opened ON incidents (opened_ms);
        CREATE TABLE incident_assets (
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            asset TEXT NOT NULL,
            alert_count INTEGER NOT NULL,
            PRIMARY KEY (incident_id, asset)
        ) WITHOUT ROWID;
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            name TEXT NOT NULL,
            source TEXT NOT NULL,
            asset TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            severity TEXT NOT NULL,
            summary TEXT NOT NULL,
            series TEXT
        );
        CREATE INDEX alerts_by_incident ON alerts (incident_id, at_ms);
        CREATE TABLE timeline (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            at_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            by TEXT,
            from_state TEXT,
            to_state TEXT,
            asset TEXT,
            text TEXT NOT NULL
        );
        CREATE INDEX timeline_by_incident ON timeline (incident_id, at_ms, id);
        CREATE TABLE cause_candidates (
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            rank INTEGER NOT NULL,
            asset TEXT NOT NULL,
            fault_kind TEXT NOT NULL,
            score REAL NOT NULL,
            PRIMARY KEY (incident_id, rank)
        ) WITHOUT ROWID;
        CREATE TABLE cause_evidence (
            incident_id INTEGER NOT NULL,
            rank INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (incident_id, rank, seq),
            FOREIGN KEY (incident_id, rank) REFERENCES cause_candidates (incident_id, rank)
        ) WITHOUT ROWID;
        PRAGMA user_version = 1;
        """;

    private static readonly string[] Severities = ["info", "warning", "critical"];

    private readonly string _connectionString;
    private readonly TimeProvider _time;

    /// <summary>Opens the store at <paramref name="path"/>, creating the file and its schema when missing.</summary>
    /// <param name="time">The clock for state changes and findings; default the system clock.</param>
    /// <exception cref="InvalidDataException">The file is not an incident store of this schema.</exception>
    public IncidentStore(string path, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _time = time ?? TimeProvider.System;
        if (Directory.Exists(Path))
        {
            throw new InvalidDataException($"incident store '{Path}' is a directory, not a file");
        }

        _connectionString = ConnectionString(Path);
        try
        {
            using var connection = Connect();
            Initialise(connection);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 26 or 11)
        {
            // SQLITE_NOTADB, SQLITE_CORRUPT.
            ReleasePool(Path);
            throw new InvalidDataException($"incident store '{Path}' is not a readable SQLite database: {e.Message}", e);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 14)
        {
            throw new InvalidDataException($"incident store '{Path}' cannot be opened (SQLITE_CANTOPEN): {e.Message}", e);
        }
    }

    /// <summary>The store's file, as a full path.</summary>
    public string Path { get; }

    /// <summary>Opens an incident from one alert; returns its id.</summary>
    public long Open(Alert first)
    {
        ArgumentNullException.ThrowIfNull(first);
        return Record([first]);
    }

    /// <summary>Stores a group the <see cref="IncidentGrouper"/> folded as one open incident with all its alerts; returns its id.</summary>
    public long Record(IncidentGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return Record(group.Alerts);
    }

    /// <summary>Folds <paramref name="alert"/> into incident <paramref name="id"/>: counted, its asset added, on the
    /// timeline. A resolved incident takes no more alerts (open a new one).</summary>
    /// <exception cref="InvalidOperationException">The incident is resolved.</exception>
    public void Fold(long id, Alert alert)
    {
        if (!TryFold(id, alert))
        {
            throw new InvalidOperationException($"incident {id} is resolved: it takes no more alerts (open a new incident for {alert.Name} on {alert.Asset})");
        }
    }

    /// <summary>As <see cref="Fold"/>, but returns false, changing nothing, when the incident is resolved (someone may
    /// have resolved it from another process since the caller last looked): checked and written in one transaction.</summary>
    public bool TryFold(long id, Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        Check(alert);
        using var connection = Connect();
        using var tx = connection.BeginTransaction();
        if (StateOf(connection, tx, id) == IncidentState.Resolved)
        {
            return false;
        }

        Insert(connection, tx, id, alert);
        tx.Commit();
        return true;
    }

    /// <summary>Moves incident <paramref name="id"/> to <paramref name="to"/>, recording who, when (now) and why; returns
    /// the state it left.</summary>
    /// <exception cref="InvalidOperationException">The change is not forward (resolved → acknowledged, or to the same state).</exception>
    public IncidentState Transition(long id, IncidentState to, string by, string? note = null) =>
        Move(id, to, by, note, strict: true) ?? throw new UnreachableException();

    /// <summary>As <see cref="Transition"/> when <paramref name="to"/> is ahead of the incident's state; returns false,
    /// changing nothing, when it is there or past it already (a person resolved it first): for an agent that moves an
    /// incident along as its response goes, checked and written in one transaction.</summary>
    public bool TryAdvance(long id, IncidentState to, string by, string? note = null) => Move(id, to, by, note, strict: false) is not null;

    private IncidentState? Move(long id, IncidentState to, string by, string? note, bool strict)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        if (!Enum.IsDefined(to))
        {
            throw new ArgumentOutOfRangeException(nameof(to), to, "not an incident state");
        }

        using var connection = Connect();
        using var tx = connection.BeginTransaction();
        var from = StateOf(connection, tx, id);
        if (to <= from)
        {
            return strict
                ? throw new InvalidOperationException(
                    $"incident {id}: cannot go from {Name(from)} to {Name(to)}; states only move forward: open → acknowledged → mitigated → resolved")
                : null;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        Execute(connection, tx, "UPDATE incidents SET state = $state, updated_ms = $now, resolved_ms = $resolved WHERE id = $id",
            ("$state", Name(to)), ("$now", now), ("$resolved", to == IncidentState.Resolved ? now : null), ("$id", id));
        Execute(connection, tx, "INSERT INTO timeline (incident_id, at_ms, kind, by, from_state, to_state, text) VALUES ($id, $at, 'state-changed', $by, $from, $to, $text)",
            ("$id", id), ("$at", now), ("$by", by), ("$from", Name(from)), ("$to", Name(to)), ("$text", note ?? ""));
        tx.Commit();
        return from;
    }

    /// <summary>Attaches (or replaces) the root-cause finding of incident <paramref name="id"/>, with its evidence.</summary>
    public void AttachRootCause(long id, RootCauseFinding finding, string by = "rca")
    {
        ArgumentNullException.ThrowIfNull(finding);
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        using var connection = Connect();
        using var tx = connection.BeginTransaction();
        StateOf(connection, tx, id);
        Execute(connection, tx, "DELETE FROM cause_evidence WHERE incident_id = $id", ("$id", id));
        Execute(connection, tx, "DELETE FROM cause_candidates WHERE incident_id = $id", ("$id", id));
        for (var rank = 0; rank < finding.Ranked.Count; rank++)
        {
            var c = finding.Ranked[rank];
            Execute(connection, tx, "INSERT INTO cause_candidates (incident_id, rank, asset, fault_kind, score) VALUES ($id, $rank, $asset, $kind, $score)",
                ("$id", id), ("$rank", rank), ("$asset", c.Asset), ("$kind", c.FaultKind), ("$score", c.Score));
            for (var seq = 0; seq < c.Evidence.Count; seq++)
            {
                Execute(connection, tx, "INSERT INTO cause_evidence (incident_id, rank, seq, text) VALUES ($id, $rank, $seq, $text)",
                    ("$id", id), ("$rank", rank), ("$seq", seq), ("$text", c.Evidence[seq]));
            }
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var top = finding.Top is { } t ? $"{t.FaultKind} on {t.Asset} (score {t.Score.ToString("0.###", CultureInfo.InvariantCulture)})" : "no candidate";
        Execute(connection, tx, "INSERT INTO timeline (incident_id, at_ms, kind, by, text) VALUES ($id, $at, 'root-cause-attached', $by, $text)",
            ("$id", id), ("$at", now), ("$by", by), ("$text", $"root cause: {top}, {finding.Ranked.Count} candidate(s)"));
        Execute(connection, tx, "UPDATE incidents SET updated_ms = $now WHERE id = $id", ("$now", now), ("$id", id));
        tx.Commit();
    }

    /// <summary>Incidents newest first, optionally in one state and active in a time range: opened before
    /// <paramref name="until"/> and not resolved before <paramref name="since"/>.</summary>
    public IReadOnlyList<Incident> List(IncidentState? state = null, DateTimeOffset? since = null, DateTimeOffset? until = null)
    {
        using var connection = Connect();

        // One read transaction: the incidents and their assets come from one snapshot.
        using var tx = connection.BeginTransaction(deferred: true);
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = """
            SELECT id, title, state, severity, opened_ms, last_alert_ms, updated_ms, resolved_ms, alert_count FROM incidents
            WHERE ($state IS NULL OR state = $state) AND ($until IS NULL OR opened_ms < $until)
              AND ($since IS NULL OR resolved_ms IS NULL OR resolved_ms >= $since)
            ORDER BY opened_ms DESC, id DESC
            """;
        command.Parameters.AddWithValue("$state", state is { } s ? Name(s) : DBNull.Value);
        command.Parameters.AddWithValue("$since", since is { } a ? a.ToUnixTimeMilliseconds() : DBNull.Value);
        command.Parameters.AddWithValue("$until", until is { } b ? b.ToUnixTimeMilliseconds() : DBNull.Value);
        var incidents = new List<Incident>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                incidents.Add(ReadIncident(reader));
            }
        }

        return [.. incidents.Select(i => i with { Assets = AssetsOf(connection, i.Id, tx) })];
    }

    /// <summary>One incident with its timeline and root cause.</summary>
    /// <exception cref="KeyNotFoundException">No incident has that id.</exception>
    public IncidentDetail Get(long id)
    {
        using var connection = Connect();
        using var tx = connection.BeginTransaction(deferred: true);
        Incident incident;
        using (var command = Command(connection, tx, "SELECT id, title, state, severity, opened_ms, last_alert_ms, updated_ms, resolved_ms, alert_count FROM incidents WHERE id = $id", ("$id", id)))
        using (var reader = command.ExecuteReader())
        {
            incident = reader.Read() ? ReadIncident(reader) : throw NotFound(id);
        }

        incident = incident with { Assets = AssetsOf(connection, id, tx) };
        var timeline = new List<TimelineEntry>();
        using (var command = Command(connection, tx, "SELECT at_ms, kind, by, from_state, to_state, asset, text FROM timeline WHERE incident_id = $id ORDER BY at_ms, id", ("$id", id)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                timeline.Add(new TimelineEntry(Time(reader.GetInt64(0)), KindOf(reader.GetString(1)), reader.GetString(6))
                {
                    By = reader.IsDBNull(2) ? null : reader.GetString(2),
                    From = reader.IsDBNull(3) ? null : StateOf(reader.GetString(3)),
                    To = reader.IsDBNull(4) ? null : StateOf(reader.GetString(4)),
                    Asset = reader.IsDBNull(5) ? null : reader.GetString(5),
                });
            }
        }

        var candidates = new List<(string Asset, string Kind, double Score, List<string> Evidence)>();
        using (var command = Command(connection, tx, "SELECT asset, fault_kind, score FROM cause_candidates WHERE incident_id = $id ORDER BY rank", ("$id", id)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                candidates.Add((reader.GetString(0), reader.GetString(1), reader.GetDouble(2), []));
            }
        }

        using (var command = Command(connection, tx, "SELECT rank, text FROM cause_evidence WHERE incident_id = $id ORDER BY rank, seq", ("$id", id)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                candidates[reader.GetInt32(0)].Evidence.Add(reader.GetString(1));
            }
        }

        var finding = timeline.Any(e => e.Kind == TimelineEntryKind.RootCauseAttached)
            ? new RootCauseFinding([.. candidates.Select(c => new CauseCandidate(c.Asset, c.Kind, c.Score, c.Evidence))])
            : null;
        return new IncidentDetail(incident, timeline, finding);
    }

    /// <summary>The alerts folded into incident <paramref name="id"/>, oldest first, as they were folded: name, source,
    /// asset, time, severity, summary and series (not what a derived check read beside its series,
    /// <see cref="Alert.Reads"/>, which is not kept). A restarted agent reads a sensor fault's alerts again from here to
    /// know which readings it still does not trust.</summary>
    /// <exception cref="KeyNotFoundException">No incident has that id.</exception>
    /// <exception cref="InvalidDataException">A stored series is not a series; the message names the alert.</exception>
    public IReadOnlyList<Alert> Alerts(long id)
    {
        using var connection = Connect();
        using var tx = connection.BeginTransaction(deferred: true);
        using (var exists = Command(connection, tx, "SELECT 1 FROM incidents WHERE id = $id", ("$id", id)))
        {
            if (exists.ExecuteScalar() is null)
            {
                throw NotFound(id);
            }
        }

        var alerts = new List<Alert>();
        using var command = Command(connection, tx, "SELECT id, name, source, asset, at_ms, severity, summary, series FROM alerts WHERE incident_id = $id ORDER BY at_ms, id", ("$id", id));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var source = Enum.TryParse<AlertSource>(reader.GetString(2), out var s) ? s
                : throw new InvalidDataException($"{Path}: alert {reader.GetInt64(0)} of incident {id}: source '{reader.GetString(2)}' is none of {string.Join(", ", Enum.GetNames<AlertSource>())}");
            alerts.Add(new Alert(reader.GetString(1), source, reader.GetString(3), Time(reader.GetInt64(4)), reader.GetString(6))
            {
                Severity = reader.GetString(5),
                Series = reader.IsDBNull(7) ? null : SeriesOf(reader.GetString(7), $"alert {reader.GetInt64(0)} of incident {id}"),
            });
        }

        return alerts;
    }

    /// <summary>A series as <see cref="Labels.ToString"/> wrote it.</summary>
    private Labels SeriesOf(string text, string where)
    {
        try
        {
            return Labels.Parse(text);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"{Path}: {where}: {e.Message}", e);
        }
    }

    /// <summary>Releases the pooled connections, so the file can be moved or deleted.</summary>
    public void Dispose() => ReleasePool(Path);

    /// <summary>Closes the idle pooled connections to the store at <paramref name="path"/> (those in use close when they
    /// are returned), so its file can be moved or deleted, and only those: a process-wide
    /// <see cref="SqliteConnection.ClearAllPools"/> also closes other stores' last connections, and SQLite then
    /// checkpoints and deletes their write-ahead logs, which changes what is on their disks under them.</summary>
    public static void ReleasePool(string path)
    {
        using var connection = new SqliteConnection(ConnectionString(System.IO.Path.GetFullPath(path)));
        SqliteConnection.ClearPool(connection);
    }

    private static string ConnectionString(string fullPath) => new SqliteConnectionStringBuilder
    {
        DataSource = fullPath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        ForeignKeys = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>The name a state has in the store and on the command line: <c>open</c>, <c>acknowledged</c>, …</summary>
    public static string Name(IncidentState state) => state switch
    {
        IncidentState.Open => "open",
        IncidentState.Acknowledged => "acknowledged",
        IncidentState.Mitigated => "mitigated",
        IncidentState.Resolved => "resolved",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not an incident state"),
    };

    /// <summary>The state named <paramref name="name"/> (as <see cref="Name"/> writes it), or null.</summary>
    public static IncidentState? ParseState(string name) => name switch
    {
        "open" => IncidentState.Open,
        "acknowledged" => IncidentState.Acknowledged,
        "mitigated" => IncidentState.Mitigated,
        "resolved" => IncidentState.Resolved,
        _ => null,
    };

    private long Record(IReadOnlyList<Alert> alerts)
    {
        if (alerts.Count == 0)
        {
            throw new ArgumentException("an incident needs at least one alert", nameof(alerts));
        }

        foreach (var a in alerts)
        {
            Check(a);
        }

        var ordered = alerts.OrderBy(a => a.At).ToList();
        var first = ordered[0];
        using var connection = Connect();
        using var tx = connection.BeginTransaction();
        var at = first.At.ToUnixTimeMilliseconds();
        long id;
        using (var command = Command(connection, tx, """
            INSERT INTO incidents (title, state, severity, opened_ms, last_alert_ms, updated_ms) VALUES ($title, 'open', $severity, $at, $at, $at)
            RETURNING id
            """, ("$title", $"{first.Name} on {first.Asset}"), ("$severity", first.Severity), ("$at", at)))
        {
            id = (long)command.ExecuteScalar()!;
        }

        foreach (var alert in ordered)
        {
            Insert(connection, tx, id, alert);
        }

        tx.Commit();
        return id;
    }

    private static void Check(Alert alert)
    {
        if (string.IsNullOrWhiteSpace(alert.Name) || string.IsNullOrWhiteSpace(alert.Asset))
        {
            throw new ArgumentException($"an alert needs a name and an asset (got '{alert.Name}' on '{alert.Asset}')", nameof(alert));
        }

        if (Array.IndexOf(Severities, alert.Severity) < 0)
        {
            throw new ArgumentException($"alert {alert.Name} on {alert.Asset}: severity '{alert.Severity}' is not info, warning or critical", nameof(alert));
        }
    }

    private static void Insert(SqliteConnection connection, SqliteTransaction tx, long id, Alert alert)
    {
        var at = alert.At.ToUnixTimeMilliseconds();
        Execute(connection, tx, """
            INSERT INTO alerts (incident_id, name, source, asset, at_ms, severity, summary, series)
            VALUES ($id, $name, $source, $asset, $at, $severity, $summary, $series)
            """,
            ("$id", id), ("$name", alert.Name), ("$source", alert.Source.ToString()), ("$asset", alert.Asset), ("$at", at),
            ("$severity", alert.Severity), ("$summary", alert.Summary), ("$series", alert.Series?.ToString()));
        Execute(connection, tx, """
            INSERT INTO incident_assets (incident_id, asset, alert_count) VALUES ($id, $asset, 1)
            ON CONFLICT (incident_id, asset) DO UPDATE SET alert_count = alert_count + 1
            """, ("$id", id), ("$asset", alert.Asset));
        Execute(connection, tx, "INSERT INTO timeline (incident_id, at_ms, kind, asset, text) VALUES ($id, $at, 'alert-folded', $asset, $text)",
            ("$id", id), ("$at", at), ("$asset", alert.Asset), ("$text", $"{alert.Name} ({alert.Severity}) on {alert.Asset}: {alert.Summary}"));

        // The severity rises to the worst alert's; the last alert time only moves forward.
        Execute(connection, tx, """
            UPDATE incidents SET alert_count = alert_count + 1,
                last_alert_ms = MAX(last_alert_ms, $at), updated_ms = MAX(updated_ms, $at),
                severity = CASE WHEN $rank > (CASE severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END) THEN $severity ELSE severity END
            WHERE id = $id
            """, ("$id", id), ("$at", at), ("$rank", Array.IndexOf(Severities, alert.Severity)), ("$severity", alert.Severity));
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private void Initialise(SqliteConnection connection)
    {
        var version = Convert.ToInt64(Scalar(connection, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (version == 0)
        {
            var tables = Convert.ToInt64(Scalar(connection, "SELECT count(*) FROM sqlite_master"), CultureInfo.InvariantCulture);
            if (tables > 0)
            {
                throw new InvalidDataException($"'{Path}' is a SQLite database of something else ({tables} objects, no incident schema version)");
            }

            using var tx = connection.BeginTransaction();
            Execute(connection, tx, Schema);
            tx.Commit();
        }
        else if (version != SchemaVersion)
        {
            throw new InvalidDataException($"incident store '{Path}' has schema version {version}; this build reads version {SchemaVersion}");
        }

        // WAL persists in the file: readers and the writer no longer block each other.
        var mode = Scalar(connection, "PRAGMA journal_mode = WAL") as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"incident store '{Path}' could not switch to WAL journaling (got '{mode}')");
        }
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, tx, sql, parameters);
        command.ExecuteNonQuery();
    }

    private static IncidentState StateOf(SqliteConnection connection, SqliteTransaction tx, long id)
    {
        using var command = Command(connection, tx, "SELECT state FROM incidents WHERE id = $id", ("$id", id));
        return command.ExecuteScalar() is string s ? StateOf(s) : throw NotFound(id);
    }

    private static IncidentState StateOf(string name) =>
        ParseState(name) ?? throw new InvalidDataException($"unknown incident state '{name}' in the store");

    private static TimelineEntryKind KindOf(string name) => name switch
    {
        "alert-folded" => TimelineEntryKind.AlertFolded,
        "state-changed" => TimelineEntryKind.StateChanged,
        "root-cause-attached" => TimelineEntryKind.RootCauseAttached,
        _ => throw new InvalidDataException($"unknown timeline entry kind '{name}' in the store"),
    };

    private static KeyNotFoundException NotFound(long id) => new($"no incident {id} in the store");

    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static Incident ReadIncident(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), StateOf(r.GetString(2)), r.GetString(3), Time(r.GetInt64(4)), Time(r.GetInt64(5)), Time(r.GetInt64(6)),
            r.GetInt32(8), new Dictionary<string, int>())
        {
            Resolved = r.IsDBNull(7) ? null : Time(r.GetInt64(7)),
        };

    private static Dictionary<string, int> AssetsOf(SqliteConnection connection, long id, SqliteTransaction? tx = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT asset, alert_count FROM incident_assets WHERE incident_id = $id ORDER BY asset";
        command.Parameters.AddWithValue("$id", id);
        var assets = new Dictionary<string, int>(StringComparer.Ordinal);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            assets[reader.GetString(0)] = reader.GetInt32(1);
        }

        return assets;
    }
}
