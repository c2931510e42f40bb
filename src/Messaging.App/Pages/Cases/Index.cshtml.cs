using Messaging.App.Device;
using Messaging.App.Localization;

namespace Messaging.App.Pages.Cases;

/// <summary>The service's referrals (sent and received) with their status: what the server knows, pseudonymous.</summary>
public sealed class IndexModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public sealed record Row(string Reference, string Status, string From, string To, string Opened);

    public IReadOnlyList<Row> Rows { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var client = Device.Client;
        var cancellationToken = HttpContext.RequestAborted;
        var people = await People.LoadAsync(client, cancellationToken);
        Rows = [.. (await client.ListReferralsAsync(cancellationToken)).OrderByDescending(r => r.OpenedAt)
            .Select(r => new Row(r.CaseReference, T.Status(r.Status), people.Organisation(r.ReferringOrganisationId, T["unknown.organisation"]),
                people.Organisation(r.ReceivingOrganisationId, T["unknown.organisation"]), T.DateTime(r.OpenedAt)))];
    }
}
