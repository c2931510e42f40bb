using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Contracts;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Admin;

/// <summary>
/// The platform operator's administration of the partner directory: a new organisation, each service's level, region,
/// referrals and communes, and a commune added to the directory. Organisation-level data only (no member, no person);
/// every other role gets 403, as the server refuses them.
/// </summary>
public sealed class DirectoryModel(DeviceSession device, Texts texts) : AdministrationPageModel(device, texts)
{
    public static IReadOnlyList<string> Types => DirectoryInput.PartnerTypes;

    public IReadOnlyList<DirectoryServiceEntry> Services { get; private set; } = [];

    /// <summary>The directory's communes by NIS code (for their names beside the codes).</summary>
    public IReadOnlyDictionary<string, CommuneEntry> Communes { get; private set; } = new Dictionary<string, CommuneEntry>();

    public string Place(DirectoryServiceEntry service)
        => service.Region is { } region ? $"{T.Level(service.Level)} ({T[$"region.{region}"]})" : T.Level(service.Level);

    public string Commune(string code) => Communes.TryGetValue(code, out var commune) ? $"{code} {commune.Name}" : code;

    public async Task<IActionResult> OnGetAsync()
    {
        var client = Device.Client;
        if (client.Role != Roles.PlatformOperator)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        var token = await client.GetAccessTokenAsync(HttpContext.RequestAborted);
        Services = [.. (await client.Api.ListDirectoryServicesAsync(token, HttpContext.RequestAborted)).OrderBy(s => s.Name, StringComparer.Ordinal)];
        Communes = (await client.Api.ListCommunesAsync(token, HttpContext.RequestAborted)).ToDictionary(c => c.NisCode, StringComparer.Ordinal);
        return Page();
    }

    public Task<IActionResult> OnPostCreateAsync(string? name, string? type) => SubmitAsync(async client =>
    {
        var request = new CreateOrganisationRequest(DirectoryInput.Name(name), DirectoryInput.RequiredChoice(type, Types));
        await client.Api.CreateOrganisationAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), request, HttpContext.RequestAborted);
        Notify("directory-admin.created");
    });

    /// <summary>Changes what the form names; an empty field stays as it is. The communes field replaces the list when
    /// filled, or empties it when "no commune" is ticked.</summary>
    public Task<IActionResult> OnPostSetAsync(Guid organisationId, string? level, string? region, string? accepts, string? communes, bool noCommune)
        => SubmitAsync(async client =>
        {
            var update = new UpdateDirectoryServiceRequest(
                DirectoryInput.Choice(level, ServiceLevels.All),
                DirectoryInput.Choice(region, Regions.All),
                DirectoryInput.TrueOrFalse(accepts),
                noCommune ? [] : string.IsNullOrWhiteSpace(communes) ? null : DirectoryInput.NisCodes(communes));
            if (organisationId == Guid.Empty || update is { Level: null, Region: null, AcceptsReferrals: null, CommuneCodes: null })
            {
                throw new DirectoryInput.Refused("directory-admin.nothing-to-change");
            }

            await client.Api.UpdateDirectoryServiceAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), organisationId, update, HttpContext.RequestAborted);
            Notify("directory-admin.updated");
        });

    public Task<IActionResult> OnPostAddCommuneAsync(string? nis, string? communeName, string? communeRegion) => SubmitAsync(async client =>
    {
        var commune = new CommuneEntry(DirectoryInput.NisCode(nis), DirectoryInput.Name(communeName),
            DirectoryInput.RequiredChoice(communeRegion, Regions.All));
        var added = await client.Api.AddCommunesAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), [commune], HttpContext.RequestAborted);
        Notify(added.Added == 0 ? "directory-admin.commune-exists" : "directory-admin.commune-added");
    });

    protected override string Path => "/admin/directory";

    private Task<IActionResult> SubmitAsync(Func<Client.MessagingClient, Task> change) => SubmitAsync(role => role == Roles.PlatformOperator, change);
}
