using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests.Notices;

public abstract class MandateTests(StorageProvider storage)
{
    [Fact]
    public async Task AMandate_IsProposedByTheService_AcceptedByTheAssistant_EndedByEitherSide_AndEachStepAudited()
    {
        await using var world = await NoticeWorld.CreateAsync(acceptMandate: false, storage: storage);
        Assert.Equal(MandateStatus.Proposed, world.Mandate.Status);
        Assert.Equal(world.JusticeHouse.Id, world.Mandate.JusticeHouseId);

        var accepted = await NoticeWorld.AcceptAsync(world.Assistant, world.Mandate.MandateId);
        var again = await NoticeWorld.AcceptAsync(world.AssistantSecondDevice, world.Mandate.MandateId);
        Assert.Equal(MandateStatus.Accepted, accepted.Status);
        Assert.Equal(accepted, again);

        var ended = await NoticeWorld.EndAsync(world.ServiceAdmin, world.Mandate.MandateId);
        Assert.Equal(MandateStatus.Ended, ended.Status);
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'mandate.proposed'"));
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'mandate.accepted'"));
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'mandate.ended'"));
        Assert.DoesNotContain(world.CaseReference, string.Join(" ", (await world.App.QueryRowsAsync("SELECT subjects, detail FROM audit_log")).SelectMany(r => r)),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheAssistant_CanEndAMandate_AndAnEndedMandateCannotBeAcceptedAgain()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);

        Assert.Equal(MandateStatus.Ended, (await NoticeWorld.EndAsync(world.Assistant, world.Mandate.MandateId)).Status);
        await Refusal.AssertHubAsync(ErrorCodes.MandateTransitionRefused, () => NoticeWorld.AcceptAsync(world.Assistant, world.Mandate.MandateId));
    }

    [Fact]
    public async Task OnlyTheAssistant_AcceptsAMandate()
    {
        await using var world = await NoticeWorld.CreateAsync(acceptMandate: false, storage: storage);

        await Refusal.AssertHubAsync(ErrorCodes.MandateTransitionRefused, () => NoticeWorld.AcceptAsync(world.Worker, world.Mandate.MandateId));
        await Refusal.AssertHubAsync(ErrorCodes.MandateNotFound, () => NoticeWorld.AcceptAsync(world.OtherAssistant, world.Mandate.MandateId));
        Assert.Equal(0, await world.App.CountAsync("audit_log", "event_type = 'mandate.accepted'"));
    }

    [Fact]
    public async Task AMandate_IsInvisibleToAnotherServiceAndAnotherAssistant()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);

        await Refusal.AssertHubAsync(ErrorCodes.MandateNotFound, () => NoticeWorld.EndAsync(world.OtherWorker, world.Mandate.MandateId));
        Assert.Empty(await world.OtherWorker.Hub.InvokeAsync<IReadOnlyList<MandateEntry>>(nameof(IMessagingHub.ListMandates)));
        Assert.Empty(await world.OtherAssistant.Hub.InvokeAsync<IReadOnlyList<MandateEntry>>(nameof(IMessagingHub.ListMandates)));
        Assert.Single(await world.Assistant.Hub.InvokeAsync<IReadOnlyList<MandateEntry>>(nameof(IMessagingHub.ListMandates)));
        Assert.Single(await world.ServiceAdmin.Hub.InvokeAsync<IReadOnlyList<MandateEntry>>(nameof(IMessagingHub.ListMandates)));
    }

    [Fact]
    public async Task AMandate_LinksOnlyAJusticeAssistantOfAMaisonDeJustice()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);

        await Refusal.AssertHubAsync(ErrorCodes.MandateNotJusticeAssistant,
            () => NoticeWorld.ProposeAsync(world.Worker, Contracts.Referrals.CaseReference.New(), world.OtherWorker.Device.Member.Id));
        await Refusal.AssertHubAsync(ErrorCodes.MandateNotJusticeAssistant,
            () => NoticeWorld.ProposeAsync(world.Worker, Contracts.Referrals.CaseReference.New(), Guid.NewGuid()));
        await Refusal.AssertHubAsync(ErrorCodes.Forbidden,
            () => NoticeWorld.ProposeAsync(world.Assistant, Contracts.Referrals.CaseReference.New(), world.Assistant.Device.Member.Id));
        await Refusal.AssertHubAsync(ErrorCodes.MandateExists,
            () => NoticeWorld.ProposeAsync(world.Worker, world.CaseReference, world.OtherAssistant.Device.Member.Id));
        Assert.Equal(1, await world.App.CountAsync("mandates"));
    }

    public sealed class OnSqlite() : MandateTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : MandateTests(StorageProvider.Postgres);
}
