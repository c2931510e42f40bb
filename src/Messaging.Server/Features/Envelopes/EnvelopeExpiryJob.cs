using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Envelopes;

/// <summary>Recurring sweep: envelopes past their expiry go with all their copies (<see cref="EnvelopesOptions.Retention"/>).</summary>
internal sealed class EnvelopeExpiryJob(IDatabase database, TimeProvider time) : ISweepJob
{
    public const string Id = "envelopes.expiry";

    public Task<int> RunAsync(CancellationToken cancellationToken)
        => database.WriteAsync(s => EnvelopeRepository.PurgeExpiredAsync(s, DbValues.ToStoragePrecision(time.GetUtcNow())), cancellationToken);
}
