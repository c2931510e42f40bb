using System.Net;
using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Members;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests;

/// <summary>Issue 10 on the server: who issues which enrolment code (<see cref="EnrolmentCodePolicy"/>), and a reset code
/// is audited.</summary>
public abstract class EnrolmentCodeIssuingTests(StorageProvider storage)
{
    private static readonly Guid OrgA = Guid.Parse("0000000a-0000-0000-0000-000000000000");
    private static readonly Guid OrgB = Guid.Parse("0000000b-0000-0000-0000-000000000000");

    /// <summary>Actor × target: the first admin of an organisation with no admin device, an admin of an organisation that
    /// has one, a member without and with an active device. Expected: "first", "reset" or the refusal code.</summary>
    public static TheoryData<string, Guid, string, bool, bool, string> IssuanceMatrix => new()
    {
        { Roles.PlatformOperator, OrgB, Roles.OrganisationAdmin, false, false, "first" },
        { Roles.PlatformOperator, OrgA, Roles.OrganisationAdmin, false, true, ErrorCodes.OrganisationHasAdmin },
        { Roles.PlatformOperator, OrgA, Roles.OrganisationAdmin, true, true, ErrorCodes.ResetRequiresOrganisationAdmin },
        { Roles.PlatformOperator, OrgA, Roles.Worker, false, true, ErrorCodes.Forbidden },
        { Roles.PlatformOperator, OrgA, Roles.Worker, true, true, ErrorCodes.Forbidden },
        { Roles.PlatformOperator, OrgB, Roles.Worker, false, false, ErrorCodes.Forbidden },
        { Roles.PlatformOperator, OrgA, Roles.PlatformOperator, false, true, "first" },
        { Roles.PlatformOperator, OrgA, Roles.PlatformOperator, true, true, ErrorCodes.ResetRequiresOrganisationAdmin },
        { Roles.OrganisationAdmin, OrgA, Roles.OrganisationAdmin, false, true, "first" },
        { Roles.OrganisationAdmin, OrgA, Roles.OrganisationAdmin, true, true, "reset" },
        { Roles.OrganisationAdmin, OrgA, Roles.Worker, false, true, "first" },
        { Roles.OrganisationAdmin, OrgA, Roles.Worker, true, true, "reset" },
        { Roles.OrganisationAdmin, OrgA, Roles.JusticeAssistant, true, true, "reset" },
        { Roles.OrganisationAdmin, OrgA, Roles.PlatformOperator, false, true, ErrorCodes.Forbidden },
        { Roles.OrganisationAdmin, OrgB, Roles.Worker, false, false, ErrorCodes.Forbidden },
        { Roles.OrganisationAdmin, OrgB, Roles.OrganisationAdmin, false, false, ErrorCodes.Forbidden },
        { Roles.Worker, OrgA, Roles.Worker, false, true, ErrorCodes.Forbidden },
        { Roles.Worker, OrgA, Roles.Worker, true, true, ErrorCodes.Forbidden },
        { Roles.Worker, OrgB, Roles.OrganisationAdmin, false, false, ErrorCodes.Forbidden },
        { Roles.JusticeAssistant, OrgA, Roles.Worker, false, true, ErrorCodes.Forbidden },
    };

    [Theory]
    [MemberData(nameof(IssuanceMatrix))]
    public void WhoMayIssueWhichEnrolmentCode_FollowsTheMatrix(string actorRole, Guid targetOrganisation, string targetRole, bool targetHasDevice, bool organisationHasAdminDevice, string expected)
    {
        string outcome;
        try
        {
            outcome = EnrolmentCodePolicy.Decide(actorRole, OrgA, targetRole, targetOrganisation, targetHasDevice, organisationHasAdminDevice) == EnrolmentCodeKind.Reset ? "reset" : "first";
        }
        catch (ForbiddenException ex)
        {
            outcome = ex.Code;
        }

        Assert.Equal(expected, outcome);
    }

