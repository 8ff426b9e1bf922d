using System.ComponentModel;
using System.Diagnostics;

namespace Aida.Telemetry.Collectors.Slurm;

/// <summary>Runs Slurm's command-line tools (<c>sinfo</c>, <c>squeue</c>, <c>scontrol</c>) and returns what they print.</summary>
public interface ISlurmTools
{
    /// <summary>Runs <paramref name="tool"/> with <paramref name="arguments"/> (each one argument, never through a shell).</summary>
    /// <exception cref="SlurmToolException">It could not be started, exited non-zero, or printed what is not its format.</exception>
    Task<string> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken ct);
}

/// <summary>A Slurm tool failed: not installed, refused (unknown node, no permission, controller down), or printed what
/// Aida cannot read. The message names the command and what it said.</summary>
public sealed class SlurmToolException : Exception
{
    public SlurmToolException(string message) : base(message)
    {
    }

    /// <param name="malformed">The tool ran but printed what is not the format asked for.</param>
    public SlurmToolException(string message, bool malformed, Exception? innerException = null) : base(message, innerException) => Malformed = malformed;

    public SlurmToolException()
    {
    }

    public SlurmToolException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>The tool ran but printed what is not the format asked for (counted as malformed, not only as an error).</summary>
    public bool Malformed { get; }
}

/// <summary>The tools as installed on the host Aida runs on (a Slurm client: <c>slurm-client</c>), from
/// <paramref name="binDirectory"/>, with <c>SLURM_CONF</c> set to <paramref name="conf"/> when given.</summary>
public sealed class SlurmCommandLine(string binDirectory, string? conf) : ISlurmTools
{
    public async Task<string> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var path = Path.Combine(binDirectory, tool);
        var shown = $"{tool} {string.Join(' ', arguments)}";
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        if (conf is not null)
        {
            start.Environment["SLURM_CONF"] = conf;
        }

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new SlurmToolException($"cannot run {path} ({e.Message}): is slurm-client installed, and bin right?", e);
        }

        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
            var output = await stdout.ConfigureAwait(false);
            var errors = (await stderr.ConfigureAwait(false)).Trim();
            if (process.ExitCode != 0)
            {
                throw new SlurmToolException($"'{shown}' exited {process.ExitCode}: {(errors.Length == 0 ? "(nothing on stderr)" : errors.Split('\n')[0])}");
            }

            return output;
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // it ended meanwhile
            }

            throw;
        }
    }
}
