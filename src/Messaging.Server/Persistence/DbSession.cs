using System.Data.Common;

namespace Messaging.Server.Persistence;

/// <summary>
/// One unit of work on one connection (inside a transaction for writes). Repositories take a session so that a feature
/// can compose several of them atomically. Parameters are named <c>@name</c>, which SQLite and PostgreSQL both accept;
/// values are converted by <see cref="DbValues"/>.
/// </summary>
internal sealed class DbSession(DbConnection connection, DbTransaction? transaction)
{
    public DbConnection Connection { get; } = connection;

    public DbTransaction? Transaction { get; } = transaction;

    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = Create(sql, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> map, params (string Name, object? Value)[] parameters)
    {
        await using var command = Create(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    public async Task<T?> QuerySingleOrDefaultAsync<T>(string sql, Func<DbDataReader, T> map, params (string Name, object? Value)[] parameters)
        where T : class
    {
        await using var command = Create(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? map(reader) : null;
    }

    public async Task<long?> ScalarInt64Async(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = Create(sql, parameters);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? null : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private DbCommand Create(string sql, (string Name, object? Value)[] parameters)
    {
        var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = Transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = DbValues.ToDb(value);
            command.Parameters.Add(parameter);
        }

        return command;
    }
}

/// <summary>The one place where CLR values become column values and back: GUIDs as canonical text, instants as Unix
/// milliseconds, enums and booleans as integers.</summary>
internal static class DbValues
{
    public static object ToDb(object? value) => value switch
    {
        null => DBNull.Value,
        Guid g => g.ToString("D"),
        DateTimeOffset d => d.ToUnixTimeMilliseconds(),
        bool b => b ? 1L : 0L,
        uint u => (long)u,
        Enum e => Convert.ToInt64(e, System.Globalization.CultureInfo.InvariantCulture),
        _ => value,
    };

    public static Guid GetGuidValue(this DbDataReader reader, int ordinal) => Guid.ParseExact(reader.GetString(ordinal), "D");

    public static Guid? GetNullableGuid(this DbDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal) ? null : reader.GetGuidValue(ordinal);

    public static DateTimeOffset GetInstant(this DbDataReader reader, int ordinal)
        => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public static DateTimeOffset? GetNullableInstant(this DbDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal) ? null : reader.GetInstant(ordinal);

    public static byte[] GetBlob(this DbDataReader reader, int ordinal) => reader.GetFieldValue<byte[]>(ordinal);

    public static string? GetNullableString(this DbDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>Truncates to the storage precision, so values read back compare equal to values written.</summary>
    public static DateTimeOffset ToStoragePrecision(DateTimeOffset instant)
        => DateTimeOffset.FromUnixTimeMilliseconds(instant.ToUnixTimeMilliseconds());
}
