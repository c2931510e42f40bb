using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Contracts;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Partners;

/// <summary>
/// The partner directory: the public entities asking to join the protocol, with their objection deadline, and — for an
/// organisation admin — an objection with a closed reason before the deadline; for the platform operator, every service
/// of the directory. Joining and withdrawing are filed by the operator (CLI); the server decides at the deadline.
/// </summary>
public sealed class IndexModel(DeviceSession device, Texts texts, TimeProvider time) : AppPageModel(device, texts)
{
    public static IReadOnlyList<string> Reasons { get; } = [ObjectionReasons.NotPublicEntity, ObjectionReasons.OutsideScope, ObjectionReasons.ConflictOfMission, ObjectionReasons.Other];

    public IReadOnlyList<JoinRequestEntry> Requests { get; private set; } = [];

    public IReadOnlyList<DirectoryServiceEntry> Services { get; private set; } = [];

    private bool _isOrganisationAdmin;

    public bool CanObject(JoinRequestEntry request)
        => _isOrganisationAdmin && request.Status == JoinRequestStatuses.Pending && !request.ObjectedByMyOrganisation && time.GetUtcNow() < request.ObjectionDeadline;

    public async Task<IActionResult> OnGetAsync()
    {
        var client = Device.Client;
        if (!Admin.IndexModel.IsAdministrator(client.Role))
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        _isOrganisationAdmin = client.Role == Roles.OrganisationAdmin;
        Requests = await client.ListJoinRequestsAsync(HttpContext.RequestAborted);
        if (client.Role == Roles.PlatformOperator)
        {
            Services = [.. (await client.Api.ListDirectoryServicesAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), HttpContext.RequestAborted))
                .OrderBy(s => s.Name, StringComparer.Ordinal)];
        }

        return Page();
    }

    public Task<IActionResult> OnPostObjectAsync(Guid joinRequestId, string? reason) => ChangeAsync(async () =>
    {
        if (reason is null || !Reasons.Contains(reason, StringComparer.Ordinal))
        {
            TempData["error"] = T["failure.record"];
            return Back();
        }

        await Device.Client.ObjectToJoinRequestAsync(joinRequestId, reason, HttpContext.RequestAborted);
        Notify("partners.objected");
        return Back();
    }, Back);

    private RedirectResult Back() => Redirect("/partners");
}
