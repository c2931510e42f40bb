using Messaging.Contracts;
using Microsoft.Data.Sqlite;

namespace Messaging.Client.Tests.Infrastructure;

/// <summary>
/// What someone who administers the server can do without any device of the member: run host commands on the server
/// (an enrolment code for anyone) and write the server's SQLite database directly, keeping the key log's hash chain
/// valid (appending entries with correct hashes, as a careful attacker would).
/// </summary>
internal static class OperatorAccess
{
    /// <summary>An enrolment code issued on the server host (no role check: shell access to the server).</summary>
    public static async Task<string> HostCodeAsync(this Platform platform, Guid memberId)
    {
        var output = await ServerProcess.RunCommandAsync(platform.Server.DataDirectory, "issue-code", "--member", memberId.ToString("D"));
        return output.Split('\n').Single(l => l.StartsWith("enrolment code ", StringComparison.Ordinal)).Split(' ')[2].Trim();
    }

    /// <summary>Appends a key-log entry whose hash continues the chain.</summary>
    public static async Task AppendKeyLogAsync(string database, KeyLogAction action, Guid deviceId, Guid memberId, byte[] payload)
    {
        await using var connection = new SqliteConnection($"Data Source={database}");
        await connection.OpenAsync();
        await using var head = connection.CreateCommand();
        head.CommandText = "SELECT idx, hash FROM key_log ORDER BY idx DESC LIMIT 1";
        long index;
        byte[] previous;
        await using (var reader = await head.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            (index, previous) = (reader.GetInt64(0) + 1, (byte[])reader[1]);
        }

        var at = DateTimeOffset.FromUnixTimeMilliseconds(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
        await ExecuteAsync(database,
            "INSERT INTO key_log (idx, occurred_at, action, device_id, member_id, identity_key, prev_hash, hash) VALUES ($idx, $at, $action, $device, $member, $payload, $prev, $hash)",
            ("$idx", index), ("$at", at.ToUnixTimeMilliseconds()), ("$action", (long)action), ("$device", deviceId.ToString("D")), ("$member", memberId.ToString("D")),
            ("$payload", payload), ("$prev", previous), ("$hash", KeyLogHash.Compute(index, at, action, deviceId, memberId, payload, previous)));
    }

    public static async Task<byte[]> CertificateOfAsync(string database, Guid deviceId)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT certificate FROM device_certificates WHERE device_id = $id";
        command.Parameters.AddWithValue("$id", deviceId.ToString("D"));
        return (byte[])(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The operator, with the database, makes the server treat a device as approved: a certificate row whose
    /// bytes no member key signed (zeros, or <paramref name="certificate"/>, e.g. one signed by a made-up key). The server
    /// then lets the device act for its member (its standing reads the row); the clients, which check certificates in the
    /// key log against the member key they pinned, are not fooled.</summary>
    public static Task VouchOnServerAsync(string database, Guid deviceId, Guid memberId, byte[]? certificate = null)
        => ExecuteAsync(database, "INSERT INTO device_certificates (device_id, member_id, certificate, certified_at) VALUES ($d, $m, $c, 0)",
            ("$d", deviceId.ToString("D")), ("$m", memberId.ToString("D")), ("$c", certificate ?? new byte[64]));

    public static async Task ExecuteAsync(string database, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new SqliteConnection($"Data Source={database}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        Assert.True(await command.ExecuteNonQueryAsync() > 0);
    }
}
