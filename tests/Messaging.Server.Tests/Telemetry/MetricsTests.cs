using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Server.Tests.Telemetry;

/// <summary>The Prometheus endpoint: real traffic moves the figures, labels never carry an id or a case reference, and
/// only loopback (or the management port) may scrape.</summary>
public abstract partial class MetricsTests(StorageProvider storage)
{
    private static readonly Dictionary<string, string?> Enabled = new(StringComparer.Ordinal)
    {
        ["Messaging:Telemetry:MetricsEnabled"] = "true",
        ["Messaging:Telemetry:QueueDepthMaxAge"] = "00:00:00",
    };

    [Fact]
    public async Task AScrapeAfterRealTraffic_CountsConnectionsStoredDeliveredPendingAndRefusals_WithoutAnyIdInALabel()
    {
        await using var app = new MessagingApp(storage, Enabled);
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var workerA = await app.CreateMemberAsync(serviceA);
        var workerB = await app.CreateMemberAsync(serviceB);
        var a1 = await app.EnrolDeviceAsync(workerA);
        var b1 = await app.EnrolDeviceAsync(workerB);
        var b2 = await app.EnrolDeviceAsync(workerB); // stays offline: its copies stay pending
        await using var senderA = await app.ConnectAsync(a1);
        var receiverB = await app.ConnectAsync(b1);
        var conversation = await MessagingApp.CreateConversationAsync(senderA, false, workerB);

        var sequences = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            sequences.Add((await MessagingApp.SendAsync(senderA, conversation.ConversationId)).Sequence);
        }

        await receiverB.ReceiveAsync(3);
        Assert.Equal(3, (await receiverB.AcknowledgeAsync([.. sequences])).Acknowledged);

        // Refusals over both transports, one of them naming a case reference the labels must not show.
        var caseReference = CaseReference.New();
        await Refusal.AssertHubAsync(ErrorCodes.ConversationNotFound, () => MessagingApp.SendAsync(senderA, Guid.NewGuid()));
        var caseRefusal = await Assert.ThrowsAsync<HubException>(() => MessagingApp.WithdrawReferralAsync(senderA, caseReference));
        Assert.True(ErrorCodes.TryParseHubMessage(caseRefusal.Message, out var caseCode), caseRefusal.Message);
        var badEnrolment = await app.PostEnrolmentAsync(DeviceKeys.Generate().Request("NOT-A-CODE"));
        Assert.False(badEnrolment.IsSuccessStatusCode);
        var enrolmentCode = (await badEnrolment.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("code").GetString()!;

        var scrape = await ScrapeAsync(app);
        Assert.Equal(2, scrape.Value("messaging_connections"));
        Assert.Equal(3, scrape.Value("messaging_envelopes_stored_total"));
        Assert.Equal(3, scrape.Value("messaging_envelopes_delivered_total"));
        Assert.Equal(3, scrape.Value("messaging_envelopes_pending"));
        Assert.Equal(await app.CountAsync("envelope_recipients"), scrape.Value("messaging_envelopes_pending"));
        Assert.Equal(1, scrape.Value("messaging_refusals_total", ("code", ErrorCodes.ConversationNotFound)));
        Assert.Equal(1, scrape.Value("messaging_refusals_total", ("code", caseCode)));
        Assert.Equal(1, scrape.Value("messaging_refusals_total", ("code", enrolmentCode)));

        var secrets = new[] { a1.Id, b1.Id, b2.Id, workerA.Id, workerB.Id, serviceA.Id, serviceB.Id, conversation.ConversationId }
            .Select(g => g.ToString("D")).Append(caseReference).ToList();
        foreach (var value in scrape.Series.SelectMany(s => s.Labels.Values))
        {
            Assert.DoesNotContain(secrets, s => value.Contains(s, StringComparison.OrdinalIgnoreCase));
            Assert.False(GuidLike().IsMatch(value), $"a label value looks like an id: {value}");
        }

        Assert.DoesNotContain(secrets, s => scrape.Text.Contains(s, StringComparison.OrdinalIgnoreCase));

        // The last copies delivered, one connection closed: the figures follow.
        await using (var laterB2 = await app.ConnectAsync(b2))
        {
            await laterB2.ReceiveAsync(3);
            await laterB2.AcknowledgeAsync([.. sequences]);
        }

        await receiverB.DisposeAsync();
        scrape = await WaitForAsync(app, s => s.Value("messaging_connections") == 1);
        Assert.Equal(6, scrape.Value("messaging_envelopes_delivered_total"));
        Assert.Equal(0, scrape.Value("messaging_envelopes_pending"));
        Assert.Equal(3, scrape.Value("messaging_envelopes_stored_total"));
    }

