using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Members;
using Messaging.Server.Features.RateLimiting;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Devices;

/// <summary>Revocation, prekeys and the key log.</summary>
internal sealed partial class DeviceService(
    IDatabase database,
    KeyLog keyLog,
    AuditLog audit,
    IDeviceSignals signals,
    IRateLimiter rateLimiter,
    TimeProvider time,
    IOptions<DevicesOptions> options,
    ILogger<DeviceService> logger)
{
    public const int MaxKeyLogPage = 1000;

    /// <summary>
    /// Revokes a device: marks it revoked, deletes its tokens, challenges, one-time prekeys and undelivered envelopes,
    /// appends to the key log and the audit log — in one transaction — then closes its live connections. An organisation
    /// admin revokes devices of their organisation's members; the platform operator any device. Revoking a revoked
    /// device changes nothing.
    /// </summary>
    public async Task RevokeAsync(CallerDevice actor, Guid deviceId, CancellationToken cancellationToken = default)
    {
        var revoked = await database.WriteAsync(async s =>
        {
            var device = await DeviceRepository.GetAsync(s, deviceId)
                ?? throw new NotFoundException(ErrorCodes.DeviceNotFound, "No such device.");
            var member = await MemberRepository.GetAsync(s, device.MemberId)
                ?? throw new NotFoundException(ErrorCodes.DeviceNotFound, "No such device.");
            var allowed = actor.IsPlatformOperator || (actor.IsOrganisationAdmin && actor.OrganisationId == member.OrganisationId);
            if (!allowed)
            {
                throw new ForbiddenException("Your role does not allow revoking this device.");
            }

            return await RevokeWithinAsync(s, device, actor.MemberId, actor.DeviceId);
        }, cancellationToken);

        if (revoked)
        {
            LogRevoked(logger, deviceId, actor.MemberId);
            await signals.DeviceRevokedAsync(deviceId);
        }
    }

    /// <summary>
    /// The revocation itself, inside the caller's write transaction: marks the device revoked, deletes its tokens, one-time
    /// prekeys and undelivered envelopes, appends to the key log and the audit log. Returns false for a device already
    /// revoked. The caller calls <see cref="IDeviceSignals.DeviceRevokedAsync"/> after the commit to close connections.
    /// A null actor is the server itself (a partner's withdrawal taking effect).
    /// </summary>
    public async Task<bool> RevokeWithinAsync(DbSession session, DeviceRecord device, Guid? actorMemberId, Guid? actorDeviceId)
    {
        if (!device.IsActive)
        {
            return false;
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        await DeviceRepository.MarkRevokedAsync(session, device.Id, now);
        await AuthRepository.DeleteForDeviceAsync(session, device.Id);
        await DeviceRepository.DeleteOneTimePreKeysAsync(session, device.Id);
        await EnvelopeRepository.DeleteForRecipientAsync(session, device.Id);
        await keyLog.AppendAsync(session, KeyLogAction.Revoked, device.Id, device.MemberId, device.IdentityKey);
        await audit.AppendAsync(session, new AuditEvent(AuditEventTypes.DeviceRevoked, actorMemberId, actorDeviceId,
            [AuditSubject.Device(device.Id), AuditSubject.Member(device.MemberId)]));
        return true;
    }

    /// <summary>Bundles for every active device of a member (the caller's own device excluded), consuming one one-time
    /// prekey per bundle in the same transaction. Devices left with fewer than the threshold are told to replenish.
    /// Only for a member the caller may already write to (<see cref="PreKeyBundlePolicy"/>), and rate-limited per
    /// (device, target) as well as per device.</summary>
    public async Task<PreKeyBundles> GetBundlesAsync(CallerDevice caller, GetPreKeyBundlesRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || request.MemberId == Guid.Empty)
        {
            throw new MalformedRequestException("A member id is required.");
        }

        rateLimiter.Acquire(RateLimitPolicy.PreKeyBundleFetch, caller.DeviceId);
        rateLimiter.Acquire(RateLimitPolicy.PreKeyBundleFetchPerTarget, caller.DeviceId, request.MemberId);
        var low = new List<(Guid Device, int Remaining)>();
        var bundles = await database.WriteAsync(async s =>
        {
            _ = await MemberRepository.GetAsync(s, request.MemberId)
                ?? throw new NotFoundException(ErrorCodes.MemberNotFound, "No such member.");
            await PreKeyBundlePolicy.RequireAsync(s, caller, request.MemberId);
            var result = new List<DevicePreKeyBundle>();
            foreach (var device in await DeviceRepository.ListActiveByMemberAsync(s, request.MemberId))
            {
                if (device.Id == caller.DeviceId)
                {
                    continue;
                }

                var oneTime = await DeviceRepository.TakeOneTimePreKeyAsync(s, device.Id);
                var remaining = await DeviceRepository.CountOneTimePreKeysAsync(s, device.Id);
                if (remaining < options.Value.PreKeysLowThreshold)
                {
                    low.Add((device.Id, remaining));
                }

                result.Add(new DevicePreKeyBundle(
                    device.Id,
                    device.IdentityKey,
                    new SignedPreKeyData(device.SignedPreKeyId, device.SignedPreKeyPublic, device.SignedPreKeySignature),
                    oneTime is null ? null : new OneTimePreKeyData(oneTime.Id, oneTime.PublicKey)));
            }

            return result;
        }, cancellationToken);

        foreach (var (device, remaining) in low)
        {
            await signals.PreKeysLowAsync(device, remaining);
        }

        return new PreKeyBundles(request.MemberId, bundles);
    }

    public async Task<PreKeyStatus> UploadOneTimePreKeysAsync(CallerDevice caller, UploadOneTimePreKeysRequest request, CancellationToken cancellationToken = default)
    {
        rateLimiter.Acquire(RateLimitPolicy.PreKeyUpload, caller.DeviceId);
        var keys = KeyValidation.ParseOneTimePreKeys(request?.PreKeys, options.Value.MaxOneTimePreKeysPerUpload, allowEmpty: false);
        return await database.WriteAsync(async s =>
        {
            var device = await RequireActiveAsync(s, caller.DeviceId);
            var existing = await DeviceRepository.CountOneTimePreKeysAsync(s, device.Id);
            if (existing + keys.Count > options.Value.MaxOneTimePreKeysStored)
            {
                throw new InvalidKeyMaterialException(ErrorCodes.OneTimePreKeyInvalid,
                    $"A device may store at most {options.Value.MaxOneTimePreKeysStored} one-time prekeys.");
            }

            var inserted = await DeviceRepository.InsertOneTimePreKeysAsync(s, device.Id, keys);
            if (inserted != keys.Count)
            {
                throw new InvalidKeyMaterialException(ErrorCodes.OneTimePreKeyInvalid, "A one-time prekey id is already in use on this device.");
            }

            return new PreKeyStatus(existing + inserted, device.SignedPreKeyId);
        }, cancellationToken);
    }

    public async Task<PreKeyStatus> RotateSignedPreKeyAsync(CallerDevice caller, RotateSignedPreKeyRequest request, CancellationToken cancellationToken = default)
    {
        rateLimiter.Acquire(RateLimitPolicy.PreKeyUpload, caller.DeviceId);
        return await database.WriteAsync(async s =>
        {
            var device = await RequireActiveAsync(s, caller.DeviceId);
            var identity = KeyValidation.ParseIdentity(device.IdentityKey);
            var signed = KeyValidation.ParseSignedPreKey(request?.SignedPreKey, identity);
            await DeviceRepository.UpdateSignedPreKeyAsync(s, device.Id, signed.Id, signed.PublicKey, signed.Signature);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.SignedPreKeyRotated, caller.MemberId, caller.DeviceId,
                [AuditSubject.Device(device.Id)]));
            return new PreKeyStatus(await DeviceRepository.CountOneTimePreKeysAsync(s, device.Id), signed.Id);
        }, cancellationToken);
    }

    public async Task<KeyLogPage> GetKeyLogAsync(GetKeyLogRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || request.FromIndex < 0 || request.Limit is < 1 or > MaxKeyLogPage)
        {
            throw new MalformedRequestException($"FromIndex must be ≥ 0 and Limit between 1 and {MaxKeyLogPage}.");
        }

        var entries = await database.ReadAsync(s => KeyLog.ReadAsync(s, request.FromIndex, request.Limit + 1), cancellationToken);
        var hasMore = entries.Count > request.Limit;
        return new KeyLogPage(hasMore ? entries.GetRange(0, request.Limit) : entries, hasMore);
    }

    private static async Task<DeviceRecord> RequireActiveAsync(DbSession session, Guid deviceId)
    {
        var device = await DeviceRepository.GetAsync(session, deviceId);
        return device is { IsActive: true } ? device : throw new AuthenticationFailedException(ErrorCodes.DeviceRevoked, "This device has been revoked.");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} revoked by member {ActorMemberId}")]
    private static partial void LogRevoked(ILogger logger, Guid deviceId, Guid actorMemberId);
}
