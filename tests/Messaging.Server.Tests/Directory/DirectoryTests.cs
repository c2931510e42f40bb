using System.Net;
using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests;

/// <summary>The seeded partner directory, orientation by commune, and the operator's administration of it.</summary>
public abstract class DirectoryTests(StorageProvider storage)
{
    private static readonly string[] BrusselsCommunes =
    [
        "21001", "21002", "21003", "21004", "21005", "21006", "21007", "21008", "21009", "21010",
        "21011", "21012", "21013", "21014", "21015", "21016", "21017", "21018", "21019",
    ];

    [Fact]
    public async Task TheSeed_HoldsTheSignatories_AndTheCommunesOfBrusselsAndTheWalloonCities()
    {
        await using var app = new MessagingApp(storage);
        var http = await app.ClientAsync(await app.OperatorAsync());

        var communes = (await http.GetFromJsonAsync<List<CommuneEntry>>(ApiRoutes.DirectoryCommunes))!;
        Assert.Equal(BrusselsCommunes, communes.Where(c => c.Region == Regions.Brussels).Select(c => c.NisCode));
        Assert.Contains(new CommuneEntry("62063", "Liège", Regions.Wallonia), communes);
        Assert.Contains(new CommuneEntry("63079", "Verviers", Regions.Wallonia), communes);
        Assert.Contains(new CommuneEntry("92094", "Namur", Regions.Wallonia), communes);
        Assert.Contains(new CommuneEntry("52011", "Charleroi", Regions.Wallonia), communes);

        var services = (await http.GetFromJsonAsync<List<DirectoryServiceEntry>>(ApiRoutes.DirectoryServices))!;
        DirectoryServiceEntry Named(string name) => Assert.Single(services, s => s.Name == name);
        Assert.Equal(ServiceLevels.Community, Named("CAPREV").Level);
        Assert.True(Named("CAPREV").AcceptsReferrals);
        Assert.Equal(ServiceLevels.Community, Named("CREA").Level);
        Assert.Equal((ServiceLevels.Regional, Regions.Brussels), (Named("BPS — Brussels Prevention & Security").Level, Named("BPS — Brussels Prevention & Security").Region));
        Assert.Equal(Regions.Wallonia, Named("Région wallonne — dispositif régional").Region);
        Assert.Equal(["63079"], Named("Ville de Verviers — SAFER").CommuneCodes);
        Assert.Equal(["21012"], Named("Commune de Molenbeek-Saint-Jean").CommuneCodes);
        var justice = Named("Maisons de justice (AGMJ)");
        Assert.Equal(OrganisationTypes.JusticeHouse, justice.Type);
        Assert.False(justice.AcceptsReferrals);
        foreach (var city in new[] { "Ville de Bruxelles", "Commune d'Anderlecht", "Ville de Liège", "Ville de Namur", "Ville de Charleroi" })
        {
            Assert.Equal(ServiceLevels.Local, Named(city).Level);
            Assert.Single(Named(city).CommuneCodes);
        }
    }

    [Fact]
    public async Task Orientation_ListsLocalThenRegionalThenCommunityServices_AcceptingReferrals()
    {
        await using var app = new MessagingApp(storage);
        await using var worker = await app.ConnectWorkerAsync(await app.CreateOrganisationAsync());

        var brussels = await worker.InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest("21004"));
        Assert.Equal(new CommuneEntry("21004", "Bruxelles", Regions.Brussels), brussels.Commune);
        Assert.Equal(["Ville de Bruxelles", "BPS — Brussels Prevention & Security", "CAPREV"], brussels.Services.Select(s => s.Name));
        Assert.Equal([ServiceLevels.Local, ServiceLevels.Regional, ServiceLevels.Community], brussels.Services.Select(s => s.Level));

