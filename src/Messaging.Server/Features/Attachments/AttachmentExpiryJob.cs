using Messaging.Server.Features.Jobs;

namespace Messaging.Server.Features.Attachments;

/// <summary>Recurring sweep: expired blobs go (rows first, then their files), like the envelopes that referenced them.</summary>
internal sealed class AttachmentExpiryJob(AttachmentService attachments, TimeProvider time) : ISweepJob
{
    public const string Id = "attachments.expiry";

    public Task<int> RunAsync(CancellationToken cancellationToken) => attachments.PurgeExpiredAsync(time.GetUtcNow(), cancellationToken);
}
