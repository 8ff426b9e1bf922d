namespace Aida.Telemetry.Series;

/// <summary>A store that can say how far back in time what it holds changed since a moment: a cache of query results
/// keeps what was computed from data older than that and computes the rest again.</summary>
public interface IChangeLog
{
    /// <summary>Marks now: <see cref="OldestChangedSince"/> with the returned mark covers everything stored after this
    /// call (and may count a little more).</summary>
    long Mark();

    /// <summary>The oldest timestamp (ms) of a sample stored since <paramref name="mark"/>; <see cref="long.MaxValue"/>
    /// when none was; <see cref="long.MinValue"/> when samples were removed since (retention), or the mark is too old for
    /// the store to tell: then anything may have changed.</summary>
    long OldestChangedSince(long mark);
}
