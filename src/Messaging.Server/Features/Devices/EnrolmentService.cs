using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Members;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Devices;

/// <summary>
/// Enrolment: a device presents a one-time code and its public keys. All key material is verified before the database
/// is touched; the code is consumed in the same transaction that creates the device, so a refused enrolment leaves the
/// code usable and stores nothing.
/// </summary>
internal sealed partial class EnrolmentService(
    IDatabase database,
    KeyLog keyLog,
    AuditLog audit,
    TimeProvider time,
    IOptions<DevicesOptions> options,
    ILogger<EnrolmentService> logger)
{
    private const int MaxCodeLength = 100;

    public async Task<EnrolDeviceResponse> EnrolAsync(EnrolDeviceRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || string.IsNullOrWhiteSpace(request.Code) || request.Code.Length > MaxCodeLength)
        {
            throw new MalformedRequestException("An enrolment code is required.");
        }

        var identity = KeyValidation.ParseIdentity(request.IdentityKey);
        var signedPreKey = KeyValidation.ParseSignedPreKey(request.SignedPreKey, identity);
        var oneTimePreKeys = KeyValidation.ParseOneTimePreKeys(request.OneTimePreKeys, options.Value.MaxOneTimePreKeysPerUpload, allowEmpty: true);
        var codeHash = EnrolmentCodes.Hash(request.Code);
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var identityBytes = identity.ToBytes();

        var response = await database.WriteAsync(async s =>
        {
            var code = await EnrolmentCodeRepository.GetAsync(s, codeHash)
                ?? throw new EnrolmentCodeRejectedException(ErrorCodes.EnrolmentCodeUnknown, "Unknown enrolment code.");
            if (code.UsedAt is not null)
            {
                throw new EnrolmentCodeRejectedException(ErrorCodes.EnrolmentCodeUsed, "This enrolment code was already used.");
            }

            if (code.ExpiresAt <= now)
            {
                throw new EnrolmentCodeRejectedException(ErrorCodes.EnrolmentCodeExpired, "This enrolment code has expired.");
            }

            var member = await MemberRepository.GetAsync(s, code.MemberId)
                ?? throw new EnrolmentCodeRejectedException(ErrorCodes.EnrolmentCodeUnknown, "Unknown enrolment code.");
            if (await DeviceRepository.IdentityKeyExistsAsync(s, identityBytes))
            {
                throw new KeyConflictException("This identity key is already registered.");
            }

            // The issuance rule again, on the state at enrolment rather than at issuance: a first-admin code the operator
            // issued while the organisation had no admin with a device is void once one has; the enrolment of a member
            // who has an active device is a reset, whatever the code was issued as.
            var issuer = code.IssuedByMemberId is { } issuerId ? await MemberRepository.GetAsync(s, issuerId) : null;
            var kind = await EnrolmentCodePolicy.DecideAsync(s, issuer?.Role, issuer?.OrganisationId ?? Guid.Empty, member);

            var device = new DeviceRecord(Guid.NewGuid(), member.Id, identityBytes, signedPreKey.Id, signedPreKey.PublicKey,
                signedPreKey.Signature, DeviceStatus.Active, now, null);
            await DeviceRepository.InsertAsync(s, device);
            await DeviceRepository.InsertOneTimePreKeysAsync(s, device.Id, oneTimePreKeys);
            await EnrolmentCodeRepository.MarkUsedAsync(s, codeHash, device.Id, now);
            await EnrolmentCodeRepository.DeleteUnusedForMemberAsync(s, member.Id);
            var index = await keyLog.AppendAsync(s, KeyLogAction.Added, device.Id, member.Id, identityBytes);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.DeviceEnrolled, member.Id, device.Id,
                [AuditSubject.Device(device.Id), AuditSubject.Member(member.Id)], kind == EnrolmentCodeKind.Reset ? EnrolmentCodePolicy.ResetDetail : null));
            return new EnrolDeviceResponse(device.Id, member.Id, member.OrganisationId, member.Role, index,
                await MemberKeyRepository.ExistsAsync(s, member.Id));
        }, cancellationToken);

        LogEnrolled(logger, response.DeviceId, response.MemberId, response.KeyLogIndex);
        return response;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} enrolled for member {MemberId} (key log {KeyLogIndex})")]
    private static partial void LogEnrolled(ILogger logger, Guid deviceId, Guid memberId, long keyLogIndex);
}
