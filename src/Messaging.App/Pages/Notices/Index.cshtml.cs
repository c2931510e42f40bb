using System.Globalization;
using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Client;
using Messaging.Contracts;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Notices;

/// <summary>The justice assistant's page: mandates proposed to them (accept, end) and the inbox of attendance notices,
/// each verified against the key log on this device, with the printable certificate of a verified one.</summary>
public sealed class IndexModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    private People? _people;

    public IReadOnlyList<MandateEntry> Mandates { get; private set; } = [];

    public IReadOnlyList<ReceivedNotice> Notices { get; private set; } = [];

    public long Version { get; private set; }

    public string Service(Guid organisationId) => _people?.Organisation(organisationId, T["unknown.organisation"]) ?? T["unknown.organisation"];

    public async Task OnGetAsync()
    {
        var client = Device.Client;
        _people = await People.LoadAsync(client, HttpContext.RequestAborted);
        Mandates = [.. (await client.ListMandatesAsync(HttpContext.RequestAborted)).OrderByDescending(m => m.ProposedAt)];
        await LoadNoticesAsync();
    }

    public async Task<IActionResult> OnGetLiveAsync(long since)
    {
        if (Device.Version == since)
        {
            return new NoContentResult();
        }

        await LoadNoticesAsync();
        Response.Headers["X-Live-Version"] = Version.ToString(CultureInfo.InvariantCulture);
        return Partial("_Notices", this);
    }

    public Task<IActionResult> OnPostAcceptAsync(Guid mandateId) => ChangeAsync(async () =>
    {
        await Device.Client.AcceptMandateAsync(mandateId, HttpContext.RequestAborted);
        Notify("notices.accepted");
        return Back();
    }, Back);

    public Task<IActionResult> OnPostEndAsync(Guid mandateId) => ChangeAsync(async () =>
    {
        await Device.Client.EndMandateAsync(mandateId, HttpContext.RequestAborted);
        return Back();
    }, Back);

    private async Task LoadNoticesAsync()
    {
        Version = Device.Version;
        Notices = [.. (await Device.Client.GetNoticesAsync(HttpContext.RequestAborted)).OrderByDescending(n => n.ReceivedAt)];
    }

    private RedirectResult Back() => Redirect("/notices");
}
