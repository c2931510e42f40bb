using System.Globalization;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Scheduling.Invitations;
using Messaging.Server.Features.Interviews;
using Messaging.Scheduling.Tests.Infrastructure;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Messaging.Server.Tests.Interviews;

/// <summary>
/// One server with what a tripartite interview needs: service A (the organiser's), service B (the receiving service of
/// A's referral, answered "tripartite"), a Maison de justice with a justice assistant, each with a connected device and
/// a work address unique to the test (the loopback SMTP server is shared), and the case reference. Every test builds its
/// own world.
/// </summary>
internal sealed class InterviewWorld : IAsyncDisposable
{
    private InterviewWorld(MessagingApp app, string tag) => (App, Tag) = (app, tag);

    public MessagingApp App { get; private set; }

    public string Tag { get; }

    public TestOrganisation ServiceA { get; private set; } = null!;

    public TestOrganisation ServiceB { get; private set; } = null!;

    public TestOrganisation JusticeHouse { get; private set; } = null!;

    public ConnectedDevice Organiser { get; private set; } = null!;

    public ConnectedDevice WorkerB { get; private set; } = null!;

    public ConnectedDevice JusticeAssistant { get; private set; } = null!;

    public string CaseReference { get; private set; } = null!;

    public string OrganiserEmail => $"organiser-{Tag}@a.example";

    public string WorkerBEmail => $"worker-b-{Tag}@b.example";

    public string JusticeAssistantEmail => $"ja-{Tag}@justice.example";

    public IEnumerable<string> Addresses => [OrganiserEmail, WorkerBEmail, JusticeAssistantEmail];

    /// <summary>The pickup folder of the embedded default (no SMTP configured).</summary>
    public string PickupFolder => Path.Combine(Path.GetDirectoryName(App.DatabasePath)!, "interviews", "pickup");

    /// <summary>Settings of a server that sends through the loopback aiosmtpd (ops/scripts/deps.sh).</summary>
    public static Dictionary<string, string?> SmtpSettings(int maxAttempts = 4) => new(StringComparer.Ordinal)
    {
        ["Messaging:Interviews:Smtp:Host"] = "127.0.0.1",
        ["Messaging:Interviews:Smtp:Port"] = TestServices.SmtpPort.ToString(CultureInfo.InvariantCulture),
        ["Messaging:Interviews:Smtp:Security"] = "None",
        ["Messaging:Interviews:Smtp:UserName"] = TestServices.SmtpUser,
        ["Messaging:Interviews:Smtp:Password"] = TestServices.SmtpPassword,
        ["Messaging:Interviews:Smtp:MaxAttempts"] = maxAttempts.ToString(CultureInfo.InvariantCulture),
        ["Messaging:Interviews:Smtp:FirstBackoff"] = "00:00:00.020",
    };

