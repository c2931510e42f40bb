using Messaging.App.Device;
using Messaging.App.Localization;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Conversations;

/// <summary>Starts a conversation with members chosen from the directory.</summary>
public sealed class NewModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public sealed record Candidate(Guid MemberId, string DisplayName, string Organisation);

    public IReadOnlyList<Candidate> Candidates { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var client = Device.Client;
        var people = await People.LoadAsync(client, HttpContext.RequestAborted);
        Candidates = [.. people.Members.Where(m => m.MemberId != client.MemberId && m.ActiveDeviceIds.Count > 0)
            .Select(m => new Candidate(m.MemberId, m.DisplayName, people.Organisation(m.OrganisationId, T["unknown.organisation"])))];
    }

    public Task<IActionResult> OnPostAsync(List<Guid>? members, bool collective) => ChangeAsync(async () =>
    {
        if (members is not { Count: > 0 })
        {
            TempData["error"] = T["new.none-chosen"];
            return Redirect("/conversations/new");
        }

        var created = await Device.Client.CreateConversationAsync(members, collective, cancellationToken: HttpContext.RequestAborted);
        return Redirect($"/conversations/{created.ConversationId}");
    }, () => Redirect("/conversations/new"));
}
