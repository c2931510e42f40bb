using MailKit.Security;
using Messaging.Scheduling.Delivery;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Invitations;
using Messaging.Scheduling.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using NodaTime;

namespace Messaging.Scheduling.Tests.Delivery;

public sealed class SmtpDeliveryTests : IDisposable
{
    private readonly string _ledgerDirectory = Path.Combine(Path.GetTempPath(), "ledger-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_ledgerDirectory))
        {
            Directory.Delete(_ledgerDirectory, recursive: true);
        }
    }

    /// <summary>An interview whose addresses are unique to the test, so the SMTP server's folders are the test's own.</summary>
    private static Interview UniqueInterview()
    {
        var tag = Guid.NewGuid().ToString("N")[..12];
        return Interview.Propose(Guid.NewGuid(), Samples.CaseReference, Organiser.Create(Guid.NewGuid(), $"org-{tag}@test.example", "CAPREV"),
            [Participant.Member(ParticipantRole.Worker, Guid.NewGuid(), $"worker-{tag}@test.example"),
                Participant.Member(ParticipantRole.JusticeAssistant, Guid.NewGuid(), $"aj-{tag}@test.example"), Participant.ThePerson],
            Samples.At("2027-03-26T10:00:00"), Duration.FromHours(1), InterviewPlace.ServiceAddress("Rue de la Loi 1, 1000 Bruxelles"));
    }

    private static IReadOnlyList<OutgoingInvitation> Messages(Interview interview, ItipMethod method = ItipMethod.Request)
        => InvitationMessage.Build(interview, method, new MailboxAddress("Planning", "planning@messaging.example"), Samples.Uids, Samples.Utc("2027-03-01T08:00:00Z"));

    private static SmtpOptions Options(int? port = null, string? password = null) => new()
    {
        Host = "127.0.0.1",
        Port = port ?? TestServices.SmtpPort,
        Security = SecureSocketOptions.None,
        UserName = TestServices.SmtpUser,
        Password = new Secret(password ?? TestServices.SmtpPassword),
        PoolSize = 2,
        MaxAttempts = 4,
        FirstBackoff = TimeSpan.FromMilliseconds(20),
        Timeout = TimeSpan.FromSeconds(10),
    };

    private SmtpInvitationSender Sender(SmtpConnectionPool pool, SmtpOptions options)
        => new(pool, new FileDeliveryLedger(_ledgerDirectory), options, TimeProvider.System, NullLogger<SmtpInvitationSender>.Instance);

    [Fact]
    public async Task SmtpFailingThenRecovering_SendsEachInvitationExactlyOnce_EvenWhenTheJobIsRetried()
    {
        var messages = Messages(UniqueInterview());

        // First the relay is down (nothing listens on the port): every message fails temporarily, nothing is recorded.
        var downOptions = Options(port: FreePort());
        await using (var downPool = new SmtpConnectionPool(downOptions))
        {
            var down = await Task.WhenAll(messages.Select(m => Sender(downPool, downOptions).SendAsync(m, CancellationToken.None)));
            Assert.All(down, r => Assert.Equal(DeliveryStatus.TemporaryFailure, r.Status));
        }

        // Then it answers 451 twice per recipient before it recovers.
        foreach (var m in messages)
        {
            TestServices.FailNext(m.Recipient, 2);
        }

        var options = Options();
        await using var pool = new SmtpConnectionPool(options);
        var results = await Task.WhenAll(messages.Select(m => Sender(pool, options).SendAsync(m, CancellationToken.None)));
        Assert.All(results, r => Assert.Equal(DeliveryStatus.Sent, r.Status));

        // The job runs again (a retry after the end of DATA, a restart): the ledger stops every second send.
        var again = await Task.WhenAll(messages.Select(m => Sender(pool, options).SendAsync(m, CancellationToken.None)));
        Assert.All(again, r => Assert.Equal(DeliveryStatus.AlreadySent, r.Status));
        Assert.All(messages, m => Assert.Single(TestServices.Received(m.Recipient)));
    }

    [Fact]
    public async Task ALedgerWriteThatFailsAfterTheRelayTookTheMessage_IsTriedAgain_SoTheMessageIsNotSentTwice()
    {
        // Outside review 2026-11-29, scheduling finding 11: the database briefly unreachable right after the end of DATA
        // left the claim to lapse, and the job's retry sent the message a second time.
        var message = Messages(UniqueInterview())[0];
        var options = Options();
        await using var pool = new SmtpConnectionPool(options);
        var ledger = new FlakyRecordLedger(new FileDeliveryLedger(_ledgerDirectory), failures: 3);
        var sender = new SmtpInvitationSender(pool, ledger, options, TimeProvider.System, NullLogger<SmtpInvitationSender>.Instance);

        var first = await sender.SendAsync(message, CancellationToken.None);
        var again = await sender.SendAsync(message, CancellationToken.None);

        Assert.Equal((DeliveryStatus.Sent, DeliveryStatus.AlreadySent), (first.Status, again.Status));
        Assert.Equal(4, ledger.RecordCalls);
        Assert.Single(TestServices.Received(message.Recipient));
    }

    /// <summary>A ledger whose first <c>failures</c> records throw, as a database does while it restarts.</summary>
    private sealed class FlakyRecordLedger(IDeliveryLedger inner, int failures) : IDeliveryLedger
    {
        public int RecordCalls { get; private set; }

        public Task<DeliveryClaim> ClaimAsync(string deliveryId, CancellationToken cancellationToken) => inner.ClaimAsync(deliveryId, cancellationToken);

