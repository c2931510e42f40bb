using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Interviews;

/// <summary>Recurring sweep: interviews that started longer than <see cref="InterviewsOptions.Retention"/> ago go, with
/// their participants (work addresses, answers) and reminders, whatever their state. (The delivery ledger has its own
/// sweep, <see cref="DeliveryLedgerExpiryJob"/>.)</summary>
internal sealed class InterviewRetentionJob(IDatabase database, TimeProvider time, IOptions<InterviewsOptions> options) : ISweepJob
{
    public const string Id = "interviews.retention";

    public Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var before = DbValues.ToStoragePrecision(time.GetUtcNow()) - options.Value.Retention;
        return database.WriteAsync(s => InterviewRepository.DeleteStartedBeforeAsync(s, before), cancellationToken);
    }
}