    [Fact]
    public async Task AJobStartedLate_IsRecordedAsLag_FromItsDueTime_UnderItsTypeName()
    {
        await using var app = new MessagingApp(storage, Enabled, services => services.AddSingleton<LagProbeJob>());
        _ = app.Server;
        app.Services.GetRequiredService<JobScheduler>().ScheduleAt<LagProbeJob>(j => j.RunAsync(), app.Clock.GetUtcNow().AddSeconds(60));

        app.Clock.Advance(TimeSpan.FromSeconds(90));
        await app.RunDueJobsAsync();

        var scrape = await ScrapeAsync(app);
        Assert.Equal(1, scrape.Value("messaging_jobs_lag_seconds_count", ("job", nameof(LagProbeJob))));
        Assert.InRange(scrape.Value("messaging_jobs_lag_seconds_sum", ("job", nameof(LagProbeJob))), 29.5, 30.5);
        Assert.Equal(0, scrape.Value("messaging_jobs_lag_seconds_bucket", ("job", nameof(LagProbeJob)), ("le", "10")));
        Assert.Equal(1, scrape.Value("messaging_jobs_lag_seconds_bucket", ("job", nameof(LagProbeJob)), ("le", "60")));
    }

    // ---- Scraping ----------------------------------------------------------------------------------------------

    internal static async Task<(HttpStatusCode Status, string Body)> GetMetricsAsync(
        MessagingApp app, IPAddress? remote, int localPort = 80, string? forwardedFor = null)
    {
        var context = await app.Server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = "/metrics";
            c.Connection.RemoteIpAddress = remote;
            c.Connection.LocalPort = localPort;
            if (forwardedFor is not null)
            {
                c.Request.Headers["X-Forwarded-For"] = forwardedFor;
            }
        });
        using var reader = new StreamReader(context.Response.Body);
        return ((HttpStatusCode)context.Response.StatusCode, await reader.ReadToEndAsync());
    }

    private static async Task<Scrape> ScrapeAsync(MessagingApp app)
    {
        var (status, body) = await GetMetricsAsync(app, IPAddress.Loopback);
        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");
        return Scrape.Parse(body);
    }

    private static async Task<Scrape> WaitForAsync(MessagingApp app, Func<Scrape, bool> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var scrape = await ScrapeAsync(app);
            if (condition(scrape) || waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                return scrape;
            }

            await Task.Delay(50);
        }
    }

    [GeneratedRegex("[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}", RegexOptions.IgnoreCase)]
    private static partial Regex GuidLike();

    public sealed class OnSqlite() : MetricsTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : MetricsTests(StorageProvider.Postgres);
}

/// <summary>A job that does nothing, for measuring when it starts.</summary>
public sealed class LagProbeJob
{
    public Task RunAsync() => Task.CompletedTask;
}

/// <summary>Prometheus text, parsed into series.</summary>
internal sealed partial record Scrape(string Text, IReadOnlyList<(string Name, IReadOnlyDictionary<string, string> Labels, double Value)> Series)
{
    public static Scrape Parse(string text)
    {
        var series = new List<(string, IReadOnlyDictionary<string, string>, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = SeriesLine().Match(line);
            Assert.True(match.Success, $"not a series line: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
            series.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }

        return new Scrape(text, series);
    }

    /// <summary>The one series of this name whose labels include these; fails with the whole scrape when there is none.</summary>
    public double Value(string name, params (string Key, string Value)[] labels)
    {
        var found = Series.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        Assert.True(found.Count == 1, $"{found.Count} series {name} {string.Join(',', labels)} in:\n{Text}");
        return found[0].Value;
    }

    [GeneratedRegex("^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?<labels>.*)\\})? (?<value>\\S+)( \\d+)?$")]
    private static partial Regex SeriesLine();

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex LabelPair();
}
