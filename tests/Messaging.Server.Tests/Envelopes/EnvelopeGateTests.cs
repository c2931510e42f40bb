using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Server.Tests.Envelopes;

/// <summary>A feature brings its envelope rules with it: gates registered outside the Envelopes folder run in the send
/// transaction, in their declared order, before anything is written.</summary>
public abstract class EnvelopeGateTests(StorageProvider storage)
{
    /// <summary>A feature of the test's own that refuses invitations in every conversation (as an interview feature might).</summary>
    private sealed class NoInvitationGate : IEnvelopeGate
    {
        // Before the interviews feature's own gate (EnvelopeGateOrder.Interviews), which would ask for a case first.
        public int Order => 150;

        public bool Applies(EnvelopeKind kind) => kind == EnvelopeKind.Invitation;

        public Task CheckAsync(DbSession session, EnvelopeGateContext context)
            => throw new ForbiddenException("This test feature refuses invitations.", ErrorCodes.KindRefused);
    }

    /// <summary>Registered before <see cref="NoInvitationGate"/> but ordered after it.</summary>
    private sealed class LateConflictGate : IEnvelopeGate
    {
        public int Order => 900;

        public bool Applies(EnvelopeKind kind) => true;

        public Task CheckAsync(DbSession session, EnvelopeGateContext context)
            => throw new ConflictException(ErrorCodes.ReferralClosed, "Runs only after the gates ordered before it.");
    }

    /// <summary>Counts the sends it was asked about, and reads the database inside the send's transaction.</summary>
    private sealed class CountingGate : IEnvelopeGate
    {
        public int Calls { get; private set; }

        public long ConversationsSeen { get; private set; }

        public int Order => 10;

        public bool Applies(EnvelopeKind kind) => kind == EnvelopeKind.Invitation;

        public async Task CheckAsync(DbSession session, EnvelopeGateContext context)
        {
            Calls++;
            ConversationsSeen = await session.ScalarInt64Async(
                "SELECT COUNT(*) FROM conversations WHERE id = @id;", ("@id", context.Request.ConversationId)) ?? 0;
        }
    }

    [Fact]
    public async Task AGateRegisteredByAnotherFeature_RefusesItsKind_AndNothingIsStored()
    {
        await using var app = new MessagingApp(storage, configureServices: s => s.AddEnvelopeGate<NoInvitationGate>());
        var organisation = await app.CreateOrganisationAsync();
        await using var a = await app.ConnectWorkerAsync(organisation);
        await using var b = await app.ConnectWorkerAsync(organisation);
        var conversation = await MessagingApp.CreateConversationAsync(a, false, b.Device.Member);

        var before = await app.EnvelopeRowsAsync();
        await Refusal.AssertHubAsync(ErrorCodes.KindRefused, () => MessagingApp.SendAsync(a, conversation.ConversationId, EnvelopeKind.Invitation));
        Assert.Equal(before, await app.EnvelopeRowsAsync());

        // Kinds the gate does not claim pass as before.
        Assert.Equal(SendOutcome.Accepted, (await MessagingApp.SendAsync(a, conversation.ConversationId)).Outcome);
    }

    [Fact]
    public async Task Gates_RunInTheirDeclaredOrder_NotInTheOrderTheyWereRegistered()
    {
        var counting = new CountingGate();
        await using var app = new MessagingApp(storage, configureServices: s =>
        {
            s.AddEnvelopeGate<LateConflictGate>();
            s.AddEnvelopeGate<NoInvitationGate>();
            s.AddSingleton<IEnvelopeGate>(counting);
        });
        var organisation = await app.CreateOrganisationAsync();
        await using var a = await app.ConnectWorkerAsync(organisation);
        await using var b = await app.ConnectWorkerAsync(organisation);
        var conversation = await MessagingApp.CreateConversationAsync(a, false, b.Device.Member);

        await Refusal.AssertHubAsync(ErrorCodes.KindRefused, () => MessagingApp.SendAsync(a, conversation.ConversationId, EnvelopeKind.Invitation));
        Assert.Equal(1, counting.Calls);
        Assert.Equal(1, counting.ConversationsSeen);

        await Refusal.AssertHubAsync(ErrorCodes.ReferralClosed, () => MessagingApp.SendAsync(a, conversation.ConversationId));
        Assert.Equal(1, counting.Calls);
    }

    public sealed class OnSqlite() : EnvelopeGateTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : EnvelopeGateTests(StorageProvider.Postgres);
}
