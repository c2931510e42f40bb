using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Authentication;

/// <summary>Recurring sweep: expired access tokens (their hashes) and challenges go.</summary>
internal sealed class ExpiredCredentialsJob(IDatabase database, TimeProvider time) : ISweepJob
{
    public const string Id = "authentication.expired-credentials";

    public Task<int> RunAsync(CancellationToken cancellationToken)
        => database.WriteAsync(s => AuthRepository.PurgeExpiredAsync(s, DbValues.ToStoragePrecision(time.GetUtcNow())), cancellationToken);
}
