using System.Net;
using System.Text;
using Aida.Protocols.Nut;

namespace Aida.Protocols.Tests.Nut;

public class NutClientTests
{
    [Fact]
    public void Line_SplitsWordsAndQuotedValuesWithEscapes()
    {
        Assert.True(NutLine.TryParse("VAR su700 ups.mfr \"American \\\"Power\\\" \\\\ Conversion\"", out var line, out _));
        Assert.Equal(["VAR", "su700", "ups.mfr", "American \"Power\" \\ Conversion"], line.Words);
        Assert.False(NutLine.TryParse("VAR a b \"open", out _, out var problem));
        Assert.Contains("unterminated", problem, StringComparison.Ordinal);
        Assert.False(NutLine.TryParse("VAR a\u0001 b", out _, out _));
        Assert.Equal("\"a \\\"b\\\\\"", NutLine.Quote("a \"b\\"));
    }

    [Fact]
    public async Task Client_ReadsListsAndValues_AndReportsErr()
    {
        var stream = new ScriptedStream(
            "BEGIN LIST UPS\nUPS ups1 \"Room A\"\nUPS ups2 \"\"\nEND LIST UPS\n" +
            "BEGIN LIST VAR ups1\nVAR ups1 battery.charge \"100\"\nVAR ups1 ups.status \"OL CHRG\"\nEND LIST VAR ups1\n" +
            "VAR ups1 ups.load \"23\"\n" +
            "ERR UNKNOWN-UPS\n");
        await using var client = new NutClient(stream);
        var ups = await client.ListUpsAsync(default);
        Assert.Equal([new NutUpsInfo("ups1", "Room A"), new NutUpsInfo("ups2", "")], ups);
        var vars = await client.ListVarAsync("ups1", default);
        Assert.Equal([new("battery.charge", "100"), new("ups.status", "OL CHRG")], vars);
        Assert.Equal("23", await client.GetVarAsync("ups1", "ups.load", default));
        var err = await Assert.ThrowsAsync<NutErrorException>(() => client.ListVarAsync("nope", default));
        Assert.Equal("UNKNOWN-UPS", err.Code);
        Assert.Equal("LIST UPS\nLIST VAR ups1\nGET VAR ups1 ups.load\nLIST VAR nope\n", stream.Written);
    }

    [Theory]
    [InlineData("BEGIN LIST VAR other\n")] // the list of another UPS
    [InlineData("BEGIN LIST VAR ups1\nVAR ups1 x\nEND LIST VAR ups1\n")] // a VAR line without a value
    [InlineData("BEGIN LIST VAR ups1\nVAR ups1 x \"1\"\n")] // cut before END LIST
    [InlineData("OK\n")] // not an answer to LIST
    [InlineData("")] // closed at once
    public async Task Client_RefusesAnswersThatAreNotTheProtocol(string answer)
    {
        await using var client = new NutClient(new ScriptedStream(answer));
        await Assert.ThrowsAsync<NutProtocolException>(() => client.ListVarAsync("ups1", default));
    }

    [Fact]
    public async Task Client_RefusesAnEndlessLine()
    {
        await using var client = new NutClient(new ScriptedStream(new string('x', NutLine.MaxLength + 10)));
        await Assert.ThrowsAsync<NutProtocolException>(() => client.ListUpsAsync(default));
    }

    [Fact]
    public async Task Fuzz_RandomAndTruncatedAnswers_OnlyEverFailAsProtocolOrErr()
    {
        var random = new Random(11);
        const string valid = "BEGIN LIST VAR ups1\nVAR ups1 battery.charge \"100\"\nVAR ups1 ups.status \"OB \\\"LB\\\"\"\nEND LIST VAR ups1\n";
        var malformed = 0;
        for (var i = 0; i < 4000; i++)
        {
            string answer;
            if (i % 2 == 0)
            {
                answer = valid[..random.Next(valid.Length)]; // truncated: always malformed
            }
            else
            {
                var chars = valid.ToCharArray();
                for (var k = 0; k < 1 + random.Next(6); k++)
                {
                    chars[random.Next(chars.Length)] = (char)random.Next(0, 0x80);
                }

                answer = new string(chars);
            }

            await using var client = new NutClient(new ScriptedStream(answer));
            try
            {
                await client.ListVarAsync("ups1", default);
                Assert.True(i % 2 == 1, $"a truncated answer was accepted: {answer}");
            }
            catch (NutProtocolException)
            {
                malformed++;
            }
            catch (NutErrorException)
            {
                malformed++;
            }
        }

        Assert.True(malformed >= 2000, $"only {malformed} of 4000 were refused; every truncated one must be");
    }

