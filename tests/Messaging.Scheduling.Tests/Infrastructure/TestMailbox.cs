using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
using Messaging.Scheduling.Delivery;
using Messaging.Scheduling.Replies;

namespace Messaging.Scheduling.Tests.Infrastructure;

/// <summary>The tests that use the one test mailbox (dovecot on loopback) run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class TestMailbox
{
    public const string Name = "scheduling mailbox";

    /// <summary>The poller's settings for the test mailbox.</summary>
    public static ImapOptions Options() => new()
    {
        Host = "127.0.0.1",
        Port = TestServices.ImapPort,
        Security = SecureSocketOptions.None,
        UserName = TestServices.ImapUser,
        Password = new Secret(TestServices.ImapPassword),
    };

    public static async Task<ImapClient> ConnectAsync()
    {
        var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", TestServices.ImapPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(TestServices.ImapUser, TestServices.ImapPassword);
        return client;
    }

    /// <summary>A folder of the mailbox, created when missing.</summary>
    public static async Task<IMailFolder> FolderAsync(ImapClient client, string name)
    {
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        try
        {
            return await root.GetSubfolderAsync(name);
        }
        catch (FolderNotFoundException)
        {
            return await root.CreateAsync(name, true) ?? throw new InvalidOperationException("The mailbox did not create the folder.");
        }
    }

    public static async Task EmptyAsync(IMailFolder folder)
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
