using System.Diagnostics;
using System.Globalization;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Scheduling.Tests.Infrastructure;
using MimeKit;
using Xunit.Abstractions;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>
/// Jobs across a stop of the whole deployment: two server processes on Hangfire.PostgreSql, an interview whose
/// invitations and reminder are pending, every instance stopped (SIGTERM) and two started again. Each instance re-derives
/// the pending deadlines at start-up and Hangfire still holds the jobs scheduled before the stop, so the same reminder
/// is run by several jobs on two instances: counted at the SMTP server, each email goes out once.
/// </summary>
public sealed class JobsAcrossAStopTests(ITestOutputHelper output)
{
    [Fact]
    public async Task EveryInstanceStoppedWithJobsPending_AfterTheRestart_EachEmailGoesOutOnce()
    {
        var tag = Guid.NewGuid().ToString("N")[..12];
        await using var deployment = await ProcessDeployment.StartAsync(2, TestRedis.Address, settings: new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Messaging:Interviews:Smtp:Host"] = "127.0.0.1",
            ["Messaging:Interviews:Smtp:Port"] = TestServices.SmtpPort.ToString(CultureInfo.InvariantCulture),
            ["Messaging:Interviews:Smtp:Security"] = "None",
            ["Messaging:Interviews:Smtp:UserName"] = TestServices.SmtpUser,
            ["Messaging:Interviews:Smtp:Password"] = TestServices.SmtpPassword,
            ["Messaging:Interviews:ReminderLeads:0"] = "00:05:00",
        });
        var (a, b) = (deployment.Instances[0], deployment.Instances[1]);
        var serviceA = await deployment.CreateOrganisationAsync(a);
        var serviceB = await deployment.CreateOrganisationAsync(b);
        var justiceHouse = await deployment.CreateOrganisationAsync(a, OrganisationTypes.JusticeHouse);
        string[] addresses = [$"organiser-{tag}@a.example", $"worker-b-{tag}@b.example", $"ja-{tag}@justice.example"];
        await using var organiser = new CountingDevice(deployment, await deployment.EnrolWorkerAsync(a, serviceA, email: addresses[0]));
        await using var workerB = new CountingDevice(deployment, await deployment.EnrolWorkerAsync(b, serviceB, email: addresses[1]));
        var assistant = await deployment.EnrolWorkerAsync(a, justiceHouse, Roles.JusticeAssistant, addresses[2]);
        await organiser.ConnectAsync(a);
        await workerB.ConnectAsync(b);
        var caseReference = (await organiser.InvokeAsync<ReferralEntry>(nameof(IMessagingHub.OpenReferral),
            new OpenReferralRequest(CaseReference.New(), serviceB.Id))).CaseReference;
        await workerB.InvokeAsync<ReferralEntry>(nameof(IMessagingHub.RespondToReferral),
            new RespondToReferralRequest(caseReference, ReferralResponse.ProposeTripartite, null));

        // The reminder (five minutes before the start) falls due a few seconds from now, while every instance is down;
        // the start stays far enough ahead for a slow restart (a reminder that comes back after the start is not sent).
        var start = DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() + 305);
        await organiser.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(
            Guid.NewGuid(), caseReference, [workerB.Device.Member.Id, assistant.Member.Id], false, start, 60, "Rue de la Loi 16, 1000 Bruxelles"));
        await organiser.DisconnectAsync();
        await workerB.DisconnectAsync();
        await Task.WhenAll(deployment.Running.Select(i => i.StopAsync(TimeSpan.FromSeconds(20))));
        await deployment.StartInstancesAsync(2);

        // Every address gets its reminder; then a grace period in which a second copy would arrive.
        var clock = Stopwatch.StartNew();
        while (addresses.Any(r => Reminders(r).Count == 0) && clock.Elapsed < TimeSpan.FromSeconds(75))
        {
            await Task.Delay(250);
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        var received = addresses.ToDictionary(r => r, r => TestServices.Received(r).Select(f => MimeMessage.Load(f)).ToList(), StringComparer.Ordinal);
        foreach (var (address, messages) in received)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{address.Split('-')[0]}: {messages.Count} email(s), {Reminders(address).Count} reminder(s), {messages.Select(m => m.MessageId).Distinct(StringComparer.Ordinal).Count()} distinct Message-IDs"));
        }

        // The jobs behind that one reminder: the one scheduled before the stop and one re-derived by each instance started
        // before the reminder went out (an instance that starts after it re-derives nothing): at least two, so that the
        // single reminder each address got was decided between competing jobs.
        await using var database = new Npgsql.NpgsqlConnection(deployment.ConnectionString);
        await database.OpenAsync();
        await using var query = database.CreateCommand();
        query.CommandText = "SELECT statename, COUNT(*) FROM hangfire.job WHERE invocationdata::text LIKE '%InterviewReminderJob%' GROUP BY statename ORDER BY 1;";
        var jobs = new List<string>();
        var reminderJobs = 0L;
        await using (var reader = await query.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                jobs.Add(string.Create(CultureInfo.InvariantCulture, $"{(reader.IsDBNull(0) ? "none" : reader.GetString(0))} ×{reader.GetInt64(1)}"));
                reminderJobs += reader.GetInt64(1);
            }
        }

        output.WriteLine($"reminder jobs in Hangfire.PostgreSql after the restart: {string.Join(", ", jobs)}");
        Assert.True(reminderJobs >= 2, "the stop and restart did not leave several jobs for the one reminder");
        Assert.All(addresses, r => Assert.Single(Reminders(r)));
        Assert.All(received.Values, messages => Assert.Equal(messages.Count, messages.Select(m => m.MessageId).Distinct(StringComparer.Ordinal).Count()));
        Assert.All(received.Values.Skip(1), messages => Assert.Single(messages, m => !(m.Subject ?? string.Empty).StartsWith("Rappel", StringComparison.Ordinal))); // one invitation each
    }

    private static List<MimeMessage> Reminders(string recipient)
        => [.. TestServices.Received(recipient).Select(f => MimeMessage.Load(f)).Where(m => (m.Subject ?? string.Empty).StartsWith("Rappel", StringComparison.Ordinal))];
}
