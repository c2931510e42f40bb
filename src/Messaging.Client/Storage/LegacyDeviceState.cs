using System.Text.Json;
using System.Text.Json.Serialization;
using Messaging.Contracts;

namespace Messaging.Client.Storage;

/// <summary>The key-store payload of format version 1: everything in one JSON document, the inbox included. Only read,
/// to migrate it on open (<see cref="DeviceStore"/>).</summary>
internal sealed class LegacyDeviceState
{
    public const int CurrentVersion = 1;
    public const int MaxProcessed = 20_000;
    public const int MaxSessionsPerDevice = 4;

    public int Version { get; set; } = CurrentVersion;

    public required Uri Server { get; set; }

    public Guid DeviceId { get; set; }

    public Guid MemberId { get; set; }

    public Guid OrganisationId { get; set; }

    public string Role { get; set; } = "";

    public required byte[] IdentitySeed { get; set; }

    public required byte[] IdentityAgreementSecret { get; set; }

    /// <summary>Current signed prekey first; older ones kept for messages already under way.</summary>
    public List<StoredSignedPreKey> SignedPreKeys { get; set; } = [];

    public Dictionary<uint, byte[]> OneTimePreKeys { get; set; } = [];

    public uint NextOneTimePreKeyId { get; set; } = 1;

    /// <summary>
    /// Sessions by remote device id, the current one first. Older ones are kept (up to <see cref="MaxSessionsPerDevice"/>)
    /// because two devices that start sessions with each other at the same moment each accept the other's: messages
    /// already under way in either session must still open.
    /// </summary>
    public Dictionary<Guid, List<StoredSession>> Sessions { get; set; } = [];

    /// <summary>Remote identities accepted by this device (pinned on first use or by explicit trust).</summary>
    public Dictionary<Guid, byte[]> PinnedIdentities { get; set; } = [];

    /// <summary>The key log as verified so far: the next index to fetch and the hash of the last verified entry.</summary>
    public long KeyLogNextIndex { get; set; }

    public byte[] KeyLogHead { get; set; } = KeyLogHash.Genesis();

    /// <summary>Device keys according to the verified key log.</summary>
    public Dictionary<Guid, KeyLogDevice> KeyLogDevices { get; set; } = [];

    /// <summary>(sender device, envelope id) pairs already handed to the application, oldest first, bounded.</summary>
    public List<string> Processed { get; set; } = [];

    public List<InboxMessage> Inbox { get; set; } = [];

    /// <summary>The last access token (short-lived), reused by the next process that opens this store until it expires.</summary>
    public StoredToken? AccessToken { get; set; }

    /// <summary>Referrals this device sent, by case reference: the conversation they travel in and the record as sent.</summary>
    public Dictionary<string, SentReferral> SentReferrals { get; set; } = new(StringComparer.Ordinal);

    public static string ProcessedKey(Guid senderDevice, Guid envelopeId) => $"{senderDevice:N}:{envelopeId:N}";

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, LegacyDeviceStateJson.Default.LegacyDeviceState);

    public static LegacyDeviceState Deserialize(ReadOnlySpan<byte> payload)
    {
        var state = JsonSerializer.Deserialize(payload, LegacyDeviceStateJson.Default.LegacyDeviceState)
            ?? throw new MessagingClientException("The device state is empty.");
        if (state.Version != CurrentVersion)
        {
            throw new MessagingClientException($"The device state version {state.Version} is not supported.");
        }

        return state;
    }
}

[JsonSerializable(typeof(LegacyDeviceState))]
internal sealed partial class LegacyDeviceStateJson : JsonSerializerContext;
