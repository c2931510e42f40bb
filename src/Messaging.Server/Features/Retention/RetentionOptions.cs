using System.ComponentModel.DataAnnotations;
using Messaging.Server.Features.Envelopes;

namespace Messaging.Server.Features.Retention;

/// <summary>How often expired data is swept (section <c>Messaging:Retention</c>). What expires when is each feature's
/// own option (for example <see cref="EnvelopesOptions.Retention"/>); each feature registers its own sweep job.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Messaging:Retention";

    /// <summary>How often every sweep runs; divides a minute, an hour or a day evenly (it becomes a cron schedule).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long used or expired enrolment codes are kept (their hashes only) before deletion, by Devices'
    /// <c>EnrolmentCodeCleanupJob</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan EnrolmentCodeRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long the delivery ledger keeps the row of a sent email (a hashed delivery id, no address or content)
    /// before <c>DeliveryLedgerExpiryJob</c> deletes it: while it is there, a retried or re-derived email job cannot send
    /// that email again.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan DeliveryLedgerRetention { get; set; } = TimeSpan.FromDays(365);
}
