namespace Aida.Protocols.Nut;

/// <summary>upsd answered <c>ERR code</c> (RFC 9271 section 4.3, e.g. <c>UNKNOWN-UPS</c>, <c>VAR-NOT-SUPPORTED</c>,
/// <c>DATA-STALE</c>, <c>DRIVER-NOT-CONNECTED</c>).</summary>
public sealed class NutErrorException : Exception
{
    public NutErrorException(string code, string request) : base($"upsd answered ERR {code} to '{request}'")
    {
        Code = code;
    }

    public NutErrorException()
    {
        Code = "";
    }

    public NutErrorException(string message) : base(message)
    {
        Code = "";
    }

    public NutErrorException(string message, Exception innerException) : base(message, innerException)
    {
        Code = "";
    }

    public string Code { get; }
}

/// <summary>The peer sent something that is not the NUT protocol: a malformed line, an unexpected answer, a line that
/// is too long, or the connection closed mid-answer.</summary>
public sealed class NutProtocolException : Exception
{
    public NutProtocolException(string message) : base(message)
    {
    }

    public NutProtocolException()
    {
    }

    public NutProtocolException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
