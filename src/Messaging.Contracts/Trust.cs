namespace Messaging.Contracts;

/// <summary>Routes of the member-key (cross-signing) calls, all authenticated with the device's bearer token.</summary>
public static class TrustRoutes
{
    /// <summary>POST <see cref="PublishMemberKeyRequest"/>: a member's first device (or a reset) publishes the member
    /// signing key with the certificates it signs.</summary>
    public const string MemberKey = "/api/devices/member-key";

    /// <summary>POST <see cref="ApproveDeviceRequest"/>: a vouched device of the member approves a pending one.</summary>
    public const string Approvals = "/api/devices/approvals";

    /// <summary>GET: the member key sealed to the calling device by the device that approved it.</summary>
    public const string Grant = "/api/devices/member-key-grant";
}

/// <summary>One certificate a device signs with the member key, and the member key sealed to that device (null for the
/// signing device itself).</summary>
/// <param name="Certificate">A 234-byte device certificate (docs/crypto.md).</param>
/// <param name="SealedMemberKey">The member key sealed to the certified device, or null for the publishing device.</param>
public sealed record CertifiedDevice(byte[] Certificate, byte[]? SealedMemberKey);

/// <summary>Publishes a member signing key: the announcement and, first, the publishing device's own certificate; then,
/// for a migration, certificates of the member's other active devices with the key sealed to each.</summary>
/// <param name="Announcement">The 121-byte self-signed member key announcement.</param>
/// <param name="Certificates">At least the caller's own certificate; at most one per active device of the member.</param>
public sealed record PublishMemberKeyRequest(byte[] Announcement, IReadOnlyList<CertifiedDevice> Certificates);

/// <summary>What publishing did.</summary>
/// <param name="KeyLogIndex">The key-log index of the member-key entry.</param>
/// <param name="Reset">True when it replaced an earlier member key (the member's other devices were revoked).</param>
public sealed record MemberKeyPublished(long KeyLogIndex, bool Reset);

/// <summary>Approves a pending device of the caller's member.</summary>
/// <param name="Certificate">The certificate signed with the member key.</param>
/// <param name="SealedMemberKey">The member key sealed to the approved device's X25519 identity key.</param>
public sealed record ApproveDeviceRequest(byte[] Certificate, byte[] SealedMemberKey);

/// <summary>An approval recorded.</summary>
public sealed record DeviceApproved(Guid DeviceId, long KeyLogIndex);

/// <summary>The member key sealed to the calling device (opaque to the server).</summary>
public sealed record MemberKeyGrant(byte[] SealedMemberKey);
