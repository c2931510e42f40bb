using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Messaging.Contracts;
using Messaging.Scheduling.Availability;
using Messaging.Scheduling.Invitations;
using Messaging.Scheduling.Tests.Infrastructure;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using NodaTime;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace Messaging.Server.Tests.Interviews;

/// <summary>Replies read from the scheduling mailbox (the loopback dovecot), the invitation envelope gate, and the slot
/// search over external feeds served over HTTPS (WireMock.Net).</summary>
public abstract class InterviewMailboxAndGateTests(StorageProvider storage)
{
    private static Dictionary<string, string?> ImapSettings() => new(StringComparer.Ordinal)
    {
        ["Messaging:Interviews:SchedulingMailbox"] = "planning@messaging.example",
        ["Messaging:Interviews:Imap:Host"] = "127.0.0.1",
        ["Messaging:Interviews:Imap:Port"] = TestServices.ImapPort.ToString(CultureInfo.InvariantCulture),
        ["Messaging:Interviews:Imap:Security"] = "None",
        ["Messaging:Interviews:Imap:UserName"] = TestServices.ImapUser,
        ["Messaging:Interviews:Imap:Password"] = TestServices.ImapPassword,
        // Once a day (at midnight UTC): the test runs the poll itself, and a scheduled poll crossing it would take the
        // replies first (the suite once failed so, on a minute's boundary: the test's move found them gone).
        ["Messaging:Interviews:ReplyPollInterval"] = "1.00:00:00",
    };

    [Fact]
    public async Task RepliesFromTheSchedulingMailbox_UpdateTheInvitee_AndStaleOrForeignRepliesChangeNothing()
    {
        await using var world = await InterviewWorld.CreateAsync(ImapSettings(), storage: storage);
        Assert.Contains(InterviewReplyPollJob.Id, world.App.RecurringJobIds());
        var entry = await world.ProposeAsync(world.StartIn(3));
        await world.RescheduleAsync(entry.InterviewId, world.StartIn(4));
        var workerB = await UidOfOwnCopyAsync(world, world.WorkerBEmail);
        var justiceAssistant = await UidOfOwnCopyAsync(world, world.JusticeAssistantEmail);

        // Worker B's secretariat answers the copy B forwarded to it: taken, whoever sends the mail.
        await AppendAsync(Reply(workerB, 1, world.WorkerBEmail, "ACCEPTED", from: "secretariat@b.example"));
        await AppendAsync(Reply(justiceAssistant, 0, world.JusticeAssistantEmail, "ACCEPTED"));   // stale SEQUENCE
        await AppendAsync(Reply(workerB, 1, "stranger@elsewhere.example", "DECLINED"));           // not an invitee
        await AppendAsync(Reply($"0123456789abcdef0123456789abcdef.{new string('7', 40)}@interviews.messaging", 1, world.WorkerBEmail, "DECLINED")); // unknown UID

        Assert.Equal(1, await PollAsync(world));
        var read = await world.ReadAsync(entry.InterviewId);
        Assert.Equal(InterviewAnswer.Accepted, read.Participants.Single(p => p.MemberId == world.WorkerB.Device.Member.Id).Answer);
        Assert.Equal(InterviewAnswer.NeedsAction, read.Participants.Single(p => p.MemberId == world.JusticeAssistant.Device.Member.Id).Answer);

        // The justice assistant's current reply to their own copy confirms; refusals were logged with their reason only.
        await AppendAsync(Reply(justiceAssistant, 1, world.JusticeAssistantEmail, "ACCEPTED"));
        Assert.Equal(1, await PollAsync(world));
        Assert.Equal(InterviewState.Confirmed, (await world.ReadAsync(entry.InterviewId)).State);
        Assert.Contains(world.App.Logs.Lines, l => l.Contains("refused (StaleSequence)", StringComparison.Ordinal));
        Assert.Contains(world.App.Logs.Lines, l => l.Contains("refused (NotAnInvitee)", StringComparison.Ordinal));
        Assert.Contains(world.App.Logs.Lines, l => l.Contains("refused (UnknownInterview)", StringComparison.Ordinal));
        Assert.DoesNotContain(world.App.Logs.Lines, l => l.Contains("stranger@elsewhere.example", StringComparison.Ordinal));
    }

