using System.Data.Common;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Directory;
using Messaging.Server.Features.Organisations;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Members;

internal sealed record MemberRecord(Guid Id, Guid OrganisationId, string DisplayName, string Role, string WorkEmail, DateTimeOffset CreatedAt);

internal static class MemberRepository
{
    private const string Columns = "id, organisation_id, display_name, role, work_email, created_at";

    public static Task InsertAsync(DbSession session, MemberRecord member) => session.ExecuteAsync(
        $"INSERT INTO members ({Columns}) VALUES (@id, @org, @name, @role, @email, @at);",
        ("@id", member.Id), ("@org", member.OrganisationId), ("@name", member.DisplayName), ("@role", member.Role),
        ("@email", member.WorkEmail), ("@at", member.CreatedAt));

    public static Task<MemberRecord?> GetAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        $"SELECT {Columns} FROM members WHERE id = @id;", Map, ("@id", id));

    public static Task<List<MemberRecord>> ListAsync(DbSession session, Guid? organisationId) => organisationId is { } org
        ? session.QueryAsync($"SELECT {Columns} FROM members WHERE organisation_id = @org ORDER BY display_name, id;", Map, ("@org", org))
        : session.QueryAsync($"SELECT {Columns} FROM members ORDER BY display_name, id;", Map);

    private static MemberRecord Map(DbDataReader r)
        => new(r.GetGuidValue(0), r.GetGuidValue(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInstant(5));
}

