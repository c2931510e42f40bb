using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Envelopes;

/// <summary>Recurring sweep: envelopes past their expiry go with all their copies (<see cref="EnvelopesOptions.Retention"/>),
/// and so do stranded copies and envelopes (<see cref="EnvelopeRepository.PurgeStrandedAsync"/>).</summary>
internal sealed class EnvelopeExpiryJob(IDatabase database, TimeProvider time) : ISweepJob
{
    public const string Id = "envelopes.expiry";

    /// <summary>How long an envelope may sit without any copy before the sweep takes it: a send to a conversation where no
    /// other device waits stores no copy at all, and its row answers a retry of that send meanwhile.</summary>
    public static readonly TimeSpan StrandedGrace = TimeSpan.FromHours(1);

    public Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        return database.WriteAsync(async s => await EnvelopeRepository.PurgeExpiredAsync(s, now)
            + await EnvelopeRepository.PurgeStrandedAsync(s, now, StrandedGrace), cancellationToken);
    }
}
