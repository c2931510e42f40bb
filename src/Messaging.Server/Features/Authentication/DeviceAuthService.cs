using System.Buffers.Text;
using System.Security.Cryptography;
using Messaging.Contracts;
using Messaging.Crypto.Keys;
using Messaging.Server.Errors;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.RateLimiting;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Authentication;

/// <summary>
/// Password-less authentication: the server issues a random 32-byte challenge bound to a device; the device signs it with
/// its identity key (domain label <c>messaging.auth-challenge.v1</c>); a valid signature over an unexpired, unused
/// challenge yields a random 32-byte bearer token, stored hashed, valid for <see cref="DeviceAuthOptions.TokenLifetime"/>.
/// </summary>
internal sealed partial class DeviceAuthService(
    IDatabase database,
    IRateLimiter rateLimiter,
    TimeProvider time,
    IOptions<DeviceAuthOptions> options,
    ILogger<DeviceAuthService> logger)
{
    public const int ChallengeLength = 32;

    public async Task<ChallengeResponse> IssueChallengeAsync(ChallengeRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || request.DeviceId == Guid.Empty)
        {
            throw new MalformedRequestException("A device id is required.");
        }

        rateLimiter.Acquire(RateLimitPolicy.Authentication, request.DeviceId);
        var challenge = RandomNumberGenerator.GetBytes(ChallengeLength);
        var expiresAt = DbValues.ToStoragePrecision(time.GetUtcNow() + options.Value.ChallengeLifetime);
        await database.WriteAsync(async s =>
        {
            await RequireActiveAsync(s, request.DeviceId);
            await AuthRepository.InsertChallengeAsync(s, challenge, request.DeviceId, expiresAt);
            return true;
        }, cancellationToken);
        return new ChallengeResponse(challenge, expiresAt);
    }

    public async Task<TokenResponse> IssueTokenAsync(TokenRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || request.DeviceId == Guid.Empty || request.Challenge is not { Length: ChallengeLength } || request.Signature is null)
        {
            throw new MalformedRequestException("A device id, a 32-byte challenge and a signature are required.");
        }

        rateLimiter.Acquire(RateLimitPolicy.Authentication, request.DeviceId);
        var now = time.GetUtcNow();

        // The challenge is consumed in its own transaction, before the signature is checked: a wrong signature burns it.
        var challengeExpiry = await database.WriteAsync(s => AuthRepository.TakeChallengeAsync(s, request.Challenge, request.DeviceId), cancellationToken);
        if (challengeExpiry is null || challengeExpiry <= now)
        {
            throw new AuthenticationFailedException(ErrorCodes.ChallengeInvalid, "The challenge is unknown, expired or already used.");
        }

        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var expiresAt = DbValues.ToStoragePrecision(now + options.Value.TokenLifetime);
        await database.WriteAsync(async s =>
        {
            var device = await RequireActiveAsync(s, request.DeviceId);
            var identity = IdentityPublicKey.Parse(device.IdentityKey);
            if (!identity.VerifyChallengeSignature(request.Challenge, request.Signature))
            {
                throw new AuthenticationFailedException(ErrorCodes.SignatureInvalid, "The challenge signature does not verify.");
            }

            await AuthRepository.InsertTokenAsync(s, AuthRepository.HashToken(token), device.Id, DbValues.ToStoragePrecision(now), expiresAt);
            return true;
        }, cancellationToken);
        LogTokenIssued(logger, request.DeviceId, expiresAt);
        return new TokenResponse(token, expiresAt);
    }

    private static async Task<DeviceRecord> RequireActiveAsync(DbSession session, Guid deviceId)
    {
        var device = await DeviceRepository.GetAsync(session, deviceId)
            ?? throw new AuthenticationFailedException(ErrorCodes.DeviceUnknown, "Unknown device.");
        if (!device.IsActive)
        {
            throw new AuthenticationFailedException(ErrorCodes.DeviceRevoked, "This device has been revoked.");
        }

        return device;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Token issued to device {DeviceId}, valid until {ExpiresAt}")]
    private static partial void LogTokenIssued(ILogger logger, Guid deviceId, DateTimeOffset expiresAt);
}