    [Fact]
    public async Task TheOperator_IsRefusedACodeForAnOrganisationWithAnAdminDevice_AndAnAdminsResetCode_IsAudited()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var operatorClient = await app.ClientAsync(await app.OperatorAsync());
        var secondAdmin = await app.CreateMemberAsync(organisation, Roles.OrganisationAdmin);
        var worker = await app.CreateMemberAsync(organisation);
        await app.EnrolDeviceAsync(worker);

        var forAdmin = await operatorClient.PostAsync(ApiRoutes.EnrolmentCodesFor(organisation.Admin.Member.Id), null);
        var forSecondAdmin = await operatorClient.PostAsync(ApiRoutes.EnrolmentCodesFor(secondAdmin.Id), null);
        var forWorker = await operatorClient.PostAsync(ApiRoutes.EnrolmentCodesFor(worker.Id), null);
        Assert.Equal((HttpStatusCode.Forbidden, ErrorCodes.ResetRequiresOrganisationAdmin), (forAdmin.StatusCode, await CodeAsync(forAdmin)));
        Assert.Equal((HttpStatusCode.Forbidden, ErrorCodes.OrganisationHasAdmin), (forSecondAdmin.StatusCode, await CodeAsync(forSecondAdmin)));
        Assert.Equal(HttpStatusCode.Forbidden, forWorker.StatusCode);

