namespace Aida.Twin.Plant;

/// <summary>The state of a redundant asset (TWIN.md: running, standby, failed, maintenance), plus starting.</summary>
public enum AssetState : byte
{
    Running,
    Standby,
    Starting,
    Failed,
    Maintenance,
}
