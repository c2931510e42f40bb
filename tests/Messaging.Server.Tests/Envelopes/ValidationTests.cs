using System.Text;
using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>Malformed, oversized and unauthorised sends: each refused with its code, and nothing stored.</summary>
public abstract class ValidationTests(StorageProvider storage)
{
    private async Task<(MessagingApp App, ConnectedDevice Sender, SendEnvelopeRequest Valid)> SetUpAsync(Dictionary<string, string?>? settings = null)
    {
        var app = new MessagingApp(storage, settings ?? new Dictionary<string, string?>
        {
            ["Messaging:Envelopes:MaxCiphertextBytes"] = "1024",
            ["Messaging:Envelopes:MaxEnvelopeBytes"] = "2048",
        });
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var workerB = await app.CreateMemberAsync(serviceB);
        await app.EnrolDeviceAsync(workerB);
        await app.EnrolDeviceAsync(workerB);
        await app.EnrolDeviceAsync(workerB);
        var sender = await app.ConnectAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(serviceA)));
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, workerB);
        return (app, sender, await MessagingApp.BuildSendAsync(sender, conversation.ConversationId));
    }

    public static TheoryData<string, string> Malformations() => new()
    {
        { "empty envelope id", ErrorCodes.Malformed },
        { "empty conversation id", ErrorCodes.Malformed },
        { "unknown kind", ErrorCodes.UnknownKind },
        { "no recipients", ErrorCodes.Malformed },
        { "duplicate recipient", ErrorCodes.Malformed },
        { "empty recipient id", ErrorCodes.Malformed },
        { "unknown version tag", ErrorCodes.UnknownCiphertextVersion },
        { "version tag only", ErrorCodes.UnknownCiphertextVersion },
        { "empty ciphertext", ErrorCodes.UnknownCiphertextVersion },
        { "oversized ciphertext", ErrorCodes.TooLarge },
        { "oversized envelope", ErrorCodes.TooLarge },
        { "unknown conversation", ErrorCodes.ConversationNotFound },
    };

    [Theory]
    [MemberData(nameof(Malformations))]
    public async Task ABadSend_IsRefusedWithItsCode_AndStoresNothing(string defect, string code)
    {
        var (app, sender, valid) = await SetUpAsync();
        await using var _ = app;
        await using var __ = sender;
        var first = valid.Recipients[0];
        var bad = defect switch
        {
            "empty envelope id" => valid with { EnvelopeId = Guid.Empty },
            "empty conversation id" => valid with { ConversationId = Guid.Empty },
            "unknown kind" => valid with { Kind = (EnvelopeKind)99 },
            "no recipients" => valid with { Recipients = [] },
            "duplicate recipient" => valid with { Recipients = [.. valid.Recipients, first] },
            "empty recipient id" => valid with { Recipients = [.. valid.Recipients.Skip(1), first with { DeviceId = Guid.Empty }] },
            "unknown version tag" => valid with { Recipients = [.. valid.Recipients.Skip(1), first with { Ciphertext = [0x03, .. first.Ciphertext[1..]] }] },
            "version tag only" => valid with { Recipients = [.. valid.Recipients.Skip(1), first with { Ciphertext = [0x01] }] },
            "empty ciphertext" => valid with { Recipients = [.. valid.Recipients.Skip(1), first with { Ciphertext = [] }] },
            "oversized ciphertext" => valid with { Recipients = [.. valid.Recipients.Skip(1), first with { Ciphertext = Ciphertexts.Random(1025) }] },
            "oversized envelope" => valid with { Recipients = [.. valid.Recipients.Select(r => r with { Ciphertext = Ciphertexts.Random(1000) })] },
            "unknown conversation" => valid with { ConversationId = Guid.NewGuid() },
            _ => throw new InvalidOperationException(defect),
        };
        var before = await app.EnvelopeRowsAsync();

        await Refusal.AssertHubAsync(code, () => sender.SendAsync(bad));

        Assert.Equal(before, await app.EnvelopeRowsAsync());
        Assert.Equal(SendOutcome.Accepted, (await sender.SendAsync(valid)).Outcome);
    }

    [Fact]
    public async Task ASenderDevice_IsTakenFromTheConnection_NeverFromTheRequest()
    {
        var (app, sender, valid) = await SetUpAsync();
        await using var _ = app;
        await using var __ = sender;

        // The contract has no sender field; whatever the client claims, the stored sender is the authenticated device.
        var result = await sender.SendAsync(valid);
        Assert.Equal(1, await app.CountAsync("envelopes", $"seq = {result.Sequence} AND sender_device_id = '{sender.Device.Id:D}'"));
    }

    [Fact]
    public async Task Sends_AreRateLimitedPerDevice()
    {
        var (app, sender, valid) = await SetUpAsync(new Dictionary<string, string?> { ["Messaging:RateLimits:SendsPerWindow"] = "3" });
        await using var _ = app;
        await using var __ = sender;
        for (var i = 0; i < 3; i++)
        {
            await sender.SendAsync(valid with { EnvelopeId = Guid.NewGuid() });
        }

        var before = await app.EnvelopeRowsAsync();
        await Refusal.AssertHubAsync(ErrorCodes.RateLimited, () => sender.SendAsync(valid with { EnvelopeId = Guid.NewGuid() }));
        Assert.Equal(before, await app.EnvelopeRowsAsync());

        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(SendOutcome.Accepted, (await sender.SendAsync(valid with { EnvelopeId = Guid.NewGuid() })).Outcome);
    }

    [Fact]
    public async Task AFullConversation_RefusesNewMembers()
    {
        await using var app = new MessagingApp(storage, new Dictionary<string, string?> { ["Messaging:Conversations:MaxMembers"] = "3" });
        var service = await app.CreateOrganisationAsync();
        var members = new List<TestMember>();
        for (var i = 0; i < 3; i++)
        {
            members.Add(await app.CreateMemberAsync(service));
        }

        await using var creator = await app.ConnectAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(service)));
        await Refusal.AssertHubAsync(ErrorCodes.ConversationFull, () => MessagingApp.CreateConversationAsync(creator, false, [.. members]));
        var conversation = await MessagingApp.CreateConversationAsync(creator, false, members[0], members[1]);
        await Refusal.AssertHubAsync(ErrorCodes.ConversationFull, () => creator.Hub.InvokeAsync<ConversationSummary>(
            nameof(IMessagingHub.AddConversationMember), new ConversationMemberRequest(conversation.ConversationId, members[2].Id)));
    }

    [Fact]
    public async Task TheDatabase_HoldsNoPlaintext_AndNamesAndEmailsOnlyInTheMembersTable()
    {
        await using var app = new MessagingApp(storage);
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var alice = await app.CreateMemberAsync(serviceA, displayName: "Alice Zanzibar-Quux", email: "alice.zanzibar@service-a.example");
        var bob = await app.CreateMemberAsync(serviceB);
        await app.EnrolDeviceAsync(bob);
        await using var sender = await app.ConnectAsync(await app.EnrolDeviceAsync(alice));
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, bob);

        // What the client encrypts contains the marker; what reaches the server is only the ciphertext.
        const string Marker = "Jean-Kevin Dupont-Marqueur, né le 02/03/2004, rue de la Loi 16";
        var plaintext = Encoding.UTF8.GetBytes(Marker);
        var referral = await MessagingApp.OpenReferralAsync(sender, serviceB.Id);
        var request = await MessagingApp.BuildCaseSendAsync(sender, conversation.ConversationId, EnvelopeKind.Referral, referral.CaseReference);
        Assert.DoesNotContain(request.Recipients, r => r.Ciphertext.AsSpan().IndexOf(plaintext) >= 0);
        Assert.Equal(SendOutcome.Accepted, (await sender.SendAsync(request)).Outcome);

        Assert.NotEmpty(await app.StoredFilesAsync());
        Assert.False(await app.StoredBytesContainAsync(plaintext));

        // The stored copies are exactly the ciphertexts sent.
        foreach (var recipient in request.Recipients)
        {
            Assert.Equal(1, await app.CountAsync("envelope_recipients",
                $"recipient_device_id = '{recipient.DeviceId:D}' AND ciphertext = {app.BlobLiteral(recipient.Ciphertext)}"));
        }

        // Names and emails live in `members` only.
        foreach (var (table, columns) in new[]
        {
            ("organisations", "name || type"), ("devices", "status"), ("audit_log", "event_type || subjects || COALESCE(detail, '')"),
            ("key_log", "device_id || member_id"), ("conversations", "id"), ("envelopes", "envelope_id || conversation_id"),
        })
        {
            Assert.Equal(0, await app.CountAsync(table, $"{columns} LIKE '%Zanzibar%' OR {columns} LIKE '%alice.zanzibar%'"));
        }

        Assert.Equal(1, await app.CountAsync("members", "display_name = 'Alice Zanzibar-Quux' AND work_email = 'alice.zanzibar@service-a.example'"));
    }

    [Fact]
    public async Task Logs_NeverContainTokensCodesCiphertextNamesOrEmails()
    {
        await using var app = new MessagingApp(storage);
        var serviceA = await app.CreateOrganisationAsync();
        var alice = await app.CreateMemberAsync(serviceA, displayName: "Alice Loggable", email: "alice.loggable@service-a.example");
        var bob = await app.CreateMemberAsync(serviceA);
        var code = await app.IssueCodeAsync(bob);
        var bobKeys = DeviceKeys.Generate();
        (await app.PostEnrolmentAsync(bobKeys.Request(code))).EnsureSuccessStatusCode();
        var aliceDevice = await app.EnrolDeviceAsync(alice);
        var token = await app.AuthenticateAsync(aliceDevice);
        await using var sender = await app.ConnectAsync(aliceDevice);
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, bob);
        var request = await MessagingApp.BuildSendAsync(sender, conversation.ConversationId);
        await sender.SendAsync(request);
        await Refusal.AssertHubAsync(ErrorCodes.UnknownKind, () => sender.SendAsync(request with { EnvelopeId = Guid.NewGuid(), Kind = (EnvelopeKind)42 }));

        var forbidden = new List<string> { token.AccessToken, code, code.Replace("-", string.Empty, StringComparison.Ordinal), "Alice Loggable", "alice.loggable" };
        forbidden.AddRange(request.Recipients.Select(r => Convert.ToBase64String(r.Ciphertext)));
        forbidden.AddRange(request.Recipients.Select(r => Convert.ToHexString(r.Ciphertext)));
        Assert.NotEmpty(app.Logs.Lines);
        var leaks = app.Logs.Lines.Where(l => forbidden.Any(f => l.Contains(f, StringComparison.OrdinalIgnoreCase))).Select(l => l[..Math.Min(l.Length, 160)]).Distinct().ToList();
        Assert.True(leaks.Count == 0, string.Join("\n", leaks));
        foreach (var line in app.Logs.Lines)
        {
            foreach (var secret in forbidden)
            {
                Assert.DoesNotContain(secret, line, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    public sealed class OnSqlite() : ValidationTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : ValidationTests(StorageProvider.Postgres);
}
