using Messaging.Scheduling.Delivery;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Replies;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Interviews;

/// <summary>
/// Reads the scheduling mailbox (the ORGANIZER of every invitation) once per <see cref="InterviewsOptions.ReplyPollInterval"/>
/// with the library's <see cref="ImapReplyPoller"/>, when a mailbox is configured. Each iMIP REPLY or COUNTER from an
/// invitee, to their own copy of the invitation (its UID carries their token under the deployment's key,
/// <see cref="InterviewUidKey"/>), at the interview's current SEQUENCE, updates that participant's answer (and may
/// confirm the interview); unknown UIDs, UIDs without the attendee's token, stale SEQUENCEs and non-invitees are refused
/// and logged by the library with the reason only; a message
/// whose reading or applying throws goes to the failed folder (logged with the exception's type only) and the poll goes
/// on. Reply bodies are never stored: a reply becomes an answer on the participant's row, and the message is moved to
/// the mailbox's processed, refused or failed folder, where the poll deletes it after its retention (7 days processed, 30
/// refused or failed, by default).
/// </summary>
internal sealed partial class InterviewReplyPollJob(
    IDatabase database,
    InterviewService interviews,
    InterviewUidKey uidKey,
    IOptions<InterviewsOptions> options,
    ILoggerFactory loggers,
    ILogger<InterviewReplyPollJob> logger) : ISweepJob
{
    public const string Id = "interviews-reply-poll";

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Imap is not { } imap)
        {
            return 0;
        }

        // The processor's lookup is synchronous: it reads a snapshot of the live interviews taken before the poll.
        var live = await database.ReadAsync(InterviewRepository.ListLiveAsync, cancellationToken);
        var lookup = new SnapshotLookup(live.Select(r => r.ToDomain()));
        var poller = new ImapReplyPoller(
            new ImapOptions
            {
                Host = imap.Host,
                Port = imap.Port,
                Security = imap.Security,
                UserName = imap.UserName,
                Password = imap.Password is null ? null : new Secret(imap.Password),
                ProcessedRetention = imap.ProcessedRetention,
                RefusedRetention = imap.RefusedRetention,
            },
            new ReplyProcessor(lookup, await uidKey.GetAsync(cancellationToken), loggers.CreateLogger<ReplyProcessor>()),
            loggers.CreateLogger<ImapReplyPoller>());
        var applied = 0;
        var outcomes = await poller.PollOnceAsync(async (reply, ct) =>
        {
            if (await interviews.ApplyReplyAsync(reply, ct))
            {
                applied++;
            }
        }, cancellationToken);
        LogPolled(logger, outcomes.Count, applied);
        return applied;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduling mailbox polled: {Read} messages read, {Applied} replies applied")]
    private static partial void LogPolled(ILogger logger, int read, int applied);

    private sealed class SnapshotLookup(IEnumerable<Interview> interviews) : IInterviewLookup
    {
        private readonly Dictionary<Guid, Interview> _byId = interviews.ToDictionary(i => i.Id);

        public Interview? FindById(Guid interviewId) => _byId.GetValueOrDefault(interviewId);
    }
}