/// <summary>Enrolment-code lifetime (section <c>Messaging:Members</c>).</summary>
public sealed class MembersOptions
{
    public const string Section = "Messaging:Members";

    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan EnrolmentCodeLifetime { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>What an enrolment code is for.</summary>
internal enum EnrolmentCodeKind
{
    /// <summary>The member has no active device: the code enrols its first (or, after every device was revoked, its
    /// next first) device.</summary>
    FirstDevice,

    /// <summary>The member already has an active device: the device it enrols is pending until an existing device
    /// approves it, or resets the member key (contacts are warned). Audited as a reset.</summary>
    Reset,
}

/// <summary>
/// Who may issue which enrolment code (issue 10). A pure rule:
/// <list type="bullet">
/// <item>an organisation admin issues codes for members of their own organisation (never platform operators); a code
/// for a member who already has an active device is a <see cref="EnrolmentCodeKind.Reset"/>;</item>
/// <item>the platform operator issues codes only for organisation admins and platform operators who have no active
/// device, and for an organisation admin only while no admin of that organisation has an active device (the first
/// admin) — never for members of an organisation that has one, and never a reset;</item>
/// <item>no other role issues codes.</item>
/// </list>
/// A code never gives its holder anyone's conversations: the device it enrols gets nothing until a device of the same
/// member signs it (or it resets the member key, which every contact sees as a blocking warning).
/// </summary>
internal static class EnrolmentCodePolicy
{
    /// <summary>The audit detail of a reset code.</summary>
    public const string ResetDetail = "reset";

    /// <exception cref="ForbiddenException">The actor may not issue this code (<see cref="ErrorCodes.Forbidden"/>,
    /// <see cref="ErrorCodes.ResetRequiresOrganisationAdmin"/> or <see cref="ErrorCodes.OrganisationHasAdmin"/>).</exception>
    public static EnrolmentCodeKind Decide(string actorRole, Guid actorOrganisationId, string targetRole, Guid targetOrganisationId,
        bool targetHasActiveDevice, bool organisationHasAdminWithActiveDevice)
    {
        switch (actorRole)
        {
            case Roles.OrganisationAdmin when actorOrganisationId == targetOrganisationId && targetRole != Roles.PlatformOperator:
                return targetHasActiveDevice ? EnrolmentCodeKind.Reset : EnrolmentCodeKind.FirstDevice;
            case Roles.PlatformOperator when targetRole is Roles.OrganisationAdmin or Roles.PlatformOperator:
                if (targetHasActiveDevice)
                {
                    throw new ForbiddenException("This member already has an active device: only an admin of their organisation may issue a reset code.",
                        ErrorCodes.ResetRequiresOrganisationAdmin);
                }

                if (targetRole == Roles.OrganisationAdmin && organisationHasAdminWithActiveDevice)
                {
                    throw new ForbiddenException("This organisation has an admin with an active device: its admin issues its codes.", ErrorCodes.OrganisationHasAdmin);
                }

                return EnrolmentCodeKind.FirstDevice;
            default:
                throw new ForbiddenException("Your role does not allow issuing an enrolment code for this member.");
        }
    }
}

/// <summary>
/// Members and their enrolment codes (who issues which code: <see cref="EnrolmentCodePolicy"/>). Rights: an organisation admin creates workers, justice assistants and admins of
/// their own organisation and issues codes to its members; the platform operator creates organisation admins and
/// platform operators in any organisation and issues codes to them. A justice assistant belongs to a justice house.
/// </summary>
internal sealed class MemberService(IDatabase database, AuditLog audit, TimeProvider time, IOptions<MembersOptions> options)
{
    /// <summary>Creates a member. <paramref name="actor"/> is null only for host commands.</summary>
    public async Task<MemberCreated> CreateAsync(CallerDevice? actor, CreateMemberRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null)
        {
            throw new MalformedRequestException("A body is required.");
        }

        if (!Roles.IsKnown(request.Role))
        {
            throw new MalformedRequestException("Unknown role.");
        }

        var name = Text.RequireName(request.DisplayName, "display name");
        var email = Text.RequireEmail(request.WorkEmail);
        if (actor is not null)
        {
            RequireMayManage(actor, request.OrganisationId, request.Role);
        }

        var member = new MemberRecord(Guid.NewGuid(), request.OrganisationId, name, request.Role, email, DbValues.ToStoragePrecision(time.GetUtcNow()));
        await database.WriteAsync(async s =>
        {
            var organisation = await OrganisationRepository.GetAsync(s, request.OrganisationId)
                ?? throw new NotFoundException(ErrorCodes.OrganisationNotFound, "No such organisation.");
            RequireRoleFitsOrganisation(request.Role, organisation.Type);
            await RequireStillPartnerAsync(s, organisation.Id);
            await MemberRepository.InsertAsync(s, member);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.MemberCreated, actor?.MemberId, actor?.DeviceId,
                [AuditSubject.Member(member.Id), AuditSubject.Organisation(member.OrganisationId)], member.Role));
            return member;
        }, cancellationToken);
        return new MemberCreated(member.Id, member.OrganisationId, member.Role);
    }

    /// <summary>Issues a one-time enrolment code for a member. <paramref name="actor"/> is null only for host commands.</summary>
    public async Task<EnrolmentCodeIssued> IssueEnrolmentCodeAsync(CallerDevice? actor, Guid memberId, CancellationToken cancellationToken = default)
    {
        var code = EnrolmentCodes.Generate();
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var expiresAt = now + options.Value.EnrolmentCodeLifetime;
        await database.WriteAsync(async s =>
        {
            var member = await MemberRepository.GetAsync(s, memberId)
                ?? throw new NotFoundException(ErrorCodes.MemberNotFound, "No such member.");
            var hasActiveDevice = (await DeviceRepository.ListActiveByMemberAsync(s, member.Id)).Count > 0;
            var kind = actor is null
                ? (hasActiveDevice ? EnrolmentCodeKind.Reset : EnrolmentCodeKind.FirstDevice)
                : EnrolmentCodePolicy.Decide(actor.Role, actor.OrganisationId, member.Role, member.OrganisationId, hasActiveDevice,
                    await OrganisationHasAdminWithActiveDeviceAsync(s, member.OrganisationId));

            await RequireStillPartnerAsync(s, member.OrganisationId);
            await EnrolmentCodes.InsertAsync(s, EnrolmentCodes.Hash(code), member.Id, actor?.MemberId, now, expiresAt);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.EnrolmentCodeIssued, actor?.MemberId, actor?.DeviceId,
                [AuditSubject.Member(member.Id)], kind == EnrolmentCodeKind.Reset ? EnrolmentCodePolicy.ResetDetail : null));
            return member;
        }, cancellationToken);
        return new EnrolmentCodeIssued(memberId, code, expiresAt);
    }

    public async Task<IReadOnlyList<MemberEntry>> ListAsync(Guid? organisationId, CancellationToken cancellationToken = default)
    {
        return await database.ReadAsync(async s =>
        {
            var members = await MemberRepository.ListAsync(s, organisationId);
            var devices = await DeviceRepository.ListActiveDeviceIdsAsync(s, organisationId);
            return (IReadOnlyList<MemberEntry>)[.. members.Select(m => new MemberEntry(m.Id, m.OrganisationId, m.DisplayName, m.Role,
                devices.TryGetValue(m.Id, out var ids) ? ids : []))];
        }, cancellationToken);
    }

    private static async Task<bool> OrganisationHasAdminWithActiveDeviceAsync(DbSession session, Guid organisationId)
        => await session.ScalarInt64Async(
            """
            SELECT COUNT(*) FROM devices d JOIN members m ON m.id = d.member_id
            WHERE m.organisation_id = @org AND m.role = @role AND d.status = 'active';
            """,
            ("@org", organisationId), ("@role", Roles.OrganisationAdmin)) > 0;

    /// <summary>The admin rights rule, shared with device revocation.</summary>
    internal static void RequireMayManage(CallerDevice actor, Guid organisationId, string targetRole)
    {
        var allowed = actor.Role switch
        {
            Roles.PlatformOperator => targetRole is Roles.OrganisationAdmin or Roles.PlatformOperator,
            Roles.OrganisationAdmin => actor.OrganisationId == organisationId && targetRole != Roles.PlatformOperator,
            _ => false,
        };
        if (!allowed)
        {
            throw new ForbiddenException("Your role does not allow managing this member.");
        }
    }

    /// <summary>A withdrawn partner gets no new member and no new device (protocol section 9).</summary>
    private static async Task RequireStillPartnerAsync(DbSession session, Guid organisationId)
    {
        if (await DirectoryRepository.GetAsync(session, organisationId) is { PartnerStatus: PartnerStatuses.Withdrawn })
        {
            throw new ForbiddenException("This organisation has left the protocol.", ErrorCodes.PartnerWithdrawn);
        }
    }

    private static void RequireRoleFitsOrganisation(string role, string organisationType)
    {
        var fits = role switch
        {
            Roles.JusticeAssistant => organisationType == OrganisationTypes.JusticeHouse,
            _ => true,
        };
        if (!fits)
        {
            throw new ForbiddenException($"A {role} cannot belong to a {organisationType} organisation.");
        }
    }
}

internal static class MembersFeature
{
    public static IServiceCollection AddMembers(this IServiceCollection services)
    {
        services.AddOptions<MembersOptions>().BindConfiguration(MembersOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MemberService>();
        return services;
    }

    public static IEndpointRouteBuilder MapMembers(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(ApiRoutes.Members, async Task<Created<MemberCreated>> (
                CreateMemberRequest request, HttpContext http, MemberService service) =>
            {
                var created = await service.CreateAsync(CallerDevice.From(http.User), request, http.RequestAborted);
                return TypedResults.Created($"{ApiRoutes.Members}/{created.MemberId:D}", created);
            })
            .RequireAuthorization()
            .WithName("CreateMember");

        endpoints.MapPost(ApiRoutes.EnrolmentCodes, async Task<Ok<EnrolmentCodeIssued>> (
                Guid memberId, HttpContext http, MemberService service) =>
            {
                var issued = await service.IssueEnrolmentCodeAsync(CallerDevice.From(http.User), memberId, http.RequestAborted);
                return TypedResults.Ok(issued);
            })
            .RequireAuthorization()
            .WithName("IssueEnrolmentCode");
        return endpoints;
    }
}