        var resets = await app.CountAsync("audit_log", "event_type = 'enrolment-code.issued' AND detail = 'reset'");
        var admin = await app.ClientAsync(organisation.Admin);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(ApiRoutes.EnrolmentCodesFor(worker.Id), null)).StatusCode);
        Assert.Equal(resets + 1, await app.CountAsync("audit_log", "event_type = 'enrolment-code.issued' AND detail = 'reset'"));
    }

    [Fact]
    public async Task ACodeIsJudgedAgainAtEnrolment_ASpareCodeDiesWithTheFirstEnrolment_AndAnEnrolmentBesideAnActiveDeviceIsAuditedAsAReset()
    {
        await using var app = new MessagingApp(storage);
        var op = await app.OperatorAsync();
        var operatorClient = await app.ClientAsync(op);
        var created = await operatorClient.PostAsJsonAsync(ApiRoutes.Organisations, new CreateOrganisationRequest("Ville de Namur", OrganisationTypes.PreventionService));
        var organisation = (await created.Content.ReadFromJsonAsync<OrganisationEntry>())!.OrganisationId;
        var first = await app.CreateMemberAsync(op, organisation, Roles.OrganisationAdmin);
        var second = await app.CreateMemberAsync(op, organisation, Roles.OrganisationAdmin);

        // While the organisation has no admin with a device, the operator may issue first-admin codes: two for the first
        // admin (one to spare), one for the second.
        async Task<string> IssueAsync(HttpClient client, Guid member)
        {
            var response = await client.PostAsync(ApiRoutes.EnrolmentCodesFor(member), null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<EnrolmentCodeIssued>())!.Code;
        }

        var firstCode = await IssueAsync(operatorClient, first.Id);
        var spareCode = await IssueAsync(operatorClient, first.Id);
        var secondCode = await IssueAsync(operatorClient, second.Id);
        var firstKeys = DeviceKeys.Generate(5);
        var enrolled = await app.PostEnrolmentAsync(firstKeys.Request(firstCode));
        Assert.Equal(HttpStatusCode.Created, enrolled.StatusCode);
        var firstDevice = new TestDevice((await enrolled.Content.ReadFromJsonAsync<EnrolDeviceResponse>())!.DeviceId, first, firstKeys);
        var devices = await app.CountAsync("devices");

        // The spare code went with the first enrolment; the second admin's code, issued by the operator, is void now that
        // the organisation has an admin with a device: its admin issues its codes. Neither changes anything.
        var spare = await app.PostEnrolmentAsync(DeviceKeys.Generate(5).Request(spareCode));
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.EnrolmentCodeUnknown), (spare.StatusCode, await CodeAsync(spare)));
        var late = await app.PostEnrolmentAsync(DeviceKeys.Generate(5).Request(secondCode));
        Assert.Equal((HttpStatusCode.Forbidden, ErrorCodes.OrganisationHasAdmin), (late.StatusCode, await CodeAsync(late)));
        Assert.Equal(devices, await app.CountAsync("devices"));
        Assert.Equal(1, await app.CountAsync("enrolment_codes", "used_at IS NULL"));

        // An enrolment beside an active device of the member is a reset in the audit log, whatever the code was issued as.
        var adminClient = await app.ClientAsync(firstDevice);
        var worker = await app.CreateMemberAsync(firstDevice, organisation, Roles.Worker);
        var workerFirst = await IssueAsync(adminClient, worker.Id);
        Assert.Equal(HttpStatusCode.Created, (await app.PostEnrolmentAsync(DeviceKeys.Generate(5).Request(workerFirst))).StatusCode);
        Assert.Equal(0, await app.CountAsync("audit_log", "event_type = 'device.enrolled' AND detail = 'reset'"));
        var resetCode = await IssueAsync(adminClient, worker.Id);
        Assert.Equal(HttpStatusCode.Created, (await app.PostEnrolmentAsync(DeviceKeys.Generate(5).Request(resetCode))).StatusCode);
        Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'device.enrolled' AND detail = 'reset'"));
    }

    [Fact]
    public async Task TheOperator_WhoRevokedAnOrganisationsAdmins_MayRecoverAnAdmin_ButNotEnrolAFreshOne()
    {
        Assert.Equal(EnrolmentCodeKind.FirstDevice, EnrolmentCodePolicy.Decide(Roles.PlatformOperator, OrgA, Roles.OrganisationAdmin, OrgB, false, false, anotherAdminHasMemberKey: false));
        var pure = Assert.Throws<ForbiddenException>(() => EnrolmentCodePolicy.Decide(Roles.PlatformOperator, OrgA, Roles.OrganisationAdmin, OrgB, false, false, anotherAdminHasMemberKey: true));
        Assert.Equal(ErrorCodes.OrganisationHasAdmin, pure.Code);

        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var admin = organisation.Admin;
        using (var memberKey = Messaging.Crypto.CrossSigning.MemberSigningKey.Generate(admin.Member.Id))
        {
            var now = app.Clock.GetUtcNow();
            var published = await (await app.ClientAsync(admin)).PostAsJsonAsync(TrustRoutes.MemberKey, new PublishMemberKeyRequest(memberKey.Announce(now).ToBytes(),
                [new CertifiedDevice(memberKey.Certify(admin.Id, admin.Keys.Identity.PublicKey, now).ToBytes(), null)]));
            Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        }

        // The operator may revoke any device, the admin's included: the organisation then has no admin with a device.
        var op = await app.OperatorAsync();
        var operatorClient = await app.ClientAsync(op);
        var revoked = await operatorClient.PostAsync(ApiRoutes.RevokeDevice.Replace("{deviceId:guid}", admin.Id.ToString("D"), StringComparison.Ordinal), null);
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);

        // A fresh admin of its own, whose first member key no contact would question: refused.
        var fresh = await app.CreateMemberAsync(op, organisation.Id, Roles.OrganisationAdmin);
        var forFresh = await operatorClient.PostAsync(ApiRoutes.EnrolmentCodesFor(fresh.Id), null);
        Assert.Equal((HttpStatusCode.Forbidden, ErrorCodes.OrganisationHasAdmin), (forFresh.StatusCode, await CodeAsync(forFresh)));

        // The admin it revoked: allowed (a recovery), and that admin's new device resets the member key, which every
        // contact sees.
        Assert.Equal(HttpStatusCode.OK, (await operatorClient.PostAsync(ApiRoutes.EnrolmentCodesFor(admin.Member.Id), null)).StatusCode);
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
        => (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).TryGetProperty("code", out var code) ? code.GetString() : null;

    public sealed class OnSqlite() : EnrolmentCodeIssuingTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : EnrolmentCodeIssuingTests(StorageProvider.Postgres);
}
