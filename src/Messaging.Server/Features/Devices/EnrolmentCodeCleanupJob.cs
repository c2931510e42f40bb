using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Retention;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Devices;

/// <summary>Recurring sweep: enrolment codes (their hashes) used or expired longer than
/// <see cref="RetentionOptions.EnrolmentCodeRetention"/> ago go.</summary>
internal sealed class EnrolmentCodeCleanupJob(IDatabase database, TimeProvider time, IOptions<RetentionOptions> options) : ISweepJob
{
    public const string Id = "devices.enrolment-code-cleanup";

    public Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var before = DbValues.ToStoragePrecision(time.GetUtcNow()) - options.Value.EnrolmentCodeRetention;
        return database.WriteAsync(s => EnrolmentCodeRepository.DeleteUsedOrExpiredAsync(s, before), cancellationToken);
    }
}