    /// <summary>The review's attack (2026-11-29, finding 1): replies forged from what the person's own copy shows, by
    /// another invitee with the UID of their own copy, or with a guessed token, each accepting (or countering) for the
    /// justice assistant after worker B accepted — any of them taken would confirm the interview.</summary>
    [Fact]
    public async Task ForgedReplies_NamingAnInvitee_WithoutTheirOwnCopysUid_AreRefused_AndChangeNothing()
    {
        await using var world = await InterviewWorld.CreateAsync(ImapSettings(), storage: storage);
        var entry = await world.ProposeAsync(world.StartIn(3));
        var workerB = await UidOfOwnCopyAsync(world, world.WorkerBEmail);
        var justiceAssistant = world.JusticeAssistantEmail;
        await AppendAsync(Reply(workerB, 0, world.WorkerBEmail, "ACCEPTED"));
        Assert.Equal(1, await PollAsync(world));
        var (refusedBefore, logsBefore) = (await CountAsync("Refused"), world.App.Logs.Lines.Count);

        var person = PersonInvitation.Create(InterviewCanaryTests.Rebuild(entry), entry.PersonUid, entry.SchedulingMailbox, Instant.FromUtc(2030, 1, 1, 0, 0));
        var personsUid = Ical.Net.Calendar.Load(person.Ics)!.Events.Single().Uid!;
        Assert.DoesNotContain(entry.InterviewId.ToString("N"), person.Ics, StringComparison.OrdinalIgnoreCase);
        var forgeries = new[]
        {
            Reply(personsUid, 0, justiceAssistant, "ACCEPTED", from: "anyone@elsewhere.example"),                        // the person's copy's UID
            Reply($"{entry.InterviewId:N}@interviews.messaging", 0, justiceAssistant, "ACCEPTED", from: "anyone@elsewhere.example"), // the UID it used to give away
            Reply(workerB, 0, justiceAssistant, "ACCEPTED", from: world.WorkerBEmail),                                 // another invitee's own UID
            Reply(workerB, 0, justiceAssistant, "TENTATIVE", from: world.WorkerBEmail, method: "COUNTER"),             // …in a COUNTER
            Reply($"{entry.InterviewId:N}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20))}@interviews.messaging", 0,
                justiceAssistant, "ACCEPTED", from: justiceAssistant),                                                  // a guessed token
        };
        foreach (var forgery in forgeries)
        {
            await AppendAsync(forgery);
        }

        Assert.Equal(0, await PollAsync(world));
        var read = await world.ReadAsync(entry.InterviewId);
        Assert.Equal(InterviewState.Proposed, read.State);
        var assistant = read.Participants.Single(p => p.MemberId == world.JusticeAssistant.Device.Member.Id);
        Assert.Equal((InterviewAnswer.NeedsAction, (DateTimeOffset?)null), (assistant.Answer, assistant.ProposedStart));
        Assert.Equal(refusedBefore + forgeries.Length, await CountAsync("Refused"));
        var logs = world.App.Logs.Lines.Skip(logsBefore).ToList();
        Assert.Equal(4, logs.Count(l => l.Contains("refused (Unauthenticated)", StringComparison.Ordinal)));
        Assert.Single(logs, l => l.Contains("refused (UnknownInterview)", StringComparison.Ordinal));
        Assert.DoesNotContain(world.App.Logs.Lines, l => l.Contains(justiceAssistant, StringComparison.Ordinal)
            || l.Contains(workerB, StringComparison.Ordinal) || l.Contains("anyone@elsewhere.example", StringComparison.Ordinal));

        // The justice assistant's own copy still works.
        await AppendAsync(Reply(await UidOfOwnCopyAsync(world, justiceAssistant), 0, justiceAssistant, "ACCEPTED"));
        Assert.Equal(1, await PollAsync(world));
        Assert.Equal(InterviewState.Confirmed, (await world.ReadAsync(entry.InterviewId)).State);
    }

    [Fact]
    public async Task WithoutAMailbox_NoReplyPollIsRegistered()
    {
        await using var world = await InterviewWorld.CreateAsync(storage: storage);
        Assert.DoesNotContain(InterviewReplyPollJob.Id, world.App.RecurringJobIds());
    }

