namespace Aida.Telemetry.RemoteWrite;

/// <summary>A remote-write body that is not valid snappy or not a valid <c>prometheus.WriteRequest</c>.</summary>
/// <remarks><see cref="Offset"/> is the byte offset of the problem: into the compressed body for snappy errors, into the
/// decompressed protobuf otherwise; -1 when unknown.</remarks>
public sealed class RemoteWriteFormatException : Exception
{
    public RemoteWriteFormatException(string message, long offset) : base(offset >= 0 ? $"{message} at byte offset {offset}" : message)
    {
        Offset = offset;
    }

    public RemoteWriteFormatException() : this("malformed remote-write request", -1)
    {
    }

    public RemoteWriteFormatException(string message) : this(message, -1)
    {
    }

    public RemoteWriteFormatException(string message, Exception innerException) : base(message, innerException)
    {
        Offset = -1;
    }

    public long Offset { get; }
}
