using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Messaging.Contracts;
using Messaging.Crypto.Keys;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>
/// A low-order or non-canonical X25519 key, even validly signed, is refused at enrolment, one-time prekey upload and
/// signed-prekey rotation: stored, it would make every later sender to that device fail its key agreement.
/// </summary>
public abstract class LowOrderKeyTests(StorageProvider storage)
{
    /// <summary>The points of small order on Curve25519 (libsodium's list) and non-canonical encodings of them.</summary>
    public static TheoryData<string> LowOrderPoints() =>
    [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "cdeb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
        "4c9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
        "d9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "daffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "dbffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ];

    private static readonly byte[] Zero = new byte[32];

    /// <summary>An identity whose Ed25519 seed the test knows, so it can sign whatever key it likes.</summary>
    private sealed class KnownIdentity
    {
        private readonly byte[] _seed = RandomNumberGenerator.GetBytes(32);

        public KnownIdentity() => Identity = IdentityKeyPair.FromSecrets(_seed, RandomNumberGenerator.GetBytes(32));

        public IdentityKeyPair Identity { get; }

        public byte[] Sign(string label, byte[] data)
        {
            var framed = Encoding.UTF8.GetBytes(label).Append((byte)0).Concat(data).ToArray();
            return Sodium.PublicKeyAuth.SignDetached(framed, Sodium.PublicKeyAuth.GenerateKeyPair(_seed).PrivateKey);
        }

        public SignedPreKeyData SignedPreKey(uint id, byte[] publicKey)
        {
            var data = new byte[4 + 32];
            BinaryPrimitives.WriteUInt32BigEndian(data, id);
            publicKey.CopyTo(data, 4);
            return new SignedPreKeyData(id, publicKey, Sign("messaging.signed-prekey.v1", data));
        }

        /// <summary>This identity's signing key bound to another agreement key (validly signed).</summary>
        public byte[] IdentityWithAgreementKey(byte[] agreementKey)
        {
            var genuine = Identity.PublicKey.ToBytes();
            return [genuine[0], .. genuine.AsSpan(1, 32), .. agreementKey, .. Sign("messaging.identity-binding.v1", agreementKey)];
        }
    }

    private async Task<(MessagingApp App, TestMember Member)> WorldAsync()
    {
        var app = new MessagingApp(storage);
        return (app, await app.CreateMemberAsync(await app.CreateOrganisationAsync()));
    }

    [Fact]
    public async Task Enrolment_WithAValidlySignedLowOrderSignedPreKey_OneTimePreKeyOrIdentityAgreementKey_IsRefused_AndStoresNothing()
    {
        var (app, member) = await WorldAsync();
        await using var _ = app;
        var known = new KnownIdentity();
        var genuine = DeviceKeys.Generate(1);
        var good = genuine.Request(await app.IssueCodeAsync(member));
        var devicesBefore = await app.CountAsync("devices");

        var lowSigned = good with { IdentityKey = known.Identity.PublicKey.ToBytes(), SignedPreKey = known.SignedPreKey(1, Zero) };
        var lowOneTime = good with { OneTimePreKeys = [.. good.OneTimePreKeys, new OneTimePreKeyData(999, Zero)] };
        var lowIdentity = good with { IdentityKey = known.IdentityWithAgreementKey(Zero), SignedPreKey = known.SignedPreKey(1, genuine.SignedPreKey.PublicKey.PublicKey) };

        await Refusal.AssertHttpAsync(ErrorCodes.SignedPreKeyInvalid, 400, await app.PostEnrolmentAsync(lowSigned));
        await Refusal.AssertHttpAsync(ErrorCodes.OneTimePreKeyInvalid, 400, await app.PostEnrolmentAsync(lowOneTime));
        await Refusal.AssertHttpAsync(ErrorCodes.IdentityKeyInvalid, 400, await app.PostEnrolmentAsync(lowIdentity));
        Assert.Equal(devicesBefore, await app.CountAsync("devices"));

        // The code was not consumed: the genuine keys enrol with it.
        Assert.True((await app.PostEnrolmentAsync(good)).IsSuccessStatusCode);
    }

    [Theory]
    [MemberData(nameof(LowOrderPoints))]
    public async Task UploadingALowOrderOrNonCanonicalOneTimePreKey_IsRefused_AndStoresNothing(string hex)
    {
        var (app, member) = await WorldAsync();
        await using var _ = app;
        var device = await app.EnrolDeviceAsync(member, oneTimePreKeys: 3);
        await using var connected = await app.ConnectAsync(device);
        var fresh = OneTimePreKeyPair.GenerateBatch(500, 1)[0];

        await Refusal.AssertHubAsync(ErrorCodes.OneTimePreKeyInvalid, () => connected.Hub.InvokeAsync<PreKeyStatus>(nameof(IMessagingHub.UploadOneTimePreKeys),
            new UploadOneTimePreKeysRequest([new OneTimePreKeyData(500, fresh.PublicKey.PublicKey), new OneTimePreKeyData(501, Convert.FromHexString(hex))])));

        Assert.Equal(3, await app.CountAsync("one_time_prekeys", $"device_id = '{device.Id:D}'"));
    }

    [Fact]
    public async Task RotatingToAValidlySignedLowOrderSignedPreKey_IsRefused_AndKeepsTheCurrentOne()
    {
        var (app, member) = await WorldAsync();
        await using var _ = app;
        var known = new KnownIdentity();
        var keys = DeviceKeys.FromIdentity(known.Identity);
        var response = await app.PostEnrolmentAsync(keys.Request(await app.IssueCodeAsync(member)));
        response.EnsureSuccessStatusCode();
        var device = new TestDevice((await response.Content.ReadFromJsonAsync<EnrolDeviceResponse>())!.DeviceId, member, keys);
        await using var connected = await app.ConnectAsync(device);

        foreach (var hex in new[] { "0000000000000000000000000000000000000000000000000000000000000000", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800" })
        {
            await Refusal.AssertHubAsync(ErrorCodes.SignedPreKeyInvalid, () => connected.Hub.InvokeAsync<PreKeyStatus>(nameof(IMessagingHub.RotateSignedPreKey),
                new RotateSignedPreKeyRequest(known.SignedPreKey(2, Convert.FromHexString(hex)))));
        }

        var stored = (await app.QueryRowsAsync($"SELECT signed_prekey_id FROM devices WHERE id = '{device.Id:D}';")).Single()[0];
        Assert.Equal("1", stored);
        using var genuine = SignedPreKeyPair.Generate(known.Identity, 3);
        var status = await connected.Hub.InvokeAsync<PreKeyStatus>(nameof(IMessagingHub.RotateSignedPreKey),
            new RotateSignedPreKeyRequest(known.SignedPreKey(3, genuine.PublicKey.PublicKey)));
        Assert.Equal(3u, status.SignedPreKeyId);
    }

    public sealed class OnSqlite() : LowOrderKeyTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : LowOrderKeyTests(StorageProvider.Postgres);
}
