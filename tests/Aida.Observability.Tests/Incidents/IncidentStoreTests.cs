using Aida.Observability.Incidents;
using Aida.Observability.RootCause;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Observability.Tests.Incidents;

public sealed class IncidentStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 7, 1, 2, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aida-incident-store-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new(T0.AddMinutes(10));

    public IncidentStoreTests() => Directory.CreateDirectory(_dir);

    private string DbPath => Path.Combine(_dir, "incidents.db");

    public void Dispose()
    {
        IncidentStore.ReleasePool(DbPath);
        Directory.Delete(_dir, recursive: true);
    }

    private static Alert At(string asset, double minutes, string name = "RackGpuHot", string severity = "warning") =>
        new(name, AlertSource.Threshold, asset, T0.AddMinutes(minutes), $"{name} on {asset}") { Severity = severity };

    private static IncidentGroup Group(params Alert[] alerts) =>
        new(1, alerts.Min(a => a.At), alerts.Max(a => a.At), alerts, alerts.Select(a => a.Asset).ToHashSet());

    private static readonly RootCauseFinding Finding = new(
    [
        new CauseCandidate("cdu-h1-a", "cdu-pump-failure", 0.92, ["flow fell 80 % at 02:00:03", "8 racks of cdu-h1-a warmed 40 s later"]),
        new CauseCandidate("chiller-1", "chiller-trip", 0.11, []),
    ]);

    /// <summary>Regression (CI, 2026-12-07): a test's teardown cleared every pool in the process; another test's store
    /// lost its last connection, SQLite checkpointed and deleted its write-ahead log, and the disk that test had just
    /// filled had room again. Releasing one store's pool leaves every other store's connections, and its log, alone.</summary>
    [Fact]
    public void ReleasingOneStoresPool_ClosesItsConnections_AndLeavesAnotherStoresAndItsWriteAheadLogAlone()
    {
        var other = Path.Combine(_dir, "other.db");
        var store = new IncidentStore(DbPath, _clock);
        var kept = new IncidentStore(other, _clock);
        store.Record(Group(At("h1-a01", 1)));
        kept.Record(Group(At("h1-a02", 1)));
        Assert.True(File.Exists(DbPath + "-wal") && File.Exists(other + "-wal"), "both stores write ahead");

        IncidentStore.ReleasePool(DbPath);

        // Its last connection closed: SQLite folded the log into the file and removed it.
        Assert.False(File.Exists(DbPath + "-wal"));
        Assert.True(File.Exists(other + "-wal"));
        Assert.Single(store.List());
        Assert.Single(kept.List());
        kept.Dispose();
        Assert.False(File.Exists(other + "-wal"));
    }

    [Fact]
    public void Record_KeepsTheAlertCountsPerAssetTheWorstSeverityAndATimeline()
    {
        using var store = new IncidentStore(DbPath, _clock);
        var id = store.Record(Group(At("h1-a01", 1), At("cdu-h1-a", 0, "CduFlowLow", "critical"), At("h1-a01", 2)));

        var detail = store.Get(id);

        Assert.Equal(1, id);
        Assert.Equal("CduFlowLow on cdu-h1-a", detail.Incident.Title);
        Assert.Equal(IncidentState.Open, detail.Incident.State);
        Assert.Equal("critical", detail.Incident.Severity);
        Assert.Equal(3, detail.Incident.AlertCount);
        Assert.Equal(new Dictionary<string, int> { ["cdu-h1-a"] = 1, ["h1-a01"] = 2 }, detail.Incident.Assets);
        Assert.Equal((T0, T0.AddMinutes(2)), (detail.Incident.Opened, detail.Incident.LastAlert));
        Assert.Equal([T0, T0.AddMinutes(1), T0.AddMinutes(2)], detail.Timeline.Select(e => e.At));
        Assert.All(detail.Timeline, e => Assert.Equal(TimelineEntryKind.AlertFolded, e.Kind));
        Assert.Null(detail.RootCause);
    }

    [Fact]
    public void Alerts_AreReadBackAsFolded_SeriesIncluded_OldestFirst()
    {
        using var store = new IncidentStore(DbPath, _clock);
        var noise = new Alert("anomaly:noise", AlertSource.Anomaly, "h2-b04", T0.AddMinutes(3), "scatter 3.1 K")
        {
            Series = Aida.Telemetry.Series.Labels.Metric("aida_rack_inlet_celsius", ("rack", "h2-b04"), ("note", "a \"quoted\" \\ value")),
            Severity = "info",
        };
        var id = store.Record(Group(At("h1-a01", 1), noise));
        store.Fold(id, At("cdu-h1-a", 5, "CduFlowLow", "critical"));

        var alerts = store.Alerts(id);

        Assert.Equal([At("h1-a01", 1), noise, At("cdu-h1-a", 5, "CduFlowLow", "critical")], alerts);
        Assert.Equal(noise.Series, alerts[1].Series);
        Assert.Throws<KeyNotFoundException>(() => store.Alerts(id + 1));
    }

    [Fact]
    public void Lifecycle_RecordsWhoWhenAndWhy_AndFoldsLaterAlerts()
    {
        using var store = new IncidentStore(DbPath, _clock);
        var id = store.Open(At("cdu-h1-a", 0, "CduFlowLow"));
        store.Fold(id, At("h1-a03", 1, severity: "critical"));
        store.Transition(id, IncidentState.Acknowledged, "ana", "on it");
        _clock.Advance(TimeSpan.FromMinutes(5));
        store.Transition(id, IncidentState.Mitigated, "ana", "standby pump started");
        store.AttachRootCause(id, Finding);
        _clock.Advance(TimeSpan.FromMinutes(30));
        store.Transition(id, IncidentState.Resolved, "bo");

        var detail = store.Get(id);

        Assert.Equal(IncidentState.Resolved, detail.Incident.State);
        Assert.Equal(T0.AddMinutes(45), detail.Incident.Resolved);
        Assert.Equal("critical", detail.Incident.Severity);
        var changes = detail.Timeline.Where(e => e.Kind == TimelineEntryKind.StateChanged).ToList();
        Assert.Equal(
            [(T0.AddMinutes(10), "ana", IncidentState.Open, IncidentState.Acknowledged, "on it"), (T0.AddMinutes(15), "ana", IncidentState.Acknowledged, IncidentState.Mitigated, "standby pump started"), (T0.AddMinutes(45), "bo", IncidentState.Mitigated, IncidentState.Resolved, "")],
            changes.Select(e => (e.At, e.By!, e.From!.Value, e.To!.Value, e.Text)));
        Assert.Single(detail.Timeline, e => e.Kind == TimelineEntryKind.RootCauseAttached && e.Text.Contains("cdu-pump-failure on cdu-h1-a", StringComparison.Ordinal));
        Assert.Equal("cdu-h1-a", detail.RootCause!.Top!.Asset);
        Assert.Equal(Finding.Ranked[0].Evidence, detail.RootCause.Ranked[0].Evidence);
        Assert.Empty(detail.RootCause.Ranked[1].Evidence);
    }

    [Theory]
    [InlineData(IncidentState.Resolved, IncidentState.Acknowledged)] // backwards from the final state
    [InlineData(IncidentState.Mitigated, IncidentState.Open)] // backwards
    [InlineData(IncidentState.Acknowledged, IncidentState.Acknowledged)] // no change is not a change
    public void Transition_BackwardsOrToTheSameState_IsRefusedNamingTheIncidentAndStates(IncidentState reached, IncidentState to)
    {
        using var store = new IncidentStore(DbPath, _clock);
        var id = store.Open(At("h1-a01", 0));
        store.Transition(id, reached, "ana");

        var e = Assert.Throws<InvalidOperationException>(() => store.Transition(id, to, "bo"));

        Assert.Contains($"incident {id}: cannot go from {IncidentStore.Name(reached)} to {IncidentStore.Name(to)}", e.Message, StringComparison.Ordinal);
        Assert.Equal(reached, store.Get(id).Incident.State);
    }

    [Theory]
    [InlineData(IncidentState.Resolved, IncidentState.Mitigated)] // a person resolved it before the agent's runbook succeeded
    [InlineData(IncidentState.Acknowledged, IncidentState.Acknowledged)]
    public void TryAdvance_ToAStateReachedOrPassed_ChangesNothing(IncidentState reached, IncidentState to)
    {
        using var store = new IncidentStore(DbPath, _clock);
        var id = store.Open(At("h1-a01", 0));
        store.Transition(id, reached, "ana");

        Assert.False(store.TryAdvance(id, to, "agent:aida", "runbook succeeded"));

        var detail = store.Get(id);
        Assert.Equal(reached, detail.Incident.State);
        Assert.DoesNotContain(detail.Timeline, e => e.By == "agent:aida");
    }

    [Fact]
    public void TryAdvance_Forward_IsATransition()
    {
        using var store = new IncidentStore(DbPath, _clock);
        var id = store.Open(At("h1-a01", 0));

        Assert.True(store.TryAdvance(id, IncidentState.Mitigated, "agent:aida", "runbook succeeded"));

        var change = store.Get(id).Timeline.Single(e => e.Kind == TimelineEntryKind.StateChanged);
        Assert.Equal((IncidentState.Open, IncidentState.Mitigated, "agent:aida", "runbook succeeded"), (change.From!.Value, change.To!.Value, change.By, change.Text));
    }

    [Fact]
    public void Transition_MaySkipForward()
    {
        using var store = new IncidentStore(DbPath, _clock);
        var id = store.Open(At("h1-a01", 0));

        store.Transition(id, IncidentState.Resolved, "auto", "cleared by itself");

        Assert.Equal(IncidentState.Resolved, store.Get(id).Incident.State);
    }

    [Fact]
    public void UnknownIncident_IsAKeyNotFoundNamingIt()
    {
        using var store = new IncidentStore(DbPath, _clock);
        store.Open(At("h1-a01", 0));

        Assert.Equal("no incident 42 in the store", Assert.Throws<KeyNotFoundException>(() => store.Get(42)).Message);
        Assert.Throws<KeyNotFoundException>(() => store.Transition(42, IncidentState.Acknowledged, "ana"));
        Assert.Throws<KeyNotFoundException>(() => store.Fold(42, At("h1-a01", 1)));
        Assert.Throws<KeyNotFoundException>(() => store.AttachRootCause(42, Finding));
    }

    [Fact]
    public void AResolvedIncident_TakesNoMoreAlerts()
    {
        using var store = new IncidentStore(DbPath, _clock);
        var id = store.Open(At("h1-a01", 0));
        store.Transition(id, IncidentState.Resolved, "ana");

        var e = Assert.Throws<InvalidOperationException>(() => store.Fold(id, At("h1-a01", 5)));

        Assert.Contains($"incident {id} is resolved", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, store.Get(id).Incident.AlertCount);
    }

    [Fact]
    public void BadAlerts_AreRefused()
    {
        using var store = new IncidentStore(DbPath, _clock);

        Assert.Throws<ArgumentException>(() => store.Open(At("h1-a01", 0, severity: "urgent")));
        Assert.Throws<ArgumentException>(() => store.Open(At("", 0)));
        Assert.Throws<ArgumentException>(() => store.Transition(store.Open(At("h1-a01", 0)), IncidentState.Acknowledged, " "));
    }

    [Fact]
    public void Reopened_AfterDispose_NothingIsLost()
    {
        long id;
        IncidentDetail before;
        using (var store = new IncidentStore(DbPath, _clock))
        {
            id = store.Record(Group(At("cdu-h1-a", 0, "CduFlowLow"), At("h1-a01", 1)));
            store.Open(At("h2-c01", 3));
            store.Transition(id, IncidentState.Acknowledged, "ana", "on it");
            store.AttachRootCause(id, Finding);
            before = store.Get(id);
        }

        using var reopened = new IncidentStore(DbPath, _clock);
        var after = reopened.Get(id);

        Assert.Equal(before.Incident with { Assets = after.Incident.Assets }, after.Incident);
        Assert.Equal(before.Incident.Assets, after.Incident.Assets);
        Assert.Equal(before.Timeline, after.Timeline);
        Assert.Equal(before.RootCause!.Ranked.Select(c => (c.Asset, c.FaultKind, c.Score, string.Join('|', c.Evidence))),
            after.RootCause!.Ranked.Select(c => (c.Asset, c.FaultKind, c.Score, string.Join('|', c.Evidence))));
        Assert.Equal(2, reopened.List().Count);
    }

    [Fact]
    public void TheFile_HasTheSchemaVersionAndIsInWalMode()
    {
        using (new IncidentStore(DbPath, _clock))
        {
        }

        using var connection = new SqliteConnection($"Data Source={DbPath}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version";
        Assert.Equal((long)IncidentStore.SchemaVersion, command.ExecuteScalar());
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public void List_FiltersByStateAndByTimeRange_NewestFirst()
    {
        using var store = new IncidentStore(DbPath, _clock);
        var early = store.Open(At("h1-a01", 0));
        var middle = store.Open(At("h1-b01", 60));
        var late = store.Open(At("h2-c01", 120));
        _clock.SetUtcNow(T0.AddMinutes(90));
        store.Transition(early, IncidentState.Resolved, "ana");
        store.Transition(middle, IncidentState.Acknowledged, "ana");

        Assert.Equal([late, middle, early], store.List().Select(i => i.Id));
        Assert.Equal([late], store.List(IncidentState.Open).Select(i => i.Id));
        Assert.Equal([middle], store.List(IncidentState.Acknowledged).Select(i => i.Id));

        // Active after 01:35: the early one was resolved at 01:30.
        Assert.Equal([late, middle], store.List(since: T0.AddMinutes(95)).Select(i => i.Id));

        // Opened before 01:30.
        Assert.Equal([middle, early], store.List(until: T0.AddMinutes(90)).Select(i => i.Id));
        Assert.Empty(store.List(IncidentState.Mitigated));
    }

    [Fact]
    public async Task ConcurrentReaders_SeeConsistentIncidents_WhileOneWriterFolds()
    {
        using var store = new IncidentStore(DbPath, _clock);
        using var second = new IncidentStore(DbPath, _clock);
        var id = store.Open(At("cdu-h1-a", 0));
        using var done = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(() =>
        {
            var reads = 0;
            var last = 0;
            while (!done.IsCancellationRequested || reads == 0)
            {
                var detail = (r % 2 == 0 ? store : second).Get(id);

                // A reader sees whole transactions: the count, the assets' counts and the timeline agree, and never go back.
                if (detail.Incident.AlertCount != detail.Incident.Assets.Values.Sum() || detail.Incident.AlertCount != detail.Timeline.Count || detail.Incident.AlertCount < last)
                {
                    throw new InvalidOperationException($"inconsistent read: {detail.Incident.AlertCount} alerts, {detail.Timeline.Count} timeline entries");
                }

                last = detail.Incident.AlertCount;
                var listed = Assert.Single((r % 2 == 0 ? second : store).List());
                if (listed.AlertCount != listed.Assets.Values.Sum())
                {
                    throw new InvalidOperationException($"inconsistent list: {listed.AlertCount} alerts, {listed.Assets.Values.Sum()} by asset");
                }

                reads++;
            }

            return reads;
        })).ToList();

        for (var i = 1; i <= 200; i++)
        {
            store.Fold(id, At($"h1-a0{1 + (i % 8)}", i * 0.1));
        }

        await done.CancelAsync();
        var counts = await Task.WhenAll(readers);

        Assert.All(counts, c => Assert.True(c > 0));
        Assert.Equal(201, second.Get(id).Incident.AlertCount);
    }

    [Theory]
    [InlineData(false)] // text, not SQLite at all
    [InlineData(true)] // a SQLite header followed by garbage: a corrupted database
    public void AFileThatIsNotSqlite_OrIsCorrupted_IsAClearError(bool withHeader)
    {
        var garbage = new byte[8192];
        new Random(6).NextBytes(garbage);
        if (withHeader)
        {
            "SQLite format 3\0"u8.CopyTo(garbage);
        }
        else
        {
            "these are not the incidents you are looking for\n"u8.CopyTo(garbage);
        }

        File.WriteAllBytes(DbPath, garbage);

        var e = Assert.Throws<InvalidDataException>(() => new IncidentStore(DbPath, _clock));

        Assert.Contains(DbPath, e.Message, StringComparison.Ordinal);
        Assert.Contains("is not a readable SQLite database", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APathInAMissingDirectory_IsAClearError()
    {
        var path = Path.Combine(_dir, "no-such-dir", "incidents.db");

        var e = Assert.Throws<InvalidDataException>(() => new IncidentStore(path, _clock));

        Assert.Contains($"incident store '{path}' cannot be opened", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnotherApplicationsDatabase_OrANewerSchema_IsAClearError()
    {
        using (var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE songs (title TEXT)";
            command.ExecuteNonQuery();
        }

        Assert.Contains("a SQLite database of something else", Assert.Throws<InvalidDataException>(() => new IncidentStore(DbPath, _clock)).Message, StringComparison.Ordinal);

        var newer = Path.Combine(_dir, "newer.db");
        using (var connection = new SqliteConnection($"Data Source={newer};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 7";
            command.ExecuteNonQuery();
        }

        Assert.Contains("has schema version 7; this build reads version 1", Assert.Throws<InvalidDataException>(() => new IncidentStore(newer, _clock)).Message, StringComparison.Ordinal);
    }
}
