using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Aida.Automation.Audit;

/// <summary>What an audit entry records.</summary>
public enum AuditKind
{
    /// <summary>A summary of what the agent saw (telemetry, incidents, budgets) when it decided.</summary>
    Observation,

    /// <summary>A decision and its reason (an action proposed, a runbook started, nothing to do).</summary>
    Decision,

    /// <summary>An actuator write or other action as sent.</summary>
    Action,

    /// <summary>What came of an action: accepted, refused by the safety envelope, unconfirmed, verified, rolled back.</summary>
    Result,

    /// <summary>An approval or rejection by a person, or an approval that expired.</summary>
    Approval,

    /// <summary>A state-changing call of the API or CLI by a person (who, what).</summary>
    Access,
}

/// <summary>One entry of the log as stored: its place in the chain and the hash that seals it.</summary>
/// <param name="Sequence">1, 2, 3, … with no gaps.</param>
/// <param name="Actor">Who: <c>agent:cooling-optimiser</c>, <c>runbook:cdu-pump-failure</c>, <c>user:alice</c>.</param>
/// <param name="Subject">What it is about: an action id, an asset, an incident.</param>
/// <param name="Detail">Free text or JSON, stored as given.</param>
/// <param name="PreviousHash">The hash of the entry before (64 zeros for the first).</param>
/// <param name="Hash">SHA-256 over this entry's fields and <paramref name="PreviousHash"/>, lower-case hex.</param>
public sealed record AuditEntry(long Sequence, DateTimeOffset At, string Actor, AuditKind Kind, string Subject, string Detail, string PreviousHash, string Hash);

/// <summary>The outcome of <see cref="AuditLog.Verify"/>: intact, or the first entry where the chain breaks and why.</summary>
public sealed record AuditVerification(long Entries, long? FirstBadSequence, string? Problem)
{
    public bool Intact => FirstBadSequence is null;
}

/// <summary>An append-only, hash-chained log of everything the agents observe, decide and do, in SQLite. Each entry
/// carries the SHA-256 of its own fields and of the entry before, so editing, removing or reordering any entry breaks
/// the chain at that point (<see cref="Verify"/>); removing entries from the end is caught against the head file
/// written beside the database after every append (<c>FILE.head</c>: the last sequence and hash). Appends are durable
/// when they return (SQLite WAL with <c>synchronous=FULL</c>), so a kill -9 loses no acknowledged entry.</summary>
public sealed class AuditLog : IDisposable
{
    /// <summary>The previous hash of the first entry.</summary>
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    private readonly SqliteConnection _connection;
    private readonly TimeProvider _clock;
    private readonly string _headPath;
    private readonly Lock _lock = new();
    private long _lastSequence;
    private string _lastHash = Genesis;

    /// <summary>Opens (creating when absent) the log in <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not an audit log (not SQLite, or another schema).</exception>
    public AuditLog(string path, TimeProvider clock)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        Path = System.IO.Path.GetFullPath(path);
        _headPath = Path + ".head";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        try
        {
            _connection.Open();
            Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
            Execute("""
                CREATE TABLE IF NOT EXISTS audit (
                    seq INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL)
                """);
            using var last = Command("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
            using var reader = last.ExecuteReader();
            if (reader.Read())
            {
                _lastSequence = reader.GetInt64(0);
                _lastHash = reader.GetString(1);
            }
        }
        catch (SqliteException e)
        {
            _connection.Dispose();
            throw new InvalidDataException($"{Path}: not an Aida audit log ({e.Message})", e);
        }
    }

    public string Path { get; }

    /// <summary>How many entries the log holds.</summary>
    public long Count
    {
        get
        {
            lock (_lock)
            {
                return _lastSequence;
            }
        }
    }

    // Entries sealed but not yet written, oldest first: the database refused them (a full disk, an I/O error). Each
    // append writes them first, in order, so the chain on disk has no gap; until then they are held here.
    private readonly List<AuditEntry> _held = [];
    private (DateTimeOffset Since, string Message)? _holding;

