using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Crypto.Keys;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests;

public abstract class EnrolmentTests(StorageProvider storage)
{
    [Fact]
    public async Task AValidCodeAndKeys_EnrolADevice_WithItsPreKeys_AndConsumeTheCode()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var worker = await app.CreateMemberAsync(organisation);
        var keys = DeviceKeys.Generate(oneTimePreKeys: 7);
        var code = await app.IssueCodeAsync(worker);

        var response = await app.PostEnrolmentAsync(keys.Request(code.ToLowerInvariant()));

        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var enrolled = (await response.Content.ReadFromJsonAsync<EnrolDeviceResponse>())!;
        Assert.Equal(worker.Id, enrolled.MemberId);
        Assert.Equal(organisation.Id, enrolled.OrganisationId);
        Assert.Equal(Roles.Worker, enrolled.Role);
        Assert.Equal(7, await app.CountAsync("one_time_prekeys", $"device_id = '{enrolled.DeviceId:D}'"));
        Assert.Equal(1, await app.CountAsync("key_log", $"device_id = '{enrolled.DeviceId:D}' AND idx = {enrolled.KeyLogIndex}"));
        Assert.Equal(1, await app.CountAsync("enrolment_codes", $"device_id = '{enrolled.DeviceId:D}' AND used_at IS NOT NULL"));
    }

    [Fact]
    public async Task AnExpiredCode_IsRefused_AndNothingIsStored()
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var code = await app.IssueCodeAsync(worker);
        var devices = await app.CountAsync("devices");

        app.Clock.Advance(TimeSpan.FromMinutes(15));
        var response = await app.PostEnrolmentAsync(DeviceKeys.Generate().Request(code));

        await Refusal.AssertHttpAsync(ErrorCodes.EnrolmentCodeExpired, 400, response);
        Assert.Equal(devices, await app.CountAsync("devices"));
    }

    [Fact]
    public async Task AReusedCode_IsRefused()
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var code = await app.IssueCodeAsync(worker);
        (await app.PostEnrolmentAsync(DeviceKeys.Generate().Request(code))).EnsureSuccessStatusCode();
        var devices = await app.CountAsync("devices");

        var response = await app.PostEnrolmentAsync(DeviceKeys.Generate().Request(code));

        await Refusal.AssertHttpAsync(ErrorCodes.EnrolmentCodeUsed, 400, response);
        Assert.Equal(devices, await app.CountAsync("devices"));
    }

    [Fact]
    public async Task AnUnknownCode_IsRefused()
    {
        await using var app = new MessagingApp(storage);
        var response = await app.PostEnrolmentAsync(DeviceKeys.Generate().Request("AAAA-BBBB-CCCC-DDDD"));
        await Refusal.AssertHttpAsync(ErrorCodes.EnrolmentCodeUnknown, 400, response);
    }

    [Fact]
    public async Task ASignedPreKeyNotSignedByTheIdentity_IsRefused_AndTheCodeStaysUsable()
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var code = await app.IssueCodeAsync(worker);
        var keys = DeviceKeys.Generate();
        using var stranger = IdentityKeyPair.Generate();
        using var foreignPreKey = SignedPreKeyPair.Generate(stranger, 1);
        var forged = keys.Request(code) with
        {
            SignedPreKey = new SignedPreKeyData(1, foreignPreKey.PublicKey.PublicKey, foreignPreKey.PublicKey.Signature),
        };
        var devices = await app.CountAsync("devices");

        await Refusal.AssertHttpAsync(ErrorCodes.SignedPreKeyInvalid, 400, await app.PostEnrolmentAsync(forged));
        Assert.Equal(devices, await app.CountAsync("devices"));

        (await app.PostEnrolmentAsync(keys.Request(code))).EnsureSuccessStatusCode();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(128)]
    [InlineData(129)]
    [InlineData(130)]
    public async Task AMalformedIdentityKey_IsRefused(int length)
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var keys = DeviceKeys.Generate();
        var identity = new byte[length];
        System.Security.Cryptography.RandomNumberGenerator.Fill(identity);
        if (length > 0)
        {
            identity[0] = IdentityPublicKey.Version;
        }

        var request = keys.Request(await app.IssueCodeAsync(worker)) with { IdentityKey = identity };
        var devices = await app.CountAsync("devices");

        await Refusal.AssertHttpAsync(ErrorCodes.IdentityKeyInvalid, 400, await app.PostEnrolmentAsync(request));
        Assert.Equal(devices, await app.CountAsync("devices"));
    }

    [Fact]
    public async Task AnIdentityKeyAlreadyRegistered_IsRefused()
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var keys = DeviceKeys.Generate();
        (await app.PostEnrolmentAsync(keys.Request(await app.IssueCodeAsync(worker)))).EnsureSuccessStatusCode();

        var response = await app.PostEnrolmentAsync(keys.Request(await app.IssueCodeAsync(worker)));

        await Refusal.AssertHttpAsync(ErrorCodes.IdentityKeyInUse, 409, response);
    }

    [Fact]
    public async Task DuplicateOneTimePreKeyIds_AreRefused()
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var keys = DeviceKeys.Generate(3);
        var request = keys.Request(await app.IssueCodeAsync(worker));
        var duplicated = request with { OneTimePreKeys = [.. request.OneTimePreKeys, request.OneTimePreKeys[0]] };

        await Refusal.AssertHttpAsync(ErrorCodes.OneTimePreKeyInvalid, 400, await app.PostEnrolmentAsync(duplicated));
    }

    [Fact]
    public async Task EnrolmentCodes_AreStoredAsHashesOnly()
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var code = await app.IssueCodeAsync(worker);

        Assert.NotEmpty(await app.StoredFilesAsync());
        Assert.False(await app.StoredBytesContainAsync(System.Text.Encoding.ASCII.GetBytes(code.Replace("-", string.Empty, StringComparison.Ordinal))));
        Assert.False(await app.StoredBytesContainAsync(System.Text.Encoding.ASCII.GetBytes(code)));
    }

    public sealed class OnSqlite() : EnrolmentTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : EnrolmentTests(StorageProvider.Postgres);
}
