using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Telemetry.Tests.Storage;

namespace Aida.Automation.Tests.Safety;

/// <summary>A kept file (here the lockouts a restart must hold) on a full disk: before, the write's IOException went up
/// through whoever changed the list, the API's lockout call or aida run's control loop.</summary>
public sealed class KeptLockoutsFullDiskTests
{
    [SkippableFact]
    public void OnAFullDisk_TheListIsHeldInMemory_NamedAsUnwritten_AndWrittenWhenTheDiskIsFreed()
    {
        using var disk = SmallDisk.Mount(64);
        var path = Path.Combine(disk.Path, KeptLockouts.FileName);
        var since = new DateTimeOffset(2025, 7, 1, 8, 0, 0, TimeSpan.Zero);
        var first = new Lockout("chiller-1", "alice", "annual service", since, null);
        KeptLockouts.Write(path, [first]);

        var filler = disk.FillUp();
        var second = new Lockout("cdu-h1-a", "bob", "pump seal", since.AddHours(1), since.AddHours(5));
        KeptLockouts.Write(path, [first, second]);
        Assert.Contains(Path.GetFullPath(path), KeptFile.Unwritten);
        Assert.Equal([first], KeptLockouts.Read(path)); // a restart now would read the list as it was
        Assert.False(File.Exists(path + ".tmp"));

        File.Delete(filler);
        KeptFile.RetryUnwritten();
        Assert.DoesNotContain(Path.GetFullPath(path), KeptFile.Unwritten);
        Assert.Equal([first, second], KeptLockouts.Read(path));
    }
}
