using System.Globalization;
using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Contracts;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Conversations;

/// <summary>One conversation: its members (each with a link to compare safety numbers), its messages (received, kept on
/// this device, and those sent from here in this run, with their delivery), and the send form — replaced by a blocking
/// warning while a member's signing key changed and was not confirmed (the SDK refuses to send to them meanwhile).</summary>
public sealed class ViewModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public const int MaximumTextLength = 10_000;

    public sealed record MemberRow(Guid MemberId, string Name, string Organisation);

    public sealed record Line(DateTimeOffset At, string Author, string When, string Text, bool Mine, string? Delivery);

    [BindProperty(SupportsGet = true)]
    public Guid Id { get; set; }

    public IReadOnlyList<MemberRow> Members { get; private set; } = [];

    public IReadOnlyList<MemberRow> Changed { get; private set; } = [];

    /// <summary>A collective conversation (meetings between services, no case content): its membership can change here.</summary>
    public bool Collective { get; private set; }

    /// <summary>This member created the conversation: only the creator removes other members (the server checks it too).</summary>
    public bool Creator { get; private set; }

    /// <summary>Members of the directory who may be added (not in it yet, with an active device).</summary>
    public IReadOnlyList<MemberRow> Addable { get; private set; } = [];

    public IReadOnlyList<Line> Lines { get; private set; } = [];

    public long Version { get; private set; }

    public int Undecryptable { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        if (!await LoadAsync(markRead: true))
        {
            return NotFound();
        }

        return Page();
    }

    public async Task<IActionResult> OnGetLiveAsync(long since)
    {
        if (Device.Version == since)
        {
            return new NoContentResult();
        }

        // A live refresh shows the new messages on the open page: they count as read.
        if (!await LoadAsync(markRead: true))
        {
            return NotFound();
        }

        Response.Headers["X-Live-Version"] = Version.ToString(CultureInfo.InvariantCulture);
        return Partial("_Messages", this);
    }

    public Task<IActionResult> OnPostSendAsync(string? text) => ChangeAsync(async () =>
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaximumTextLength)
        {
            TempData["error"] = T["conversation.bad-text"];
            return Redirect($"/conversations/{Id}");
        }

        var receipt = await Device.Client.SendTextAsync(Id, text, HttpContext.RequestAborted);
        // The delivery figures for this run; the text itself is kept sealed on the device, to be shown after a restart too.
        Device.RecordSent(new SentMessage(Id, receipt.EnvelopeId, text, receipt.AcceptedAt, receipt.Recipients, receipt.Unreachable.Count));
        try
        {
            await Device.Client.KeepSentTextAsync(Id, receipt, text, CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or System.Data.Common.DbException or InvalidOperationException)
        {
            // Sent (the server accepted it) but not written on this device: say so, lest the worker send it again.
            TempData["error"] = T["conversation.sent-not-kept"];
        }
        return Redirect($"/conversations/{Id}");
    }, () => Redirect($"/conversations/{Id}"));

    /// <summary>Adds a member to a collective conversation; later messages reach their devices too.</summary>
    public Task<IActionResult> OnPostAddMemberAsync(Guid? memberId) => ChangeMembershipAsync(memberId, "conversation.member-added",
        (conversation, member) => Device.Client.AddConversationMemberAsync(conversation, member, HttpContext.RequestAborted));

    /// <summary>Removes a member from a collective conversation (its creator only); later messages leave out their devices.</summary>
    public Task<IActionResult> OnPostRemoveMemberAsync(Guid? memberId) => ChangeMembershipAsync(memberId, "conversation.member-removed",
        (conversation, member) => Device.Client.RemoveConversationMemberAsync(conversation, member, HttpContext.RequestAborted));

    private Task<IActionResult> ChangeMembershipAsync(Guid? memberId, string done, Func<Guid, Guid, Task<ConversationSummary>> change) => ChangeAsync(async () =>
    {
        if (memberId is not { } member || member == Guid.Empty)
        {
            TempData["error"] = T["conversation.choose-member"];
            return Redirect($"/conversations/{Id}");
        }

        // Membership changes only for collective conversations: a case's conversation keeps the two services it was made for.
        var conversation = (await Device.Client.ListConversationsAsync(HttpContext.RequestAborted)).FirstOrDefault(c => c.ConversationId == Id);
        if (conversation is not { Collective: true })
        {
            TempData["error"] = T[conversation is null ? "error:conversation.not-found" : "conversation.not-collective"];
            return Redirect(conversation is null ? "/conversations" : $"/conversations/{Id}");
        }

        await change(Id, member);
        Notify(done);
        return Redirect($"/conversations/{Id}");
    }, () => Redirect($"/conversations/{Id}"));

    private async Task<bool> LoadAsync(bool markRead)
    {
        Version = Device.Version;
        Undecryptable = Device.Undecryptable;
        var client = Device.Client;
        var cancellationToken = HttpContext.RequestAborted;
        var conversation = (await client.ListConversationsAsync(cancellationToken)).FirstOrDefault(c => c.ConversationId == Id);
        if (conversation is null)
        {
            return false;
        }

        var people = await People.LoadAsync(client, cancellationToken);
        Members = [.. conversation.MemberIds.Where(m => m != client.MemberId)
            .Select(m => new MemberRow(m, people.Member(m, T["unknown.member"]), people.OrganisationOfMember(m, T["unknown.organisation"])))];
        var changed = new List<MemberRow>();
        foreach (var member in Members)
        {
            if (await client.IsMemberKeyUnconfirmedAsync(member.MemberId, cancellationToken))
            {
                changed.Add(member);
            }
        }

        Changed = changed;
        Collective = conversation.Collective;
        Creator = conversation.CreatedBy == client.MemberId;
        Addable = Collective
            ? [.. people.Members.Where(m => !conversation.MemberIds.Contains(m.MemberId) && m.ActiveDeviceIds.Count > 0 && m.Role != Roles.PlatformOperator)
                .Select(m => new MemberRow(m.MemberId, m.DisplayName, people.Organisation(m.OrganisationId, T["unknown.organisation"])))]
            : [];
        var inbox = (await client.GetInboxAsync(cancellationToken)).Where(m => m.ConversationId == Id).ToList();
        // What this device sent is in the inbox too (kept on sending); its delivery figures are known for this run only.
        var sentHere = Device.Sent(Id).ToDictionary(s => s.EnvelopeId);
        string? Delivery(SentMessage? s) => s is null ? null
            : s.Unreachable == 0 ? T.Format("delivery.sent", s.Recipients) : T.Format("delivery.partly", s.Recipients, s.Unreachable);
        var kept = inbox.Select(m => new Line(m.SentAt, m.SenderMemberId == client.MemberId ? T["conversation.me"] : people.Member(m.SenderMemberId, T["unknown.member"]),
            T.DateTime(m.SentAt), m.Kind == EnvelopeKind.Chat ? m.Text : T.Kind(m.Kind), m.SenderMemberId == client.MemberId,
            m.SenderDeviceId == client.DeviceId ? Delivery(sentHere.GetValueOrDefault(m.EnvelopeId)) : null));
        Lines = [.. kept.OrderBy(l => l.At)];
        if (markRead)
        {
            await Device.MarkReadAsync(Id, inbox, cancellationToken);
        }

        return true;
    }
}
