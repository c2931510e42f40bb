using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Invitations;
using Messaging.Scheduling.Replies;
using Messaging.Scheduling.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using MimeKit;
using NodaTime;

namespace Messaging.Scheduling.Tests.Replies;

public class ReplyCorpusTests
{
    private static readonly Interview Current = Samples.Interview();

    private sealed class Lookup(Interview interview) : IInterviewLookup
    {
        public Interview? FindById(Guid interviewId) => interviewId == interview.Id ? interview : null;
    }

    private static ReplyProcessor Processor(Interview interview, ILogger<ReplyProcessor>? logger = null)
        => new(new Lookup(interview), Samples.Uids, logger ?? new RecordingLogger<ReplyProcessor>());

    /// <summary>Keeps every formatted log line, to check that none carries content.</summary>
    internal sealed class RecordingLogger<T> : ILogger<T>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }

    internal static MimeMessage Load(string name) => MimeMessage.Load(Path.Combine(AppContext.BaseDirectory, "Replies", name));

    /// <summary>Each answers the attendee's own copy (its UID carries their token), whoever sent the mail: the forwarded
    /// reply comes from a secretariat, the COUNTER from a third address.</summary>
    [Theory]
    [InlineData("outlook-accept-without-organizer.eml", ReplyAnswer.Accepted, "worker@safer.example")]
    [InlineData("gmail-decline.eml", ReplyAnswer.Declined, "aj@mj-liege.example")]
    [InlineData("apple-tentative.eml", ReplyAnswer.Tentative, "worker@safer.example")]
    [InlineData("forwarded-reply-from-another-address.eml", ReplyAnswer.Accepted, "worker@safer.example")]
    [InlineData("counter-proposal.eml", ReplyAnswer.ProposedAnotherTime, "worker@safer.example")]
    public void RealisticReplies_AreUnderstood_WithTheAttendeeReadFromTheBody(string file, ReplyAnswer answer, string attendee)
    {
        var outcome = Processor(Current).Process(Load(file));

        Assert.Null(outcome.Refusal);
        var reply = outcome.Reply!;
        Assert.Equal((Current.Id, answer, attendee), (reply.InterviewId, reply.Answer, reply.Attendee));
        Assert.Equal(Current.Participants.First(p => p.WorkEmail == attendee).MemberId, reply.MemberId);
    }

    [Fact]
    public void CounterProposal_CarriesTheProposedTime()
    {
        var reply = Processor(Current).Process(Load("counter-proposal.eml")).Reply!;

        Assert.Equal((Samples.Utc("2027-03-30T12:00:00Z"), Samples.Utc("2027-03-30T13:00:00Z")), (reply.ProposedStart, reply.ProposedEnd));
    }

    [Theory]
    [InlineData("non-invitee.eml", ReplyRefusal.NotAnInvitee)]
    [InlineData("unknown-uid.eml", ReplyRefusal.UnknownInterview)]
    [InlineData("two-attendees.eml", ReplyRefusal.Malformed)]
    [InlineData("not-a-calendar.eml", ReplyRefusal.NotACalendarReply)]
    [InlineData("counter-unknown-tzid.eml", ReplyRefusal.Malformed)]
    [InlineData("counter-absurd-duration.eml", ReplyRefusal.Malformed)]
    [InlineData("gmail-decline-to-a-legacy-invitation.eml", ReplyRefusal.Unauthenticated)]
    [InlineData("forged-with-the-legacy-uid.eml", ReplyRefusal.Unauthenticated)]
    [InlineData("forged-with-the-persons-uid.eml", ReplyRefusal.UnknownInterview)]
    [InlineData("forged-by-another-invitee.eml", ReplyRefusal.Unauthenticated)]
    [InlineData("counter-by-another-invitee.eml", ReplyRefusal.Unauthenticated)]
    [InlineData("forged-with-a-guessed-token.eml", ReplyRefusal.Unauthenticated)]
    public void BadReplies_AreRefusedWithTheirReason_AndLoggedWithoutContent(string file, ReplyRefusal refusal)
    {
        var logger = new RecordingLogger<ReplyProcessor>();

        var outcome = Processor(Current, logger).Process(Load(file));

        Assert.Equal(refusal, outcome.Refusal);
        var line = Assert.Single(logger.Lines);
        Assert.Equal($"Scheduling mailbox: message refused ({refusal})", line);
    }

    [Fact]
    public void ReplyToAnOlderVersion_IsRefusedAsStale()
    {
        var moved = Current.Reschedule(Current.Start + Duration.FromDays(1), Current.Duration, Current.Place, Samples.Utc("2027-03-01T00:00:00Z"));

        var outcome = Processor(moved).Process(Load("stale-sequence.eml"));

        Assert.Equal(ReplyRefusal.StaleSequence, outcome.Refusal);
    }

    [Fact]
    public void GenuineReplies_AreRefused_UnderAnotherDeploymentsKey()
    {
        var processor = new ReplyProcessor(new Lookup(Current), new InvitationUids(InvitationUids.NewKey()), new RecordingLogger<ReplyProcessor>());

        Assert.All(new[] { "outlook-accept-without-organizer.eml", "gmail-decline.eml", "counter-proposal.eml" },
            file => Assert.Equal(ReplyRefusal.Unauthenticated, processor.Process(Load(file)).Refusal));
    }

    [Fact]
    public void AForgedReply_IsRefusedAsUnauthenticated_BeforeItsSequenceIsLookedAt()
    {
        var moved = Current.Reschedule(Current.Start + Duration.FromDays(1), Current.Duration, Current.Place, Samples.Utc("2027-03-01T00:00:00Z"));

        Assert.Equal(ReplyRefusal.Unauthenticated, Processor(moved).Process(Load("forged-by-another-invitee.eml")).Refusal);
    }

    [Fact]
    public void ReplyToACancelledInterview_IsRefusedAsUnknown()
    {
        var cancelled = Current.Cancel(Samples.Utc("2027-03-01T00:00:00Z"));

        var outcome = Processor(cancelled).Process(Load("gmail-decline.eml"));

        Assert.Equal(ReplyRefusal.UnknownInterview, outcome.Refusal);
    }
}

