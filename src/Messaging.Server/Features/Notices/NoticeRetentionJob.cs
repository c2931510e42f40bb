using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// Recurring sweep, <see cref="NoticesOptions.Retention"/> after the fact: outcome chases of interviews that ended
/// before; finished intake deliveries (delivered or dead-lettered); relayed notices no delivery still waits for; and
/// mandates ended (or proposed and never accepted) before, once nothing refers to them. A live mandate stays.
/// </summary>
internal sealed class NoticeRetentionJob(IDatabase database, TimeProvider time, IOptions<NoticesOptions> options) : ISweepJob
{
    public const string Id = "notices.retention";

    public Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var before = DbValues.ToStoragePrecision(time.GetUtcNow()) - options.Value.Retention;
        return database.WriteAsync(s => NoticeRepository.DeleteExpiredAsync(s, before), cancellationToken);
    }
}
