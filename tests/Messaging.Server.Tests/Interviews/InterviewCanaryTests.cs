using System.Text;
using Hangfire;
using Messaging.Contracts;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Invitations;
using Messaging.Scheduling.Tests.Infrastructure;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;

namespace Messaging.Server.Tests.Interviews;

/// <summary>
/// DESIGN §2: a database dump, a log, an email or a calendar invite never contains a person's identity or case content.
/// A case sentence and the person's name are planted where a worker really uses them — the person's invitation made on
/// the organiser's device, and an end-to-end encrypted invitation envelope — and then searched for everywhere the
/// server writes: the database files (SQLite's, or PostgreSQL's database folder and WAL), the emails the SMTP server
/// received, the .ics attachments, the logs, Hangfire's job storage and the metrics an operator scrapes.
/// </summary>
public abstract class InterviewCanaryTests(StorageProvider storage)
{
    private const string CaseSentence = "CANARY-SENTENCE-4471 craint des represailles de son frere";
    private const string PersonName = "Canaryperson Zelinskaya";

    [Fact]
    public async Task APlantedCaseSentenceAndPersonName_AppearInNoEmailIcsLogJobOrDatabaseFile()
    {
        var settings = InterviewWorld.SmtpSettings();
        settings["Messaging:Telemetry:MetricsEnabled"] = "true";
        await using var world = await InterviewWorld.CreateAsync(settings, configureServices: null, storage: storage);
        var entry = await world.ProposeAsync(world.StartIn(3));

        // On the organiser's device: the person's own invitation, with their name in the ready-to-send text.
        var device = Path.Combine(Path.GetTempPath(), "messaging-organiser-device-" + world.Tag);
        Directory.CreateDirectory(device);
        try
        {
            var person = PersonInvitation.Create(Rebuild(entry), entry.PersonUid, entry.SchedulingMailbox, Instant.FromDateTimeOffset(world.App.Clock.GetUtcNow()));
            await File.WriteAllTextAsync(Path.Combine(device, person.FileName), person.Ics);
            await File.WriteAllTextAsync(Path.Combine(device, "message.txt"), $"Bonjour {PersonName},\n\n{person.Text}\nNote : {CaseSentence}\n");

            // The case sentence travels end to end encrypted: the server sees only ciphertext.
            var conversation = await MessagingApp.CreateConversationAsync(world.Organiser, false, world.WorkerB.Device.Member, world.JusticeAssistant.Device.Member);
            var send = await MessagingApp.BuildCaseSendAsync(world.Organiser, conversation.ConversationId, EnvelopeKind.Invitation, world.CaseReference);
            Assert.Equal(SendOutcome.Accepted, (await world.Organiser.SendAsync(send)).Outcome);

            // Each version is waited for before the next change: a mail job sends only the interview's current version
            // (a REQUEST superseded before its job ran is never sent), so three quick changes could yield fewer emails.
            await WaitForEachAsync(world, 1, "the invitation");
            await world.RescheduleAsync(entry.InterviewId, world.StartIn(4));
            await WaitForEachAsync(world, 2, "the update");
            await world.CancelAsync(entry.InterviewId);
            await WaitForEachAsync(world, 3, "the cancellation");

            // The scan finds the canaries where they legitimately are (the organiser's device)…
            Assert.Contains(PersonName, ReadAll(Directory.GetFiles(device)), StringComparison.Ordinal);

            // …and nowhere on the server's side.
            SqliteConnection.ClearAllPools();
            var dataDirectory = Path.GetDirectoryName(world.App.DatabasePath)!;
            // On PostgreSQL with an SMTP relay the server may write no file at all (the delivery ledger is a table).
            string[] dataFiles = Directory.Exists(dataDirectory) ? Directory.GetFiles(dataDirectory, "*", SearchOption.AllDirectories) : [];
            Assert.True(storage == StorageProvider.Postgres || dataFiles.Length > 0, "no database file read");
            var places = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["emails and .ics received"] = ReadAll(world.Addresses.SelectMany(TestServices.Received))
                    + string.Concat(world.Addresses.SelectMany(InterviewWorld.SmtpMessages).SelectMany(m => m.BodyParts.OfType<MimeKit.MimePart>())
                        .Select(p => { using var s = new MemoryStream(); p.Content?.DecodeTo(s); return Encoding.UTF8.GetString(s.ToArray()); })),
                ["logs"] = string.Join("\n", world.App.Logs.Lines),
                ["job storage"] = JobStorageText(world.App),
                ["metrics"] = (await Telemetry.MetricsTests.GetMetricsAsync(world.App, System.Net.IPAddress.Loopback)).Body,
            };
            if (dataFiles.Length > 0)
            {
                places["database and data files"] = ReadAll(dataFiles);
            }

            foreach (var (place, text) in places)
            {
                Assert.False(string.IsNullOrEmpty(text), $"nothing read from {place}");
                Assert.DoesNotContain(PersonName, text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("Canaryperson", text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("CANARY-SENTENCE-4471", text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("represailles", text, StringComparison.OrdinalIgnoreCase);
            }

            // On PostgreSQL the database is not in the data folder: its own files and the server's WAL, read as bytes.
            foreach (var canary in storage == StorageProvider.Postgres ? new[] { PersonName, "CANARY-SENTENCE-4471", "represailles" } : [])
            {
                Assert.False(await world.App.StoredBytesContainAsync(Encoding.UTF8.GetBytes(canary)), $"{canary} in the PostgreSQL files");
            }

            // The case reference, time and place are what the server may know, and the emails do carry them.
            Assert.Contains(world.CaseReference, places["emails and .ics received"], StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(device, recursive: true);
        }
    }

    /// <summary>The organiser's device rebuilds the interview from the server's entry (what the SDK does).</summary>
    private static async Task WaitForEachAsync(InterviewWorld world, int count, string what)
    {
        foreach (var address in world.Addresses)
        {
            await world.WaitAsync(() => TestServices.Received(address).Length == count, $"{what} to {address}");
        }
    }

    /// <summary>The library's interview from the server's entry, as the organiser's device rebuilds it for the person's copy.</summary>
    internal static Interview Rebuild(InterviewEntry entry)
    {
        var participants = entry.Participants.Select(p => p.Role switch
        {
            InterviewParticipantRole.Person => Participant.ThePerson,
            InterviewParticipantRole.JusticeAssistant => Participant.Member(ParticipantRole.JusticeAssistant, p.MemberId!.Value, p.WorkEmail!),
            _ => Participant.Member(ParticipantRole.Worker, p.MemberId!.Value, p.WorkEmail!),
        });
        return Interview.Restore(entry.InterviewId, entry.CaseReference, Organiser.Create(entry.OrganiserMemberId, entry.OrganiserWorkEmail, entry.ServiceName),
            participants, Instant.FromDateTimeOffset(entry.Start), Duration.FromMinutes(entry.DurationMinutes), InterviewPlace.ServiceAddress(entry.Place),
            InterviewStatus.Proposed, entry.Sequence);
    }

    private static string ReadAll(IEnumerable<string> files)
    {
        var text = new StringBuilder();
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            text.Append(Encoding.UTF8.GetString(memory.ToArray())).Append('\n').Append(Encoding.Latin1.GetString(memory.ToArray())).Append('\n');
        }

        return text.ToString();
    }

    private static string JobStorageText(MessagingApp app)
    {
        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var jobs = monitoring.ScheduledJobs(0, int.MaxValue).Select(j => j.Value.Job)
            .Concat(monitoring.SucceededJobs(0, int.MaxValue).Select(j => j.Value.Job))
            .Concat(monitoring.FailedJobs(0, int.MaxValue).Select(j => j.Value.Job))
            .Concat(monitoring.ProcessingJobs(0, int.MaxValue).Select(j => j.Value.Job))
            .Where(j => j is not null);
        return string.Join("\n", jobs.Select(j => $"{j.Type.Name}.{j.Method.Name}({string.Join(", ", j.Args)})"));
    }

    public sealed class OnSqlite() : InterviewCanaryTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : InterviewCanaryTests(StorageProvider.Postgres);
}
