using Messaging.Scheduling.Invitations;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Interviews;

/// <summary>
/// The key of the invitations' UIDs (<see cref="InvitationUids"/>), kept in the database (table <c>server_keys</c>, row
/// <c>interview-uids</c>) so that every instance of a scaled-out deployment signs and checks with the same one. The first
/// use generates it: an insert that does nothing when the row exists, then a read, so two instances starting together
/// end up with the one key that was inserted first. Read once per process, then kept in memory. The key never leaves
/// this class and <see cref="InvitationUids"/>, and is never logged.
/// </summary>
internal sealed class InterviewUidKey(IDatabase database, TimeProvider time)
{
    public const string Name = "interview-uids";

    private InvitationUids? _uids;

    /// <summary>The UIDs under the deployment's key (created at the first call ever).</summary>
    public async ValueTask<InvitationUids> GetAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _uids) is { } known)
        {
            return known;
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var key = await database.WriteAsync(async s =>
        {
            await s.ExecuteAsync("INSERT INTO server_keys (name, key_bytes, created_at) VALUES (@name, @key, @now) ON CONFLICT (name) DO NOTHING;",
                ("@name", Name), ("@key", InvitationUids.NewKey()), ("@now", now));
            return (await s.QueryAsync("SELECT key_bytes FROM server_keys WHERE name = @name;", r => r.GetBlob(0), ("@name", Name))).Single();
        }, cancellationToken);
        var uids = new InvitationUids(key);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
        return Interlocked.CompareExchange(ref _uids, uids, null) ?? uids;
    }
}
