using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Interviews;

/// <summary>Recurring sweep: interviews that started longer than <see cref="InterviewsOptions.Retention"/> ago go, with
/// their participants (work addresses, answers) and reminders, whatever their state; and the delivery ledger's rows of
/// emails (invitations and notices alike) sent longer ago than that.</summary>
internal sealed class InterviewRetentionJob(IDatabase database, TimeProvider time, IOptions<InterviewsOptions> options) : ISweepJob
{
    public const string Id = "interviews.retention";

    public Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var before = DbValues.ToStoragePrecision(time.GetUtcNow()) - options.Value.Retention;
        return database.WriteAsync(async s => await InterviewRepository.DeleteStartedBeforeAsync(s, before)
            + await DatabaseDeliveryLedger.DeleteSentBeforeAsync(s, before), cancellationToken);
    }
}
