using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Aida.Server.Access;

/// <summary>A dashboard login: who logged in with which key, and the token every state-changing request of the
/// session must echo in <see cref="SessionStore.CsrfHeader"/>.</summary>
public sealed record Session(Caller Caller, string CsrfToken, DateTimeOffset Expires);

/// <summary>The dashboard's sessions, in memory: a login with an API key trades it for a random session id (an
/// HttpOnly, SameSite=Strict cookie) and a CSRF token. Sessions end at logout, after <see cref="Lifetime"/>, when the
/// key is revoked, or when the server restarts (the user logs in again).</summary>
/// <remarks>The store keeps only the SHA-256 of each session id, as the key store does for keys.</remarks>
public sealed class SessionStore(ApiKeyStore keys, TimeProvider clock)
{
    /// <summary>The cookie holding the session id.</summary>
    public const string Cookie = "aida_session";

    /// <summary>The header a cookie-authenticated state-changing request must carry the session's CSRF token in.</summary>
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>How long a login lasts.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    // Each session keeps its key (in memory only) so that a revoked key ends its sessions, even if the name is issued a
    // new key since.
    private readonly ConcurrentDictionary<string, (Session Session, string Key)> _sessions = new(StringComparer.Ordinal);

    /// <summary>Logs in with an API key: the new session's id (for the cookie) and the session; null for an unknown or
    /// revoked key.</summary>
    public (string Id, Session Session)? Login(string key)
    {
        if (keys.Find(key) is not { } caller)
        {
            return null;
        }

        var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var csrf = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var session = new Session(caller, csrf, clock.GetUtcNow() + Lifetime);
        _sessions[Hash(id)] = (session, key);
        return (id, session);
    }

    /// <summary>The live session of <paramref name="id"/>; null when unknown, expired, or its key was revoked since.</summary>
    public Session? Find(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 100 || !_sessions.TryGetValue(Hash(id), out var entry))
        {
            return null;
        }

        if (clock.GetUtcNow() >= entry.Session.Expires || keys.Find(entry.Key) != entry.Session.Caller)
        {
            _sessions.TryRemove(Hash(id), out _);
            return null;
        }

        return entry.Session;
    }

    /// <summary>Ends the session of <paramref name="id"/>.</summary>
    public void Logout(string id) => _sessions.TryRemove(Hash(id), out _);

    /// <summary>Whether <paramref name="sent"/> is the session's CSRF token (compared in constant time).</summary>
    public static bool CsrfMatches(Session session, string? sent) =>
        sent is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(session.CsrfToken), Encoding.ASCII.GetBytes(sent));

    private static string Hash(string id) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
}
