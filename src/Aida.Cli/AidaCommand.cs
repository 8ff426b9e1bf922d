using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Aida.Model.Config;
using Aida.Model.Scenarios;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary>The <c>aida</c> command: verbs, their options, and the exit-code contract (0 ok, 1 failure, 2 bad input).</summary>
public static class AidaCommand
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int BadInput = 2;

    /// <summary>How long a command has to finish after the first termination signal before aida returns without it.</summary>
    public static readonly TimeSpan TerminationGrace = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var root = Build(stdout, stderr);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            await stderr.WriteLineAsync($"aida: {parse.Errors[0].Message} (see aida --help)");
            return BadInput;
        }

        // Termination (Ctrl-C, SIGTERM) is handled here, not by System.CommandLine, whose handler sets its result again on
        // a second signal and ends the process with an unhandled exception (aida compare, stopped twice, aborted). The
        // same contract: the first signal cancels the command and gives it TerminationGrace to finish; past that, or at
        // a second signal, the process ends with 130 (SIGINT) or 143 (SIGTERM), whether the command is awaiting or not.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var signalled = 0;
        var signalCode = 0;
        using var finished = new CancellationTokenSource();
        void Terminate(PosixSignalContext signal, int code)
        {
            signal.Cancel = true;
            Interlocked.CompareExchange(ref signalCode, code, 0);
            if (Interlocked.Increment(ref signalled) > 1)
            {
                Environment.Exit(code);
            }

            stop.Cancel();
            // Not once the command has returned (a host that runs verbs in-process goes on).
            _ = Task.Delay(TerminationGrace, finished.Token).ContinueWith(t => Environment.Exit(code), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal => Terminate(signal, 130));
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal => Terminate(signal, 143));
        try
        {
            try
            {
                return await parse.InvokeAsync(
                    new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, stop.Token);
            }
            finally
            {
                await finished.CancelAsync();
            }
        }
        catch (ConfigException e)
        {
            await stderr.WriteLineAsync($"aida: {e.Message}");
            return BadInput;
        }
        catch (BadInputException e)
        {
            await stderr.WriteLineAsync($"aida: {e.Message}");
            return BadInput;
        }
        catch (Aida.Telemetry.Storage.StoreLockedException e)
        {
            // Another aida process writes that store (a simulation still running, a server): not a bug, and nothing to retry blindly.
            await stderr.WriteLineAsync($"aida: {e.Message}");
            return Failure;
        }
        catch (OperationCanceledException)
        {
            // Stopped by a signal: 130 or 143 whether the verb gave up within its grace or a second signal came first.
            // Regression: aida compare signalled before its first run began gave up at once and ended with 1 before the
            // second SIGTERM arrived (TerminationTests, once in a loaded CI run).
            var code = Volatile.Read(ref signalCode);
            await stderr.WriteLineAsync(code == 0 ? "aida: cancelled" : $"aida: stopped by {(code == 130 ? "SIGINT" : "SIGTERM")}");
            return code == 0 ? Failure : code;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not bad input: say so in one line (the stack goes to AIDA_DEBUG=1 runs) and fail.
            await stderr.WriteLineAsync($"aida: internal error: {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("AIDA_DEBUG") == "1")
            {
                await stderr.WriteLineAsync(e.ToString());
            }

            return Failure;
        }
    }

    private static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand(
            "Aida: the site-reliability control plane of an AI factory.\n" +
            "Runs the embedded digital twin of a liquid-cooled GPU data centre and operates it.");
        root.Subcommands.Add(SimulateCommand.Build(stdout, stderr));
        root.Subcommands.Add(RunCommand.Build(stdout, stderr));
        root.Subcommands.Add(BenchCommand.Build(stdout, stderr));
        root.Subcommands.Add(ValidateCommand.Build(stdout));
        root.Subcommands.Add(QueryCommand.Build(stdout));
        root.Subcommands.Add(ServeCommand.Build(stdout));
        root.Subcommands.Add(TwinCommand.Build(stdout, stderr));
        root.Subcommands.Add(SloCommand.Build(stdout));
        root.Subcommands.Add(FrontierCommand.Build(stdout, stderr));
        root.Subcommands.Add(CompareCommand.Build(stdout, stderr));
        root.Subcommands.Add(ExplainCommand.Build(stdout));
        root.Subcommands.Add(IncidentsCommand.Build(stdout));
        root.Subcommands.Add(EvalCommand.Build(stdout, stderr));
        root.Subcommands.Add(AuditCommand.Build(stdout));
        root.Subcommands.Add(ChaosCommand.Build(stdout, stderr));
        root.Subcommands.Add(KeysCommand.Build(stdout));
        root.Subcommands.Add(LockoutsCommand.Build(stdout, stderr));
        root.Subcommands.Add(RedundancyCommand.Build(stdout, stderr));
        return root;
    }

    internal static Option<string> ScenarioOption(string fallback) => new("--scenario", "-s")
    {
        Description = "Scenario file, or a bundled name: reference, faults/chiller-trip, ...",
        DefaultValueFactory = _ => fallback,
    };

    internal static Option<string> ModeOption(string fallback = "human") => new("--mode", "-m")
    {
        Description = "Who operates the plant: human, digital, or agent (Aida's agent: aida simulate, aida compare, aida run; on a network site only when asked, and supervised)",
        DefaultValueFactory = _ => fallback,
    };

    internal static Option<string?> DurationOption(string what) => new("--duration", "-d")
    {
        Description = $"{what}, as a Prometheus duration (30m, 24h, 7d)",
    };

    internal static Option<int?> SeedOption() => new("--seed")
    {
        Description = "Random seed; defaults to the scenario's",
    };

    internal static Option<double> SpeedOption() => new("--speed")
    {
        Description = "Plant seconds per wall-clock second: 1 is real time, 60 a minute a second",
        DefaultValueFactory = _ => 1,
    };

    internal static Option<string> StatusEveryOption() => new("--status-every")
    {
        Description = "Plant time between status lines (Prometheus duration)",
        DefaultValueFactory = _ => "1m",
    };

    /// <summary>The value of <see cref="SpeedOption"/>, checked.</summary>
    internal static double ParseSpeed(double factor) =>
        factor > 0 && factor <= 1e6 ? factor : throw new BadInputException($"--speed: {factor} is out of range (0, 1000000]");

    /// <param name="agentAllowed">Whether the command runs Aida's agent (only <c>aida simulate</c> so far).</param>
    internal static OperatingMode ParseMode(string text, bool agentAllowed = false) => text switch
    {
        "human" => OperatingMode.Human,
        "digital" => OperatingMode.Digital,
        "agent" when agentAllowed => OperatingMode.Agent,
        "agent" => throw new BadInputException("--mode agent: not here; Aida's agent runs in aida simulate, aida compare and aida run (use human or digital here)"),
        _ => throw new BadInputException($"--mode: unknown mode '{text}' (expected human, digital or agent)"),
    };

    internal static TimeSpan? ParseDuration(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        if (!PromDuration.TryParse(text, out var value, out var problem))
        {
            throw new BadInputException($"{option}: {problem}");
        }

        if (value <= TimeSpan.Zero)
        {
            throw new BadInputException($"{option}: must be longer than zero");
        }

        return value;
    }

    internal static Scenario LoadScenario(string name) => ScenarioLoader.Load(name);

    /// <summary>A live plant's clock is the wall clock: the scenario starts now (whole seconds), not at its own date.</summary>
    internal static Scenario StartingNow(Scenario scenario, TimeProvider wall)
    {
        var now = wall.GetUtcNow();
        return scenario with { Start = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond)) };
    }

    internal static string Format(double value, string format = "0.00") => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>Input the user can fix: printed as one line, exit code 2.</summary>
public sealed class BadInputException : Exception
{
    public BadInputException(string message) : base(message)
    {
    }

    public BadInputException()
    {
    }

    public BadInputException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
