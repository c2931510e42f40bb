using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Reports;

/// <summary>One referral's counted instants, with the types of both partners: read only to count, never kept.</summary>
internal sealed record ReferralEventRow(DateTimeOffset Opened, DateTimeOffset? Tripartite, DateTimeOffset? Accepted, DateTimeOffset? Declined, string SenderType, string ReceiverType);

internal static class ReportRepository
{
    /// <summary>The referrals with an event counted in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public static Task<List<ReferralEventRow>> ListReferralEventsAsync(DbSession session, DateTimeOffset start, DateTimeOffset end) => session.QueryAsync(
        """
        SELECT r.opened_at, CASE WHEN r.status = 2 THEN r.status_changed_at END, r.accepted_at, r.declined_at, sender.type, receiver.type
        FROM referrals r
        JOIN organisations sender ON sender.id = r.referring_organisation_id
        JOIN organisations receiver ON receiver.id = r.receiving_organisation_id
        WHERE r.opened_at < @end
          AND (r.opened_at >= @start OR (r.status = 2 AND r.status_changed_at >= @start) OR r.accepted_at >= @start OR r.declined_at >= @start);
        """,
        r => new ReferralEventRow(r.GetInstant(0), r.GetNullableInstant(1), r.GetNullableInstant(2), r.GetNullableInstant(3), r.GetString(4), r.GetString(5)),
        ("@start", start), ("@end", end));
}
