using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Directory;
using Messaging.Server.Features.Organisations;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Members;

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
            var kind = await EnrolmentCodePolicy.DecideAsync(s, actor?.Role, actor?.OrganisationId ?? Guid.Empty, member);

            await RequireStillPartnerAsync(s, member.OrganisationId);
            await EnrolmentCodeRepository.InsertAsync(s, EnrolmentCodes.Hash(code), member.Id, actor?.MemberId, now, expiresAt);
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

    /// <summary>The admin rights rule for creating members (device revocation has its own, in DeviceService).</summary>
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
