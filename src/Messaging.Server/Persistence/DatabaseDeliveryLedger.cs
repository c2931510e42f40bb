using Messaging.Scheduling.Delivery;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Retention;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Persistence;

/// <summary>
/// The delivery ledger of the scheduling library's exactly-once senders, in the messaging database (table
/// <c>delivery_ledger</c>), so that every instance of a scaled-out deployment sees the same claims: an email job run by
/// two instances at once (or run again after a crash or a restart) sends each message once. A claim inserts the row if
/// absent (its primary key makes that atomic on both providers; on PostgreSQL the unit is serializable, so a concurrent
/// claim of the same id waits for the first and then finds its row); a claim whose holder vanished mid-send lapses after
/// <see cref="DeliveryClaim.Lease"/>.
/// </summary>
internal sealed class DatabaseDeliveryLedger(IDatabase database, TimeProvider time) : IDeliveryLedger
{
    private const long Claimed = 1;
    private const long Sent = 2;

    /// <summary>The expiry sweep's statement (<see cref="DeliveryLedgerExpiryJob"/>): deliveries sent before
    /// <paramref name="before"/> cannot be retried any more; their rows go. Claims not sent yet stay.</summary>
    public static Task<int> DeleteSentBeforeAsync(DbSession session, DateTimeOffset before)
        => session.ExecuteAsync("DELETE FROM delivery_ledger WHERE state = @sent AND sent_at < @before;", ("@sent", Sent), ("@before", before));

    public async Task<DeliveryClaim> ClaimAsync(string deliveryId, CancellationToken cancellationToken)
    {
        DeliveryIds.Check(deliveryId);
        var holder = Guid.NewGuid();
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        return await database.WriteAsync(async s =>
        {
            var inserted = await s.ExecuteAsync(
                """
                INSERT INTO delivery_ledger (delivery_id, state, holder, claimed_at, outcome_unknown, sent_at)
                VALUES (@id, 1, @holder, @now, 0, NULL) ON CONFLICT (delivery_id) DO NOTHING;
                """,
                ("@id", deliveryId), ("@holder", holder), ("@now", now));
            if (inserted == 1)
            {
                return new DeliveryClaim(deliveryId, DeliveryClaimStatus.Claimed, holder, false);
            }

            var row = (await s.QueryAsync(
                "SELECT state, holder, claimed_at, outcome_unknown FROM delivery_ledger WHERE delivery_id = @id;",
                r => (State: r.GetInt64(0), Holder: r.GetNullableString(1), ClaimedAt: r.GetInstant(2), OutcomeUnknown: r.GetInt64(3) == 1),
                ("@id", deliveryId))).Single();
            if (row.State == Sent)
            {
                return new DeliveryClaim(deliveryId, DeliveryClaimStatus.AlreadySent, Guid.Empty, false);
            }

            var lapsed = row.Holder is not null && now - row.ClaimedAt >= DeliveryClaim.Lease;
            if (row.Holder is not null && !lapsed)
            {
                return new DeliveryClaim(deliveryId, DeliveryClaimStatus.HeldElsewhere, Guid.Empty, false);
            }

            // Given back, or its holder vanished mid-send (then what it handed over is unknown).
            var unknown = row.OutcomeUnknown || lapsed;
            await s.ExecuteAsync(
                "UPDATE delivery_ledger SET holder = @holder, claimed_at = @now, outcome_unknown = @unknown WHERE delivery_id = @id AND state = 1;",
                ("@id", deliveryId), ("@holder", holder), ("@now", now), ("@unknown", unknown));
            return new DeliveryClaim(deliveryId, DeliveryClaimStatus.Claimed, holder, unknown);
        }, cancellationToken);
    }

    public async Task RecordSentAsync(DeliveryClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        DeliveryIds.Check(claim.DeliveryId);
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        await database.WriteAsync(s => s.ExecuteAsync(
            """
            INSERT INTO delivery_ledger (delivery_id, state, holder, claimed_at, outcome_unknown, sent_at)
            VALUES (@id, 2, NULL, @now, 0, @now)
            ON CONFLICT (delivery_id) DO UPDATE SET state = 2, holder = NULL, outcome_unknown = 0, sent_at = @now
            WHERE delivery_ledger.state = 1;
            """,
            ("@id", claim.DeliveryId), ("@now", now)), cancellationToken);
    }

    public async Task ReleaseAsync(DeliveryClaim claim, bool outcomeUnknown, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        DeliveryIds.Check(claim.DeliveryId);
        await database.WriteAsync(s => s.ExecuteAsync(
            """
            UPDATE delivery_ledger SET holder = NULL, outcome_unknown = CASE WHEN @unknown = 1 THEN 1 ELSE outcome_unknown END
            WHERE delivery_id = @id AND state = 1 AND holder = @holder;
            """,
            ("@id", claim.DeliveryId), ("@holder", claim.Holder), ("@unknown", outcomeUnknown)), cancellationToken);
    }
}

/// <summary>
/// Recurring sweep of the delivery ledger, its own job beside the features that send through it (interview and notice
/// emails): rows of emails sent longer than <see cref="RetentionOptions.DeliveryLedgerRetention"/> ago go. Idempotent
/// (one statement on what is due now); a claim still held or given back stays, so a send in progress keeps its guard.
/// </summary>
internal sealed class DeliveryLedgerExpiryJob(IDatabase database, TimeProvider time, IOptions<RetentionOptions> options) : ISweepJob
{
    public const string Id = "delivery-ledger.expiry";

    public Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var before = DbValues.ToStoragePrecision(time.GetUtcNow()) - options.Value.DeliveryLedgerRetention;
        return database.WriteAsync(s => DatabaseDeliveryLedger.DeleteSentBeforeAsync(s, before), cancellationToken);
    }
}

/// <summary>Registration of the delivery ledger's expiry sweep (the ledger itself is created by each mailer).</summary>
internal static class DeliveryLedgerExtensions
{
    public static IServiceCollection AddDeliveryLedger(this IServiceCollection services)
        => services.AddSweep<DeliveryLedgerExpiryJob>(DeliveryLedgerExpiryJob.Id, RetentionFeature.SweepInterval);
}