[Collection(TestMailbox.Name)]
public class ImapReplyPollerTests
{
    [Fact]
    public async Task Poller_ReadsTheSchedulingMailbox_HandsOverReplies_AndMovesEveryMessageOnce()
    {
        await FillInboxAsync();
        var poller = Poller();
        var handled = new List<ParticipantReply>();

        var first = await poller.PollOnceAsync((r, _) => { handled.Add(r); return Task.CompletedTask; }, CancellationToken.None);
        var second = await poller.PollOnceAsync((r, _) => { handled.Add(r); return Task.CompletedTask; }, CancellationToken.None);

        Assert.Equal([null, ReplyRefusal.NotAnInvitee, null, ReplyRefusal.NotACalendarReply], first.Select(o => o.Refusal));
        Assert.Empty(second);
        Assert.Equal([ReplyAnswer.Accepted, ReplyAnswer.Declined], handled.Select(h => h.Answer));

        using var check = new ImapClient();
        await check.ConnectAsync("127.0.0.1", TestServices.ImapPort, SecureSocketOptions.None);
        await check.AuthenticateAsync(TestServices.ImapUser, TestServices.ImapPassword);
        var root = check.GetFolder(check.PersonalNamespaces[0]);
        var processed = await root.GetSubfolderAsync("Processed");
        var refused = await root.GetSubfolderAsync("Refused");
        await processed.OpenAsync(FolderAccess.ReadOnly);
        var processedCount = processed.Count;
        await refused.OpenAsync(FolderAccess.ReadOnly);
        Assert.True(processedCount >= 2 && refused.Count >= 2, $"processed {processedCount}, refused {refused.Count}");
    }

    [Fact]
    public async Task Poller_TakesAMessageThatAnOverlappingPollMovedFirst_AsHandled_AndGoesOn()
    {
        await FillInboxAsync();
        var handled = new List<ParticipantReply>();

        // While this poll hands over its first reply, another poll (another instance, or a poll run by hand) takes
        // every message of the inbox: this poll's move of that message, and its reads of the others, find them gone.
        var outcomes = await Poller().PollOnceAsync(async (r, ct) =>
        {
            handled.Add(r);
            if (handled.Count == 1)
            {
                using var other = await ConnectAsync();
                var root = other.GetFolder(other.PersonalNamespaces[0]);
                var processed = await root.GetSubfolderAsync("Processed", ct);
                await other.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
                var all = await other.Inbox.SearchAsync(SearchQuery.All, ct);
                await other.Inbox.MoveToAsync(all, processed, ct);
                await other.DisconnectAsync(true, ct);
            }
        }, CancellationToken.None);

        Assert.Equal([ReplyAnswer.Accepted], handled.Select(h => h.Answer));
        Assert.Equal([null], outcomes.Select(o => o.Refusal));
        using var check = await ConnectAsync();
        await check.Inbox.OpenAsync(FolderAccess.ReadOnly);
        Assert.Equal(0, check.Inbox.Count);
    }

