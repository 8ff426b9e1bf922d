using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>aida run --api: a live run serves the REST API; an operator's risky action waits for an approver, runs once
/// approved, and everything lands in the run's audit log.</summary>
[Collection(WireTiming.Name)]
public class RunApiTests
{
    [Fact]
    public async Task AnOperatorsIsolation_WaitsForTheApprover_ThenRuns_AndIsAudited()
    {
        var dir = TempDir();
        var operatorKey = Invoke("keys", "issue", "ops", "--role", "operator", "--data", dir).Out.Trim();
        var approverKey = Invoke("keys", "issue", "boss", "--role", "approver", "--data", dir).Out.Trim();
        Assert.StartsWith("aida_", operatorKey, StringComparison.Ordinal);
        Assert.Contains("ops", Invoke("keys", "list", "--data", dir).Out, StringComparison.Ordinal);
        Assert.DoesNotContain(operatorKey, Invoke("keys", "list", "--data", dir).Out, StringComparison.Ordinal);

        var port = FreePort();
        using var stop = new CancellationTokenSource();
        var output = new CapturedOutput();
        var run = Task.Run(() => AidaCommand.RunAsync(["run", "--speed", "60", "--duration", "2h", "--status-every", "1h", "--data", dir, "--api", $"127.0.0.1:{port}", "--stall-after", "2m"], output.Writer, TextWriter.Null, stop.Token));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await UntilUp(http, run);
        // A site with slow devices gives its loop longer before it counts as stalled.
        Assert.Equal(120, JsonDocument.Parse(await http.GetStringAsync("/healthz")).RootElement.GetProperty("loop").GetProperty("stalled_after_seconds").GetDouble());

        var proposed = await Post(http, "/api/actions", operatorKey, """{"kind":"isolate_rack","asset":"h1-a01","value":1,"reason":"technician reports a drip"}""");
        Assert.Equal(HttpStatusCode.Accepted, proposed.StatusCode);
        var id = JsonDocument.Parse(await proposed.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(http, $"/api/actions/{id}/approve", operatorKey, "{}")).StatusCode);
        var approved = await Post(http, $"/api/actions/{id}/approve", approverKey, "{}");
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        Assert.Equal("executed", JsonDocument.Parse(await approved.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());

        // The budgets are evaluated once a plant minute: poll until the first evaluation after the first SLI slice.
        JsonElement slos = default, inlet = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline && inlet.ValueKind != JsonValueKind.Object;)
        {
            using var slosRequest = new HttpRequestMessage(HttpMethod.Get, "/api/slos");
            slosRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", operatorKey);
            slos = JsonDocument.Parse(await (await http.SendAsync(slosRequest)).Content.ReadAsStringAsync()).RootElement;
            inlet = slos.GetProperty("slos").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "rack-inlet-envelope");
            if (!inlet.GetProperty("has_data").GetBoolean())
            {
                inlet = default;
                await Task.Delay(100);
            }
        }

        Assert.Equal(JsonValueKind.Object, inlet.ValueKind);
        Assert.InRange(inlet.GetProperty("budget_remaining").GetDouble(), 0.0, 1.0);
        Assert.Contains(slos.GetProperty("efficiency").GetProperty("regime").GetString(), new[] { "expand", "hold", "freeze" });
        // Each kind of move is weighed against its own SLOs: UPS eco mode against the power ones.
        Assert.Contains(slos.GetProperty("efficiency").GetProperty("power").GetProperty("regime").GetString(), new[] { "expand", "hold", "freeze" });
        Assert.Equal("cooling", inlet.GetProperty("risk_domains").GetString());

        // A reading an operator files as lying is left out of the budgets the run serves (and its agent's policy reads).
        var filed = await Post(http, "/api/slos/exclusions", operatorKey, """{"selector":"aida_rack_inlet_celsius{rack=\"h1-a02\"}","reason":"probe replaced"}""");
        Assert.Equal(HttpStatusCode.Created, filed.StatusCode);
        // The answer names the SLOs it corrects: only the one whose SLI reads the rack inlets.
        Assert.Equal(["rack-inlet-envelope"], JsonDocument.Parse(await filed.Content.ReadAsStringAsync()).RootElement.GetProperty("slos").EnumerateArray().Select(x => x.GetString()));
        var excluded = default(JsonElement);
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline && excluded.ValueKind != JsonValueKind.Object;)
        {
            using var slosRequest = new HttpRequestMessage(HttpMethod.Get, "/api/slos");
            slosRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", operatorKey);
            var listed = JsonDocument.Parse(await (await http.SendAsync(slosRequest)).Content.ReadAsStringAsync()).RootElement.GetProperty("excluded_readings");
            excluded = listed.GetArrayLength() > 0 ? listed[0] : default;
            if (excluded.ValueKind != JsonValueKind.Object)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(JsonValueKind.Object, excluded.ValueKind);
        Assert.Equal("aida_rack_inlet_celsius{rack=\"h1-a02\"}", excluded.GetProperty("series").GetString());

        await stop.CancelAsync();
        Assert.Equal(0, await run);
        Assert.Contains("Aida on http://127.0.0.1:", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, Invoke("audit", "verify", "--data", dir).Code);
        var audit = Invoke("audit", "show", "--data", dir, "--limit", "1000").Out;
        Assert.Contains("proposed by api:ops", audit, StringComparison.Ordinal);
        Assert.Contains("api:boss", audit, StringComparison.Ordinal);
        Assert.Contains("h1-a01/isolate", audit, StringComparison.Ordinal);
    }

    [Fact]
    public void BadUrls_AreRefusedNamingTheOption_AndKeysNeedAKnownRole()
    {
        foreach (var (urls, named) in new[] { ("https://127.0.0.1:8443", "Aida serves plain HTTP"), ("127.0.0.1", "is not http://ADDRESS:PORT"), ("http://example.org:80", "is not http://ADDRESS:PORT") })
        {
            var (code, _, err) = Invoke("run", "--urls", urls, "--duration", "1m", "--data", TempDir());
            Assert.Equal(2, code);
            Assert.Contains($"--urls: '{urls}'", err, StringComparison.Ordinal);
            Assert.Contains(named, err, StringComparison.Ordinal);
        }

        // aida redundancy needs the live run's address, and says so without another command's alternative.
        var noApi = Invoke("redundancy", "--key", "k");
        Assert.Equal((2, "aida: --api: required: the live run's HOST:PORT as given to aida run --api\n"), (noApi.Code, noApi.Err));

        var (keyCode, _, keyErr) = Invoke("keys", "issue", "x", "--role", "root", "--data", TempDir());
        Assert.Equal(2, keyCode);
        Assert.Contains("--role: unknown role 'root'", keyErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATechnician_LocksACduOutFromATerminal_ForFourHours_AndOnlyTheyReleaseIt_AndAStoppedRunsFileIsListed()
    {
        // aida lockouts speaks to the live run's API: the run holds the lockouts, and its guard refuses every write.
        var dir = TempDir();
        var tech = Invoke("keys", "issue", "tech", "--role", "operator", "--data", dir).Out.Trim();
        var other = Invoke("keys", "issue", "other", "--role", "operator", "--data", dir).Out.Trim();
        var viewer = Invoke("keys", "issue", "watch", "--role", "viewer", "--data", dir).Out.Trim();
        var port = FreePort();
        var api = $"127.0.0.1:{port}";
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => AidaCommand.RunAsync(["run", "--speed", "60", "--duration", "2h", "--status-every", "1h", "--data", dir, "--api", api], TextWriter.Null, TextWriter.Null, stop.Token));
        using var http = new HttpClient { BaseAddress = new Uri($"http://{api}") };
        await UntilUp(http, run);

        Assert.Equal((0, "no asset is locked out or planned to be\n", ""), Invoke("lockouts", "list", "--api", api, "--key", viewer));
        // Before the work, anyone may ask what a lockout would take from the agent.
        var asked = Invoke("lockouts", "impact", "chiller-3", "--api", api, "--key", viewer);
        Assert.Equal((0, ""), (asked.Code, asked.Err));
        Assert.StartsWith("while chiller-3 is locked out these runbook steps are refused, and their run rolls back to a person:\n", asked.Out, StringComparison.Ordinal);
        Assert.Contains("\n  runbook chiller-trip would start_standby it on a chiller-trip of chiller-1 or chiller-2\n", asked.Out, StringComparison.Ordinal);
        // A duty chiller: no runbook step, but the chillers left against the day's peak of heat.
        var duty = Invoke("lockouts", "impact", "chiller-1", "--api", api, "--key", viewer);
        Assert.Equal((0, ""), (duty.Code, duty.Err));
        Assert.Matches(@"^no runbook step writes chiller-1: locking it out takes none from the agent\ncapacity: chillers: 10\.0 MW left of 15\.0 MW without chiller-1, against a peak of [\d.]+ MW of heat on facility water in the last 24 h \(\S+ \S+Z\): carried with (none|\d) to spare \(N\+\d now, N(\+\d)? without it\)\n$", duty.Out);
        (var impactCode, _, var impactErr) = Invoke("lockouts", "impact", "chiller-9", "--api", api, "--key", viewer);
        Assert.Equal((2, true), (impactCode, impactErr.Contains("answered 400 bad request: asset: unknown asset 'chiller-9'", StringComparison.Ordinal)));
        var (code, added, err) = Invoke("lockouts", "add", "cdu-h1-a", "--reason", "pump 2 seal", "--for", "4h", "--api", api, "--key", tech);
        Assert.True(code == 0, err);
        var held = System.Text.RegularExpressions.Regex.Match(added, @"^locked out: cdu-h1-a is locked out by api:tech since (\S+ \S+) until (\S+ \S+) \(pump 2 seal\)\n");
        Assert.True(held.Success, added);
        // And what it takes from the agent: the CDU's own pump failure would have its remaining pumps run at full speed.
        Assert.Contains("\nwhile it is held these runbook steps are refused, and their run rolls back to a person:\n  runbook cdu-pump-failure would set_speed it on its own cdu-pump-failure\n", added, StringComparison.Ordinal);
        Assert.Contains("\ncapacity: hall-1's CDUs: 4.0 MW left of 5.0 MW without cdu-h1-a, against a peak of ", added, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromHours(4), DateTimeOffset.Parse(held.Groups[2].Value[..^1] + "+00:00", System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.Parse(held.Groups[1].Value[..^1] + "+00:00", System.Globalization.CultureInfo.InvariantCulture));

        // The work takes longer: the person who locked it out moves its end; it holds throughout.
        (code, var extended, err) = Invoke("lockouts", "extend", "cdu-h1-a", "--for", "6h", "--api", api, "--key", tech);
        Assert.True(code == 0, err);
        Assert.Matches(@"^extended: cdu-h1-a is locked out by api:tech since \S+ \S+ until \S+ \S+ \(pump 2 seal\)\n$", extended);
        (code, _, err) = Invoke("lockouts", "extend", "cdu-h1-a", "--for", "1h", "--api", api, "--key", other);
        Assert.Equal((1, true), (code, err.Contains("answered 403 forbidden: cdu-h1-a is locked out by api:tech", StringComparison.Ordinal)));

        // Refusals as the API words them: bad input exits 2, a role or person refused exits 1.
        (code, _, err) = Invoke("lockouts", "add", "cdu-h1-a", "--reason", "x", "--api", api, "--key", other);
        Assert.Equal((2, true), (code, err.Contains("POST /api/lockouts answered 409 already locked out: cdu-h1-a is locked out by api:tech", StringComparison.Ordinal)));
        (code, _, err) = Invoke("lockouts", "add", "chiller-2", "--reason", "x", "--for", "4hours", "--api", api, "--key", tech);
        Assert.Equal((2, true), (code, err.Contains("400 bad request: for: '4hours' is not a duration above zero", StringComparison.Ordinal)));
        (code, _, err) = Invoke("lockouts", "add", "chiller-2", "--reason", "x", "--api", api, "--key", viewer);
        Assert.Equal((1, true), (code, err.Contains("answered 403", StringComparison.Ordinal)));
        (code, _, err) = Invoke("lockouts", "release", "cdu-h1-a", "--reason", "looks done", "--api", api, "--key", other);
        Assert.Equal((1, true), (code, err.Contains("answered 403 forbidden: cdu-h1-a is locked out by api:tech", StringComparison.Ordinal)));

        // The person who locked it out releases it; what they did not release stays held.
        Assert.Equal(0, Invoke("lockouts", "add", "chiller-2", "--reason", "condenser tubes", "--api", api, "--key", tech).Code);
        Assert.Equal((0, "released chiller-2: Aida writes its actuators again\n", ""), Invoke("lockouts", "release", "chiller-2", "--reason", "tubes clean", "--api", api, "--key", tech));
        // Work booked ahead: chiller-1's service tomorrow, for 8 h from its start; listed as planned, after those held.
        var tomorrow = DateTimeOffset.Parse(held.Groups[1].Value[..^1] + "+00:00", System.Globalization.CultureInfo.InvariantCulture).AddDays(1);
        (code, var planned, err) = Invoke("lockouts", "add", "chiller-1", "--reason", "annual service", "--from", tomorrow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture), "--for", "8h", "--api", api, "--key", tech);
        Assert.True(code == 0, err);
        Assert.StartsWith($"planned: chiller-1 is to be locked out by api:tech from {tomorrow:yyyy-MM-dd HH:mm:ss}Z until {tomorrow.AddHours(8):yyyy-MM-dd HH:mm:ss}Z (annual service)\ncapacity: chillers: 10.0 MW left of 15.0 MW without chiller-1, against a peak of ", planned, StringComparison.Ordinal);
        // The service is put off a day: moved, its 8 h kept.
        var later = tomorrow.AddDays(1);
        Assert.Equal((0, $"moved: chiller-1 is to be locked out by api:tech from {later:yyyy-MM-dd HH:mm:ss}Z until {later.AddHours(8):yyyy-MM-dd HH:mm:ss}Z (annual service)\n", ""),
            Invoke("lockouts", "reschedule", "chiller-1", "--from", later.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture), "--api", api, "--key", tech));
        // Asked for its time, chiller-3's work would find chiller-1 out for its service; asked for an hour now, not.
        var laterIso = later.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"and chiller-1 (planned out from {later:yyyy-MM-dd HH:mm}Z) already out", Invoke("lockouts", "impact", "chiller-3", "--from", laterIso, "--for", "2h", "--api", api, "--key", viewer).Out, StringComparison.Ordinal);
        Assert.DoesNotContain("chiller-1 (planned", Invoke("lockouts", "impact", "chiller-3", "--for", "1h", "--api", api, "--key", viewer).Out, StringComparison.Ordinal);
        // A second job on chiller-1 a week on is booked beside it, and called off by its start, the service kept.
        var week = later.AddDays(7).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(0, Invoke("lockouts", "add", "chiller-1", "--reason", "oil sample", "--from", week, "--for", "1h", "--api", api, "--key", tech).Code);
        Assert.Equal((0, $"called off chiller-1's lockout planned from {later.AddDays(7):yyyy-MM-dd HH:mm:ss}Z\n", ""),
            Invoke("lockouts", "release", "chiller-1", "--since", week, "--reason", "sampled at the service", "--api", api, "--key", tech));
        // Each group's redundancy now, from the same terminal: cdu-h1-a held out leaves hall-1's CDUs one fewer; a line per
        // group, the least redundant first.
        var redundancy = Invoke("redundancy", "--api", api, "--key", viewer);
        Assert.Equal((0, ""), (redundancy.Code, redundancy.Err));
        var groups = redundancy.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(11, groups.Length);
        Assert.Matches(@"^at \S+:$", groups[0]);
        Assert.Contains(groups, g => System.Text.RegularExpressions.Regex.IsMatch(g, @"^  (N|N\+\d) +hall-1's CDUs at (N|N\+\d): 4\.0 MW in service \(of 5\.0 MW; cdu-h1-a \(locked out\) out\) for [\d.]+ MW of heat on their coolant$"));
        // (The economiser short, what the chillers make up, ranks with N.)
        var ranks = groups.Skip(1).Select(g => (g.Trim().Split(' ')[0], g.Contains("which the chillers make up", StringComparison.Ordinal)))
            .Select(k => k.Item1 == "short" ? (k.Item2 ? 0 : -1) : k.Item1 == "N" ? 0 : k.Item1.StartsWith("N+", StringComparison.Ordinal) ? int.Parse(k.Item1[2..], System.Globalization.CultureInfo.InvariantCulture) : 99).ToList();
        Assert.Equal(ranks.Order(), ranks);

        var listed = Invoke("lockouts", "list", "--api", api, "--key", viewer).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, listed.Length);
        Assert.Matches(@"^ASSET +STATE +BY +FROM +UNTIL +REASON$", listed[0]);
        Assert.Matches(@"^cdu-h1-a +held +api:tech +\S+ \S+ +\S+ \S+ +pump 2 seal$", listed[1]);
        Assert.Matches(@"^chiller-1 +planned +api:tech +\S+ \S+ +\S+ \S+ +annual service$", listed[2]);
        var asJson = System.Text.Json.JsonDocument.Parse(Invoke("lockouts", "list", "--json", "--api", api, "--key", viewer).Out).RootElement.EnumerateArray().First();
        Assert.Equal(("cdu-h1-a", "held", "api:tech", "pump 2 seal"), (asJson.GetProperty("asset").GetString(), asJson.GetProperty("state").GetString(), asJson.GetProperty("by").GetString(), asJson.GetProperty("reason").GetString()));
        Assert.True(asJson.GetProperty("until").GetDateTimeOffset() > asJson.GetProperty("since").GetDateTimeOffset());
        await stop.CancelAsync();
        Assert.Equal(0, await run);

        // Stopped, the run keeps it in DIR/lockouts.json, which a start there holds again: listed from the file.
        var kept = Invoke("lockouts", "list", "--data", dir);
        Assert.Equal(0, kept.Code);
        Assert.Equal(listed, kept.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        (code, _, err) = Invoke("lockouts", "list", "--api", api, "--key", viewer);
        Assert.Equal((1, true), (code, err.Contains($"cannot reach Aida's API at http://{api}/", StringComparison.Ordinal)));
        (code, _, err) = Invoke("lockouts", "list", "--api", "ftp://x", "--key", viewer);
        Assert.Equal((2, "aida: --api: 'ftp://x' is not HOST:PORT nor an http(s) URL (e.g. 127.0.0.1:8080)\n"), (code, err));
    }
}
