using System.Security.Cryptography;
using CsCheck;
using Messaging.Client.Connection;
using Messaging.Client.KeyLog;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;
using Messaging.Crypto.Keys;
using Messaging.Crypto.KeyStore;

namespace Messaging.Client.Tests;

/// <summary>
/// Issue 10 as a property of the client's trust rules: whatever an admin or the operator makes the (hash-chained, so
/// append-only) key log say — new devices, forged certificates, another member's certificates, a device's certificate
/// replayed for another, a revoked device put back with its old certificate, another member's device listed under this
/// member, a member-key reset — no device that an existing device of the member did not approve is ever vouched for,
/// so no sender ever encrypts to it.
/// </summary>
public sealed class GhostDevicePropertyTests
{
    private const int Actions = 7;

    [Fact]
    public async Task NoSequenceOfAdminOrOperatorActions_WithoutAnApproval_LetsANewDeviceReceive()
    {
        var root = Directory.CreateTempSubdirectory("messaging-trust-property-");
        try
        {
            var keys = new DeviceKeys
            {
                Server = new Uri("http://127.0.0.1:9/"),
                DeviceId = Guid.NewGuid(),
                MemberId = Guid.NewGuid(),
                IdentitySeed = RandomNumberGenerator.GetBytes(32),
                IdentityAgreementSecret = RandomNumberGenerator.GetBytes(32),
                StorageKey = RandomNumberGenerator.GetBytes(32),
            };
            using var passphrase = new Passphrase("property");
            await using var store = await DeviceStore.CreateAsync(new EncryptedKeyStore(Path.Combine(root.FullName, "observer.mks"), KeyStoreOptions.Interactive),
                keys, passphrase, TimeProvider.System, CancellationToken.None);
            await using var hub = new HubLink(store, new MessagingClientOptions(), CancellationToken.None);
            var directory = new KeyDirectory(store, hub);
            await store.LockAsync(CancellationToken.None);
            try
            {
                // One sequence at a time: the key directory, like the store it reads, is used under the store's lock (held here),
                // never from two threads at once.
                Gen.Int[0, Actions - 1].Array[1, 10].Sample(actions => Attack(directory, actions), iter: 150, threads: 1);
            }
            finally
            {
                store.Release();
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    /// <summary>One member with a pinned key, one original device and one approved device; then the attack.</summary>
    private static void Attack(KeyDirectory directory, int[] actions)
    {
        var member = Guid.NewGuid();
        using var memberKey = MemberSigningKey.Generate(member);
        var (original, originalIdentity) = (Guid.NewGuid(), NewIdentity());
        var (approved, approvedIdentity) = (Guid.NewGuid(), NewIdentity());
        var originalCertificate = memberKey.Certify(original, originalIdentity, TimeProvider.System.GetUtcNow()).ToBytes();
        var approvedCertificate = memberKey.Certify(approved, approvedIdentity, TimeProvider.System.GetUtcNow()).ToBytes();
        directory.ApplyVerified([
            Entry(KeyLogAction.Added, original, member, originalIdentity.ToBytes()),
            Entry(KeyLogAction.MemberKey, original, member, memberKey.Announce(TimeProvider.System.GetUtcNow()).ToBytes()),
            Entry(KeyLogAction.DeviceCertified, original, member, originalCertificate),
            Entry(KeyLogAction.Added, approved, member, approvedIdentity.ToBytes()),
            Entry(KeyLogAction.DeviceCertified, approved, member, approvedCertificate),
        ]);
        // The sender pins the member key on first use; an approved device is vouched for (so the property can fail).
        Assert.Equal(Vouch.Vouched, directory.Check(original, member));
        Assert.Equal(Vouch.Vouched, directory.Check(approved, member));

        var ghosts = new List<(Guid Id, IdentityPublicKey Identity)>();
        var reset = false;
        var approvedRevoked = false;
        foreach (var action in actions)
        {
            switch (action)
            {
                case 0: // An admin (or the operator) enrols a device for the member.
                    ghosts.Add(NewGhost(directory, member));
                    break;
                case 1: // The operator writes a certificate signed with a key of its own.
                {
                    var ghost = LastGhost(directory, member, ghosts);
                    using var forger = MemberSigningKey.Generate(member);
                    directory.ApplyVerified([Entry(KeyLogAction.DeviceCertified, ghost.Id, member, forger.Certify(ghost.Id, ghost.Identity, TimeProvider.System.GetUtcNow()).ToBytes())]);
                    break;
                }

                case 2: // A valid certificate of another member, for the ghost, logged under this member.
                {
                    var ghost = LastGhost(directory, member, ghosts);
                    var other = Guid.NewGuid();
                    using var otherKey = MemberSigningKey.Generate(other);
                    directory.ApplyVerified([
                        Entry(KeyLogAction.MemberKey, Guid.NewGuid(), other, otherKey.Announce(TimeProvider.System.GetUtcNow()).ToBytes()),
                        Entry(KeyLogAction.DeviceCertified, ghost.Id, member, otherKey.Certify(ghost.Id, ghost.Identity, TimeProvider.System.GetUtcNow()).ToBytes()),
                    ]);
                    break;
                }

                case 3: // The original device's genuine certificate replayed for the ghost.
                    directory.ApplyVerified([Entry(KeyLogAction.DeviceCertified, LastGhost(directory, member, ghosts).Id, member, originalCertificate)]);
                    break;
                case 4: // A reset: a new member key that certifies the ghost.
                {
                    var ghost = LastGhost(directory, member, ghosts);
                    using var resetKey = MemberSigningKey.Generate(member);
                    directory.ApplyVerified([
                        Entry(KeyLogAction.MemberKey, ghost.Id, member, resetKey.Announce(TimeProvider.System.GetUtcNow()).ToBytes()),
                        Entry(KeyLogAction.DeviceCertified, ghost.Id, member, resetKey.Certify(ghost.Id, ghost.Identity, TimeProvider.System.GetUtcNow()).ToBytes()),
                    ]);
                    reset = true;
                    break;
                }

                case 5: // The approved device revoked, then put back with its old certificate.
                    directory.ApplyVerified([
                        Entry(KeyLogAction.Revoked, approved, member, approvedIdentity.ToBytes()),
                        Entry(KeyLogAction.Added, approved, member, approvedIdentity.ToBytes()),
                        Entry(KeyLogAction.DeviceCertified, approved, member, approvedCertificate),
                    ]);
                    approvedRevoked = true;
                    break;
                default: // Another member's validly signed device listed under this member.
                {
                    var other = Guid.NewGuid();
                    using var otherKey = MemberSigningKey.Generate(other);
                    var (device, identity) = (Guid.NewGuid(), NewIdentity());
                    var certificate = otherKey.Certify(device, identity, TimeProvider.System.GetUtcNow()).ToBytes();
                    directory.ApplyVerified([
                        Entry(KeyLogAction.Added, device, other, identity.ToBytes()),
                        Entry(KeyLogAction.MemberKey, device, other, otherKey.Announce(TimeProvider.System.GetUtcNow()).ToBytes()),
                        Entry(KeyLogAction.DeviceCertified, device, other, certificate),
                        Entry(KeyLogAction.Added, device, member, identity.ToBytes()),
                        Entry(KeyLogAction.DeviceCertified, device, member, certificate),
                    ]);
                    ghosts.Add((device, identity));
                    break;
                }
            }
        }

        foreach (var ghost in ghosts)
        {
            Assert.NotEqual(Vouch.Vouched, directory.Check(ghost.Id, member));
        }

        Assert.Equal(reset ? Vouch.MemberKeyUnconfirmed : Vouch.Vouched, directory.Check(original, member));
        if (approvedRevoked)
        {
            Assert.NotEqual(Vouch.Vouched, directory.Check(approved, member));
        }
    }

    private static (Guid Id, IdentityPublicKey Identity) LastGhost(KeyDirectory directory, Guid member, List<(Guid Id, IdentityPublicKey Identity)> ghosts)
    {
        if (ghosts.Count == 0)
        {
            ghosts.Add(NewGhost(directory, member));
        }

        return ghosts[^1];
    }

    private static (Guid Id, IdentityPublicKey Identity) NewGhost(KeyDirectory directory, Guid member)
    {
        var ghost = (Id: Guid.NewGuid(), Identity: NewIdentity());
        directory.ApplyVerified([Entry(KeyLogAction.Added, ghost.Id, member, ghost.Identity.ToBytes())]);
        return ghost;
    }

    private static IdentityPublicKey NewIdentity()
    {
        using var identity = IdentityKeyPair.Generate();
        return identity.PublicKey;
    }

    private static KeyLogEntry Entry(KeyLogAction action, Guid device, Guid member, byte[] payload)
        => new(0, TimeProvider.System.GetUtcNow(), action, device, member, payload, new byte[32], new byte[32]);
}
