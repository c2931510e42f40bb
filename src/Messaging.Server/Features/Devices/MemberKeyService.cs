using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Devices;

/// <summary>Audit event types of cross-signing.</summary>
internal static class TrustAuditEvents
{
    public const string MemberKeyPublished = "member-key.published";
    public const string MemberKeyReset = "member-key.reset";
    public const string DeviceCertified = "device.certified";
    public const string DeviceApproved = "device.approved";
}

/// <summary>
/// Cross-signing on the server (issue 10): stores each member's signing key and the device certificates it signed,
/// appends both to the key log, and keeps the member key sealed to each approved device. The server checks shapes and
/// signatures so that bad input gets a typed error, but trust never rests on it: clients verify every certificate
/// against the member key they pinned. Rules:
/// <list type="bullet">
/// <item>a member without a key: any of its active devices publishes one, certifying itself first and, for the
/// migration of existing devices, the member's other active devices (each with the key sealed to it);</item>
/// <item>a member with a key: a device already certified under it cannot publish another (it approves instead); any
/// other active device of the member may publish a new key — a <em>reset</em>: the member's other devices are revoked,
/// their certificates dropped, and contacts see a blocking warning;</item>
/// <item>an approval comes from a device certified under the current key, for an active uncertified device of the same
/// member, with a certificate that verifies under the current key.</item>
/// </list>
/// </summary>
internal sealed partial class MemberKeyService(
    IDatabase database,
    KeyLog keyLog,
    AuditLog audit,
    DeviceService devices,
    IDeviceSignals signals,
    TimeProvider time,
    ILogger<MemberKeyService> logger)
{
    public const int MaxCertificatesPerPublish = 100;
    private const int SealedGrantLength = 1 + 16 + MemberSigningKey.SeedLength + 48;

    public async Task<MemberKeyPublished> PublishAsync(CallerDevice caller, PublishMemberKeyRequest request, CancellationToken cancellationToken = default)
    {
        if (request?.Announcement is null || !MemberKeyAnnouncement.TryParse(request.Announcement, out var announcement) || announcement!.MemberId != caller.MemberId)
        {
            throw new MalformedRequestException("The member key announcement is malformed, not self-signed, or not this member's.", ErrorCodes.MemberKeyInvalid);
        }

        if (request.Certificates is null || request.Certificates.Count is 0 or > MaxCertificatesPerPublish)
        {
            throw new MalformedRequestException($"Between 1 and {MaxCertificatesPerPublish} certificates, the publishing device's first.", ErrorCodes.CertificateInvalid);
        }

        var memberKey = announcement.PublicKey.ToArray();
        var certificates = new List<(DeviceCertificate Certificate, byte[] Encoded, byte[]? Sealed)>();
        foreach (var (entry, i) in request.Certificates.Select((c, i) => (c, i)))
        {
            var certificate = ParseCertificate(entry?.Certificate, memberKey, caller.MemberId);
            var isOwn = i == 0;
            if (isOwn != (certificate.DeviceId == caller.DeviceId) || (!isOwn && !IsSealedGrant(entry!.SealedMemberKey))
                || certificates.Exists(c => c.Certificate.DeviceId == certificate.DeviceId))
            {
                throw new MalformedRequestException("The publishing device's certificate comes first, once; every other one carries the member key sealed to its device.", ErrorCodes.CertificateInvalid);
            }

            certificates.Add((certificate, entry!.Certificate, isOwn ? null : entry.SealedMemberKey));
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var revoked = new List<Guid>();
        var result = await database.WriteAsync(async s =>
        {
            revoked.Clear();
            var active = await DeviceRepository.ListActiveByMemberAsync(s, caller.MemberId);
            foreach (var (certificate, _, _) in certificates)
            {
                if (active.Find(d => d.Id == certificate.DeviceId) is not { } device || !device.IdentityKey.AsSpan().SequenceEqual(certificate.Identity.ToBytes()))
                {
                    throw new MalformedRequestException($"Device {certificate.DeviceId} is not an active device of this member with this identity key.", ErrorCodes.CertificateInvalid);
                }
            }

            var reset = await MemberKeyRepository.ExistsAsync(s, caller.MemberId);
            if (reset)
            {
                if (await MemberKeyRepository.IsCertifiedAsync(s, caller.DeviceId))
                {
                    throw new ConflictException(ErrorCodes.MemberKeyExists, "This device is vouched for under the member's key: approve new devices instead.");
                }

                if (certificates.Count > 1)
                {
                    throw new MalformedRequestException("A reset certifies the publishing device only.", ErrorCodes.CertificateInvalid);
                }

                foreach (var other in active.Where(d => d.Id != caller.DeviceId))
                {
                    if (await devices.RevokeWithinAsync(s, other, caller.MemberId, caller.DeviceId))
                    {
                        revoked.Add(other.Id);
                    }
                }

                await MemberKeyRepository.DeleteCertificatesAsync(s, caller.MemberId);
            }

            await MemberKeyRepository.UpsertAsync(s, caller.MemberId, memberKey, request.Announcement, now);
            var index = await keyLog.AppendAsync(s, KeyLogAction.MemberKey, caller.DeviceId, caller.MemberId, request.Announcement);
            await audit.AppendAsync(s, new AuditEvent(reset ? TrustAuditEvents.MemberKeyReset : TrustAuditEvents.MemberKeyPublished, caller.MemberId, caller.DeviceId,
                [AuditSubject.Member(caller.MemberId), AuditSubject.Device(caller.DeviceId)]));
            foreach (var (certificate, encoded, sealedKey) in certificates)
            {
                await MemberKeyRepository.InsertCertificateAsync(s, certificate.DeviceId, caller.MemberId, encoded, sealedKey, now);
                await keyLog.AppendAsync(s, KeyLogAction.DeviceCertified, certificate.DeviceId, caller.MemberId, encoded);
                await audit.AppendAsync(s, new AuditEvent(TrustAuditEvents.DeviceCertified, caller.MemberId, caller.DeviceId,
                    [AuditSubject.Device(certificate.DeviceId), AuditSubject.Member(caller.MemberId)]));
            }

            return new MemberKeyPublished(index, reset);
        }, cancellationToken);

        foreach (var device in revoked)
        {
            await signals.DeviceRevokedAsync(device);
        }

        LogPublished(logger, caller.MemberId, caller.DeviceId, result.Reset, certificates.Count);
        return result;
    }

    public async Task<DeviceApproved> ApproveAsync(CallerDevice caller, ApproveDeviceRequest request, CancellationToken cancellationToken = default)
    {
        if (request?.Certificate is null || !IsSealedGrant(request.SealedMemberKey))
        {
            throw new MalformedRequestException("A certificate and the member key sealed to the device are required.", ErrorCodes.CertificateInvalid);
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var approved = await database.WriteAsync(async s =>
        {
            var memberKey = await MemberKeyRepository.GetPublicKeyAsync(s, caller.MemberId)
                ?? throw new ConflictException(ErrorCodes.MemberKeyMissing, "This member has no signing key yet.");
            if (!await MemberKeyRepository.IsCertifiedAsync(s, caller.DeviceId))
            {
                throw new ForbiddenException("This device is not vouched for under the member's key.", ErrorCodes.ApproverNotVouched);
            }

            var certificate = ParseCertificate(request.Certificate, memberKey, caller.MemberId);
            var device = await DeviceRepository.GetAsync(s, certificate.DeviceId);
            if (device is not { IsActive: true } || device.MemberId != caller.MemberId || !device.IdentityKey.AsSpan().SequenceEqual(certificate.Identity.ToBytes())
                || await MemberKeyRepository.IsCertifiedAsync(s, device.Id))
            {
                throw new ConflictException(ErrorCodes.DeviceNotPending, "The certificate does not name an active device of this member awaiting approval.");
            }

            await MemberKeyRepository.InsertCertificateAsync(s, device.Id, caller.MemberId, request.Certificate, request.SealedMemberKey, now);
            var index = await keyLog.AppendAsync(s, KeyLogAction.DeviceCertified, device.Id, caller.MemberId, request.Certificate);
            await audit.AppendAsync(s, new AuditEvent(TrustAuditEvents.DeviceApproved, caller.MemberId, caller.DeviceId,
                [AuditSubject.Device(device.Id), AuditSubject.Member(caller.MemberId)]));
            return new DeviceApproved(device.Id, index);
        }, cancellationToken);
        LogApproved(logger, approved.DeviceId, caller.DeviceId);
        return approved;
    }

    public async Task<MemberKeyGrant> GetGrantAsync(CallerDevice caller, CancellationToken cancellationToken = default)
    {
        var grant = await database.ReadAsync(s => MemberKeyRepository.GetGrantAsync(s, caller.DeviceId), cancellationToken);
        return grant is null ? throw new NotFoundException(ErrorCodes.GrantNotFound, "No member key was sealed to this device.") : new MemberKeyGrant(grant);
    }

    private static DeviceCertificate ParseCertificate(byte[]? encoded, byte[] memberKey, Guid memberId)
    {
        if (encoded is null || !DeviceCertificate.TryParse(encoded, out var certificate) || certificate!.MemberId != memberId || !certificate.VerifiesUnder(memberKey))
        {
            throw new MalformedRequestException("A device certificate is malformed, names another member, or is not signed by the member's key.", ErrorCodes.CertificateInvalid);
        }

        return certificate;
    }

    private static bool IsSealedGrant(byte[]? sealedKey) => sealedKey is { Length: SealedGrantLength };

    [LoggerMessage(Level = LogLevel.Information, Message = "Member {MemberId} published a signing key from device {DeviceId} (reset: {Reset}, {Certificates} certificate(s))")]
    private static partial void LogPublished(ILogger logger, Guid memberId, Guid deviceId, bool reset, int certificates);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} approved by device {ApproverDeviceId}")]
    private static partial void LogApproved(ILogger logger, Guid deviceId, Guid approverDeviceId);
}
