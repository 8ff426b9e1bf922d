using System.Diagnostics;

namespace Aida.Telemetry.Tests.Storage;

/// <summary>A real full disk for a test: a tmpfs of a given size mounted on a fresh directory (root only: the test
/// command runs as root, since it installs the peers), grown with <see cref="Grow"/> to play the disk freed. Outside CI a
/// test that cannot mount one is skipped with the reason; under <c>CI=true</c> it fails.</summary>
public sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    /// <summary>The mounted directory.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="kilobytes"/> KiB on a fresh directory under the temp directory.</summary>
    public static SmallDisk Mount(int kilobytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "aida-small-disk-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        var (code, error) = Run("mount", "-t", "tmpfs", "-o", $"size={kilobytes}k", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            var message = $"a full disk is played by a small tmpfs, which needs root to mount (mount: {error.Trim()})";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail("CI=true runs every test: " + message);
            }

            Skip.If(true, message);
        }

        return new SmallDisk(path);
    }

    /// <summary>Resizes the disk to <paramref name="kilobytes"/> KiB: space freed, as an operator freeing the disk.</summary>
    public void Grow(int kilobytes)
    {
        var (code, error) = Run("mount", "-o", $"remount,size={kilobytes}k", Path);
        Assert.True(code == 0, $"remount {Path}: {error}");
    }

    /// <summary>Writes a file until the disk refuses (a full disk, as another process's log leaves it); deleting the
    /// file it returns frees the space.</summary>
    public string FillUp()
    {
        var filler = System.IO.Path.Combine(Path, "filler-" + Guid.NewGuid().ToString("N"));
        var block = new byte[4096];
        using var file = new FileStream(filler, FileMode.Create);
        try
        {
            while (true)
            {
                file.Write(block);
                file.Flush(true);
            }
        }
        catch (IOException)
        {
            return filler;
        }
    }

    public void Dispose()
    {
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, true);
        }
        catch (IOException)
        {
            // Still busy: left in the temp directory.
        }
    }

    private static (int Code, string Error) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, error);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
