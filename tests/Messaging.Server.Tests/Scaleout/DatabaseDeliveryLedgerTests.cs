using MailKit.Security;
using Messaging.Scheduling.Delivery;
using Messaging.Scheduling.Invitations;
using Messaging.Scheduling.Tests.Infrastructure;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>
/// The delivery ledger in the database (exactly-once emails across instances), on both providers: claims, their outcome
/// and their lease; and two instances — two database views with pools or writers of their own, as two processes have —
/// sending the same delivery at once through the real SMTP test server.
/// </summary>
public abstract class DatabaseDeliveryLedgerTests(StorageProvider storage)
{
    [Fact]
    public async Task ADelivery_IsClaimedByOneAttempt_SentOnce_AndNeverClaimedAgain()
    {
        await using var app = new MessagingApp(storage);
        var ledger = new DatabaseDeliveryLedger(app.Services.GetRequiredService<IDatabase>(), app.Clock);
        var id = NewDeliveryId();

        var first = await ledger.ClaimAsync(id, CancellationToken.None);
        var meanwhile = await ledger.ClaimAsync(id, CancellationToken.None);
        await ledger.RecordSentAsync(first, CancellationToken.None);
        var after = await ledger.ClaimAsync(id, CancellationToken.None);

        Assert.Equal((DeliveryClaimStatus.Claimed, false), (first.Status, first.EarlierOutcomeUnknown));
        Assert.Equal(DeliveryClaimStatus.HeldElsewhere, meanwhile.Status);
        Assert.Equal(DeliveryClaimStatus.AlreadySent, after.Status);
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.ClaimAsync("NOT-HEX", CancellationToken.None));
    }

    [Fact]
    public async Task AClaimGivenBack_IsClaimedAgain_AndAHandOverWithoutAnswer_IsSaidToTheNextAttempt()
    {
        await using var app = new MessagingApp(storage);
        var ledger = new DatabaseDeliveryLedger(app.Services.GetRequiredService<IDatabase>(), app.Clock);
        var id = NewDeliveryId();

        // Refused (4xx): not taken, given back plainly.
        await ledger.ReleaseAsync(await ledger.ClaimAsync(id, CancellationToken.None), outcomeUnknown: false, CancellationToken.None);
        var second = await ledger.ClaimAsync(id, CancellationToken.None);
        // The connection broke after the hand-over: the outcome is unknown.
        await ledger.ReleaseAsync(second, outcomeUnknown: true, CancellationToken.None);
        var third = await ledger.ClaimAsync(id, CancellationToken.None);

        Assert.Equal((DeliveryClaimStatus.Claimed, false), (second.Status, second.EarlierOutcomeUnknown));
        Assert.Equal((DeliveryClaimStatus.Claimed, true), (third.Status, third.EarlierOutcomeUnknown));
    }

    [Fact]
    public async Task AClaimWhoseHolderVanished_LapsesAfterTheLease_AndItsLateReleaseTakesNothingFromTheNextHolder()
    {
        await using var app = new MessagingApp(storage);
        var ledger = new DatabaseDeliveryLedger(app.Services.GetRequiredService<IDatabase>(), app.Clock);
        var id = NewDeliveryId();
        var crashed = await ledger.ClaimAsync(id, CancellationToken.None);

        app.Clock.Advance(DeliveryClaim.Lease - TimeSpan.FromSeconds(1));
        var tooEarly = await ledger.ClaimAsync(id, CancellationToken.None);
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        var takenOver = await ledger.ClaimAsync(id, CancellationToken.None);
        await ledger.ReleaseAsync(crashed, outcomeUnknown: false, CancellationToken.None);
        var stillHeld = await ledger.ClaimAsync(id, CancellationToken.None);

        Assert.Equal(DeliveryClaimStatus.HeldElsewhere, tooEarly.Status);
        Assert.Equal((DeliveryClaimStatus.Claimed, true), (takenOver.Status, takenOver.EarlierOutcomeUnknown));
        Assert.Equal(DeliveryClaimStatus.HeldElsewhere, stillHeld.Status);
    }

    [Fact]
    public async Task TheLedgerExpiry_IsARecurringJobOfItsOwn_DeletingSentRowsPastItsRetentionOnly_AndInterviewRetentionLeavesTheLedgerAlone()
    {
        await using var app = new MessagingApp(storage, new Dictionary<string, string?>
        {
            ["Messaging:Retention:DeliveryLedgerRetention"] = "30.00:00:00",
            ["Messaging:Interviews:Retention"] = "1.00:00:00",
        });
        var ledger = new DatabaseDeliveryLedger(app.Services.GetRequiredService<IDatabase>(), app.Clock);
        Assert.Contains(DeliveryLedgerExpiryJob.Id, app.RecurringJobIds());
        var old = NewDeliveryId();
        await ledger.RecordSentAsync(await ledger.ClaimAsync(old, CancellationToken.None), CancellationToken.None);
        var neverSent = NewDeliveryId();
        await ledger.ClaimAsync(neverSent, CancellationToken.None);
        app.Clock.Advance(TimeSpan.FromDays(20));
        var recent = NewDeliveryId();
        await ledger.RecordSentAsync(await ledger.ClaimAsync(recent, CancellationToken.None), CancellationToken.None);
        app.Clock.Advance(TimeSpan.FromDays(11));

        // The interview retention sweep is past both sends' age but takes interviews only.
        Assert.Equal(0, await app.Services.GetRequiredService<Features.Interviews.InterviewRetentionJob>().RunAsync(CancellationToken.None));
        Assert.Equal(3, await app.CountAsync("delivery_ledger"));

        // The ledger's own sweep, run by the job runner: the send of 31 days ago goes; the one of 11 days ago and the claim
        // never sent stay (a retried job must still find them); a second run changes nothing.
        await app.RunSweepsAsync();
        Assert.Equal(new[] { neverSent, recent }.Order(StringComparer.Ordinal),
            (await app.QueryRowsAsync("SELECT delivery_id FROM delivery_ledger;")).Select(r => r[0]!).Order(StringComparer.Ordinal));
        Assert.Equal(0, await app.Services.GetRequiredService<DeliveryLedgerExpiryJob>().RunAsync(CancellationToken.None));
        Assert.Equal((DeliveryClaimStatus.AlreadySent, DeliveryClaimStatus.Claimed), ((await ledger.ClaimAsync(recent, CancellationToken.None)).Status,
            (await ledger.ClaimAsync(old, CancellationToken.None)).Status));
    }

    [Fact]
    public async Task TwoInstancesSendingOneDeliveryAtOnce_HandItToTheRelayExactlyOnce()
    {
        await using var app = new MessagingApp(storage);
        _ = app.Server; // migrated
        var options = app.Services.GetRequiredService<IOptions<StorageOptions>>();
        await using var first = Open(options);
        await using var second = Open(options);
        var smtp = new SmtpOptions
        {
            Host = "127.0.0.1",
            Port = TestServices.SmtpPort,
            Security = SecureSocketOptions.None,
            UserName = TestServices.SmtpUser,
            Password = new Secret(TestServices.SmtpPassword),
            PoolSize = 4,
            MaxAttempts = 5,
            FirstBackoff = TimeSpan.FromMilliseconds(50),
            Timeout = TimeSpan.FromSeconds(10),
        };
        await using var firstPool = new SmtpConnectionPool(smtp);
        await using var secondPool = new SmtpConnectionPool(smtp);
        IInvitationSender[] instances =
        [
            new SmtpInvitationSender(firstPool, new DatabaseDeliveryLedger((IDatabase)first, TimeProvider.System), smtp, TimeProvider.System, NullLogger<SmtpInvitationSender>.Instance),
            new SmtpInvitationSender(secondPool, new DatabaseDeliveryLedger((IDatabase)second, TimeProvider.System), smtp, TimeProvider.System, NullLogger<SmtpInvitationSender>.Instance),
        ];
        var id = NewDeliveryId();
        var recipient = $"ledger-{id[..12]}@test.example";

        // The same job run by both instances, four times each, all at once.
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => instances[i % 2].SendAsync(Email(id, recipient), CancellationToken.None))));
        var again = await Task.WhenAll(instances.Select(s => s.SendAsync(Email(id, recipient), CancellationToken.None)));

        Assert.Single(results, r => r.Status == DeliveryStatus.Sent);
        Assert.All(results, r => Assert.Contains(r.Status, new[] { DeliveryStatus.Sent, DeliveryStatus.AlreadySent, DeliveryStatus.TemporaryFailure }));
        Assert.All(again, r => Assert.Equal(DeliveryStatus.AlreadySent, r.Status));
        Assert.Single(TestServices.Received(recipient));
    }

    private static string NewDeliveryId() => Guid.NewGuid().ToString("N");

    private static OutgoingInvitation Email(string deliveryId, string recipient)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("notifications@messaging.example"));
        message.To.Add(MailboxAddress.Parse(recipient));
        message.Subject = "A notice is waiting";
        message.MessageId = $"{deliveryId}@messaging.example";
        message.Body = new TextPart("plain") { Text = "A notice is waiting for you in Messaging." };
        return new OutgoingInvitation(deliveryId, recipient, message);
    }

    /// <summary>One more instance's view of the database: a pool (PostgreSQL) or a writer (SQLite) of its own.</summary>
    private static IAsyncDisposable Open(IOptions<StorageOptions> options) => options.Value.Provider == StorageProvider.Postgres
        ? new PostgresDatabase(options)
        : new SqliteDatabase(options, TimeProvider.System);

    public sealed class OnSqlite() : DatabaseDeliveryLedgerTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : DatabaseDeliveryLedgerTests(StorageProvider.Postgres);
}
