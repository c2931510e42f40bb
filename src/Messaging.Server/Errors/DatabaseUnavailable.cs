using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Messaging.Server.Errors;

/// <summary>
/// Which database failures mean "cannot be reached for the moment" — the unit of work was rolled back, nothing was
/// stored, the same call may succeed later — as opposed to a defect. Both transports answer them with the typed
/// <c>server.busy</c> (HTTP 503 with <c>Retry-After</c>, hub <c>HubException</c>) instead of a bare failure.
/// </summary>
internal static class DatabaseUnavailable
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteCantOpen = 14;

    /// <summary>Seconds a client is told to wait before retrying (<c>Retry-After</c>).</summary>
    public const string RetryAfterSeconds = "2";

    /// <summary>True for a provider's transient failure (PostgreSQL refusing or dropping connections, a failover, a
    /// pool timeout) and for SQLite's: the file locked by another process past the busy timeout, or the file that cannot
    /// be opened (its volume gone or its permissions changed under the server).</summary>
    public static bool Is(Exception exception) => exception switch
    {
        SqliteException sqlite => sqlite.SqliteErrorCode is SqliteBusy or SqliteLocked or SqliteCantOpen,
        DbException db => db.IsTransient,
        _ => false,
    };
}
