using System.Text.Json;
using Aida.Observability.Incidents;
using Aida.Observability.RootCause;
using Microsoft.Extensions.Time.Testing;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida incidents over a store seeded as the pipeline would: a CDU pump failure in hall 1 and a separate CDU alarm in hall 2.</summary>
public sealed class IncidentsCommandTests
{
    private static readonly DateTimeOffset T0 = new(2025, 7, 1, 2, 0, 0, TimeSpan.Zero);

    private static Alert At(string asset, double minutes, string name, string severity = "warning") =>
        new(name, AlertSource.Threshold, asset, T0.AddMinutes(minutes), $"{name} on {asset}") { Severity = severity };

    /// <summary>A store with incident 1 (cdu-h1-a, with a root cause) and incident 2 (cdu-h2-c, acknowledged).</summary>
    private static string Seeded()
    {
        var path = Path.Combine(TempDir(), "incidents.db");
        using var store = new IncidentStore(path, new FakeTimeProvider(T0.AddMinutes(5)));
        var alerts = new[] { At("cdu-h1-a", 0, "CduFlowLow", "critical"), At("h1-a01", 1, "RackGpuHot"), At("h1-a02", 1.5, "RackGpuHot") };
        var incidents = new IncidentGrouper(Aida.Model.Topology.TopologyGraph.Build(Aida.Model.Facility.FactoryLoader.Load(Aida.Model.Config.BundledFiles.Resolve("ref-10mw", "factories"))))
            .Fold([.. alerts, At("cdu-h2-c", 2, "CduLevelLow")]);
        Assert.Equal(2, incidents.Count);
        var cdu = store.Record(incidents[0]);
        var other = store.Record(incidents[1]);
        store.AttachRootCause(cdu, new RootCauseFinding([new CauseCandidate("cdu-h1-a", "cdu-pump-failure", 0.92, ["flow fell to 0 at 02:00:10"])]));
        store.Transition(other, IncidentState.Acknowledged, "ana", "topping up coolant");
        return path;
    }

    [Fact]
    public void List_ShowsEveryIncident_OrThoseInOneState()
    {
        var db = Seeded();

        var (code, output, err) = Invoke("incidents", "list", "--db", db);
        Assert.True(code == 0, err);
        Assert.Contains("   2  acknowledged  warning   2025-07-01 02:02:00  2025-07-01 02:02:00       1       1  CduLevelLow on cdu-h2-c", output, StringComparison.Ordinal);
        Assert.Contains("   1  open          critical  2025-07-01 02:00:00  2025-07-01 02:01:30       3       3  CduFlowLow on cdu-h1-a", output, StringComparison.Ordinal);
        Assert.Contains("(2 incidents)", output, StringComparison.Ordinal);

        var open = Invoke("incidents", "list", "--db", db, "--state", "open").Out;
        Assert.Contains("CduFlowLow on cdu-h1-a", open, StringComparison.Ordinal);
        Assert.DoesNotContain("CduLevelLow", open, StringComparison.Ordinal);
    }

