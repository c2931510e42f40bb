using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Client.Cases;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Cases;

/// <summary>
/// Orient by commune (the services accepting referrals there, local first), then refer with the closed fields only:
/// nature, requester, commune, reason, urgency, follow-up elsewhere. There is no field that could hold a name or a
/// narrative; the SDK validates the record again before encrypting it for the receiving service.
/// </summary>
public sealed class NewModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    [BindProperty(SupportsGet = true)]
    public string? Commune { get; set; }

    public IReadOnlyList<CommuneEntry> Communes { get; private set; } = [];

    public OrientationResult? Orientation { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        var client = Device.Client;
        var cancellationToken = HttpContext.RequestAborted;
        Communes = [.. (await client.Api.ListCommunesAsync(await client.GetAccessTokenAsync(cancellationToken), cancellationToken)).OrderBy(c => c.Name, StringComparer.Ordinal)];
        if (!string.IsNullOrEmpty(Commune))
        {
            try
            {
                Orientation = await client.OrientAsync(Commune, cancellationToken);
            }
            catch (Exception ex) when (Texts.IsExpected(ex))
            {
                TempData["error"] = T.Error(ex);
                return Redirect("/cases/new");
            }
        }

        return Page();
    }

    public Task<IActionResult> OnPostAsync(Guid to, RequestNature nature, Requester requester, ReasonCategory reason, Urgency urgency, bool followUpOngoing)
        => ChangeAsync(async () =>
        {
            var record = new ReferralRecord(CaseReference.New(), nature, requester, Commune ?? "", followUpOngoing, reason, urgency);
            var sent = await Device.Client.ReferAsync(to, record, HttpContext.RequestAborted);
            Notify("refer.sent");
            return Redirect($"/cases/{sent.Referral.CaseReference}");
        }, () => Redirect("/cases/new"));
}