    [Fact]
    public void Fuzz_LineParserNeverThrows_AndRefusesEveryUnterminatedQuote()
    {
        var random = new Random(5);
        const string alphabet = "VAR ups\"\\ \t.abc019\u0001\u00e9";
        for (var i = 0; i < 5000; i++)
        {
            var chars = new char[random.Next(0, 60)];
            for (var k = 0; k < chars.Length; k++)
            {
                chars[k] = random.Next(8) == 0 ? (char)random.Next(0, 0xD800) : alphabet[random.Next(alphabet.Length)];
            }

            var text = new string(chars);
            var ok = NutLine.TryParse(text, out var line, out var problem);
            Assert.True(ok || problem.Length > 0);
            if (ok)
            {
                // What parsed quotes back to the same words.
                Assert.True(NutLine.TryParse(line.ToString(), out var again, out _));
                Assert.Equal(line.Words, again.Words);
            }

            Assert.False(NutLine.TryParse("VAR u v \"" + text.Replace("\"", "", StringComparison.Ordinal).TrimEnd('\\'), out _, out _));
        }
    }

    [Fact]
    public async Task Server_AnswersAsUpsd_AndTheClientReadsIt()
    {
        var snapshot = new List<NutUpsSnapshot> { new("ups-1a", "Room \"A\"", [new("ups.status", "OB DISCHRG"), new("battery.charge", "87.5")]) };
        await using var server = new NutServer(new IPEndPoint(IPAddress.Loopback, 0), () => snapshot);
        server.Start();
        await using var client = await NutClient.ConnectAsync("127.0.0.1", server.Endpoint.Port, default);
        Assert.Equal("Room \"A\"", (await client.ListUpsAsync(default)).Single().Description);
        Assert.Equal("87.5", await client.GetVarAsync("ups-1a", "battery.charge", default));
        Assert.Equal("OB DISCHRG", (await client.ListVarAsync("ups-1a", default))[0].Value);
        Assert.Equal("VAR-NOT-SUPPORTED", (await Assert.ThrowsAsync<NutErrorException>(() => client.GetVarAsync("ups-1a", "input.voltage", default))).Code);
        Assert.Equal("UNKNOWN-UPS", (await Assert.ThrowsAsync<NutErrorException>(() => client.ListVarAsync("ups-9", default))).Code);
        Assert.Equal(("ERR UNKNOWN-COMMAND\n", false), server.Answer("FROB"));
        Assert.Equal(("ERR INVALID-ARGUMENT\n", false), server.Answer("GET VAR \"unterminated"));
        Assert.Equal(("OK Goodbye\n", true), server.Answer("LOGOUT"));
    }

    [Fact]
    public async Task Client_LogsInRunsCommandsAndSetsVariables_WithoutRepeatingThePassword()
    {
        var stream = new ScriptedStream("OK\nOK\nOK TRACKING 1b2c\nOK\nERR ACCESS-DENIED\nERR PASSWORD-REQUIRED\nVAR ups1 x \"1\"\n");
        await using var client = new NutClient(stream);
        await client.AuthenticateAsync("aida", "two words \"quoted\"", default);
        await client.InstantCommandAsync("ups1", "experimental.ecomode.enable", default); // OK with tracking is OK too
        await client.SetVarAsync("ups1", "battery.charge.low", "30", default);
        var denied = await Assert.ThrowsAsync<NutErrorException>(() => client.InstantCommandAsync("ups1", "load.off", default));
        Assert.Equal("ACCESS-DENIED", denied.Code);
        Assert.Contains("INSTCMD ups1 load.off", denied.Message, StringComparison.Ordinal);
        await client.InstantCommandAsync("ups1", "load.on", default).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.Equal(
            "USERNAME aida\nPASSWORD \"two words \\\"quoted\\\"\"\nINSTCMD ups1 experimental.ecomode.enable\nSET VAR ups1 battery.charge.low \"30\"\nINSTCMD ups1 load.off\nINSTCMD ups1 load.on\n",
            stream.Written);

        // An answer to PASSWORD that is neither OK nor ERR names the request without the password.
        await using var odd = new NutClient(new ScriptedStream("OK\nVAR x y \"z\"\n"));
        var e = await Assert.ThrowsAsync<NutProtocolException>(() => odd.AuthenticateAsync("aida", "s3cret", default));
        Assert.DoesNotContain("s3cret", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => { _ = client.InstantCommandAsync("ups1", "load off", default); });
    }