    /// <summary>Appends an entry stamped now and returns it: durably, or, when the database refuses the write (its disk
    /// full, an I/O error), sealed into the chain and held in memory, written in order by the next append that can
    /// (<see cref="Held"/>). The agent goes on operating the plant meanwhile; the held entries are lost only if the
    /// process ends before they are written.</summary>
    public AuditEntry Append(string actor, AuditKind kind, string subject, string detail)
    {
        ArgumentException.ThrowIfNullOrEmpty(actor);
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(detail);
        lock (_lock)
        {
            var at = _clock.GetUtcNow();
            var seq = _lastSequence + 1;
            var hash = HashOf(seq, at, actor, kind, subject, detail, _lastHash);
            var entry = new AuditEntry(seq, at, actor, kind, subject, detail, _lastHash, hash);
            var (lastSequence, lastHash) = (_lastSequence, _lastHash);
            _lastSequence = seq;
            _lastHash = hash;
            _held.Add(entry);
            try
            {
                WriteHeld();
            }
            catch (SqliteException)
            {
                // Not the disk (those are held): the entry is not in the chain, as before it was sealed.
                _held.RemoveAt(_held.Count - 1);
                (_lastSequence, _lastHash) = (lastSequence, lastHash);
                throw;
            }

            return entry;
        }
    }

    /// <summary>Entries sealed into the chain but not yet on disk, since when (the first refused write, by the log's
    /// clock) and why; none while the database takes every write.</summary>
    public (int Entries, DateTimeOffset? Since, string? Why) Held
    {
        get
        {
            lock (_lock)
            {
                return (_held.Count, _holding?.Since, _holding?.Message);
            }
        }
    }

    /// <summary>Under the lock: writes the held entries in one transaction, or keeps them all when the database refuses.</summary>
    private void WriteHeld()
    {
        try
        {
            using (var transaction = _connection.BeginTransaction())
            {
                foreach (var entry in _held)
                {
                    using var insert = Command("INSERT INTO audit (seq, at, actor, kind, subject, detail, prev_hash, hash) VALUES ($seq, $at, $actor, $kind, $subject, $detail, $prev, $hash)");
                    insert.Transaction = transaction;
                    insert.Parameters.AddWithValue("$seq", entry.Sequence);
                    insert.Parameters.AddWithValue("$at", Timestamp(entry.At));
                    insert.Parameters.AddWithValue("$actor", entry.Actor);
                    insert.Parameters.AddWithValue("$kind", entry.Kind.ToString());
                    insert.Parameters.AddWithValue("$subject", entry.Subject);
                    insert.Parameters.AddWithValue("$detail", entry.Detail);
                    insert.Parameters.AddWithValue("$prev", entry.PreviousHash);
                    insert.Parameters.AddWithValue("$hash", entry.Hash);
                    insert.ExecuteNonQuery();
                }

                transaction.Commit();
            }

            _held.Clear();
            _holding = null;
        }
        catch (SqliteException e) when (Aida.Observability.Incidents.IncidentStore.IsDiskRefusal(e))
        {
            // SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN: the disk, not the entry. Held, in order, for the next append.
            _holding ??= (_held[0].At, e.Message);
            return;
        }

        try
        {
            WriteHead(_lastSequence, _lastHash);
        }
        catch (IOException)
        {
            // The entries are in the database; a head file left at an earlier entry still verifies (the log is longer),
            // and the next append writes it again.
        }
    }

    /// <summary>Entries in order, from <paramref name="fromSequence"/>, at most <paramref name="limit"/>; only those
    /// about <paramref name="subject"/> (that subject, or one under it: <c>cdu-h1-a</c> also gives
    /// <c>cdu-h1-a/supply_setpoint</c>) and by <paramref name="actor"/>, when given (the database picks them).</summary>
    public IReadOnlyList<AuditEntry> Read(long fromSequence = 1, int limit = int.MaxValue, string? subject = null, string? actor = null)
    {
        lock (_lock)
        {
            using var select = Filtered("seq >= $from", subject, actor, "ORDER BY seq LIMIT $limit");
            select.Parameters.AddWithValue("$from", fromSequence);
            select.Parameters.AddWithValue("$limit", limit);

            using var reader = select.ExecuteReader();
            var entries = new List<AuditEntry>();
            while (reader.Read())
            {
                entries.Add(ReadEntry(reader));
            }

            return entries;
        }
    }

