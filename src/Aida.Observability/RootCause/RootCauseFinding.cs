namespace Aida.Observability.RootCause;

/// <summary>One candidate cause: an asset (a topology id, or a sensor's series for sensor faults) and a fault kind of
/// TWIN.md (<c>chiller-trip</c>, <c>cdu-pump-failure</c>, <c>sensor-stuck</c>, …), scored, with the evidence behind it.</summary>
public sealed record CauseCandidate(string Asset, string FaultKind, double Score, IReadOnlyList<string> Evidence);

/// <summary>The outcome of root-cause analysis for one incident: candidates best first.</summary>
public sealed record RootCauseFinding(IReadOnlyList<CauseCandidate> Ranked)
{
    public CauseCandidate? Top => Ranked.Count > 0 ? Ranked[0] : null;
}