    [Fact]
    public async Task Server_WithControl_ChecksTheUserThenTheUpsThenTheCommand_AsUpsd()
    {
        var snapshot = new List<NutUpsSnapshot> { new("ups-1", "", [new("ups.status", "OL")]) };
        var control = new RecordingControl();
        await using var server = new NutServer(new IPEndPoint(IPAddress.Loopback, 0), () => snapshot, control);
        server.Start();
        await using var client = await NutClient.ConnectAsync("127.0.0.1", server.Endpoint.Port, default);
        Assert.Equal("USERNAME-REQUIRED", (await Assert.ThrowsAsync<NutErrorException>(() => client.InstantCommandAsync("ups-1", "eco.on", default))).Code);
        await client.AuthenticateAsync("aida", "wrong", default);
        Assert.Equal("ACCESS-DENIED", (await Assert.ThrowsAsync<NutErrorException>(() => client.InstantCommandAsync("ups-1", "eco.on", default))).Code);
        Assert.Empty(control.Ran);

        await using var allowed = await NutClient.ConnectAsync("127.0.0.1", server.Endpoint.Port, default);
        await allowed.AuthenticateAsync("aida", "right one", default);
        Assert.Equal("UNKNOWN-UPS", (await Assert.ThrowsAsync<NutErrorException>(() => allowed.InstantCommandAsync("ups-9", "eco.on", default))).Code);
        Assert.Equal("CMD-NOT-SUPPORTED", (await Assert.ThrowsAsync<NutErrorException>(() => allowed.InstantCommandAsync("ups-1", "load.off", default))).Code);
        await allowed.InstantCommandAsync("ups-1", "eco.on", default);
        Assert.Equal("READONLY", (await Assert.ThrowsAsync<NutErrorException>(() => allowed.SetVarAsync("ups-1", "ups.status", "OB", default))).Code);
        Assert.Equal(["ups-1 eco.on"], control.Ran);

        var session = new NutSession();
        Assert.Equal(("OK\n", false), server.Answer("USERNAME aida", session));
        Assert.Equal(("ERR PASSWORD-REQUIRED\n", false), server.Answer("INSTCMD ups-1 eco.on", session));
        Assert.Equal(("ERR ALREADY-SET-USERNAME\n", false), server.Answer("USERNAME other", session));
        Assert.Equal(("BEGIN LIST CMD ups-1\nCMD ups-1 eco.on\nEND LIST CMD ups-1\n", false), server.Answer("LIST CMD ups-1"));
        Assert.Equal(("ERR INVALID-ARGUMENT\n", false), server.Answer("INSTCMD ups-1"));

        // A read-only server refuses every command, after the user.
        await using var readOnly = new NutServer(new IPEndPoint(IPAddress.Loopback, 0), () => snapshot);
        var s = new NutSession { Username = "a", Password = "b" };
        Assert.Equal(("ERR CMD-NOT-SUPPORTED\n", false), readOnly.Answer("INSTCMD ups-1 eco.on", s));
        Assert.Equal(("BEGIN LIST CMD ups-1\nEND LIST CMD ups-1\n", false), readOnly.Answer("LIST CMD ups-1"));
    }

    private sealed class RecordingControl : INutControl
    {
        public List<string> Ran { get; } = [];

        public bool MayControl(string username, string password) => username == "aida" && password == "right one";

        public IReadOnlyList<string> Commands(string ups) => ["eco.on"];

        public string? Run(string ups, string command)
        {
            lock (Ran)
            {
                Ran.Add($"{ups} {command}");
            }

            return null;
        }

        public string? Set(string ups, string variable, string value) => "READONLY";
    }

    /// <summary>A stream that answers from a script and records what was written.</summary>
    private sealed class ScriptedStream(string answers) : Stream
    {
        private readonly MemoryStream _in = new(Encoding.UTF8.GetBytes(answers));
        private readonly MemoryStream _out = new();

        public string Written => Encoding.UTF8.GetString(_out.ToArray());

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => _out.Write(buffer, offset, count);
    }
}