    /// <summary>The last <paramref name="limit"/> entries, in order, of those about <paramref name="subject"/> and by
    /// <paramref name="actor"/> when given (as <see cref="Read"/> picks them), those <see cref="Held"/> in memory
    /// included (they come after every written one; <see cref="WrittenThrough"/> tells them apart).</summary>
    public IReadOnlyList<AuditEntry> Last(int limit, string? subject = null, string? actor = null)
    {
        lock (_lock)
        {
            var held = _held.Where(e => (subject is null || e.Subject == subject || e.Subject.StartsWith(subject + "/", StringComparison.Ordinal))
                && (actor is null || e.Actor == actor)).TakeLast(limit).ToList();
            var entries = new List<AuditEntry>();
            if (held.Count < limit)
            {
                using var select = Filtered("1", subject, actor, "ORDER BY seq DESC LIMIT $limit");
                select.Parameters.AddWithValue("$limit", limit - held.Count);
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    entries.Add(ReadEntry(reader));
                }
            }

            entries.Reverse();
            entries.AddRange(held);
            return entries;
        }
    }

    /// <summary>The sequence of the newest entry on disk: those after it are <see cref="Held"/> in memory.</summary>
    public long WrittenThrough
    {
        get
        {
            lock (_lock)
            {
                return _lastSequence - _held.Count;
            }
        }
    }

    /// <summary>A select of entries where <paramref name="where"/> holds, about <paramref name="subject"/> (it, or one
    /// under it) and by <paramref name="actor"/> when given, then <paramref name="order"/>.</summary>
    private SqliteCommand Filtered(string where, string? subject, string? actor, string order)
    {
        var select = Command("SELECT seq, at, actor, kind, subject, detail, prev_hash, hash FROM audit WHERE " + where
            + (subject is null ? "" : " AND (subject = $subject OR substr(subject, 1, length($subject) + 1) = $subject || '/')")
            + (actor is null ? "" : " AND actor = $actor")
            + " " + order);
        if (subject is not null)
        {
            select.Parameters.AddWithValue("$subject", subject);
        }

        if (actor is not null)
        {
            select.Parameters.AddWithValue("$actor", actor);
        }

        return select;
    }

    /// <summary>Hands <paramref name="each"/> every entry of the given kinds in order, one at a time (a long log is not held
    /// in memory), and those of <paramref name="matching"/>'s kinds whose detail matches its GLOB pattern (the database
    /// picks them: a log of many observations hands over only the few asked for). <paramref name="each"/> must not
    /// append.</summary>
    public void Scan(IReadOnlyCollection<AuditKind> kinds, Action<AuditEntry> each, IReadOnlyCollection<(AuditKind Kind, string DetailGlob)>? matching = null)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        ArgumentNullException.ThrowIfNull(each);
        matching ??= [];
        lock (_lock)
        {
            var globs = matching.Select((_, i) => $" OR (kind = $m{i} AND detail GLOB $g{i})");
            using var select = Command($"SELECT seq, at, actor, kind, subject, detail, prev_hash, hash FROM audit WHERE kind IN ({string.Join(", ", kinds.Select((_, i) => "$k" + i))}){string.Concat(globs)} ORDER BY seq");
            var i = 0;
            foreach (var kind in kinds)
            {
                select.Parameters.AddWithValue("$k" + i++, kind.ToString());
            }

            i = 0;
            foreach (var (kind, glob) in matching)
            {
                select.Parameters.AddWithValue("$m" + i, kind.ToString());
                select.Parameters.AddWithValue("$g" + i++, glob);
            }

            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                each(ReadEntry(reader));
            }
        }
    }

    /// <summary>The highest number of a subject made of <paramref name="prefix"/> and digits (an action's id: <c>A17</c>),
    /// or 0: where a run started again on this log numbers its actions from.</summary>
    public long HighestNumbered(string prefix)
    {
        if (string.IsNullOrEmpty(prefix) || !prefix.All(char.IsAsciiLetter))
        {
            throw new ArgumentException($"a numbered subject's prefix is letters, not '{prefix}'", nameof(prefix));
        }

        lock (_lock)
        {
            using var select = Command("SELECT subject FROM audit WHERE subject GLOB $glob");
            select.Parameters.AddWithValue("$glob", prefix + "[0-9]*");
            using var reader = select.ExecuteReader();
            var highest = 0L;
            while (reader.Read())
            {
                var digits = reader.GetString(0).AsSpan(prefix.Length);
                if (long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > highest)
                {
                    highest = n;
                }
            }

            return highest;
        }
    }

    /// <summary>The newest entry, or null while the log is empty: its sequence and hash are what to anchor elsewhere
    /// (<see cref="AuditAnchors"/>).</summary>
    public AuditEntry? Newest()
    {
        lock (_lock)
        {
            return _lastSequence == 0 ? null : Read(_lastSequence, 1).SingleOrDefault();
        }
    }

    /// <summary>Walks the whole chain: sequences 1, 2, 3, … without gaps, each previous hash equal to the hash before,
    /// each hash equal to the hash of the entry's fields, and the last entry equal to the head file's; with
    /// <paramref name="anchors"/>, each anchored entry's hash equal to the one anchored elsewhere, which catches a chain
    /// rebuilt consistently (database and head file rewritten) at or before an anchored entry, and a tail cut off with it.</summary>
    /// <param name="anchors">Hashes of entries by sequence, kept where whoever can write the log cannot (<see cref="AuditAnchors"/>).</param>
    public AuditVerification Verify(IReadOnlyDictionary<long, string>? anchors = null)
    {
        lock (_lock)
        {
            using var select = Command("SELECT seq, at, actor, kind, subject, detail, prev_hash, hash FROM audit ORDER BY rowid");
            using var reader = select.ExecuteReader();
            var expectedSeq = 1L;
            var previous = Genesis;
            var beforeLast = Genesis;
            var count = 0L;
            while (reader.Read())
            {
                AuditEntry e;
                try
                {
                    e = ReadEntry(reader);
                }
                catch (FormatException ex)
                {
                    return new AuditVerification(count, expectedSeq, $"entry {expectedSeq}: unreadable field ({ex.Message})");
                }

                if (e.Sequence != expectedSeq)
                {
                    return new AuditVerification(count, expectedSeq, e.Sequence > expectedSeq
                        ? $"entry {expectedSeq} is missing (the next stored is {e.Sequence})"
                        : $"entry {e.Sequence} is out of order (expected {expectedSeq})");
                }

                if (e.PreviousHash != previous)
                {
                    return new AuditVerification(count, e.Sequence, $"entry {e.Sequence} does not follow entry {e.Sequence - 1} (previous hash differs)");
                }

                if (HashOf(e.Sequence, e.At, e.Actor, e.Kind, e.Subject, e.Detail, e.PreviousHash) != e.Hash)
                {
                    return new AuditVerification(count, e.Sequence, $"entry {e.Sequence} was altered (its hash does not match its fields)");
                }

                if (anchors is not null && anchors.TryGetValue(e.Sequence, out var anchored) && !string.Equals(anchored, e.Hash, StringComparison.OrdinalIgnoreCase))
                {
                    return new AuditVerification(count, e.Sequence,
                        $"entry {e.Sequence}'s hash {e.Hash[..12]}… is not the {anchored[..Math.Min(12, anchored.Length)]}… anchored for it: the log was rewritten at or before entry {e.Sequence}");
                }

                beforeLast = previous;
                previous = e.Hash;
                expectedSeq++;
                count++;
            }

            // The head is written just after an entry is committed: a kill -9 between the two leaves the head one entry
            // behind the log, with the hash of the entry before the last. That is the crash, not tampering.
            var crashWindow = ReadHead() is { } behind && behind.Sequence == count - 1 && behind.Hash == beforeLast;
            if (!crashWindow && ReadHead() is { } head && (head.Sequence != count || head.Hash != previous))
            {
                return head.Sequence > count
                    ? new AuditVerification(count, count + 1, $"entries {count + 1} to {head.Sequence} are missing (the head file records {head.Sequence} entries)")
                    : new AuditVerification(count, head.Sequence, $"the head file records entry {head.Sequence} with another hash than the log's");
            }

            if (anchors is { Count: > 0 } && anchors.Keys.Max() is var newest && newest > count)
            {
                return new AuditVerification(count, count + 1, $"entries {count + 1} to {newest} are missing (anchored up to entry {newest})");
            }

            return new AuditVerification(count, null, null);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_held.Count > 0)
            {
                WriteHeld();
            }
        }

        _connection.Dispose();
    }

    /// <summary>SHA-256 over the fields, each length-prefixed (so no two different entries serialise alike).</summary>
    internal static string HashOf(long seq, DateTimeOffset at, string actor, AuditKind kind, string subject, string detail, string previousHash)
    {
        var text = new StringBuilder();
        foreach (var field in new[] { seq.ToString(CultureInfo.InvariantCulture), Timestamp(at), actor, kind.ToString(), subject, detail, previousHash })
        {
            text.Append(field.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static AuditEntry ReadEntry(SqliteDataReader r) => new(
        r.GetInt64(0),
        DateTimeOffset.ParseExact(r.GetString(1), "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
        r.GetString(2),
        Enum.TryParse<AuditKind>(r.GetString(3), out var kind) ? kind : throw new FormatException($"unknown kind '{r.GetString(3)}'"),
        r.GetString(4),
        r.GetString(5),
        r.GetString(6),
        r.GetString(7));

    private void WriteHead(long seq, string hash)
    {
        var temp = _headPath + ".tmp";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(Encoding.ASCII.GetBytes($"{seq} {hash}\n"));
            f.Flush(flushToDisk: true);
        }

        File.Move(temp, _headPath, overwrite: true);
    }

    private (long Sequence, string Hash)? ReadHead()
    {
        if (!File.Exists(_headPath))
        {
            return null;
        }

        var parts = File.ReadAllText(_headPath).Trim().Split(' ');
        return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? (seq, parts[1]) : (-1, "");
    }

    private void Execute(string sql)
    {
        using var c = Command(sql);
        c.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql)
    {
        var c = _connection.CreateCommand();
        c.CommandText = sql;
        return c;
    }
}

/// <summary>Anchors of an audit log: the sequence and hash of entries, written where whoever can rewrite the log cannot (a
/// remote store, a ticket, another host's file), one per line: <c>SEQ HASH [anything]</c>, as <c>aida audit head</c>
/// prints them; blank lines and lines starting with <c>#</c> are skipped.</summary>
public static class AuditAnchors
{
    /// <summary>Reads anchors; a malformed line, or one sequence anchored with two hashes, is an error naming
    /// <paramref name="name"/> and the line.</summary>
    /// <exception cref="InvalidDataException">A malformed line.</exception>
    public static IReadOnlyDictionary<long, string> Read(TextReader text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        var anchors = new Dictionary<long, string>();
        var number = 0;
        while (text.ReadLine() is { } line)
        {
            number++;
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                continue;
            }

            var fields = trimmed.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq < 1)
            {
                throw new InvalidDataException($"{name}:{number}: '{Shorten(trimmed)}' is not SEQ HASH (an entry's sequence, from 1, and its hash)");
            }

            var hash = fields[1].ToLowerInvariant();
            if (hash.Length != 64 || !hash.All(char.IsAsciiHexDigit))
            {
                throw new InvalidDataException($"{name}:{number}: '{Shorten(fields[1])}' is not a SHA-256 hash (64 hex digits)");
            }

            if (anchors.TryGetValue(seq, out var earlier) && earlier != hash)
            {
                throw new InvalidDataException($"{name}:{number}: entry {seq} is anchored with two hashes ({earlier[..12]}… and {hash[..12]}…)");
            }

            anchors[seq] = hash;
        }

        return anchors;
    }

    /// <summary>One anchor line of <paramref name="entry"/>: <c>SEQ HASH TIME</c>.</summary>
    public static string Line(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return string.Create(CultureInfo.InvariantCulture, $"{entry.Sequence} {entry.Hash} {entry.At.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}");
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
