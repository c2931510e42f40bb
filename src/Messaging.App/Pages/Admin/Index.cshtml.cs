using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Contracts;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Admin;

/// <summary>
/// An organisation's administration: its members and their devices, a new member, a one-time enrolment code (shown
/// once, to hand over by another channel), a device's revocation. For organisation admins (their organisation) and the
/// platform operator; the server decides what each may do, this page only hides what the role cannot use.
/// </summary>
public sealed class IndexModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public static IReadOnlyList<string> Roles { get; } = [Contracts.Roles.Worker, Contracts.Roles.OrganisationAdmin, Contracts.Roles.JusticeAssistant];

    public IReadOnlyList<MemberEntry> Members { get; private set; } = [];

    public EnrolmentCodeIssued? IssuedCode { get; private set; }

    public bool CanCreateMembers { get; private set; }

    public static bool IsAdministrator(string role) => role is Contracts.Roles.OrganisationAdmin or Contracts.Roles.PlatformOperator;

    public async Task<IActionResult> OnGetAsync()
    {
        var client = Device.Client;
        if (!IsAdministrator(client.Role))
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        CanCreateMembers = client.Role == Contracts.Roles.OrganisationAdmin;
        Members = [.. (await client.ListMembersAsync(client.OrganisationId, HttpContext.RequestAborted)).OrderBy(m => m.DisplayName, StringComparer.Ordinal)];
        IssuedCode = Device.TakeIssuedCode();
        return Page();
    }

    public Task<IActionResult> OnPostCreateAsync(string? name, string? role, string? email) => ChangeAsync(async () =>
    {
        var client = Device.Client;
        if (string.IsNullOrWhiteSpace(name) || string.IsNullOrWhiteSpace(email) || role is null || !Roles.Contains(role, StringComparer.Ordinal))
        {
            TempData["error"] = T["failure.record"];
            return Back();
        }

        await client.Api.CreateMemberAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted),
            new CreateMemberRequest(client.OrganisationId, name.Trim(), role, email.Trim()), HttpContext.RequestAborted);
        Notify("admin.created");
        return Back();
    }, Back);

    public Task<IActionResult> OnPostIssueCodeAsync(Guid memberId) => ChangeAsync(async () =>
    {
        var client = Device.Client;
        // Kept in the app's memory for the next page only: a code is a credential, not something for a cookie or a URL.
        Device.KeepIssuedCode(await client.Api.IssueEnrolmentCodeAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), memberId, HttpContext.RequestAborted));
        return Back();
    }, Back);

    public Task<IActionResult> OnPostRevokeAsync(Guid deviceId) => ChangeAsync(async () =>
    {
        var client = Device.Client;
        await client.Api.RevokeDeviceAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), deviceId, HttpContext.RequestAborted);
        Notify("admin.revoked");
        return Back();
    }, Back);

    private RedirectResult Back() => Redirect("/admin");
}
