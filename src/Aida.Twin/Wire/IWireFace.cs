namespace Aida.Twin.Wire;

/// <summary>Part of a plant served over a real socket as a site's devices would serve it (a Modbus TCP server per CDU,
/// a DCGM-exporter <c>/metrics</c> per GPU host group, an upsd per UPS, ...), for <c>aida twin serve</c>.</summary>
/// <remarks>
/// A face reads and writes the plant only through <see cref="Aida.Model.Plant.IPlant"/> (which the caller makes safe to
/// use from several threads), so what goes over the wire is what a site's control system would see. It also describes
/// the collector entries of a site file that collect everything it serves, such that each served point arrives as a sample
/// named and labelled exactly as the point (<see cref="Aida.Model.Plant.PointInfo.Metric"/> and
/// <see cref="Aida.Model.Plant.PointInfo.Labels"/>) and each writable setting as an actuator writer named as the plant's
/// actuator (<see cref="Aida.Model.Plant.ActuatorInfo.Name"/>).
/// </remarks>
public interface IWireFace : IAsyncDisposable
{
    /// <summary>One line per endpoint once started, e.g. <c>modbus cdu-h1-1 127.0.0.1:15021</c>.</summary>
    IReadOnlyList<string> Endpoints { get; }

    /// <summary>Binds the sockets and starts serving; returns once they accept connections.</summary>
    Task StartAsync(CancellationToken ct);

    /// <summary>The site-file collector entries (YAML list items, indented two spaces under <c>collectors:</c>) that collect
    /// what this face serves.</summary>
    string SiteCollectors();
}