        var liege = await worker.InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest("62063"));
        Assert.Equal(["Ville de Liège", "Région wallonne — dispositif régional", "CAPREV"], liege.Services.Select(s => s.Name));

        // A commune with no local service: regional, then community.
        var ixelles = await worker.InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest("21009"));
        Assert.Equal(["BPS — Brussels Prevention & Security", "CAPREV"], ixelles.Services.Select(s => s.Name));

        // Over HTTP too, for any authenticated device.
        var http = await app.ClientAsync(worker.Device);
        var overHttp = (await http.GetFromJsonAsync<OrientationResult>($"{ApiRoutes.Orientation}?commune=63079"))!;
        Assert.Equal("Ville de Verviers — SAFER", overHttp.Services[0].Name);

        await Refusal.AssertHubAsync(ErrorCodes.CommuneNotFound, () => worker.InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest("99999")));
        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => worker.InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest("Ixelles")));
        await Refusal.AssertHttpAsync(ErrorCodes.CommuneNotFound, 404, await http.GetAsync(new Uri($"{ApiRoutes.Orientation}?commune=12345", UriKind.Relative)));
    }

    [Fact]
    public async Task TheOperator_ChangesCommunesLevelAndAcceptance_AndOrientationFollows()
    {
        await using var app = new MessagingApp(storage);
        var http = await app.ClientAsync(await app.OperatorAsync());
        var added = await http.PostAsJsonAsync(ApiRoutes.DirectoryCommunesAdmin, new AddCommunesRequest(
            [new CommuneEntry("53053", "Mons", Regions.Wallonia), new CommuneEntry("21004", "Ignored duplicate", Regions.Brussels)]));
        Assert.Equal(1, (await added.Content.ReadFromJsonAsync<CommunesAdded>())!.Added);

        var mons = await app.CreateServiceAsync(OrganisationTypes.PreventionService, ServiceLevels.Local, name: "Ville de Mons");
        var update = await http.PutAsJsonAsync(ApiRoutes.DirectoryServiceFor(mons.Id), new UpdateDirectoryServiceRequest(CommuneCodes: ["53053"]));
        update.EnsureSuccessStatusCode();
        Assert.Equal(["53053"], (await update.Content.ReadFromJsonAsync<DirectoryServiceEntry>())!.CommuneCodes);

        await using var worker = await app.ConnectWorkerAsync(mons);
        async Task<List<string>> OrientAsync(string code)
            => [.. (await worker.InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest(code))).Services.Select(s => s.Name)];
        Assert.Equal(["Ville de Mons", "Région wallonne — dispositif régional", "CAPREV"], await OrientAsync("53053"));

        // No longer accepting referrals: gone from orientation.
        (await http.PutAsJsonAsync(ApiRoutes.DirectoryServiceFor(mons.Id), new UpdateDirectoryServiceRequest(AcceptsReferrals: false))).EnsureSuccessStatusCode();
        Assert.Equal(["Région wallonne — dispositif régional", "CAPREV"], await OrientAsync("53053"));

        // Promoted to regional for Wallonia: listed for every Walloon commune, after local services.
        (await http.PutAsJsonAsync(ApiRoutes.DirectoryServiceFor(mons.Id), new UpdateDirectoryServiceRequest(ServiceLevels.Regional, Regions.Wallonia, true))).EnsureSuccessStatusCode();
        Assert.Equal(["Ville de Namur", "Région wallonne — dispositif régional", "Ville de Mons", "CAPREV"], await OrientAsync("92094"));

        await Refusal.AssertHttpAsync(ErrorCodes.CommuneNotFound, 404,
            await http.PutAsJsonAsync(ApiRoutes.DirectoryServiceFor(mons.Id), new UpdateDirectoryServiceRequest(CommuneCodes: ["99999"])));
        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400,
            await http.PutAsJsonAsync(ApiRoutes.DirectoryServiceFor(mons.Id), new UpdateDirectoryServiceRequest(ServiceLevels.Regional, "flanders")));
        await Refusal.AssertHttpAsync(ErrorCodes.OrganisationNotFound, 404,
            await http.PutAsJsonAsync(ApiRoutes.DirectoryServiceFor(Guid.NewGuid()), new UpdateDirectoryServiceRequest(AcceptsReferrals: true)));
        Assert.True(await app.CountAsync("audit_log", "event_type = 'directory.service-updated'") >= 3);
        Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'directory.communes-added'"));
    }

    [Theory]
    [InlineData(Roles.OrganisationAdmin)]
    [InlineData(Roles.Worker)]
    [InlineData(Roles.JusticeAssistant)]
    public async Task OnlyTheOperator_AdministersTheDirectory(string role)
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync(role == Roles.JusticeAssistant ? OrganisationTypes.JusticeHouse : OrganisationTypes.PreventionService);
        var device = role == Roles.OrganisationAdmin ? organisation.Admin : await app.EnrolDeviceAsync(await app.CreateMemberAsync(organisation, role));
        var http = await app.ClientAsync(device);
        var before = await app.CountAsync("organisation_communes");

        await Refusal.AssertHttpAsync(ErrorCodes.Forbidden, 403, await http.GetAsync(new Uri(ApiRoutes.DirectoryServices, UriKind.Relative)));
        await Refusal.AssertHttpAsync(ErrorCodes.Forbidden, 403,
            await http.PutAsJsonAsync(ApiRoutes.DirectoryServiceFor(organisation.Id), new UpdateDirectoryServiceRequest(CommuneCodes: ["21004"])));
        await Refusal.AssertHttpAsync(ErrorCodes.Forbidden, 403,
            await http.PostAsJsonAsync(ApiRoutes.DirectoryCommunesAdmin, new AddCommunesRequest([new CommuneEntry("53053", "Mons", Regions.Wallonia)])));
        Assert.Equal(before, await app.CountAsync("organisation_communes"));
        Assert.Equal(0, await app.CountAsync("communes", "nis_code = '53053'"));

        // Reading communes and orienting is open to every authenticated device.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(ApiRoutes.DirectoryCommunes, UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateClient().GetAsync(new Uri($"{ApiRoutes.Orientation}?commune=21004", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task DirectoryEntries_ExposeNoPersonalData()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        await app.CreateMemberAsync(organisation, displayName: "Zoé Directory-Leak", email: "zoe.leak@service.example");
        var http = await app.ClientAsync(await app.OperatorAsync());

        foreach (var route in new[] { ApiRoutes.DirectoryServices, ApiRoutes.DirectoryCommunes, $"{ApiRoutes.Orientation}?commune=21004" })
        {
            var body = await http.GetStringAsync(new Uri(route, UriKind.Relative));
            Assert.DoesNotContain("Directory-Leak", body, StringComparison.Ordinal);
            Assert.DoesNotContain("zoe.leak", body, StringComparison.Ordinal);
            Assert.DoesNotContain("memberId", body, StringComparison.OrdinalIgnoreCase);
        }
    }

    public sealed class OnSqlite() : DirectoryTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : DirectoryTests(StorageProvider.Postgres);
}
