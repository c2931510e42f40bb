using Messaging.App.Device;
using Messaging.App.Localization;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Conversations;

/// <summary>The worker's conversations with the members in each and the unread count; refreshed live.</summary>
public sealed class IndexModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public sealed record Row(Guid ConversationId, string Members, int Unread, string Last);

    public IReadOnlyList<Row> Rows { get; private set; } = [];

    public long Version { get; private set; }

    public bool Approved { get; private set; } = true;

    public string ApprovalCode { get; private set; } = "";

    public async Task OnGetAsync() => await LoadAsync();

    /// <summary>The list alone, for the live script: 204 when nothing changed since <paramref name="since"/>.</summary>
    public async Task<IActionResult> OnGetLiveAsync(long since)
    {
        if (Device.Version == since)
        {
            return new NoContentResult();
        }

        await LoadAsync();
        Response.Headers["X-Live-Version"] = Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Partial("_ConversationList", this);
    }

    private async Task LoadAsync()
    {
        Version = Device.Version;
        var client = Device.Client;
        var cancellationToken = HttpContext.RequestAborted;
        Approved = client.IsApproved;
        ApprovalCode = client.ApprovalCode;
        if (!Approved)
        {
            // The server refuses a device awaiting approval its member's conversations: the page shows the approval code.
            Rows = [];
            return;
        }

        var people = await People.LoadAsync(client, cancellationToken);
        var inbox = await client.GetInboxAsync(cancellationToken);
        var conversations = await client.ListConversationsAsync(cancellationToken);
        var readMarks = await client.GetReadMarksAsync(cancellationToken);
        Rows = [.. conversations
            .Select(c => (Conversation: c, Last: inbox.Where(m => m.ConversationId == c.ConversationId).Select(m => m.SentAt).DefaultIfEmpty(c.CreatedAt).Max()))
            .OrderByDescending(c => c.Last)
            .Select(c => new Row(c.Conversation.ConversationId,
                string.Join(", ", c.Conversation.MemberIds.Where(m => m != client.MemberId).Select(m => people.Member(m, T["unknown.member"]))),
                DeviceSession.Unread(c.Conversation.ConversationId, inbox, client.MemberId, readMarks),
                T.DateTime(c.Last)))];
    }
}
