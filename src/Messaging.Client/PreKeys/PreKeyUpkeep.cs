using System.Security.Cryptography;
using Messaging.Client.Connection;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Crypto.Keys;

namespace Messaging.Client.PreKeys;

/// <summary>
/// Keeps the device's prekeys usable: one-time prekeys refilled when the server says they run low, and the signed
/// prekey rotated every <see cref="MessagingClientOptions.SignedPreKeyRotation"/>. A rotated-out secret stays for
/// <see cref="MessagingClientOptions.SignedPreKeyGracePeriod"/> (session starts already under way still open), then it
/// is erased together with the record of the session starts made under it. New secrets are saved before they are
/// published, so the server never hands out a key this device does not hold.
/// </summary>
internal sealed class PreKeyUpkeep(DeviceStore store, HubLink hub, MessagingClientOptions options)
{
    /// <summary>New one-time prekeys (secrets recorded in <paramref name="keys"/>, public halves returned).</summary>
    public static List<OneTimePreKeyData> NewOneTimePreKeys(DeviceKeys keys, int count)
    {
        var published = new List<OneTimePreKeyData>(count);
        for (var i = 0; i < count; i++)
        {
            var id = keys.NextOneTimePreKeyId++;
            var secret = RandomNumberGenerator.GetBytes(32);
            using var pair = OneTimePreKeyPair.FromSecret(id, secret);
            keys.OneTimePreKeys[id] = secret;
            published.Add(new OneTimePreKeyData(id, pair.PublicKey.PublicKey));
        }

        return published;
    }

    /// <summary>A new signed prekey secret with <paramref name="id"/>, recorded first in <paramref name="keys"/>.</summary>
    public static SignedPreKeyData NewSignedPreKey(DeviceKeys keys, IdentityKeyPair identity, uint id, DateTimeOffset now)
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        using var pair = SignedPreKeyPair.FromSecret(identity, id, secret);
        keys.SignedPreKeys.Insert(0, new StoredSignedPreKey(id, secret, now));
        return new SignedPreKeyData(id, pair.PublicKey.PublicKey, pair.PublicKey.Signature);
    }

    public async Task ReplenishAsync(CancellationToken cancellationToken)
    {
        List<OneTimePreKeyData> fresh;
        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            fresh = NewOneTimePreKeys(store.Keys, options.OneTimePreKeyBatch);
            store.KeysChanged();
            await store.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            store.Release();
        }

        await hub.InvokeAsync<PreKeyStatus>(nameof(IMessagingHub.UploadOneTimePreKeys), new UploadOneTimePreKeysRequest(fresh), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rotates the signed prekey when it is due and erases retired ones whose grace period is over.</summary>
    public async Task RotateIfDueAsync(CancellationToken cancellationToken)
    {
        var now = options.Time.GetUtcNow();
        SignedPreKeyData? rotated = null;
        var erased = new List<uint>();
        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var keys = store.Keys;
            var current = keys.SignedPreKeys[0];
            if (current.CreatedAt is null)
            {
                keys.SignedPreKeys[0] = current with { CreatedAt = now }; // A key from before rotation existed: its age starts now.
                store.KeysChanged();
            }
            else if (current.Unpublished)
            {
                rotated = Public(current); // The last rotation was saved but its upload failed: publish it now.
            }
            else if (now - current.CreatedAt.Value >= options.SignedPreKeyRotation)
            {
                keys.SignedPreKeys[0] = current with { RetiredAt = now };
                rotated = NewSignedPreKey(keys, store.Identity, keys.SignedPreKeys.Max(k => k.Id) + 1, now);
                keys.SignedPreKeys[0] = keys.SignedPreKeys[0] with { Unpublished = true };
                store.KeysChanged();
            }

            foreach (var expired in keys.SignedPreKeys.Where(k => k.RetiredAt is { } retired && now - retired >= options.SignedPreKeyGracePeriod).ToList())
            {
                CryptographicOperations.ZeroMemory(expired.Secret);
                keys.SignedPreKeys.Remove(expired);
                erased.Add(expired.Id);
                store.KeysChanged();
            }

            await store.SaveAsync(cancellationToken).ConfigureAwait(false);
            foreach (var id in erased)
            {
                store.ForgetPreKeyMessages(id);
            }
        }
        finally
        {
            store.Release();
        }

        if (rotated is not null)
        {
            await hub.InvokeAsync<PreKeyStatus>(nameof(IMessagingHub.RotateSignedPreKey), new RotateSignedPreKeyRequest(rotated), cancellationToken).ConfigureAwait(false);
            await store.LockAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var index = store.Keys.SignedPreKeys.FindIndex(k => k.Id == rotated.Id);
                if (index >= 0)
                {
                    store.Keys.SignedPreKeys[index] = store.Keys.SignedPreKeys[index] with { Unpublished = false };
                    store.KeysChanged();
                    await store.SaveAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                store.Release();
            }
        }

        SignedPreKeyData Public(StoredSignedPreKey key)
        {
            using var pair = SignedPreKeyPair.FromSecret(store.Identity, key.Id, key.Secret);
            return new SignedPreKeyData(key.Id, pair.PublicKey.PublicKey, pair.PublicKey.Signature);
        }
    }
}
