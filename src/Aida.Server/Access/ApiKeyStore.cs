using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Aida.Server.Access;

/// <summary>What a caller may do. Each role may do what the roles below it may.</summary>
public enum Role
{
    /// <summary>Reads everything; changes nothing.</summary>
    Viewer,

    /// <summary>Also proposes actions and acknowledges incidents.</summary>
    Operator,

    /// <summary>Also approves or rejects pending actions.</summary>
    Approver,

    /// <summary>Also issues and revokes API keys.</summary>
    Admin,
}

/// <summary>Who an API key belongs to and what it may do.</summary>
public sealed record Caller(string Name, Role Role);

/// <summary>API keys in SQLite, stored hashed: a key is shown once when issued and never stored itself.</summary>
/// <remarks>A key is <c>aida_</c> and 32 random bytes in base64url (256 bits), so its SHA-256 needs no salt or
/// stretching (a password's would): finding a key from its hash is as hard as guessing the key. Lookups go by hash, and
/// the stored hash is compared in constant time.</remarks>
public sealed class ApiKeyStore : IDisposable
{
    private const string Prefix = "aida_";
    private readonly SqliteConnection _db;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();

    public ApiKeyStore(string path, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        using var create = _db.CreateCommand();
        create.CommandText = """
            CREATE TABLE IF NOT EXISTS api_keys (
              name TEXT PRIMARY KEY,
              role TEXT NOT NULL,
              sha256 TEXT NOT NULL UNIQUE,
              created TEXT NOT NULL);
            """;
        create.ExecuteNonQuery();
    }

    /// <summary>Issues a key for <paramref name="name"/>; the returned key is shown once and not kept.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long, or has a key already.</exception>
    public string Issue(string name, Role role)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || name.Any(char.IsControl))
        {
            throw new ArgumentException($"a key's name must be 1-64 printable characters, not '{name}'", nameof(name));
        }

        var key = Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        lock (_lock)
        {
            using var insert = _db.CreateCommand();
            insert.CommandText = "INSERT INTO api_keys (name, role, sha256, created) VALUES ($name, $role, $hash, $created)";
            insert.Parameters.AddWithValue("$name", name);
            insert.Parameters.AddWithValue("$role", RoleName(role));
            insert.Parameters.AddWithValue("$hash", Hash(key));
            insert.Parameters.AddWithValue("$created", _clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
            try
            {
                insert.ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                throw new ArgumentException($"'{name}' has a key already (revoke it first)", nameof(name), e);
            }
        }

        return key;
    }

    /// <summary>The caller a key belongs to, or null for a key that is malformed, unknown or revoked.</summary>
    public Caller? Find(string? key)
    {
        if (key is null || !key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length > 100)
        {
            return null;
        }

        var hash = Hash(key);
        lock (_lock)
        {
            using var select = _db.CreateCommand();
            select.CommandText = "SELECT name, role, sha256 FROM api_keys WHERE sha256 = $hash";
            select.Parameters.AddWithValue("$hash", hash);
            using var row = select.ExecuteReader();
            if (!row.Read())
            {
                return null;
            }

            var stored = row.GetString(2);
            return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stored), Encoding.ASCII.GetBytes(hash))
                ? new Caller(row.GetString(0), ParseRole(row.GetString(1)) ?? Role.Viewer)
                : null;
        }
    }

    /// <summary>Revokes <paramref name="name"/>'s key; false when it had none.</summary>
    public bool Revoke(string name)
    {
        lock (_lock)
        {
            using var delete = _db.CreateCommand();
            delete.CommandText = "DELETE FROM api_keys WHERE name = $name";
            delete.Parameters.AddWithValue("$name", name);
            return delete.ExecuteNonQuery() > 0;
        }
    }

    /// <summary>Every key's holder (never the key).</summary>
    public IReadOnlyList<Caller> List()
    {
        lock (_lock)
        {
            using var select = _db.CreateCommand();
            select.CommandText = "SELECT name, role FROM api_keys ORDER BY name";
            using var row = select.ExecuteReader();
            var callers = new List<Caller>();
            while (row.Read())
            {
                callers.Add(new Caller(row.GetString(0), ParseRole(row.GetString(1)) ?? Role.Viewer));
            }

            return callers;
        }
    }

    public static string RoleName(Role role) => role.ToString().ToLowerInvariant();

    /// <summary>A role by its name (<c>viewer</c>, <c>operator</c>, <c>approver</c>, <c>admin</c>), or null.</summary>
    public static Role? ParseRole(string name) => name switch
    {
        "viewer" => Role.Viewer,
        "operator" => Role.Operator,
        "approver" => Role.Approver,
        "admin" => Role.Admin,
        _ => null,
    };

    public void Dispose() => _db.Dispose();

    private static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