    [Fact]
    public async Task AMessageWhoseHandlingThrows_IsMovedToTheFailedFolder_LoggedByTypeOnly_AndThePollGoesOn()
    {
        await FillInboxAsync(["outlook-accept-without-organizer.eml", "non-invitee.eml", "gmail-decline.eml", "apple-tentative.eml", "not-a-calendar.eml"]);
        await EmptyAsync("Failed");
        var logger = new ReplyCorpusTests.RecordingLogger<ImapReplyPoller>();
        var handled = new List<ParticipantReply>();

        // The first message makes the processor throw (its lookup fails once), the first reply handed over makes the
        // handler throw (its store fails once): neither stops the poll, and neither stays in the inbox.
        var handlerCalls = 0;
        var outcomes = await Poller(new FailingOnceLookup(Samples.Interview()), logger).PollOnceAsync((r, _) =>
        {
            if (++handlerCalls == 1)
            {
                throw new InvalidOperationException($"The store is unreachable for {r.Attendee}.");
            }

            handled.Add(r);
            return Task.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal([ReplyRefusal.Failed, ReplyRefusal.NotAnInvitee, ReplyRefusal.Failed, null, ReplyRefusal.NotACalendarReply],
            outcomes.Select(o => o.Refusal));
        Assert.Equal([ReplyAnswer.Tentative], handled.Select(h => h.Answer));
        Assert.Equal(2, logger.Lines.Count);
        Assert.All(logger.Lines, l => Assert.Equal(
            "Scheduling mailbox: a message could not be handled (System.InvalidOperationException); moved to the failed folder", l));

        using var check = await ConnectAsync();
        await check.Inbox.OpenAsync(FolderAccess.ReadOnly);
        Assert.Equal(0, check.Inbox.Count);
        var failed = await check.GetFolder(check.PersonalNamespaces[0]).GetSubfolderAsync("Failed");
        await failed.OpenAsync(FolderAccess.ReadOnly);
        Assert.Equal(2, failed.Count);
    }

    private static ImapReplyPoller Poller(IInterviewLookup? lookup = null, ILogger<ImapReplyPoller>? logger = null) => new(
        TestMailbox.Options(),
        new ReplyProcessor(lookup ?? new SingleLookup(Samples.Interview()), Samples.Uids, new ReplyCorpusTests.RecordingLogger<ReplyProcessor>()),
        logger ?? new ReplyCorpusTests.RecordingLogger<ImapReplyPoller>());

    private static Task<ImapClient> ConnectAsync() => TestMailbox.ConnectAsync();

    /// <summary>Empties the test mailbox's inbox and puts in <paramref name="files"/> — by default two replies and two
    /// messages to refuse — in that order.</summary>
    private static async Task FillInboxAsync(string[]? files = null)
    {
        using var setup = await ConnectAsync();
        await TestMailbox.EmptyAsync(setup.Inbox);
        foreach (var file in files ?? ["outlook-accept-without-organizer.eml", "non-invitee.eml", "gmail-decline.eml", "not-a-calendar.eml"])
        {
            await setup.Inbox.AppendAsync(ReplyCorpusTests.Load(file));
        }

        await setup.DisconnectAsync(true);
    }

    /// <summary>Empties a folder of the test mailbox (created when missing).</summary>
    private static async Task EmptyAsync(string name)
    {
        using var setup = await ConnectAsync();
        await TestMailbox.EmptyAsync(await TestMailbox.FolderAsync(setup, name));
        await setup.DisconnectAsync(true);
    }

    private sealed class SingleLookup(Interview interview) : IInterviewLookup
    {
        public Interview? FindById(Guid interviewId) => interviewId == interview.Id ? interview : null;
    }

    /// <summary>A lookup whose first call fails, as a store that is briefly unreachable does.</summary>
    private sealed class FailingOnceLookup(Interview interview) : IInterviewLookup
    {
        private int _calls;

        public Interview? FindById(Guid interviewId) => ++_calls == 1
            ? throw new InvalidOperationException($"The store is unreachable for {interviewId:D}.")
            : interviewId == interview.Id ? interview : null;
    }
}