    [Fact]
    public async Task InvitationEnvelopes_TravelOnlyBetweenParticipantsOfALiveInterview_AndNothingIsStoredOtherwise()
    {
        await using var world = await InterviewWorld.CreateAsync(storage: storage);
        await using var colleague = await world.App.ConnectWorkerAsync(world.ServiceA);
        var participants = await MessagingApp.CreateConversationAsync(world.Organiser, false, world.WorkerB.Device.Member, world.JusticeAssistant.Device.Member);
        var withOutsider = await MessagingApp.CreateConversationAsync(world.Organiser, false, world.WorkerB.Device.Member, colleague.Device.Member);

        // No interview yet.
        var before = await world.App.EnvelopeRowsAsync();
        await Refusal.AssertHubAsync(ErrorCodes.InterviewEnvelopeOutside, async () => await world.Organiser.SendAsync(
            await MessagingApp.BuildCaseSendAsync(world.Organiser, participants.ConversationId, EnvelopeKind.Invitation, world.CaseReference)));
        await Refusal.AssertHubAsync(ErrorCodes.CaseReferenceRequired, async () => await world.Organiser.SendAsync(
            await MessagingApp.BuildSendAsync(world.Organiser, participants.ConversationId, EnvelopeKind.Invitation)));

        var entry = await world.ProposeAsync(world.StartIn(3));
        await Refusal.AssertHubAsync(ErrorCodes.InterviewEnvelopeOutside, async () => await world.Organiser.SendAsync(
            await MessagingApp.BuildCaseSendAsync(world.Organiser, withOutsider.ConversationId, EnvelopeKind.Invitation, world.CaseReference)));
        Assert.Equal(before, await world.App.EnvelopeRowsAsync());

        var sent = await world.Organiser.SendAsync(await MessagingApp.BuildCaseSendAsync(world.Organiser, participants.ConversationId, EnvelopeKind.Invitation, world.CaseReference));
        Assert.Equal(SendOutcome.Accepted, sent.Outcome);

        // Once cancelled, the interview carries no more invitations.
        await world.CancelAsync(entry.InterviewId);
        await Refusal.AssertHubAsync(ErrorCodes.InterviewEnvelopeOutside, async () => await world.WorkerB.SendAsync(
            await MessagingApp.BuildCaseSendAsync(world.WorkerB, participants.ConversationId, EnvelopeKind.Invitation, world.CaseReference)));
    }

