using System.Net;
using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests;

/// <summary>Issue 10 on the server: the member-key calls' rules and typed refusals (who issues which enrolment code:
/// <see cref="EnrolmentCodeIssuingTests"/>).</summary>
public abstract class MemberKeyTests(StorageProvider storage)
{
    [Fact]
    public async Task TheMemberKeyCalls_RefuseBadInputWithTypedCodes_AndChangeNothing()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var worker = await app.CreateMemberAsync(organisation);
        var first = await app.EnrolDeviceAsync(worker);
        var second = await app.EnrolDeviceAsync(worker);
        var firstClient = await app.ClientAsync(first);
        var secondClient = await app.ClientAsync(second);
        using var memberKey = MemberSigningKey.Generate(worker.Id);
        using var otherKey = MemberSigningKey.Generate(worker.Id);
        var now = app.Clock.GetUtcNow();
        var announcement = memberKey.Announce(now).ToBytes();
        var ownCertificate = memberKey.Certify(first.Id, first.Keys.Identity.PublicKey, now).ToBytes();
        var log = await app.CountAsync("key_log");

        var tampered = announcement.ToArray();
        tampered[20] ^= 1;
        await AssertRefusedAsync(firstClient, TrustRoutes.MemberKey, new PublishMemberKeyRequest(tampered, [new CertifiedDevice(ownCertificate, null)]), HttpStatusCode.BadRequest, ErrorCodes.MemberKeyInvalid);
        await AssertRefusedAsync(firstClient, TrustRoutes.MemberKey,
            new PublishMemberKeyRequest(announcement, [new CertifiedDevice(otherKey.Certify(first.Id, first.Keys.Identity.PublicKey, now).ToBytes(), null)]),
            HttpStatusCode.BadRequest, ErrorCodes.CertificateInvalid);
        await AssertRefusedAsync(firstClient, TrustRoutes.MemberKey,
            new PublishMemberKeyRequest(announcement, [new CertifiedDevice(memberKey.Certify(second.Id, second.Keys.Identity.PublicKey, now).ToBytes(), null)]),
            HttpStatusCode.BadRequest, ErrorCodes.CertificateInvalid);
        await AssertRefusedAsync(firstClient, TrustRoutes.Approvals, new ApproveDeviceRequest(ownCertificate, memberKey.SealTo(second.Keys.Identity.PublicKey)),
            HttpStatusCode.Conflict, ErrorCodes.MemberKeyMissing);
        Assert.Equal(log, await app.CountAsync("key_log"));

        // The first device publishes; a second publish from it is refused; the pending device may not approve.
        var published = await firstClient.PostAsJsonAsync(TrustRoutes.MemberKey, new PublishMemberKeyRequest(announcement, [new CertifiedDevice(ownCertificate, null)]));
        Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        Assert.Equal(log + 2, await app.CountAsync("key_log"));
        await AssertRefusedAsync(firstClient, TrustRoutes.MemberKey, new PublishMemberKeyRequest(announcement, [new CertifiedDevice(ownCertificate, null)]), HttpStatusCode.Conflict, ErrorCodes.MemberKeyExists);
        var secondCertificate = memberKey.Certify(second.Id, second.Keys.Identity.PublicKey, now).ToBytes();
        await AssertRefusedAsync(secondClient, TrustRoutes.Approvals, new ApproveDeviceRequest(secondCertificate, memberKey.SealTo(second.Keys.Identity.PublicKey)),
            HttpStatusCode.Forbidden, ErrorCodes.ApproverNotVouched);
        await AssertRefusedAsync(firstClient, TrustRoutes.Approvals, new ApproveDeviceRequest(otherKey.Certify(second.Id, second.Keys.Identity.PublicKey, now).ToBytes(),
            memberKey.SealTo(second.Keys.Identity.PublicKey)), HttpStatusCode.BadRequest, ErrorCodes.CertificateInvalid);
        await AssertRefusedAsync(firstClient, TrustRoutes.Approvals, new ApproveDeviceRequest(ownCertificate, memberKey.SealTo(first.Keys.Identity.PublicKey)),
            HttpStatusCode.Conflict, ErrorCodes.DeviceNotPending);
        Assert.Equal(HttpStatusCode.NotFound, (await secondClient.GetAsync(TrustRoutes.Grant)).StatusCode);
        Assert.Equal(log + 2, await app.CountAsync("key_log"));

        // The approval stores the certificate and the sealed key, which only the approved device opens.
        Assert.Equal(HttpStatusCode.OK, (await firstClient.PostAsJsonAsync(TrustRoutes.Approvals, new ApproveDeviceRequest(secondCertificate, memberKey.SealTo(second.Keys.Identity.PublicKey)))).StatusCode);
        var grant = (await secondClient.GetFromJsonAsync<MemberKeyGrant>(TrustRoutes.Grant))!;
        using var opened = MemberSigningKey.OpenGrant(second.Keys.Identity, worker.Id, grant.SealedMemberKey);
        Assert.Equal(memberKey.PublicKey, opened.PublicKey);
        Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'device.approved'"));
    }

    [Fact]
    public async Task AResetFromAnUncertifiedDevice_RevokesTheMembersOtherDevices()
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var first = await app.EnrolDeviceAsync(worker);
        var replacement = await app.EnrolDeviceAsync(worker);
        var now = app.Clock.GetUtcNow();
        using (var original = MemberSigningKey.Generate(worker.Id))
        {
            var response = await (await app.ClientAsync(first)).PostAsJsonAsync(TrustRoutes.MemberKey,
                new PublishMemberKeyRequest(original.Announce(now).ToBytes(), [new CertifiedDevice(original.Certify(first.Id, first.Keys.Identity.PublicKey, now).ToBytes(), null)]));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var reset = MemberSigningKey.Generate(worker.Id);
        var answer = await (await app.ClientAsync(replacement)).PostAsJsonAsync(TrustRoutes.MemberKey,
            new PublishMemberKeyRequest(reset.Announce(now).ToBytes(), [new CertifiedDevice(reset.Certify(replacement.Id, replacement.Keys.Identity.PublicKey, now).ToBytes(), null)]));

        Assert.True((await answer.Content.ReadFromJsonAsync<MemberKeyPublished>())!.Reset);
        Assert.Equal(1, await app.CountAsync("devices", $"id = '{first.Id:D}' AND status = 'revoked'"));
        Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'member-key.reset'"));
        Assert.Equal(0, await app.CountAsync("device_certificates", $"device_id = '{first.Id:D}'"));
    }

    private static async Task AssertRefusedAsync<T>(HttpClient client, string route, T body, HttpStatusCode status, string code)
    {
        var response = await client.PostAsJsonAsync(route, body);
        Assert.Equal((status, code), (response.StatusCode, await CodeAsync(response)));
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
        => (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).TryGetProperty("code", out var code) ? code.GetString() : null;

    public sealed class OnSqlite() : MemberKeyTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : MemberKeyTests(StorageProvider.Postgres);
}
