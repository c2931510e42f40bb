using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests.Notices;

/// <summary>
/// One server per test: a following service (a worker with two devices, an admin), a second service (a worker), a
/// Maison de justice (its assistant with two devices, a second assistant), and an accepted mandate linking a fresh
/// case reference, the following service and the first assistant, with the worker's conversation with that assistant.
/// </summary>
internal sealed class NoticeWorld : IAsyncDisposable
{
    private NoticeWorld(MessagingApp app) => App = app;

    public MessagingApp App { get; private set; }

    public TestOrganisation Service { get; private set; } = null!;

    public TestOrganisation OtherService { get; private set; } = null!;

    public TestOrganisation JusticeHouse { get; private set; } = null!;

    public ConnectedDevice Worker { get; private set; } = null!;

    public ConnectedDevice WorkerSecondDevice { get; private set; } = null!;

    public ConnectedDevice ServiceAdmin { get; private set; } = null!;

    public ConnectedDevice OtherWorker { get; private set; } = null!;

    public ConnectedDevice Assistant { get; private set; } = null!;

    public ConnectedDevice AssistantSecondDevice { get; private set; } = null!;

    public ConnectedDevice OtherAssistant { get; private set; } = null!;

    public string CaseReference { get; private set; } = null!;

    public MandateEntry Mandate { get; private set; } = null!;

    public Guid ConversationId { get; private set; }

    public static async Task<NoticeWorld> CreateAsync(IDictionary<string, string?>? settings = null, bool acceptMandate = true,
        Messaging.Server.Persistence.StorageProvider storage = Messaging.Server.Persistence.StorageProvider.Sqlite)
    {
        var world = new NoticeWorld(new MessagingApp(storage, settings));
        await world.InitializeAsync(acceptMandate);
        return world;
    }

    public static Task<MandateEntry> ProposeAsync(ConnectedDevice by, string caseReference, Guid assistantMemberId)
        => by.InvokeAsync<MandateEntry>(nameof(IMessagingHub.ProposeMandate), new ProposeMandateRequest(caseReference, assistantMemberId));

    public static Task<MandateEntry> AcceptAsync(ConnectedDevice by, Guid mandateId)
        => by.InvokeAsync<MandateEntry>(nameof(IMessagingHub.AcceptMandate), new MandateRequest(mandateId));

    public static Task<MandateEntry> EndAsync(ConnectedDevice by, Guid mandateId)
        => by.InvokeAsync<MandateEntry>(nameof(IMessagingHub.EndMandate), new MandateRequest(mandateId));

    /// <summary>A well-formed notice send from <paramref name="from"/> in <paramref name="conversationId"/>.</summary>
    public static async Task<SendEnvelopeRequest> BuildNoticeAsync(ConnectedDevice from, Guid conversationId, string caseReference, NoticeKind kind,
        Guid? interviewId = null)
        => await MessagingApp.BuildSendAsync(from, conversationId, EnvelopeKind.AttendanceNotice) with
        {
            CaseReference = caseReference,
            Notice = new NoticeRouting(Guid.NewGuid(), kind, interviewId),
        };

    public Task<SendEnvelopeRequest> BuildNoticeAsync(NoticeKind kind, Guid? interviewId = null)
        => BuildNoticeAsync(Worker, ConversationId, CaseReference, kind, interviewId);

    /// <summary>A tripartite case between <paramref name="organiser"/>'s service and <paramref name="other"/>'s (by
    /// default the following service's worker and the second service's), an interview of an hour on it organised by
    /// <paramref name="organiser"/> with the other worker and the assistant, starting <paramref name="startsIn"/> from now
    /// on the fake clock; with <paramref name="mandated"/>, under an accepted mandate of the organiser's service with the
    /// assistant.</summary>
    public async Task<(string CaseReference, Guid InterviewId)> InterviewAsync(TimeSpan startsIn, ConnectedDevice? organiser = null,
        ConnectedDevice? other = null, bool mandated = true)
    {
        var (by, with) = (organiser ?? Worker, other ?? OtherWorker);
        var caseReference = (await MessagingApp.OpenReferralAsync(by, with.Device.Member.OrganisationId)).CaseReference;
        await MessagingApp.RespondAsync(with, caseReference, ReferralResponse.ProposeTripartite);
        if (mandated)
        {
            await AcceptAsync(Assistant, (await ProposeAsync(by, caseReference, Assistant.Device.Member.Id)).MandateId);
        }

        var interview = await by.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(Guid.NewGuid(),
            caseReference, [with.Device.Member.Id, Assistant.Device.Member.Id], false, App.Clock.GetUtcNow() + startsIn, 60, "Rue de la Loi 16"));
        return (caseReference, interview.InterviewId);
    }

    /// <summary>Restarts the server on the same database and clock (Hangfire's in-memory jobs are gone) and reconnects
    /// the worker and the assistant with fresh tokens.</summary>
    public async Task RestartAsync()
    {
        App = await App.RestartAsync();
        Worker = await App.ReconnectAsync(Worker);
        Assistant = await App.ReconnectAsync(Assistant);
    }

    /// <summary>The rows a refused notice must not create.</summary>
    public async Task<(long Envelopes, long Copies, long Notices, long Audit)> RowsAsync()
        => (await App.CountAsync("envelopes"), await App.CountAsync("envelope_recipients"), await App.CountAsync("notices"),
            await App.CountAsync("audit_log", "event_type = 'notice.sent'"));

    public async ValueTask DisposeAsync()
    {
        foreach (var device in new[] { Worker, WorkerSecondDevice, ServiceAdmin, OtherWorker, Assistant, AssistantSecondDevice, OtherAssistant })
        {
            if (device is not null)
            {
                await device.DisposeAsync();
            }
        }

        await App.DisposeAsync();
    }

    private async Task InitializeAsync(bool acceptMandate)
    {
        Service = await App.CreateOrganisationAsync();
        OtherService = await App.CreateOrganisationAsync();
        JusticeHouse = await App.CreateOrganisationAsync(OrganisationTypes.JusticeHouse);
        var worker = await App.CreateMemberAsync(Service);
        Worker = await App.ConnectAsync(await App.EnrolDeviceAsync(worker));
        WorkerSecondDevice = await App.ConnectAsync(await App.EnrolDeviceAsync(worker));
        ServiceAdmin = await App.ConnectAsync(Service.Admin);
        OtherWorker = await App.ConnectWorkerAsync(OtherService);
        var assistant = await App.CreateMemberAsync(JusticeHouse, Roles.JusticeAssistant);
        Assistant = await App.ConnectAsync(await App.EnrolDeviceAsync(assistant));
        AssistantSecondDevice = await App.ConnectAsync(await App.EnrolDeviceAsync(assistant));
        OtherAssistant = await App.ConnectWorkerAsync(JusticeHouse, Roles.JusticeAssistant);
        CaseReference = Contracts.Referrals.CaseReference.New();
        Mandate = await ProposeAsync(Worker, CaseReference, assistant.Id);
        if (acceptMandate)
        {
            Mandate = await AcceptAsync(Assistant, Mandate.MandateId);
        }

        ConversationId = (await MessagingApp.CreateConversationAsync(Worker, false, assistant)).ConversationId;
    }
}