    [Fact]
    public async Task TheSlotSearch_ReadsFeedsOverHttps_AvoidsTheirBusyTimes_AndReportsAFailingOrMalformedFeed()
    {
        using var certificate = SelfSignedCertificate();
        using var feed = StartHttpsFeed(certificate);
        var thumbprint = Convert.ToHexString(SHA256.HashData(certificate.RawData));
        await using var world = await InterviewWorld.CreateAsync(new Dictionary<string, string?>
        {
            ["Messaging:Interviews:FeedTestCertificateThumbprint"] = thumbprint,
            ["Messaging:Interviews:AllowPrivateFeedHosts"] = "true", // the stand-in is on loopback
            ["Messaging:Interviews:FeedTimeout"] = "00:00:01",
        }, storage: storage);
        var monday = NextMonday(world.App.Clock.GetUtcNow().AddDays(2));
        var nineToFive = Enum.GetValues<DayOfWeek>().Where(d => d is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            .Select(d => new WorkingPeriodEntry(d, new TimeOnly(9, 0), new TimeOnly(17, 0))).ToList();
        foreach (var device in new[] { world.Organiser, world.JusticeAssistant })
        {
            await device.InvokeAsync<InterviewAvailabilityEntry>(nameof(IMessagingHub.SetInterviewAvailability), new SetInterviewAvailabilityRequest(nineToFive, []));
        }

        // Worker B is busy every weekday morning (a weekly RRULE) according to its feed.
        var feedUrl = new Uri(feed.Url + "/private/secret-token-4242/basic.ics");
        var set = await world.WorkerB.InvokeAsync<InterviewAvailabilityEntry>(nameof(IMessagingHub.SetInterviewAvailability),
            new SetInterviewAvailabilityRequest(nineToFive, [], feedUrl));
        Assert.True(set.HasFeed);
        feed.Given(Request.Create().WithPath("/private/secret-token-4242/basic.ics")).RespondWith(Response.Create().WithStatusCode(200)
            .WithHeader("Content-Type", "text/calendar").WithBody(MorningsBusy(monday)));

        var found = await FindAsync(world);
        Assert.True(found.Complete);
        Assert.NotEmpty(found.Slots);
        Assert.All(found.Slots, s => Assert.True(Brussels(s.Start).Hour >= 12, $"slot at {Brussels(s.Start):O} falls in the busy mornings"));

        // A failing feed: reported, the search goes on with what is known.
        feed.Reset();
        feed.Given(Request.Create().WithPath("/private/secret-token-4242/basic.ics")).RespondWith(Response.Create().WithStatusCode(503));
        var degraded = await FindAsync(world);
        Assert.False(degraded.Complete);
        Assert.Equal((world.WorkerB.Device.Member.Id, InterviewAvailabilityService.UnavailableFeed), (degraded.FeedProblems.Single().MemberId, degraded.FeedProblems.Single().Kind));
        Assert.DoesNotContain("503", degraded.FeedProblems.Single().Message, StringComparison.Ordinal);
        Assert.NotEmpty(degraded.Slots);

        feed.Reset();
        feed.Given(Request.Create().WithPath("/private/secret-token-4242/basic.ics")).RespondWith(Response.Create().WithStatusCode(200).WithBody("BEGIN:VCALENDAR\r\nthis is not"));
        Assert.Equal("Malformed", (await FindAsync(world)).FeedProblems.Single().Kind);

        feed.Reset();
        feed.Given(Request.Create().WithPath("/private/secret-token-4242/basic.ics")).RespondWith(Response.Create().WithStatusCode(200)
            .WithBody(MorningsBusy(monday)).WithDelay(TimeSpan.FromSeconds(3)));
        using (world.RunClock())
        {
            // The fetch timeout runs on the server's clock: let the fake clock run while the stand-in stalls.
            // Told apart from the failing feed by neither kind nor sentence.
            Assert.Equal((InterviewAvailabilityService.UnavailableFeed, degraded.FeedProblems.Single().Message),
                ((await FindAsync(world)).FeedProblems.Single().Kind, (await FindAsync(world)).FeedProblems.Single().Message));
        }


        // The feed URL is a secret: never logged, never returned.
        Assert.DoesNotContain(world.App.Logs.Lines, l => l.Contains("secret-token-4242", StringComparison.Ordinal));
        Assert.True((await world.WorkerB.Hub.InvokeAsync<InterviewAvailabilityEntry>(nameof(IMessagingHub.GetInterviewAvailability))).HasFeed);
    }

    [Fact]
    public async Task AFeedOnTheServersOwnNetwork_IsNeverConnectedTo_AndTheWorkerLearnsOnlyThatItIsUnavailable()
    {
        // Review 2026-11-29, sched finding 14: a worker points their feed at a loopback HTTPS service and runs a search.
        using var certificate = SelfSignedCertificate();
        using var feed = StartHttpsFeed(certificate);
        feed.Given(Request.Create().UsingGet()).RespondWith(Response.Create().WithStatusCode(403));
        await using var world = await InterviewWorld.CreateAsync(new Dictionary<string, string?>
        {
            ["Messaging:Interviews:FeedTestCertificateThumbprint"] = Convert.ToHexString(SHA256.HashData(certificate.RawData)),
        }, storage: storage);
        var port = new Uri(feed.Url!).Port;
        foreach (var host in new[] { "127.0.0.1", "localhost", "[::1]", "10.0.0.5" })
        {
            await world.WorkerB.InvokeAsync<InterviewAvailabilityEntry>(nameof(IMessagingHub.SetInterviewAvailability),
                new SetInterviewAvailabilityRequest([], [], new Uri($"https://{host}:{port}/admin")));
            var problem = (await FindAsync(world)).FeedProblems.Single();

            Assert.Equal((world.WorkerB.Device.Member.Id, InterviewAvailabilityService.UnavailableFeed), (problem.MemberId, problem.Kind));
            Assert.DoesNotContain("403", problem.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(port.ToString(System.Globalization.CultureInfo.InvariantCulture), problem.Message, StringComparison.Ordinal);
        }

        Assert.Empty(feed.LogEntries);
        Assert.Equal(4, world.App.Logs.Lines.Count(l => l.Contains(nameof(FeedProblemKind.HostNotAllowed), StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("FeedTestCertificateThumbprint", "AB12", "Testing", true)]
    [InlineData("FeedTestCertificateThumbprint", "AB12", "Production", false)]
    [InlineData("FeedTestCertificateThumbprint", "AB12", "Development", false)]
    [InlineData("AllowPrivateFeedHosts", "True", "Testing", true)]
    [InlineData("AllowPrivateFeedHosts", "True", "Production", false)]
    [InlineData("AllowPrivateFeedHosts", "True", "Development", false)]
    public void APinnedFeedCertificateOrPrivateFeedHosts_AreAcceptedInTheTestingEnvironmentOnly(string setting, string value, string environment, bool accepted)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Messaging:Interviews:" + setting] = value }).Build());
        services.AddSingleton<Microsoft.Extensions.Hosting.IHostEnvironment>(new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = environment });
        services.AddInterviews();
        using var provider = services.BuildServiceProvider();
        var read = () => provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<InterviewsOptions>>().Value;
        if (accepted)
        {
            var options = read();
            Assert.Equal(value, setting == "AllowPrivateFeedHosts" ? options.AllowPrivateFeedHosts.ToString() : options.FeedTestCertificateThumbprint);
        }
        else
        {
            Assert.Contains("tests only", Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(read).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task WhenNothingFits_TheSearchSaysWhoIsNeverFree()
    {
        await using var world = await InterviewWorld.CreateAsync(storage: storage);
        await world.Organiser.InvokeAsync<InterviewAvailabilityEntry>(nameof(IMessagingHub.SetInterviewAvailability), new SetInterviewAvailabilityRequest(
            [new WorkingPeriodEntry(DayOfWeek.Tuesday, new TimeOnly(9, 0), new TimeOnly(12, 0))], []));
        var result = await FindAsync(world);
        Assert.Empty(result.Slots);
        Assert.Equal(new[] { world.WorkerB.Device.Member.Id, world.JusticeAssistant.Device.Member.Id }.Order(), result.NeverFree.Select(n => n.MemberId).Order());
        Assert.All(result.NeverFree, n => Assert.Equal("WorkingHours", n.Constraint));
        await Refusal.AssertHubAsync(ErrorCodes.InterviewAvailabilityInvalid, () => world.Organiser.InvokeAsync<InterviewAvailabilityEntry>(
            nameof(IMessagingHub.SetInterviewAvailability), new SetInterviewAvailabilityRequest([], [], new Uri("http://calendar.example/feed.ics"))));
    }

    private static Task<InterviewSlotsResult> FindAsync(InterviewWorld world) => world.Organiser.InvokeAsync<InterviewSlotsResult>(
        nameof(IMessagingHub.FindInterviewSlots), new FindInterviewSlotsRequest(world.CaseReference,
            [world.WorkerB.Device.Member.Id, world.JusticeAssistant.Device.Member.Id], 60, 5, 0, 24, 14));

    private static DateTimeOffset Brussels(DateTimeOffset instant) => TimeZoneInfo.ConvertTime(instant, TimeZoneInfo.FindSystemTimeZoneById("Europe/Brussels"));

    private static DateTimeOffset NextMonday(DateTimeOffset from)
    {
        var day = from.Date;
        while (day.DayOfWeek != DayOfWeek.Monday)
        {
            day = day.AddDays(1);
        }

        return new DateTimeOffset(day, TimeSpan.Zero);
    }

    private static string MorningsBusy(DateTimeOffset monday) => string.Join("\r\n",
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Feed//EN",
        "BEGIN:VEVENT", "UID:mornings@test", "DTSTAMP:20300101T000000Z",
        $"DTSTART;TZID=Europe/Brussels:{monday.AddDays(-14):yyyyMMdd}T080000",
        $"DTEND;TZID=Europe/Brussels:{monday.AddDays(-14):yyyyMMdd}T120000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "SUMMARY:Busy", "END:VEVENT", "END:VCALENDAR", string.Empty);

    /// <summary>The loopback stand-in's certificate: self-signed for localhost, pinned in the server's test settings.</summary>
    /// <summary>A loopback HTTPS stand-in for an external calendar, serving <paramref name="certificate"/>.</summary>
    private static WireMockServer StartHttpsFeed(X509Certificate2 certificate) => WireMockServer.Start(new WireMockServerSettings
    {
        UseSSL = true,
        CertificateSettings = new WireMockCertificateSettings { X509Certificate = certificate },
    });

    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var now = TimeProvider.System.GetUtcNow(); // a real certificate validity: the TLS stack reads the real clock
        using var created = request.CreateSelfSigned(now.AddYears(-1), now.AddYears(20));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    private static Task<int> PollAsync(InterviewWorld world) => world.App.Services.GetRequiredService<InterviewReplyPollJob>().RunAsync(CancellationToken.None);

    /// <summary>The UID of the invitation <paramref name="address"/> received (its REQUEST in the pickup folder), as their
    /// calendar client answers it.</summary>
    private static async Task<string> UidOfOwnCopyAsync(InterviewWorld world, string address)
    {
        MimeMessage? Latest() => world.PickupMessages().LastOrDefault(m => m.To.Mailboxes.Single().Address == address);
        await world.WaitAsync(() => Latest() is not null, $"the invitation to {address}");
        var part = Latest()!.BodyParts.OfType<TextPart>().Single(p => p.ContentType.MimeType == "text/calendar");
        return Ical.Net.Calendar.Load(part.Text)!.Events.Single().Uid!;
    }

    private static MimeMessage Reply(string uid, int sequence, string attendee, string partstat, string? from = null, string method = "REPLY")
    {
        var ics = string.Join("\r\n",
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Reply//EN", $"METHOD:{method}",
            "BEGIN:VEVENT", $"UID:{uid}", string.Create(CultureInfo.InvariantCulture, $"SEQUENCE:{sequence}"), "DTSTAMP:20300101T000000Z",
            "DTSTART:20300105T090000Z", "DTEND:20300105T100000Z",
            $"ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}", "END:VEVENT", "END:VCALENDAR", string.Empty);
        var calendar = new TextPart("calendar") { Text = ics };
        calendar.ContentType.Parameters.Add("method", method);
        var message = new MimeMessage { Subject = "Accepted: interview", Body = new Multipart("alternative") { new TextPart("plain") { Text = "ok" }, calendar } };
        message.From.Add(MailboxAddress.Parse(from ?? attendee));
        message.To.Add(MailboxAddress.Parse("planning@messaging.example"));
        return message;
    }

    /// <summary>How many messages a folder of the scheduling mailbox holds (0 when it does not exist yet).</summary>
    private static async Task<int> CountAsync(string name)
    {
        using var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", TestServices.ImapPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(TestServices.ImapUser, TestServices.ImapPassword);
        try
        {
            var folder = await client.GetFolder(client.PersonalNamespaces[0]).GetSubfolderAsync(name);
            await folder.OpenAsync(FolderAccess.ReadOnly);
            return folder.Count;
        }
        catch (FolderNotFoundException)
        {
            return 0;
        }
        finally
        {
            await client.DisconnectAsync(true);
        }
    }

    private static async Task AppendAsync(MimeMessage message)
    {
        using var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", TestServices.ImapPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(TestServices.ImapUser, TestServices.ImapPassword);
        await client.Inbox.AppendAsync(message, MessageFlags.None);
        await client.DisconnectAsync(true);
    }

    /// <summary>Both variants read the one scheduling mailbox of the test IMAP server, and a poll takes every reply it finds
    /// (an unknown one is refused and leaves the inbox): run at once, one variant's poll took the other's replies.</summary>
    public const string Mailbox = "the test IMAP server's scheduling mailbox";

    [Collection(Mailbox)]
    public sealed class OnSqlite() : InterviewMailboxAndGateTests(StorageProvider.Sqlite);

    [Collection(Mailbox)]
    public sealed class OnPostgres() : InterviewMailboxAndGateTests(StorageProvider.Postgres);
}