    [Fact]
    public void Show_GivesTheAssetsRootCauseAndTimeline()
    {
        var (code, output, err) = Invoke("incidents", "show", "--db", Seeded(), "1");

        Assert.True(code == 0, err);
        Assert.Contains("incident 1: CduFlowLow on cdu-h1-a", output, StringComparison.Ordinal);
        Assert.Contains("alerts      3 on 3 assets: cdu-h1-a 1, h1-a01 1, h1-a02 1", output, StringComparison.Ordinal);
        Assert.Contains("1. cdu-pump-failure on cdu-h1-a (score 0.920)", output, StringComparison.Ordinal);
        Assert.Contains("- flow fell to 0 at 02:00:10", output, StringComparison.Ordinal);
        Assert.Contains("2025-07-01 02:00:00  alert   CduFlowLow (critical) on cdu-h1-a", output, StringComparison.Ordinal);
        Assert.Contains("2025-07-01 02:05:00  rca     root cause: cdu-pump-failure on cdu-h1-a", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_ListAndShow_CarryTheSameFacts()
    {
        var db = Seeded();

        var list = JsonDocument.Parse(Invoke("incidents", "list", "--db", db, "--json").Out).RootElement.EnumerateArray().ToList();
        var shown = JsonDocument.Parse(Invoke("incidents", "show", "--db", db, "1", "--json").Out).RootElement;

        Assert.Equal([2, 1], list.Select(i => i.GetProperty("id").GetInt64()));
        Assert.Equal("acknowledged", list[0].GetProperty("state").GetString());
        var incident = shown.GetProperty("incident");
        Assert.Equal(3, incident.GetProperty("alert_count").GetInt32());
        Assert.Equal(2, incident.GetProperty("assets").GetProperty("h1-a01").GetInt32() + incident.GetProperty("assets").GetProperty("h1-a02").GetInt32());
        Assert.Equal(JsonValueKind.Null, incident.GetProperty("resolved").ValueKind);
        Assert.Equal(4, shown.GetProperty("timeline").GetArrayLength());
        var top = shown.GetProperty("root_cause")[0];
        Assert.Equal(("cdu-h1-a", "cdu-pump-failure"), (top.GetProperty("asset").GetString(), top.GetProperty("fault_kind").GetString()));
        Assert.Equal("flow fell to 0 at 02:00:10", top.GetProperty("evidence")[0].GetString());
    }

    [Fact]
    public void AckMitigateResolve_MoveTheIncidentForward_WithWhoAndWhy()
    {
        var db = Seeded();

        Assert.Equal("incident 1: open -> acknowledged by bo\n", Invoke("incidents", "ack", "--db", db, "1", "--by", "bo").Out.ReplaceLineEndings("\n"));
        Assert.Equal(0, Invoke("incidents", "mitigate", "--db", db, "1", "--by", "bo", "--note", "started the standby pump").Code);
        Assert.Equal(0, Invoke("incidents", "resolve", "--db", db, "1", "--by", "cy").Code);

        var shown = Invoke("incidents", "show", "--db", db, "1").Out;
        Assert.Contains("state       resolved at ", shown, StringComparison.Ordinal);
        Assert.Contains("state   acknowledged -> mitigated by bo: started the standby pump", shown, StringComparison.Ordinal);
        Assert.Contains("state   mitigated -> resolved by cy", shown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("show", "42", "no incident 42 in the store")] // an unknown id
    [InlineData("ack", "42", "no incident 42 in the store")] // an unknown id
    [InlineData("ack", "2", "incident 2: cannot go from acknowledged to acknowledged")] // already acknowledged
    public void RefusedRequests_ExitTwoWithTheReason(string verb, string id, string message)
    {
        var args = verb == "show" ? new[] { "incidents", verb, "--db", Seeded(), id } : ["incidents", verb, "--db", Seeded(), id, "--by", "bo"];

        var (code, _, err) = Invoke(args);

        Assert.Equal(2, code);
        Assert.Contains(message, err, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolvedToAcknowledged_IsRefused()
    {
        var db = Seeded();
        Assert.Equal(0, Invoke("incidents", "resolve", "--db", db, "2", "--by", "ana").Code);

        var (code, _, err) = Invoke("incidents", "ack", "--db", db, "2", "--by", "bo");

        Assert.Equal(2, code);
        Assert.Contains("incident 2: cannot go from resolved to acknowledged", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("list")]
    [InlineData("show")]
    [InlineData("ack")]
    [InlineData("mitigate")]
    [InlineData("resolve")]
    public void EverySubcommand_HasHelp(string verb)
    {
        var (code, output, _) = Invoke("incidents", verb, "--help");

        Assert.Equal(0, code);
        Assert.Contains("--db", output, StringComparison.Ordinal);
    }

    [Fact]
    public void BadStores_AndBadArguments_ExitTwo()
    {
        var notSqlite = Scratch(new string('x', 5000), "incidents.db");

        Assert.Contains("no incident store at '/nonexistent/incidents.db'", Invoke("incidents", "list", "--db", "/nonexistent/incidents.db").Err, StringComparison.Ordinal);
        Assert.Contains("is not a readable SQLite database", Invoke("incidents", "list", "--db", notSqlite).Err, StringComparison.Ordinal);
        Assert.Equal(2, Invoke("incidents", "list", "--db", notSqlite).Code);
        Assert.Contains("--state: unknown state 'closed'", Invoke("incidents", "list", "--db", Seeded(), "--state", "closed").Err, StringComparison.Ordinal);
        Assert.Equal(2, Invoke("incidents", "ack", "--db", Seeded(), "one", "--by", "bo").Code);
        Assert.Equal(2, Invoke("incidents", "ack", "--db", Seeded(), "1").Code);
    }
}
