using MailKit;
using MailKit.Search;
using Messaging.Scheduling.Replies;
using Messaging.Scheduling.Tests.Infrastructure;
using MimeKit;

namespace Messaging.Scheduling.Tests.Replies;

/// <summary>
/// Outside review 2026-11-29, scheduling finding 10: the scheduling mailbox kept every reply and every stray email for
/// good. A poll now deletes what stayed past its retention in the processed, refused and failed folders, counted from
/// the message's arrival, and nothing younger.
/// </summary>
[Collection(TestMailbox.Name)]
public sealed class MailboxRetentionTests
{
    [Fact]
    public async Task APoll_DeletesMessagesPastTheirFoldersRetention_AndKeepsTheYoungerOnes()
    {
        var now = TimeProvider.System.GetUtcNow();
        var marker = Guid.NewGuid().ToString("N");
        using (var setup = await TestMailbox.ConnectAsync())
        {
            await TestMailbox.EmptyAsync(setup.Inbox);
            await AppendAsync(await TestMailbox.FolderAsync(setup, "Processed"), $"{marker} processed old", now.AddDays(-9));
            await AppendAsync(await TestMailbox.FolderAsync(setup, "Processed"), $"{marker} processed young", now.AddDays(-3));
            await AppendAsync(await TestMailbox.FolderAsync(setup, "Refused"), $"{marker} refused old", now.AddDays(-40));
            await AppendAsync(await TestMailbox.FolderAsync(setup, "Refused"), $"{marker} refused young", now.AddDays(-10));
            await AppendAsync(await TestMailbox.FolderAsync(setup, "Failed"), $"{marker} failed old", now.AddDays(-40));
            await AppendAsync(await TestMailbox.FolderAsync(setup, "Failed"), $"{marker} failed young", now.AddDays(-10));
            await setup.DisconnectAsync(true);
        }

        var poller = new ImapReplyPoller(
            TestMailbox.Options(),
            new ReplyProcessor(new NoInterviews(), Samples.Uids, new ReplyCorpusTests.RecordingLogger<ReplyProcessor>()),
            new ReplyCorpusTests.RecordingLogger<ImapReplyPoller>());
        Assert.Empty(await poller.PollOnceAsync((_, _) => Task.CompletedTask, CancellationToken.None));

        using var check = await TestMailbox.ConnectAsync();
        Assert.Equal([$"{marker} processed young"], await SubjectsAsync(await TestMailbox.FolderAsync(check, "Processed"), marker));
        Assert.Equal([$"{marker} refused young"], await SubjectsAsync(await TestMailbox.FolderAsync(check, "Refused"), marker));
        Assert.Equal([$"{marker} failed young"], await SubjectsAsync(await TestMailbox.FolderAsync(check, "Failed"), marker));
    }

    private sealed class NoInterviews : IInterviewLookup
    {
        public Messaging.Scheduling.Interviews.Interview? FindById(Guid interviewId) => null;
    }

    private static async Task AppendAsync(IMailFolder folder, string subject, DateTimeOffset arrived)
    {
        var message = new MimeMessage { Subject = subject, Body = new TextPart("plain") { Text = "A reply comment that must not stay for good." } };
        message.From.Add(MailboxAddress.Parse("someone@service.example"));
        message.To.Add(MailboxAddress.Parse("scheduling@messaging.example"));
        await folder.AppendAsync(new AppendRequest(message, MessageFlags.Seen, arrived));
    }

    private static async Task<string[]> SubjectsAsync(IMailFolder folder, string marker)
    {
        await folder.OpenAsync(FolderAccess.ReadOnly);
        var found = await folder.SearchAsync(SearchQuery.SubjectContains(marker));
        var summaries = await folder.FetchAsync(found, MessageSummaryItems.Envelope);
        return [.. summaries.Select(s => s.Envelope?.Subject ?? string.Empty).Order(StringComparer.Ordinal)];
    }
}