        public Task RecordSentAsync(DeliveryClaim claim, CancellationToken cancellationToken)
            => ++RecordCalls <= failures ? throw new InvalidOperationException("The database is restarting.") : inner.RecordSentAsync(claim, cancellationToken);

        public Task ReleaseAsync(DeliveryClaim claim, bool outcomeUnknown, CancellationToken cancellationToken) => inner.ReleaseAsync(claim, outcomeUnknown, cancellationToken);
    }

    [Fact]
    public async Task DeliveredInvitation_ArrivesWhole_WithTheSameMethodInMimeAndBody()
    {
        var interview = UniqueInterview();
        var moved = interview.Reschedule(interview.Start + Duration.FromDays(4), interview.Duration, interview.Place, Samples.Utc("2027-03-01T07:00:00Z"));
        var options = Options();
        await using var pool = new SmtpConnectionPool(options);
        var sender = Sender(pool, options);

        foreach (var (version, method) in new[] { (interview, ItipMethod.Request), (moved, ItipMethod.Request), (moved.Cancel(Samples.Utc("2027-03-01T07:00:00Z")), ItipMethod.Cancel) })
        {
            foreach (var m in Messages(version, method))
            {
                Assert.Equal(DeliveryStatus.Sent, (await sender.SendAsync(m, CancellationToken.None)).Status);
            }
        }

        var worker = interview.EmailedParticipants.First().WorkEmail!;
        var received = TestServices.Received(worker).Select(f => MimeMessage.Load(f)).ToList();
        Assert.Equal(3, received.Count);
        var calendars = received.Select(r =>
        {
            var part = r.BodyParts.OfType<TextPart>().Single(p => p.ContentType.MimeType == "text/calendar");
            var calendar = Ical.Net.Calendar.Load(part.Text)!;
            Assert.Equal(part.ContentType.Parameters["method"], calendar.Method);
            return (calendar.Method, calendar.Events.Single().Uid, calendar.Events.Single().Sequence);
        }).OrderBy(c => c.Sequence).ToList();
        var uid = Samples.Uids.ForAttendee(interview.Id, worker);
        Assert.Equal([("REQUEST", uid, 0), ("REQUEST", uid, 1), ("CANCEL", uid, 2)], calendars);
    }

    [Fact]
    public async Task PermanentRefusal_IsReportedAtOnce_WithTheReplyCode()
    {
        var message = Messages(UniqueInterview())[1];
        TestServices.Reject(message.Recipient);
        var options = Options();
        await using var pool = new SmtpConnectionPool(options);

        var result = await Sender(pool, options).SendAsync(message, CancellationToken.None);

        Assert.Equal((DeliveryStatus.PermanentFailure, 550), (result.Status, result.ReplyCode));
        Assert.Empty(TestServices.Received(message.Recipient));
    }

    [Fact]
    public async Task WrongPassword_IsAPermanentFailure()
    {
        var options = Options(password: "wrong");
        await using var pool = new SmtpConnectionPool(options);

        var result = await Sender(pool, options).SendAsync(Messages(UniqueInterview())[0], CancellationToken.None);

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
    }

    [Fact]
    public async Task SequentialSends_ReuseOnePooledConnection()
    {
        var options = Options();
        await using var pool = new SmtpConnectionPool(options);
        var sender = Sender(pool, options);

        for (var i = 0; i < 4; i++)
        {
            foreach (var m in Messages(UniqueInterview()))
            {
                Assert.Equal(DeliveryStatus.Sent, (await sender.SendAsync(m, CancellationToken.None)).Status);
            }
        }

        Assert.Equal(1, pool.ConnectionsOpened);
    }

    [Fact]
    public async Task PickupFolder_WritesOneEmlPerDeliveryId_AndNeverTwice()
    {
        var folder = Path.Combine(_ledgerDirectory, "pickup");
        var sender = new PickupFolderSender(folder);
        var messages = Messages(Samples.Interview());

        var first = await Task.WhenAll(messages.Select(m => sender.SendAsync(m, CancellationToken.None)));
        var second = await Task.WhenAll(messages.Select(m => sender.SendAsync(m, CancellationToken.None)));

        Assert.All(first, r => Assert.Equal(DeliveryStatus.Sent, r.Status));
        Assert.All(second, r => Assert.Equal(DeliveryStatus.AlreadySent, r.Status));
        var files = Directory.GetFiles(folder);
        Assert.Equal(messages.Select(m => m.DeliveryId + ".eml").Order(), files.Select(Path.GetFileName).Order());
        Assert.Equal(messages[0].Message.Subject, MimeMessage.Load(Path.Combine(folder, messages[0].DeliveryId + ".eml")).Subject);
    }

    [Fact]
    public async Task PickupFolder_ItCreates_IsTheOwnersAlone_AndSoIsEveryMessage()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // Below a folder that already exists with the usual umask's 0755: the data folder of a PostgreSQL deployment
        // started by hand, which nothing else tightens.
        Directory.CreateDirectory(_ledgerDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var folder = Path.Combine(_ledgerDirectory, "interviews", "pickup");
        var sender = new PickupFolderSender(folder);
        var messages = Messages(Samples.Interview());

        await Task.WhenAll(messages.Select(m => sender.SendAsync(m, CancellationToken.None)));

        const UnixFileMode ownerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Equal(ownerOnlyDirectory, File.GetUnixFileMode(folder));
        Assert.Equal(ownerOnlyDirectory, File.GetUnixFileMode(Path.GetDirectoryName(folder)!));
        var files = Directory.GetFiles(folder);
        Assert.Equal(messages.Count, files.Length);
        foreach (var file in files)
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
