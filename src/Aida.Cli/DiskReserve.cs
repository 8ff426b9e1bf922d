namespace Aida.Cli;

/// <summary>Space a live run keeps on its data directory's disk for when that disk fills (a ballast file,
/// <c>DATA/disk-reserve</c>): given back as soon as anything the run writes is refused, so that the small writes an
/// incident needs (the incident store, the audit log, the kept files) go through while the telemetry store, the big
/// writer, waits for more room (<see cref="Aida.Telemetry.Storage.TsdbOptions.KeepFree"/>); taken again once the disk
/// has room for it twice over.</summary>
/// <remarks>Before, a leak found while the disk was full was never stored as an incident, so its runbook never ran
/// (<c>faults/leak</c> on a 10 MiB tmpfs: "agent: not found", 3,043.6 GPU-hours shut down).</remarks>
internal sealed class DiskReserve
{
    /// <summary>The reserve's size: some thousands of incidents, audit entries and kept lists.</summary>
    public const long Size = 32L << 20;

    private readonly string _path;

    private DiskReserve(string path) => _path = path;

    /// <summary>Whether the reserve is on disk now.</summary>
    public bool Held => File.Exists(_path);

    /// <summary>The reserve of <paramref name="dataDirectory"/>, written now when the disk has room for it.</summary>
    public static DiskReserve In(string dataDirectory)
    {
        var reserve = new DiskReserve(Path.Combine(dataDirectory, "disk-reserve"));
        reserve.TakeIfRoom();
        return reserve;
    }

    /// <summary>Deletes the reserve; true when there was one to give back.</summary>
    public bool Release()
    {
        if (!Held)
        {
            return false;
        }

        try
        {
            File.Delete(_path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Writes the reserve when it is not held and the disk has room for it twice over; true when it was written.</summary>
    public bool TakeIfRoom()
    {
        if (Held || FreeBytes() < 2 * Size)
        {
            return false;
        }

        // Written, not only sized: a sparse file holds no blocks to give back.
        var temp = _path + ".tmp";
        try
        {
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var zeros = new byte[1 << 20];
                for (long written = 0; written < Size; written += zeros.Length)
                {
                    file.Write(zeros);
                }

                file.Flush(true);
            }

            File.Move(temp, _path, overwrite: true);
            return true;
        }
        catch (IOException)
        {
            File.Delete(temp);
            return false;
        }
    }

    private long FreeBytes()
    {
        try
        {
            return new DriveInfo(Path.GetDirectoryName(_path)!).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return 0;
        }
    }
}
