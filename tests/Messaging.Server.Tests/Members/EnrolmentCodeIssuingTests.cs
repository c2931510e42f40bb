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

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
        => (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).TryGetProperty("code", out var code) ? code.GetString() : null;

    public sealed class OnSqlite() : EnrolmentCodeIssuingTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : EnrolmentCodeIssuingTests(StorageProvider.Postgres);
}
