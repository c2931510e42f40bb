using System.Text.Json;
using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests.Notices;

/// <summary>The notice channel's send rule, from the hub: what passes reaches every device of the assistant; everything
/// else is refused with its code and stores nothing.</summary>
public abstract class NoticeGateTests(StorageProvider storage)
{
    public static TheoryData<NoticeKind> Kinds() => [.. Enum.GetValues<NoticeKind>()];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ANoticeUnderAnAcceptedMandate_ReachesEveryDeviceOfTheAssistant_AndIsRecordedByKindOnly(NoticeKind kind)
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var request = await world.BuildNoticeAsync(kind);

        var result = await world.Worker.SendAsync(request);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(new[] { world.Assistant.Device.Id, world.AssistantSecondDevice.Device.Id, world.WorkerSecondDevice.Device.Id }.Order(),
            request.Recipients.Select(r => r.DeviceId).Order());
        Assert.Equal(EnvelopeKind.AttendanceNotice, (await world.Assistant.ReceiveAsync(1))[0].Kind);
        Assert.Equal(EnvelopeKind.AttendanceNotice, (await world.AssistantSecondDevice.ReceiveAsync(1))[0].Kind);
        var row = Assert.Single(await world.App.QueryRowsAsync("SELECT id, mandate_id, kind FROM notices"));
        Assert.Equal(string.Join('|', request.Notice!.NoticeId.ToString("D"), world.Mandate.MandateId.ToString("D"), (int)kind), string.Join('|', row));
        Assert.Equal(1, await world.App.CountAsync("audit_log", $"event_type = 'notice.sent' AND detail = '{NoticeKinds.Name(kind)}'"));
    }

    [Fact]
    public async Task ARelayedNotice_SendsOneContentFreeEmailToTheAssistantsWorkAddress()
    {
        var pickup = Path.Combine(Path.GetTempPath(), "messaging-notice-pickup", Guid.NewGuid().ToString("N"));
        await using var world = await NoticeWorld.CreateAsync(new Dictionary<string, string?> { ["Messaging:Notices:PickupDirectory"] = pickup }, storage: storage);
        var request = await world.BuildNoticeAsync(NoticeKind.RiskToThirdParties);
        await world.Worker.SendAsync(request);

        await world.App.RunDueJobsAsync();
        await WaitForAsync(() => Directory.Exists(pickup) && Directory.GetFiles(pickup, "*.eml").Length == 1);
        await WaitForAsync(async () => await world.App.CountAsync("notices", "email_sent_at IS NOT NULL") == 1);

        var email = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(pickup, "*.eml")));
        Assert.Contains("A notice is waiting", email, StringComparison.Ordinal);
        var assistantEmail = (await world.App.QueryRowsAsync($"SELECT work_email FROM members WHERE id = '{world.Assistant.Device.Member.Id:D}'"))[0][0]!;
        Assert.Contains(assistantEmail, email, StringComparison.Ordinal);
        Assert.DoesNotContain(world.CaseReference, email, StringComparison.Ordinal);
        Assert.DoesNotContain("risk", email, StringComparison.OrdinalIgnoreCase);
        Directory.Delete(pickup, recursive: true);
    }

    [Fact]
    public async Task ANoticeWithoutRouting_IsRefused_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var request = await world.BuildNoticeAsync(NoticeKind.Present);

        await AssertRefusedAsync(world, ErrorCodes.NoticeRoutingInvalid, request with { Notice = null });
        await AssertRefusedAsync(world, ErrorCodes.NoticeRoutingInvalid, request with { CaseReference = null });
        await AssertRefusedAsync(world, ErrorCodes.NoticeRoutingInvalid, request with { Notice = request.Notice! with { NoticeId = Guid.Empty } });
        await AssertRefusedAsync(world, ErrorCodes.NoticeRoutingInvalid, request with { Notice = request.Notice! with { Kind = (NoticeKind)7 } });
        await AssertRefusedAsync(world, ErrorCodes.NoticeRoutingInvalid, request with { Notice = request.Notice! with { Kind = 0 } });
    }

    [Fact]
    public async Task ANoticeCarryingAConsent_IsRefused_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var request = await world.BuildNoticeAsync(NoticeKind.Present);

        await AssertRefusedAsync(world, ErrorCodes.NoticeFieldRefused, request with { ConsentId = Guid.NewGuid() });
    }

    [Theory]
    [InlineData(EnvelopeKind.Chat)]
    [InlineData(EnvelopeKind.SessionControl)]
    public async Task AnotherKindCarryingNoticeRouting_IsRefused_AndNothingIsStored(EnvelopeKind kind)
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var request = await world.BuildNoticeAsync(NoticeKind.NoShow);

        await AssertRefusedAsync(world, ErrorCodes.NoticeRoutingInvalid, request with { Kind = kind });
    }

    [Fact]
    public async Task ANoticeForACaseNotUnderAnAcceptedMandate_IsRefused_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(acceptMandate: false, storage: storage);
        var request = await world.BuildNoticeAsync(NoticeKind.Present);
        await AssertRefusedAsync(world, ErrorCodes.NoticeNoMandate, request);

        await AssertRefusedAsync(world, ErrorCodes.NoticeNoMandate, request with { CaseReference = Contracts.Referrals.CaseReference.New() });

        await NoticeWorld.AcceptAsync(world.Assistant, world.Mandate.MandateId);
        await NoticeWorld.EndAsync(world.Assistant, world.Mandate.MandateId);
        await AssertRefusedAsync(world, ErrorCodes.NoticeNoMandate, request);
    }

    [Fact]
    public async Task ANoticeFromAServiceNotFollowingTheCase_IsRefused_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var conversation = await MessagingApp.CreateConversationAsync(world.OtherWorker, false, world.Assistant.Device.Member);
        var request = await NoticeWorld.BuildNoticeAsync(world.OtherWorker, conversation.ConversationId, world.CaseReference, NoticeKind.NoShow);

        await AssertRefusedAsync(world, ErrorCodes.NoticeNoMandate, request, world.OtherWorker);
    }

    [Fact]
    public async Task ANoticeFromTheAssistant_IsRefusedByTheKindPolicy()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var request = await NoticeWorld.BuildNoticeAsync(world.Assistant, world.ConversationId, world.CaseReference, NoticeKind.Present);

        await AssertRefusedAsync(world, ErrorCodes.KindRefused, request, world.Assistant);
    }

    [Fact]
    public async Task ANoticeToAnotherAssistant_IsRefused_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var conversation = await MessagingApp.CreateConversationAsync(world.Worker, false, world.OtherAssistant.Device.Member);
        var request = await NoticeWorld.BuildNoticeAsync(world.Worker, conversation.ConversationId, world.CaseReference, NoticeKind.NoShow);

        await AssertRefusedAsync(world, ErrorCodes.NoticeWrongRecipient, request);
    }

    [Fact]
    public async Task ANoticeInAConversationWithAThirdMember_IsRefused_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var conversation = await MessagingApp.CreateConversationAsync(world.Worker, false, world.Assistant.Device.Member, world.ServiceAdmin.Device.Member);
        var request = await NoticeWorld.BuildNoticeAsync(world.Worker, conversation.ConversationId, world.CaseReference, NoticeKind.NoShow);

        await AssertRefusedAsync(world, ErrorCodes.NoticeWrongRecipient, request);
    }

    [Fact]
    public async Task ANoticeAddressedToADeviceOutsideTheConversation_IsRefused_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var request = await world.BuildNoticeAsync(NoticeKind.Present);

        await AssertRefusedAsync(world, ErrorCodes.NoticeWrongRecipient,
            request with { Recipients = [.. request.Recipients, new RecipientCiphertext(world.OtherAssistant.Device.Id, Ciphertexts.Random(64))] });
        await AssertRefusedAsync(world, ErrorCodes.NoticeWrongRecipient, request with { Unreachable = [world.OtherWorker.Device.Id] });
    }

    [Fact]
    public async Task TheSameNoticeTwice_OrTwoNoticesOfOneKindForOneInterview_AreRefused_WhileAnotherMandateOnTheCaseReportsOnItsOwn()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var (caseReference, interview) = await world.InterviewAsync(TimeSpan.FromMinutes(5));
        world.App.Clock.Advance(TimeSpan.FromMinutes(10));
        Task<SendEnvelopeRequest> Notice(NoticeKind kind) => NoticeWorld.BuildNoticeAsync(world.Worker, world.ConversationId, caseReference, kind, interview);
        var first = await Notice(NoticeKind.NoShow);
        Assert.Equal(SendOutcome.Accepted, (await world.Worker.SendAsync(first)).Outcome);

        // The same envelope again is the idempotent repeat of the first acceptance; a new envelope is another notice.
        Assert.Equal(SendOutcome.Accepted, (await world.Worker.SendAsync(first)).Outcome);
        var replay = (await Notice(NoticeKind.Present)) with { Notice = first.Notice };
        await AssertRefusedAsync(world, ErrorCodes.NoticeDuplicate, replay);
        await AssertRefusedAsync(world, ErrorCodes.NoticeDuplicate, await Notice(NoticeKind.NoShow));
        Assert.Equal(SendOutcome.Accepted, (await world.Worker.SendAsync(await Notice(NoticeKind.RiskToPerson))).Outcome);

        // The other service on the case, a participant of the interview, follows the person too under its own mandate:
        // its no-show notice about the same interview is its own, not a duplicate.
        await NoticeWorld.AcceptAsync(world.Assistant,
            (await NoticeWorld.ProposeAsync(world.OtherWorker, caseReference, world.Assistant.Device.Member.Id)).MandateId);
        var otherConversation = (await MessagingApp.CreateConversationAsync(world.OtherWorker, false, world.Assistant.Device.Member)).ConversationId;
        Assert.Equal(SendOutcome.Accepted, (await world.OtherWorker.SendAsync(await NoticeWorld.BuildNoticeAsync(world.OtherWorker, otherConversation,
            caseReference, NoticeKind.NoShow, interview))).Outcome);
        Assert.Equal(3, await world.App.CountAsync("notices"));
    }

    [Fact]
    public async Task ANoticeNamingAnInterview_UnknownForeignOfAnotherCaseOrNotStarted_IsRefusedWithItsCode_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var (caseReference, interview) = await world.InterviewAsync(TimeSpan.FromMinutes(5));

        // Another service's interview: the second service organises it with a third one; the following service has no
        // part in it (it may still know its id: a UID is the interview id).
        var third = await world.App.CreateOrganisationAsync();
        await using var thirdWorker = await world.App.ConnectWorkerAsync(third);
        var (_, foreign) = await world.InterviewAsync(TimeSpan.FromMinutes(5), world.OtherWorker, thirdWorker, mandated: false);
        Task<SendEnvelopeRequest> Notice(Guid id, string? under = null)
            => NoticeWorld.BuildNoticeAsync(world.Worker, world.ConversationId, under ?? caseReference, NoticeKind.NoShow, id);

        await AssertRefusedAsync(world, ErrorCodes.NoticeInterviewNotStarted, await Notice(interview));
        world.App.Clock.Advance(TimeSpan.FromMinutes(10));
        await AssertRefusedAsync(world, ErrorCodes.NoticeInterviewUnknown, await Notice(foreign));
        await AssertRefusedAsync(world, ErrorCodes.NoticeInterviewUnknown, await Notice(Guid.NewGuid()));
        await AssertRefusedAsync(world, ErrorCodes.NoticeInterviewOtherCase, await Notice(interview, world.CaseReference));
        Assert.Equal(0, await world.App.CountAsync("notices"));

        // The refusals blocked nothing: the host's own notice about its started interview goes through.
        Assert.Equal(SendOutcome.Accepted, (await world.Worker.SendAsync(await Notice(interview))).Outcome);
        Assert.Equal(1, await world.App.CountAsync("notices", $"interview_id = '{interview:D}'"));
    }

    [Theory]
    [InlineData(EnvelopeKind.Referral)]
    [InlineData(EnvelopeKind.ReferralResponse)]
    [InlineData(EnvelopeKind.IdentityShare)]
    [InlineData(EnvelopeKind.CaseFile)]
    public async Task AJusticeAssistantUnderMandate_NeverReceivesAReferralIdentityOrCaseFileEnvelope(EnvelopeKind kind)
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var request = await MessagingApp.BuildCaseSendAsync(world.Worker, world.ConversationId, kind, world.CaseReference);

        await AssertRefusedAsync(world, ErrorCodes.KindRefused, request);
    }

    [Fact]
    public async Task ARawNoticeWithAFreeTextField_IsRefusedByTheHub_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var request = await world.BuildNoticeAsync(NoticeKind.JustifiedAbsence);
        var before = await world.RowsAsync();
        await using var raw = await RawHubConnection.ConnectAsync(world.App, world.Worker.Device);
        var json = JsonSerializer.SerializeToNode(request, JsonSerializerOptions.Web)!.AsObject();
        json["notice"]!.AsObject()["justification"] = "Jean was ill, see the doctor's note";

        var outcome = await raw.InvokeAsync(nameof(IMessagingHub.SendEnvelope), "[" + json.ToJsonString() + "]");

        Assert.False(outcome.Success);
        Assert.Equal(before, await world.RowsAsync());
    }

    [Fact]
    public async Task ARawNoticeWithAnUnknownKindNumber_IsRefusedByTheHub_AndNothingIsStored()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var request = await world.BuildNoticeAsync(NoticeKind.Present);
        var before = await world.RowsAsync();
        await using var raw = await RawHubConnection.ConnectAsync(world.App, world.Worker.Device);
        var json = JsonSerializer.SerializeToNode(request, JsonSerializerOptions.Web)!.AsObject();
        json["notice"]!.AsObject()["kind"] = 42;

        var outcome = await raw.InvokeAsync(nameof(IMessagingHub.SendEnvelope), "[" + json.ToJsonString() + "]");

        Assert.Equal(ErrorCodes.NoticeRoutingInvalid, outcome.Code);
        Assert.Equal(before, await world.RowsAsync());
    }

    private static async Task AssertRefusedAsync(NoticeWorld world, string code, SendEnvelopeRequest request, ConnectedDevice? from = null)
    {
        var before = await world.RowsAsync();
        await Refusal.AssertHubAsync(code, () => (from ?? world.Worker).SendAsync(request));
        Assert.Equal(before, await world.RowsAsync());
    }

    private static async Task WaitForAsync(Func<bool> condition) => await WaitForAsync(() => Task.FromResult(condition()));

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), "the condition did not hold in time");
            await Task.Delay(20);
        }
    }

    public sealed class OnSqlite() : NoticeGateTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : NoticeGateTests(StorageProvider.Postgres);
}
