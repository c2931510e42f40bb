using System.Text.Json;
using System.Text.Json.Serialization;

namespace Messaging.Client.Storage;

/// <summary>
/// What the encrypted key store holds (format version 2): the device's identity, its prekey secrets, the random key
/// that seals the local database's rows, and the few records that must survive with the keys. It changes rarely
/// (enrolment, prekey refills and rotation, a new token, a referral sent); sessions, the key log and received
/// messages live in the local database (<see cref="LocalDatabase"/>), one sealed row each.
/// </summary>
internal sealed class DeviceKeys
{
    public const int CurrentVersion = 2;

    public int Version { get; set; } = CurrentVersion;

    public required Uri Server { get; set; }

    public Guid DeviceId { get; set; }

    public Guid MemberId { get; set; }

    public Guid OrganisationId { get; set; }

    public string Role { get; set; } = "";

    public required byte[] IdentitySeed { get; set; }

    public required byte[] IdentityAgreementSecret { get; set; }

    /// <summary>The 32-byte key the local database's rows are sealed and indexed under (never leaves this file).</summary>
    public required byte[] StorageKey { get; set; }

    /// <summary>Current signed prekey first; retired ones are kept for a grace period, then erased.</summary>
    public List<StoredSignedPreKey> SignedPreKeys { get; set; } = [];

    public Dictionary<uint, byte[]> OneTimePreKeys { get; set; } = [];

    public uint NextOneTimePreKeyId { get; set; } = 1;

    /// <summary>The last access token (short-lived), reused by the next process that opens this store until it expires.</summary>
    public StoredToken? AccessToken { get; set; }

    /// <summary>Referrals this device sent, by case reference: the conversation they travel in and the record as sent.</summary>
    public Dictionary<string, SentReferral> SentReferrals { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The member signing key's seed, once this device created it (first device, migration, reset) or opened
    /// the grant an existing device sealed to it; null while the device waits for approval.</summary>
    public byte[]? MemberSigningSeed { get; set; }

    /// <summary>Per member: the signing key the verified key log names now, and the one the user accepted (pinned on
    /// first use; a different logged key blocks sends to that member until confirmed).</summary>
    public Dictionary<Guid, MemberKeyTrust> MemberKeys { get; set; } = [];

    /// <summary>Referral operations recorded before their first server call and not yet completed, by case reference.</summary>
    public Dictionary<string, PendingCaseOperation> PendingOperations { get; set; } = new(StringComparer.Ordinal);

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, DeviceKeysJson.Default.DeviceKeys);

    /// <summary>The format version of a key-store payload (1: the old single JSON state with the inbox inside).</summary>
    public static int ReadVersion(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new MessagingClientException("The device state is not a JSON object.");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isVersion = reader.ValueTextEquals("Version"u8);
            reader.Read();
            if (isVersion && reader.TokenType == JsonTokenType.Number)
            {
                return reader.GetInt32();
            }

            reader.Skip();
        }

        throw new MessagingClientException("The device state has no version.");
    }

    public static DeviceKeys Deserialize(ReadOnlySpan<byte> payload)
    {
        var keys = JsonSerializer.Deserialize(payload, DeviceKeysJson.Default.DeviceKeys)
            ?? throw new MessagingClientException("The device state is empty.");
        if (keys.Version != CurrentVersion || keys.StorageKey.Length != 32)
        {
            throw new MessagingClientException($"The device state version {keys.Version} is not supported.");
        }

        return keys;
    }
}

/// <summary>A signed prekey secret. <paramref name="CreatedAt"/> drives rotation; <paramref name="RetiredAt"/>, once
/// set, starts the grace period after which the secret is erased; <paramref name="Unpublished"/> marks a rotation saved
/// here whose upload has not succeeded yet.</summary>
internal sealed record StoredSignedPreKey(uint Id, byte[] Secret, DateTimeOffset? CreatedAt = null, DateTimeOffset? RetiredAt = null, bool Unpublished = false);

internal sealed record StoredSession(Guid MemberId, byte[] State);

internal sealed record SentReferral(Guid ConversationId, byte[] Record);

/// <summary>A refer or respond operation recorded before its first server call, so that a retry completes it with the
/// same envelope id (the server deduplicates sends by envelope id, and opening or answering again is idempotent).</summary>
internal sealed record PendingCaseOperation(PendingCaseOperationKind Kind, Guid ReceivingOrganisationId, Guid? ConversationId, Guid EnvelopeId, byte[] Body,
    Messaging.Contracts.Referrals.ReferralResponse? Response = null, Messaging.Contracts.Referrals.ReferralDeclineReason? DeclineReason = null);

internal enum PendingCaseOperationKind
{
    Refer,
    Respond,
}

internal sealed record StoredToken(string Token, DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"StoredToken {{ Token = [REDACTED], ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>A device as the verified key log records it, with the last certificate logged for it (checked against the
/// member's pinned key whenever it is used, never trusted as stored).</summary>
internal sealed record KeyLogDevice(Guid MemberId, byte[] IdentityKey, bool Active, byte[]? Certificate = null);

/// <summary>A member's signing key as the key log names it (<paramref name="Logged"/>) and as the user accepted it
/// (<paramref name="Pinned"/>), with the keys the log named for the member before <paramref name="Logged"/>, oldest
/// first (<paramref name="Earlier"/>: what its older membership statements are signed with).</summary>
internal sealed record MemberKeyTrust(byte[]? Logged, byte[]? Pinned, List<byte[]>? Earlier = null);

/// <summary>The key store's metadata. Metadata mode only: the generator's fast serialization path writes a null
/// <c>byte[]</c> as <c>""</c> (it converts the array to a span, where null and empty are one; dotnet/runtime#129833), so
/// an absent member key read back as an empty array. The metadata path writes it through the byte-array converter, as
/// <c>null</c>.</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(DeviceKeys))]
internal sealed partial class DeviceKeysJson : JsonSerializerContext;
