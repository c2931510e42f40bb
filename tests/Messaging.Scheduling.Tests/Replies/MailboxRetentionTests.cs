using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
using Messaging.Scheduling.Delivery;
using Messaging.Scheduling.Replies;
using Messaging.Scheduling.Tests.Infrastructure;
using MimeKit;

namespace Messaging.Scheduling.Tests.Replies;

/// <summary>The tests that use the one test mailbox run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class SchedulingMailbox
{
    public const string Name = "scheduling mailbox";
}

/// <summary>
/// Outside review 2026-11-29, scheduling finding 10: the scheduling mailbox kept every reply and every stray email for
/// good. A poll now deletes what stayed past its retention in the processed, refused and failed folders, counted from
/// the message's arrival, and nothing younger.
/// </summary>
[Collection(SchedulingMailbox.Name)]
public sealed class MailboxRetentionTests
{
    [Fact]
    public async Task APoll_DeletesMessagesPastTheirFoldersRetention_AndKeepsTheYoungerOnes()
    {
        var now = TimeProvider.System.GetUtcNow();
        var marker = Guid.NewGuid().ToString("N");
        using (var setup = await ConnectAsync())
        {
            await EmptyAsync(setup.Inbox);
            var root = setup.GetFolder(setup.PersonalNamespaces[0]);
            await AppendAsync(await FolderAsync(root, "Processed"), $"{marker} processed old", now.AddDays(-9));
            await AppendAsync(await FolderAsync(root, "Processed"), $"{marker} processed young", now.AddDays(-3));
            await AppendAsync(await FolderAsync(root, "Refused"), $"{marker} refused old", now.AddDays(-40));
            await AppendAsync(await FolderAsync(root, "Refused"), $"{marker} refused young", now.AddDays(-10));
            await AppendAsync(await FolderAsync(root, "Failed"), $"{marker} failed old", now.AddDays(-40));
            await AppendAsync(await FolderAsync(root, "Failed"), $"{marker} failed young", now.AddDays(-10));
            await setup.DisconnectAsync(true);
        }

        var poller = new ImapReplyPoller(
            new ImapOptions
            {
                Host = "127.0.0.1",
                Port = TestServices.ImapPort,
                Security = SecureSocketOptions.None,
                UserName = TestServices.ImapUser,
                Password = new Secret(TestServices.ImapPassword),
            },
            new ReplyProcessor(new NoInterviews(), new ReplyCorpusTests.RecordingLogger<ReplyProcessor>()),
            new ReplyCorpusTests.RecordingLogger<ImapReplyPoller>());
        Assert.Empty(await poller.PollOnceAsync((_, _) => Task.CompletedTask, CancellationToken.None));

        using var check = await ConnectAsync();
        var folders = check.GetFolder(check.PersonalNamespaces[0]);
        Assert.Equal([$"{marker} processed young"], await SubjectsAsync(await FolderAsync(folders, "Processed"), marker));
        Assert.Equal([$"{marker} refused young"], await SubjectsAsync(await FolderAsync(folders, "Refused"), marker));
        Assert.Equal([$"{marker} failed young"], await SubjectsAsync(await FolderAsync(folders, "Failed"), marker));
    }

    private sealed class NoInterviews : IInterviewLookup
    {
        public Messaging.Scheduling.Interviews.Interview? FindByUid(string uid) => null;
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

    private static async Task<IMailFolder> FolderAsync(IMailFolder root, string name)
    {
        try
        {
            return await root.GetSubfolderAsync(name);
        }
        catch (FolderNotFoundException)
        {
            return await root.CreateAsync(name, true) ?? throw new InvalidOperationException("The mailbox did not create the folder.");
        }
    }

    private static async Task<ImapClient> ConnectAsync()
    {
        var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", TestServices.ImapPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(TestServices.ImapUser, TestServices.ImapPassword);
        return client;
    }

    private static async Task EmptyAsync(IMailFolder folder)
    {
        await folder.OpenAsync(FolderAccess.ReadWrite);
        var leftovers = await folder.SearchAsync(SearchQuery.All);
        if (leftovers.Count > 0)
        {
            await folder.AddFlagsAsync(leftovers, MessageFlags.Deleted, true);
            await folder.ExpungeAsync();
        }
    }
}
