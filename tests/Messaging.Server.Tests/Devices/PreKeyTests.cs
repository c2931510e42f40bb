using Messaging.Contracts;
using Messaging.Crypto.Keys;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

public abstract class PreKeyTests(StorageProvider storage)
{
    private static Task<PreKeyBundles> BundlesAsync(ConnectedDevice requester, Guid memberId)
        => requester.Hub.InvokeAsync<PreKeyBundles>(nameof(IMessagingHub.GetPreKeyBundles), new GetPreKeyBundlesRequest(memberId));

    [Fact]
    public async Task EachBundle_ConsumesOneOneTimePreKey_ThenFallsBackToTheSignedPreKeyOnly()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var target = await app.CreateMemberAsync(organisation);
        var device = await app.EnrolDeviceAsync(target, oneTimePreKeys: 3);
        await using var requester = await app.ConnectAsync(organisation.Admin);
        await MessagingApp.CreateConversationAsync(requester, false, target);

        var taken = new List<uint>();
        for (var i = 0; i < 3; i++)
        {
            var bundle = Assert.Single((await BundlesAsync(requester, target.Id)).Bundles);
            Assert.Equal(device.Id, bundle.DeviceId);
            Assert.Equal(device.Keys.Identity.PublicKey.ToBytes(), bundle.IdentityKey);
            Assert.Equal(device.Keys.SignedPreKey.PublicKey.PublicKey, bundle.SignedPreKey.PublicKey);
            taken.Add(bundle.OneTimePreKey!.Id);
            var expected = device.Keys.OneTimePreKeys.Single(k => k.Id == bundle.OneTimePreKey.Id).PublicKey.PublicKey;
            Assert.Equal(expected, bundle.OneTimePreKey.PublicKey);

            // The bundle verifies with the crypto library on the client side.
            var identity = IdentityPublicKey.Parse(bundle.IdentityKey);
            SignedPreKeyPublic.Create(bundle.SignedPreKey.Id, bundle.SignedPreKey.PublicKey, bundle.SignedPreKey.Signature, identity);
        }

        Assert.Equal(3, taken.Distinct().Count());
        var fallback = Assert.Single((await BundlesAsync(requester, target.Id)).Bundles);
        Assert.Null(fallback.OneTimePreKey);
        Assert.Equal(0, await app.CountAsync("one_time_prekeys", $"device_id = '{device.Id:D}'"));
    }

    [Fact]
    public async Task ConcurrentBundleFetches_NeverHandOutTheSameOneTimePreKeyTwice()
    {
        await using var app = new MessagingApp(storage, new Dictionary<string, string?> { ["Messaging:RateLimits:PreKeyBundleFetchesPerTargetPerWindow"] = "100" });
        var organisation = await app.CreateOrganisationAsync();
        var target = await app.CreateMemberAsync(organisation);
        await app.EnrolDeviceAsync(target, oneTimePreKeys: 30);
        var requesters = new List<ConnectedDevice>();
        for (var i = 0; i < 6; i++)
        {
            requesters.Add(await app.ConnectAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(organisation))));
        }

        await MessagingApp.CreateConversationAsync(requesters[0], false, [target, .. requesters.Skip(1).Select(r => r.Device.Member)]);

        var fetches = requesters.SelectMany(r => Enumerable.Range(0, 6).Select(_ => BundlesAsync(r, target.Id)));
        var results = await Task.WhenAll(fetches);
        var ids = results.Select(r => Assert.Single(r.Bundles).OneTimePreKey).Where(k => k is not null).Select(k => k!.Id).ToList();

        Assert.Equal(30, ids.Count);
        Assert.Equal(30, ids.Distinct().Count());
        foreach (var requester in requesters)
        {
            await requester.DisposeAsync();
        }
    }

    [Fact]
    public async Task ADeviceRunningLow_IsToldToReplenish_AndCanUploadMore()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var target = await app.CreateMemberAsync(organisation);
        var device = await app.EnrolDeviceAsync(target, oneTimePreKeys: 10);
        await using var owner = await app.ConnectAsync(device);
        await using var requester = await app.ConnectAsync(organisation.Admin);
        await MessagingApp.CreateConversationAsync(requester, false, target);

        await BundlesAsync(requester, target.Id);
        Assert.Equal(9, await owner.PreKeysLowAsync());

        var more = OneTimePreKeyPair.GenerateBatch(100, 50);
        var status = await owner.Hub.InvokeAsync<PreKeyStatus>(nameof(IMessagingHub.UploadOneTimePreKeys),
            new UploadOneTimePreKeysRequest([.. more.Select(k => new OneTimePreKeyData(k.Id, k.PublicKey.PublicKey))]));
        Assert.Equal(59, status.OneTimePreKeysRemaining);

        await Refusal.AssertHubAsync(ErrorCodes.OneTimePreKeyInvalid, () => owner.Hub.InvokeAsync<PreKeyStatus>(
            nameof(IMessagingHub.UploadOneTimePreKeys), new UploadOneTimePreKeysRequest([new OneTimePreKeyData(100, more[0].PublicKey.PublicKey)])));
        await Refusal.AssertHubAsync(ErrorCodes.OneTimePreKeyInvalid, () => owner.Hub.InvokeAsync<PreKeyStatus>(
            nameof(IMessagingHub.UploadOneTimePreKeys), new UploadOneTimePreKeysRequest([new OneTimePreKeyData(999, new byte[31])])));
        Assert.Equal(59, await app.CountAsync("one_time_prekeys", $"device_id = '{device.Id:D}'"));
    }

    [Fact]
    public async Task ASignedPreKeyRotation_IsVerifiedAgainstTheDevicesIdentity()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var target = await app.CreateMemberAsync(organisation);
        var device = await app.EnrolDeviceAsync(target);
        await using var owner = await app.ConnectAsync(device);
        using var stranger = IdentityKeyPair.Generate();
        using var forged = SignedPreKeyPair.Generate(stranger, 2);
        using var genuine = SignedPreKeyPair.Generate(device.Keys.Identity, 2);

        await Refusal.AssertHubAsync(ErrorCodes.SignedPreKeyInvalid, () => owner.Hub.InvokeAsync<PreKeyStatus>(nameof(IMessagingHub.RotateSignedPreKey),
            new RotateSignedPreKeyRequest(new SignedPreKeyData(2, forged.PublicKey.PublicKey, forged.PublicKey.Signature))));
        var status = await owner.Hub.InvokeAsync<PreKeyStatus>(nameof(IMessagingHub.RotateSignedPreKey),
            new RotateSignedPreKeyRequest(new SignedPreKeyData(2, genuine.PublicKey.PublicKey, genuine.PublicKey.Signature)));

        Assert.Equal(2u, status.SignedPreKeyId);
        await using var requester = await app.ConnectAsync(organisation.Admin);
        await MessagingApp.CreateConversationAsync(requester, false, target);
        Assert.Equal(genuine.PublicKey.PublicKey, Assert.Single((await BundlesAsync(requester, target.Id)).Bundles).SignedPreKey.PublicKey);
    }

    [Fact]
    public async Task BundlesOfTheCallersOwnMember_ExcludeTheCallingDevice()
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var first = await app.EnrolDeviceAsync(worker);
        var second = await app.EnrolDeviceAsync(worker);
        await using var connected = await app.ConnectAsync(first);

        var bundles = await BundlesAsync(connected, worker.Id);

        Assert.Equal(second.Id, Assert.Single(bundles.Bundles).DeviceId);
    }

    public sealed class OnSqlite() : PreKeyTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : PreKeyTests(StorageProvider.Postgres);
}
