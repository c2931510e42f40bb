using Messaging.Contracts;
using Messaging.Server.Features.Audit;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Devices;

/// <summary>
/// The append-only, hash-chained log of device identity keys (added on enrolment, revoked on revocation). Clients fetch
/// it and recompute <see cref="KeyLogHash"/> to detect a server that swaps or hides a key. Appends run inside the
/// caller's write transaction.
/// </summary>
internal sealed class KeyLog(TimeProvider time)
{
    public async Task<long> AppendAsync(DbSession session, KeyLogAction action, Guid deviceId, Guid memberId, byte[] identityKey)
    {
        session.EnsureSerialAppend(DbChain.KeyLog);
        var head = await session.QuerySingleOrDefaultAsync(
            "SELECT idx, hash FROM key_log ORDER BY idx DESC LIMIT 1;",
            r => new Tuple<long, byte[]>(r.GetInt64(0), r.GetBlob(1)));
        var index = head is null ? 0 : head.Item1 + 1;
        var previous = head?.Item2 ?? KeyLogHash.Genesis();
        var at = DbValues.ToStoragePrecision(time.GetUtcNow());
        var hash = KeyLogHash.Compute(index, at, action, deviceId, memberId, identityKey, previous);
        await session.ExecuteAsync(
            """
            INSERT INTO key_log (idx, occurred_at, action, device_id, member_id, identity_key, prev_hash, hash)
            VALUES (@idx, @at, @action, @device, @member, @key, @prev, @hash);
            """,
            ("@idx", index), ("@at", at), ("@action", action), ("@device", deviceId), ("@member", memberId),
            ("@key", identityKey), ("@prev", previous), ("@hash", hash));
        return index;
    }

    public static Task<List<KeyLogEntry>> ReadAsync(DbSession session, long fromIndex, int limit) => session.QueryAsync(
        """
        SELECT idx, occurred_at, action, device_id, member_id, identity_key, prev_hash, hash
        FROM key_log WHERE idx >= @from ORDER BY idx LIMIT @limit;
        """,
        r => new KeyLogEntry(r.GetInt64(0), r.GetInstant(1), (KeyLogAction)r.GetInt64(2), r.GetGuidValue(3), r.GetGuidValue(4),
            r.GetBlob(5), r.GetBlob(6), r.GetBlob(7)),
        ("@from", fromIndex), ("@limit", limit));

    public static async Task<ChainVerification> VerifyAsync(IDatabase database, CancellationToken cancellationToken)
    {
        const int Page = 1000;
        var previous = KeyLogHash.Genesis();
        long expected = 0;
        while (true)
        {
            var page = await database.ReadAsync(s => ReadAsync(s, expected, Page), cancellationToken);
            var broken = KeyLogHash.FindFirstBroken(page, expected, previous);
            if (broken is not null)
            {
                return new ChainVerification("key-log", broken.Value, broken, null);
            }

            expected += page.Count;
            if (page.Count > 0)
            {
                previous = page[^1].Hash;
            }

            if (page.Count < Page)
            {
                return new ChainVerification("key-log", expected, null, expected == 0 ? null : previous);
            }
        }
    }
}
