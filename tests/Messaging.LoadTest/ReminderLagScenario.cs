using System.Globalization;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Features.Members;
using Messaging.Server.Features.Organisations;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Hosting;
using MimeKit;

namespace Messaging.LoadTest;

/// <summary>
/// Reminder lag (issue 13, goal ≤ 1 s): from a reminder's due instant to the message reaching the SMTP server. The
/// server runs in process exactly as composed by <see cref="ServerComposition.AddMessagingServer"/> (SQLite in a
/// temporary folder, Hangfire in memory with its default 250 ms polling, the SMTP pool), sending to the loopback aiosmtpd
/// that <c>ops/scripts/deps.sh</c> starts (<c>MESSAGING_TEST_SMTP_*</c>). <c>count</c> interviews are proposed with a
/// one-minute reminder lead and starts spread over <c>spread</c> after the first minute, so reminders fall due over
/// the spread; the arrival instant is the stored message file's write time at the SMTP server (it writes each message
/// when it accepts the end of DATA), matched to its interview by the case reference in the subject.
/// </summary>
internal static class ReminderLagScenario
{
    public static async Task<string> RunAsync(int count, TimeSpan spread)
    {
        string Env(string name) => Environment.GetEnvironmentVariable(name)
            ?? throw new InvalidOperationException($"{name} is not set: source ops/scripts/deps.sh and run deps_start first.");
        var smtpDirectory = Env("MESSAGING_TEST_SMTP_DIR");
        var data = Directory.CreateTempSubdirectory("messaging-reminder-lag-");
        var builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Storage:DataDirectory"] = data.FullName,
            ["Messaging:Interviews:ReminderLeads:0"] = "00:01:00",
            ["Messaging:Interviews:Smtp:Host"] = "127.0.0.1",
            ["Messaging:Interviews:Smtp:Port"] = Env("MESSAGING_TEST_SMTP_PORT"),
            ["Messaging:Interviews:Smtp:Security"] = "None",
            ["Messaging:Interviews:Smtp:UserName"] = Env("MESSAGING_TEST_SMTP_USER"),
            ["Messaging:Interviews:Smtp:Password"] = Env("MESSAGING_TEST_SMTP_PASSWORD"),
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddMessagingServer();
        await using var app = builder.Build();
        app.UseMessagingServer();
        await app.StartAsync();
        try
        {
            var tag = Guid.NewGuid().ToString("N")[..10];
            var services = app.Services;
            var organisations = services.GetRequiredService<OrganisationService>();
            var members = services.GetRequiredService<MemberService>();
            var referrals = services.GetRequiredService<ReferralService>();
            var interviews = services.GetRequiredService<InterviewService>();
            var a = await organisations.CreateAsync(null, new CreateOrganisationRequest($"Lag A {tag}", OrganisationTypes.PreventionService));
            var b = await organisations.CreateAsync(null, new CreateOrganisationRequest($"Lag B {tag}", OrganisationTypes.PreventionService));
            async Task<CallerDevice> WorkerAsync(Guid organisation, string name)
            {
                var member = await members.CreateAsync(null, new CreateMemberRequest(organisation, name, Roles.Worker, $"{name}-{tag}@lag.example"));
                return new CallerDevice(Guid.NewGuid(), member.MemberId, organisation, Roles.Worker, DateTimeOffset.MaxValue);
            }

            var organiser = await WorkerAsync(a.OrganisationId, "organiser");
            var receiver = await WorkerAsync(b.OrganisationId, "receiver");
            var colleague = await WorkerAsync(b.OrganisationId, "colleague");

            var first = TimeProvider.System.GetUtcNow() + TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(15);
            var due = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var caseReference = CaseReference.New();
                await referrals.OpenAsync(organiser, new OpenReferralRequest(caseReference, b.OrganisationId));
                await referrals.RespondAsync(receiver, new RespondToReferralRequest(caseReference, ReferralResponse.ProposeTripartite, null));
                var start = DateTimeOffset.FromUnixTimeMilliseconds((first + (spread * Random.Shared.NextDouble())).ToUnixTimeMilliseconds());
                await interviews.ProposeAsync(organiser, new ProposeInterviewRequest(Guid.NewGuid(), caseReference,
                    [receiver.MemberId, colleague.MemberId], false, start, 30, "Rue de la Loi 16, 1000 Bruxelles"));
                due[caseReference] = start - TimeSpan.FromMinutes(1);
            }

            // Every reminder goes to three addresses; the organiser's copy is the one measured (one per interview).
            var folder = Path.Combine(smtpDirectory, "mail", $"organiser-{tag}@lag.example");
            var lags = new List<double>();
            var deadline = due.Values.Max() + TimeSpan.FromSeconds(30);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (lags.Count < count && TimeProvider.System.GetUtcNow() < deadline)
            {
                foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder, "*.eml") : [])
                {
                    if (!seen.Add(file))
                    {
                        continue;
                    }

                    var message = await MimeMessage.LoadAsync(file);
                    if (message.Subject?.StartsWith("Rappel", StringComparison.Ordinal) == true
                        && due.FirstOrDefault(d => message.Subject.Contains(d.Key, StringComparison.Ordinal)) is { Key: not null } hit)
                    {
                        lags.Add((new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero) - hit.Value).TotalMilliseconds);
                    }
                }

                await Task.Delay(100);
            }

            var sorted = lags.Order().ToArray();
            double At(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
            return string.Create(CultureInfo.InvariantCulture,
                $"| reminders | reached SMTP | lag p50 ms | lag p99 ms | lag max ms |\n|---:|---:|---:|---:|---:|\n| {count} | {sorted.Length} | {At(0.50):F0} | {At(0.99):F0} | {(sorted.Length == 0 ? double.NaN : sorted[^1]):F0} |");
        }
        finally
        {
            await app.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            data.Delete(recursive: true);
        }
    }
}
