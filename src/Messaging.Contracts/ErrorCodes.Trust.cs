namespace Messaging.Contracts;

/// <content>Codes of the member-key (cross-signing) calls and of the enrolment-code issuance rule.</content>
public static partial class ErrorCodes
{
    /// <summary>The member key announcement is malformed, not self-signed, or names another member.</summary>
    public const string MemberKeyInvalid = "trust.member-key-invalid";

    /// <summary>This device is already vouched for under the member's current key: approve new devices instead of
    /// publishing a key.</summary>
    public const string MemberKeyExists = "trust.member-key-exists";

    /// <summary>The member has no signing key yet: its first device publishes one.</summary>
    public const string MemberKeyMissing = "trust.member-key-missing";

    /// <summary>A device certificate is malformed, not signed by the member's current key, or names another member,
    /// device or identity key.</summary>
    public const string CertificateInvalid = "trust.certificate-invalid";

    /// <summary>The approving device is not itself vouched for under the member's current key.</summary>
    public const string ApproverNotVouched = "trust.approver-not-vouched";

    /// <summary>The device to approve is not an active, not yet approved device of the caller's member.</summary>
    public const string DeviceNotPending = "trust.device-not-pending";

    /// <summary>This device awaits approval: its member has a signing key that does not vouch for it yet. Until an
    /// existing device of the member approves it (or it resets the member key), it keeps its own keys up to date and
    /// reads the directory, and acts for its member in nothing else.</summary>
    public const string DeviceAwaitingApproval = "trust.device-awaiting-approval";

    /// <summary>No member key was sealed to this device (it is not approved yet).</summary>
    public const string GrantNotFound = "trust.grant-not-found";

    /// <summary>A code for a member who already has an active device is a reset: only an organisation admin of that
    /// member's organisation issues it.</summary>
    public const string ResetRequiresOrganisationAdmin = "enrolment.reset-requires-organisation-admin";

    /// <summary>The platform operator issues codes only for the first admin of an organisation that has no admin with an
    /// active device.</summary>
    public const string OrganisationHasAdmin = "enrolment.organisation-has-admin";
}
