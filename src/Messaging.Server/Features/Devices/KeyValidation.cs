using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.Keys;
using Messaging.Server.Errors;

namespace Messaging.Server.Features.Devices;

/// <summary>Checks public key material with Messaging.Crypto and turns its exceptions into typed refusals.</summary>
internal static class KeyValidation
{
    private const string LowOrder = "An X25519 key is a low-order point or not canonically encoded; generate a fresh key.";

    public static IdentityPublicKey ParseIdentity(byte[]? encoded)
    {
        if (encoded is null)
        {
            throw new InvalidKeyMaterialException(ErrorCodes.IdentityKeyInvalid, "An identity key is required.");
        }

        try
        {
            var identity = IdentityPublicKey.Parse(encoded);
            if (!X25519PublicKeyCheck.IsUsable(identity.AgreementKey))
            {
                throw new InvalidKeyMaterialException(ErrorCodes.IdentityKeyInvalid, LowOrder);
            }

            return identity;
        }
        catch (CryptoException)
        {
            throw new InvalidKeyMaterialException(ErrorCodes.IdentityKeyInvalid, "The identity key is malformed or its binding signature does not verify.");
        }
    }

    public static SignedPreKeyPublic ParseSignedPreKey(SignedPreKeyData? data, IdentityPublicKey identity)
    {
        if (data?.PublicKey is null || data.Signature is null)
        {
            throw new InvalidKeyMaterialException(ErrorCodes.SignedPreKeyInvalid, "A signed prekey is required.");
        }

        try
        {
            var signed = SignedPreKeyPublic.Create(data.Id, data.PublicKey, data.Signature, identity);
            return X25519PublicKeyCheck.IsUsable(signed.PublicKey)
                ? signed
                : throw new InvalidKeyMaterialException(ErrorCodes.SignedPreKeyInvalid, LowOrder);
        }
        catch (CryptoException)
        {
            throw new InvalidKeyMaterialException(ErrorCodes.SignedPreKeyInvalid, "The signed prekey is malformed or not signed by the identity key.");
        }
    }

    public static IReadOnlyList<OneTimePreKeyRecord> ParseOneTimePreKeys(IReadOnlyList<OneTimePreKeyData>? keys, int max, bool allowEmpty)
    {
        if (keys is null || (keys.Count == 0 && !allowEmpty) || keys.Count > max)
        {
            throw new InvalidKeyMaterialException(ErrorCodes.OneTimePreKeyInvalid, $"Between {(allowEmpty ? 0 : 1)} and {max} one-time prekeys are accepted at once.");
        }

        var ids = new HashSet<uint>();
        var result = new List<OneTimePreKeyRecord>(keys.Count);
        foreach (var key in keys)
        {
            if (key?.PublicKey is null || !ids.Add(key.Id))
            {
                throw new InvalidKeyMaterialException(ErrorCodes.OneTimePreKeyInvalid, "One-time prekey ids must be present and unique.");
            }

            try
            {
                var parsed = OneTimePreKeyPublic.Create(key.Id, key.PublicKey);
                if (!X25519PublicKeyCheck.IsUsable(parsed.PublicKey))
                {
                    throw new InvalidKeyMaterialException(ErrorCodes.OneTimePreKeyInvalid, LowOrder);
                }

                result.Add(new OneTimePreKeyRecord(parsed.Id, parsed.PublicKey));
            }
            catch (CryptoException)
            {
                throw new InvalidKeyMaterialException(ErrorCodes.OneTimePreKeyInvalid, "A one-time prekey is a 32-byte X25519 key.");
            }
        }

        return result;
    }
}
