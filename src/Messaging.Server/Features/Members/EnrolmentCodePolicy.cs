using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Devices;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Members;

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
/// device, and for an organisation admin only while no admin of that organisation has an active device and no other
/// admin of it ever published a member key (the first admin, or the recovery of an admin whose new device then resets
/// that admin's key, which every contact sees) — never for members of an organisation that has one, never a reset, and
/// never a fresh admin beside admins whose devices were revoked (the operator may revoke any device: it could otherwise
/// revoke an organisation's admins and enrol an admin of its own, whose first key no contact questions);</item>
/// <item>no other role issues codes.</item>
/// </list>
/// A code never gives its holder anyone's conversations: the device it enrols gets nothing until a device of the same
/// member signs it (or it resets the member key, which every contact sees as a blocking warning).
/// </summary>
internal static class EnrolmentCodePolicy
{
    /// <summary>The audit detail of a reset code.</summary>
    public const string ResetDetail = "reset";

    /// <summary>
    /// Reads, in the caller's unit of work, the state the rule depends on for <paramref name="target"/> and applies it:
    /// when a code is issued, and again when it is used. <paramref name="actorRole"/> is null for a host command (or a
    /// code whose issuer is gone), which the rule does not bind: its code is a reset when the member has an active device.
    /// </summary>
    /// <inheritdoc cref="Decide" path="/exception"/>
    public static async Task<EnrolmentCodeKind> DecideAsync(DbSession session, string? actorRole, Guid actorOrganisationId, MemberRecord target)
    {
        var targetHasActiveDevice = (await DeviceRepository.ListActiveByMemberAsync(session, target.Id)).Count > 0;
        if (actorRole is null)
        {
            return targetHasActiveDevice ? EnrolmentCodeKind.Reset : EnrolmentCodeKind.FirstDevice;
        }

        return Decide(actorRole, actorOrganisationId, target.Role, target.OrganisationId, targetHasActiveDevice,
            await DeviceRepository.AnyActiveInOrganisationWithRoleAsync(session, target.OrganisationId, Roles.OrganisationAdmin),
            await MemberKeyRepository.AnotherAdminHasKeyAsync(session, target.OrganisationId, target.Id));
    }

    /// <exception cref="ForbiddenException">The actor may not issue this code (<see cref="ErrorCodes.Forbidden"/>,
    /// <see cref="ErrorCodes.ResetRequiresOrganisationAdmin"/> or <see cref="ErrorCodes.OrganisationHasAdmin"/>).</exception>
    public static EnrolmentCodeKind Decide(string actorRole, Guid actorOrganisationId, string targetRole, Guid targetOrganisationId,
        bool targetHasActiveDevice, bool organisationHasAdminWithActiveDevice, bool anotherAdminHasMemberKey = false)
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

                if (targetRole == Roles.OrganisationAdmin && anotherAdminHasMemberKey)
                {
                    throw new ForbiddenException("Another admin of this organisation has a member key: recover that admin, or use the host command.",
                        ErrorCodes.OrganisationHasAdmin);
                }

                return EnrolmentCodeKind.FirstDevice;
            default:
                throw new ForbiddenException("Your role does not allow issuing an enrolment code for this member.");
        }
    }
}