    public static async Task<InterviewWorld> CreateAsync(IDictionary<string, string?>? settings = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configureServices = null,
        Messaging.Server.Persistence.StorageProvider storage = Messaging.Server.Persistence.StorageProvider.Sqlite, string? organiserServiceName = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>(), StringComparer.Ordinal)
        {
            ["Messaging:RateLimits:ConversationChangesPerWindow"] = "100000",
            ["Messaging:RateLimits:SendsPerWindow"] = "100000",
        };
        var world = new InterviewWorld(new MessagingApp(storage, all, configureServices), Guid.NewGuid().ToString("N")[..12]);
        await world.InitialiseAsync(organiserServiceName);
        return world;
    }

    private async Task InitialiseAsync(string? organiserServiceName)
    {
        ServiceA = await App.CreateOrganisationAsync(name: organiserServiceName);
        ServiceB = await App.CreateOrganisationAsync();
        JusticeHouse = await App.CreateOrganisationAsync(OrganisationTypes.JusticeHouse);
        Organiser = await App.ConnectAsync(await App.EnrolDeviceAsync(await App.CreateMemberAsync(ServiceA, email: OrganiserEmail)));
        WorkerB = await App.ConnectAsync(await App.EnrolDeviceAsync(await App.CreateMemberAsync(ServiceB, email: WorkerBEmail)));
        JusticeAssistant = await App.ConnectAsync(await App.EnrolDeviceAsync(await App.CreateMemberAsync(JusticeHouse, Roles.JusticeAssistant, email: JusticeAssistantEmail)));
        CaseReference = (await MessagingApp.OpenReferralAsync(Organiser, ServiceB.Id)).CaseReference;
        await MessagingApp.RespondAsync(WorkerB, CaseReference, ReferralResponse.ProposeTripartite);
    }

    /// <summary>A start <paramref name="days"/> days ahead at <paramref name="hour"/>:00 UTC on the fake clock.</summary>
    public DateTimeOffset StartIn(int days, int hour = 9)
    {
        var now = App.Clock.GetUtcNow();
        return new DateTimeOffset(now.Year, now.Month, now.Day, hour, 0, 0, TimeSpan.Zero).AddDays(days);
    }

    public Task<InterviewEntry> ProposeAsync(DateTimeOffset start, bool includesPerson = true, Guid? id = null, ConnectedDevice? by = null)
        => (by ?? Organiser).InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(
            id ?? Guid.NewGuid(), CaseReference, [WorkerB.Device.Member.Id, JusticeAssistant.Device.Member.Id], includesPerson, start, 60,
            "Rue de la Loi 16, 1000 Bruxelles"));

    /// <summary>The invitations' UIDs under the server's key (read from its database at the first use).</summary>
    public async Task<InvitationUids> UidsAsync() => await App.Services.GetRequiredService<InterviewUidKey>().GetAsync();

    public Task<InterviewEntry> RescheduleAsync(Guid id, DateTimeOffset start)
        => Organiser.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.RescheduleInterview), new RescheduleInterviewRequest(id, start, 60, "Rue de la Loi 16, 1000 Bruxelles"));

    public Task<InterviewEntry> CancelAsync(Guid id)
        => Organiser.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.CancelInterview), new CancelInterviewRequest(id));

    public static Task<InterviewEntry> AnswerAsync(ConnectedDevice by, Guid id, InterviewAnswer answer, DateTimeOffset? proposed = null)
        => by.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.AnswerInterview), new AnswerInterviewRequest(id, answer, proposed));

    public async Task<InterviewEntry> ReadAsync(Guid id, ConnectedDevice? viewer = null)
        => (await (viewer ?? Organiser).Hub.InvokeAsync<IReadOnlyList<InterviewEntry>>(nameof(IMessagingHub.ListInterviews))).Single(i => i.InterviewId == id);

    /// <summary>Moves the fake clock on by 50 ms every 10 ms of real time until disposed (for waits on the server's clock,
    /// such as the SMTP sender's backoff).</summary>
    public IDisposable RunClock()
    {
        var stop = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                App.Clock.Advance(TimeSpan.FromMilliseconds(50));
                await Task.Delay(10, CancellationToken.None);
            }
        });
        return new Stopper(stop);
    }

    /// <summary>Reconnects every device (after the fake clock jumped past the tokens' life).</summary>
    public async Task ReconnectAllAsync()
    {
        Organiser = await App.ReconnectAsync(Organiser);
        WorkerB = await App.ReconnectAsync(WorkerB);
        JusticeAssistant = await App.ReconnectAsync(JusticeAssistant);
    }

    /// <summary>Restarts the server on the same database and clock (Hangfire's in-memory jobs are gone).</summary>
    public async Task RestartAsync()
    {
        await DisposeDevicesAsync();
        App = await App.RestartAsync();
        foreach (var device in new[] { Organiser, WorkerB, JusticeAssistant })
        {
            device.Device.Token = null;
        }

        Organiser = await App.ConnectAsync(Organiser.Device);
        WorkerB = await App.ConnectAsync(WorkerB.Device);
        JusticeAssistant = await App.ConnectAsync(JusticeAssistant.Device);
    }

    /// <summary>The messages the SMTP server stored for <paramref name="recipient"/>, parsed, oldest first.</summary>
    public static IReadOnlyList<MimeMessage> SmtpMessages(string recipient)
        => [.. TestServices.Received(recipient).Order(StringComparer.Ordinal).Select(f => MimeMessage.Load(f))];

    /// <summary>Waits (real time) until <paramref name="condition"/> holds: jobs run on Hangfire's workers.</summary>
    public Task WaitAsync(Func<bool> condition, string what, int seconds = 20) => WaitForAsync(condition, what, seconds, App);

    /// <summary>Waits (real time) until <paramref name="condition"/> holds; on a timeout the failure shows the server's
    /// warnings and errors (a failed job says why there).</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what, int seconds = 20, MessagingApp? app = null)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                var problems = app is null ? [] : app.Logs.Lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal)
                    || l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal)).TakeLast(1);
                Assert.Fail($"Timed out waiting for {what}. {string.Join(Environment.NewLine, problems)}");
            }

            await Task.Delay(50);
        }
    }

    public IReadOnlyList<MimeMessage> PickupMessages()
        => Directory.Exists(PickupFolder) ? [.. Directory.GetFiles(PickupFolder, "*.eml").Order(StringComparer.Ordinal).Select(f => MimeMessage.Load(f))] : [];

    public async ValueTask DisposeAsync()
    {
        await DisposeDevicesAsync();
        await App.DisposeAsync();
    }

    private async Task DisposeDevicesAsync()
    {
        foreach (var device in new[] { Organiser, WorkerB, JusticeAssistant })
        {
            if (device is not null)
            {
                await device.DisposeAsync();
            }
        }
    }

    private sealed class Stopper(CancellationTokenSource stop) : IDisposable
    {
        public void Dispose() => stop.Cancel();
    }
}
