using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.App.Pages.Admin;
using Messaging.Contracts;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Partners;

/// <summary>
/// The partner directory: the public entities asking to join the protocol, with their objection deadline, and — for an
/// organisation admin — an objection with a closed reason before the deadline; the withdrawals with their effective
/// dates. The platform operator files join requests and any partner's withdrawal and sees every service of the
/// directory; an organisation admin files their own organisation's withdrawal. The server decides at each deadline.
/// </summary>
public sealed class IndexModel(DeviceSession device, Texts texts, TimeProvider time) : AdministrationPageModel(device, texts)
{
    public static IReadOnlyList<string> Reasons { get; } = [ObjectionReasons.NotPublicEntity, ObjectionReasons.OutsideScope, ObjectionReasons.ConflictOfMission, ObjectionReasons.Other];

    public static IReadOnlyList<string> JoinTypes => DirectoryInput.PartnerTypes;

    public IReadOnlyList<JoinRequestEntry> Requests { get; private set; } = [];

    public IReadOnlyList<DirectoryServiceEntry> Services { get; private set; } = [];

    public IReadOnlyList<WithdrawalEntry> Withdrawals { get; private set; } = [];

    public bool IsOperator { get; private set; }

    /// <summary>An organisation admin whose organisation has no withdrawal filed yet.</summary>
    public bool CanWithdrawOwn { get; private set; }

    /// <summary>The services the operator may withdraw: parties still active.</summary>
    public IEnumerable<DirectoryServiceEntry> Withdrawable => Services.Where(s => s.PartnerStatus == PartnerStatuses.Active && s.Type != OrganisationTypes.Operator);

    private bool _isOrganisationAdmin;
    private Dictionary<Guid, string> _names = [];

    public bool CanObject(JoinRequestEntry request)
        => _isOrganisationAdmin && request.Status == JoinRequestStatuses.Pending && !request.ObjectedByMyOrganisation && time.GetUtcNow() < request.ObjectionDeadline;

    public string OrganisationName(Guid organisationId) => _names.TryGetValue(organisationId, out var name) ? name : T["unknown.organisation"];

    public async Task<IActionResult> OnGetAsync()
    {
        var client = Device.Client;
        if (!Admin.IndexModel.IsAdministrator(client.Role))
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        _isOrganisationAdmin = client.Role == Roles.OrganisationAdmin;
        IsOperator = client.Role == Roles.PlatformOperator;
        var token = await client.GetAccessTokenAsync(HttpContext.RequestAborted);
        Requests = await client.ListJoinRequestsAsync(HttpContext.RequestAborted);
        Withdrawals = [.. (await client.Api.ListWithdrawalsAsync(token, HttpContext.RequestAborted)).OrderBy(w => w.EffectiveAt)];
        _names = (await client.ListOrganisationsAsync(HttpContext.RequestAborted)).ToDictionary(o => o.OrganisationId, o => o.Name);
        CanWithdrawOwn = _isOrganisationAdmin && !Withdrawals.Any(w => w.OrganisationId == client.OrganisationId);
        if (IsOperator)
        {
            Services = [.. (await client.Api.ListDirectoryServicesAsync(token, HttpContext.RequestAborted)).OrderBy(s => s.Name, StringComparer.Ordinal)];
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

    /// <summary>The operator files an entity's request to join (the server opens the objection period).</summary>
    public Task<IActionResult> OnPostJoinAsync(string? name, string? type, string? level, string? region, string? communes, bool acceptsReferrals)
        => SubmitAsync(role => role == Roles.PlatformOperator, async client =>
        {
            var request = new FileJoinRequest(
                DirectoryInput.Name(name),
                DirectoryInput.RequiredChoice(type, JoinTypes),
                DirectoryInput.RequiredChoice(level, ServiceLevels.All),
                DirectoryInput.Choice(region, Regions.All),
                string.IsNullOrWhiteSpace(communes) ? null : DirectoryInput.NisCodes(communes),
                acceptsReferrals);
            await client.Api.FileJoinRequestAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), request, HttpContext.RequestAborted);
            Notify("partners.join-filed");
        });

    /// <summary>A withdrawal, once confirmed: an organisation admin's own organisation (whatever the form says), or the
    /// organisation the operator chose.</summary>
    public Task<IActionResult> OnPostWithdrawAsync(Guid organisationId, bool confirmed)
        => SubmitAsync(Admin.IndexModel.IsAdministrator, async client =>
        {
            if (!confirmed)
            {
                throw new DirectoryInput.Refused("partners.withdraw-confirm-first");
            }

            var organisation = client.Role == Roles.OrganisationAdmin ? client.OrganisationId : organisationId;
            if (organisation == Guid.Empty)
            {
                throw new DirectoryInput.Refused("failure.record");
            }

            await client.Api.FileWithdrawalAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), organisation, HttpContext.RequestAborted);
            Notify("partners.withdrawal-filed");
        });

    protected override string Path => "/partners";
}
