namespace Messaging.Contracts;

/// <summary>HTTP routes.</summary>
public static class ApiRoutes
{
    /// <summary>POST <see cref="EnrolDeviceRequest"/> → <see cref="EnrolDeviceResponse"/>. No token.</summary>
    public const string Enrolment = "/api/enrolment";

    /// <summary>POST <see cref="ChallengeRequest"/> → <see cref="ChallengeResponse"/>. No token.</summary>
    public const string AuthChallenge = "/api/auth/challenge";

    /// <summary>POST <see cref="TokenRequest"/> → <see cref="TokenResponse"/>. No token.</summary>
    public const string AuthToken = "/api/auth/token";

    /// <summary>POST <see cref="CreateOrganisationRequest"/> → <see cref="OrganisationEntry"/>. Platform operator.</summary>
    public const string Organisations = "/api/admin/organisations";

    /// <summary>POST <see cref="CreateMemberRequest"/> → <see cref="MemberCreated"/>. Org admin (own organisation) or
    /// platform operator.</summary>
    public const string Members = "/api/admin/members";

    /// <summary>POST → <see cref="EnrolmentCodeIssued"/>. Route template with <c>{memberId}</c>.</summary>
    public const string EnrolmentCodes = "/api/admin/members/{memberId:guid}/enrolment-codes";

    /// <summary>POST → 204. Route template with <c>{deviceId}</c>.</summary>
    public const string RevokeDevice = "/api/admin/devices/{deviceId:guid}/revoke";

    /// <summary>GET → <see cref="DirectoryServiceEntry"/>[]. Platform operator.</summary>
    public const string DirectoryServices = "/api/admin/directory/services";

    /// <summary>PUT <see cref="UpdateDirectoryServiceRequest"/> → <see cref="DirectoryServiceEntry"/>. Platform operator.
    /// Route template with <c>{organisationId}</c>.</summary>
    public const string DirectoryService = "/api/admin/directory/services/{organisationId:guid}";

    /// <summary>POST <see cref="AddCommunesRequest"/> → <see cref="CommunesAdded"/>. Platform operator.</summary>
    public const string DirectoryCommunesAdmin = "/api/admin/directory/communes";

    /// <summary>GET → <see cref="CommuneEntry"/>[]. Any authenticated device.</summary>
    public const string DirectoryCommunes = "/api/directory/communes";

    /// <summary>GET <c>?commune=&lt;NIS code&gt;</c> → <see cref="OrientationResult"/>. Any authenticated device.</summary>
    public const string Orientation = "/api/directory/orientation";

    /// <summary>POST <see cref="FileJoinRequest"/> → 201 <see cref="JoinRequestEntry"/> (platform operator); GET →
    /// <see cref="JoinRequestEntry"/>[] (platform operator, org admins).</summary>
    public const string JoinRequests = "/api/admin/partners/join-requests";

    /// <summary>POST <see cref="FileWithdrawalRequest"/> → 201 <see cref="WithdrawalEntry"/> (org admin for their own
    /// organisation, platform operator); GET → <see cref="WithdrawalEntry"/>[].</summary>
    public const string Withdrawals = "/api/admin/partners/withdrawals";

    /// <summary>Dead-lettered deliveries of notices to a Maison de justice's intake (operator): GET lists, POST {noticeId}/retry.</summary>
    public const string NoticeIntakeDeadLetters = "/api/admin/notices/intake/dead-letters";

    /// <summary>GET <c>?year=2031&amp;granularity=quarter&amp;format=csv|json</c> → the follow-up committee report.
    /// Platform operator.</summary>
    public const string ReferralReport = "/api/admin/reports/referrals";

    /// <summary>The directory route for one service.</summary>
    public static string DirectoryServiceFor(Guid organisationId) => $"/api/admin/directory/services/{organisationId:D}";

    /// <summary>The enrolment-code route for one member.</summary>
    public static string EnrolmentCodesFor(Guid memberId) => $"/api/admin/members/{memberId:D}/enrolment-codes";

    /// <summary>The revocation route for one device.</summary>
    public static string RevokeDeviceFor(Guid deviceId) => $"/api/admin/devices/{deviceId:D}/revoke";
}

/// <summary>Enrol a device with a one-time code and its public keys.</summary>
/// <param name="Code">The enrolment code (case and dashes ignored).</param>
/// <param name="IdentityKey">The 129-byte identity public key.</param>
/// <param name="SignedPreKey">The signed prekey (signature checked).</param>
/// <param name="OneTimePreKeys">Initial one-time prekeys.</param>
public sealed record EnrolDeviceRequest(string Code, byte[] IdentityKey, SignedPreKeyData SignedPreKey, IReadOnlyList<OneTimePreKeyData> OneTimePreKeys)
{
    /// <summary>Never prints the code.</summary>
    public override string ToString() => $"EnrolDeviceRequest {{ Code = [REDACTED], OneTimePreKeys = {OneTimePreKeys?.Count ?? 0} }}";
}

/// <summary>The new device. <paramref name="MemberKeyPublished"/> says whether the member already has a signing key: if
/// so, the device waits for an existing device's approval (or resets the key); if not, it is the member's first device
/// and publishes one.</summary>
public sealed record EnrolDeviceResponse(Guid DeviceId, Guid MemberId, Guid OrganisationId, string Role, long KeyLogIndex, bool MemberKeyPublished = false);

/// <summary>Ask for an authentication challenge.</summary>
public sealed record ChallengeRequest(Guid DeviceId);

/// <summary>A single-use challenge to sign with the identity key (label <c>messaging.auth-challenge.v1</c>).</summary>
public sealed record ChallengeResponse(byte[] Challenge, DateTimeOffset ExpiresAt);

/// <summary>Exchange a signed challenge for a token.</summary>
public sealed record TokenRequest(Guid DeviceId, byte[] Challenge, byte[] Signature);

/// <summary>A short-lived bearer token for the hub and the admin endpoints.</summary>
public sealed record TokenResponse(string AccessToken, DateTimeOffset ExpiresAt)
{
    /// <summary>Never prints the token.</summary>
    public override string ToString() => $"TokenResponse {{ AccessToken = [REDACTED], ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>Create an organisation (type from <see cref="OrganisationTypes"/>). Directory data is optional: the level
/// defaults to local, and a prevention service accepts referrals unless told otherwise (other types never by
/// default).</summary>
public sealed record CreateOrganisationRequest(string Name, string Type, string? Level = null, string? Region = null, bool? AcceptsReferrals = null);

/// <summary>Create a member (role from <see cref="Roles"/>).</summary>
public sealed record CreateMemberRequest(Guid OrganisationId, string DisplayName, string Role, string WorkEmail)
{
    /// <summary>Never prints the name or email.</summary>
    public override string ToString() => $"CreateMemberRequest {{ OrganisationId = {OrganisationId:D}, Role = {Role} }}";
}

/// <summary>The created member.</summary>
public sealed record MemberCreated(Guid MemberId, Guid OrganisationId, string Role);

/// <summary>A one-time enrolment code, to hand to the member out of band.</summary>
public sealed record EnrolmentCodeIssued(Guid MemberId, string Code, DateTimeOffset ExpiresAt)
{
    /// <summary>Never prints the code.</summary>
    public override string ToString() => $"EnrolmentCodeIssued {{ MemberId = {MemberId:D}, Code = [REDACTED], ExpiresAt = {ExpiresAt:O} }}";
}
