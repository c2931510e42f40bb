using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>
/// A device its member did not vouch for acts for no one. The attack it stops: an organisation admin issues a reset code
/// for a worker, enrols a device of their own with it (a "ghost" the worker never approved), and uses it, through raw hub
/// calls, to add themselves to the worker's conversations — after which every participant's client would encrypt to the
/// admin. Until an existing device of the member approves it, such a device keeps its own keys up to date, fetches what
/// is addressed to it and reads the directory; every other hub call and HTTP endpoint refuses it with a typed error and
/// changes nothing. The list below is written out here, independently of the server's marks.
/// </summary>
public abstract class AwaitingApprovalTests(StorageProvider storage)
{
    private static readonly string[] AllowedWhileAwaiting =
    [
        nameof(IMessagingHub.WhoAmI), nameof(IMessagingHub.SendEnvelope), nameof(IMessagingHub.AcknowledgeEnvelopes), nameof(IMessagingHub.FetchPending),
        nameof(IMessagingHub.UploadOneTimePreKeys), nameof(IMessagingHub.RotateSignedPreKey), nameof(IMessagingHub.GetKeyLog),
        nameof(IMessagingHub.ListOrganisations), nameof(IMessagingHub.ListMembers), nameof(IMessagingHub.Orient),
    ];

    [Fact]
    public async Task AGhostDevice_CannotAddItsAdminToTheWorkersConversations_NorListThem_AndNothingChanges()
    {
        await using var app = new MessagingApp(storage);
        var world = await WorldAsync(app);
        var ghost = await app.ConnectAsync(await app.EnrolDeviceAsync(world.Worker));
        var before = await CountsAsync(app);

        await AssertAwaitingAsync(() => ghost.Hub.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.AddConversationMember),
            new ConversationMemberRequest(world.ConversationId, world.Admin.Id)));
        await AssertAwaitingAsync(() => ghost.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations)));
        await AssertAwaitingAsync(() => ghost.Hub.InvokeAsync<ConversationDevices>(nameof(IMessagingHub.GetConversationDevices),
            new GetConversationDevicesRequest(world.ConversationId)));
        await AssertAwaitingAsync(() => MessagingApp.CreateConversationAsync(ghost, false, world.Admin));

        Assert.Equal(before, await CountsAsync(app));
        Assert.Equal(2, await app.CountAsync("conversation_members", $"conversation_id = '{world.ConversationId:D}'"));

        // What it may do: its own keys, its own envelopes, the directory.
        Assert.Equal(ghost.Device.Id, (await ghost.Hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI))).DeviceId);
        Assert.NotEmpty((await ghost.Hub.InvokeAsync<KeyLogPage>(nameof(IMessagingHub.GetKeyLog), new GetKeyLogRequest(0, 100))).Entries);
        Assert.Empty((await ghost.Hub.InvokeAsync<PendingEnvelopes>(nameof(IMessagingHub.FetchPending), new FetchPendingRequest(0, 10))).Envelopes);
        Assert.Contains(await ghost.Hub.InvokeAsync<IReadOnlyList<OrganisationEntry>>(nameof(IMessagingHub.ListOrganisations)), o => o.OrganisationId == world.Organisation.Id);
    }

    [Fact]
    public async Task EveryHubCallThatActsForTheMember_IsRefusedToADeviceAwaitingApproval_AndChangesNothing()
    {
        await using var app = new MessagingApp(storage);
        var world = await WorldAsync(app);
        var ghost = await app.ConnectAsync(await app.EnrolDeviceAsync(world.Worker));
        var before = await CountsAsync(app);
        var refused = typeof(IMessagingHub).GetMethods().Where(m => !AllowedWhileAwaiting.Contains(m.Name)).ToList();
        Assert.True(refused.Count > 20, "the hub's methods are listed");

        foreach (var method in refused)
        {
            var arguments = method.GetParameters().Select(p => WellFormed(p.ParameterType, world.ConversationId)).ToArray();
            var answer = await Assert.ThrowsAsync<HubException>(() => ghost.Hub.InvokeCoreAsync<object?>(method.Name, arguments));
            Assert.True(answer.Message.Contains(ErrorCodes.DeviceAwaitingApproval + ":", StringComparison.Ordinal),
                $"{method.Name}: {answer.Message} {string.Join('\n', app.Logs.AboveWarning)}");
        }

        Assert.Equal(before, await CountsAsync(app));
    }

    [Fact]
    public async Task OverHttp_AGhostDevice_IsRefusedWhatActsForItsMember_AndReachesOnlyItsOwnTrustCalls()
    {
        await using var app = new MessagingApp(storage);
        var world = await WorldAsync(app);
        var ghostDevice = await app.EnrolDeviceAsync(world.Worker);
        var ghost = await app.ClientAsync(ghostDevice);

        var revoke = await ghost.PostAsync(ApiRoutes.RevokeDevice.Replace("{deviceId:guid}", world.WorkerDevice.Device.Id.ToString("D"), StringComparison.Ordinal), null);
        Assert.Equal((HttpStatusCode.Forbidden, ErrorCodes.DeviceAwaitingApproval), (revoke.StatusCode, await CodeAsync(revoke)));
        Assert.Equal(1, await app.CountAsync("devices", $"id = '{world.WorkerDevice.Device.Id:D}' AND status = 'active'"));

        var grant = await ghost.GetAsync(TrustRoutes.Grant);
        Assert.Equal((HttpStatusCode.NotFound, ErrorCodes.GrantNotFound), (grant.StatusCode, await CodeAsync(grant)));
    }

    [Fact]
    public async Task OnceApproved_TheDeviceActsForItsMember_AtItsNextCall_OnTheSameConnection()
    {
        await using var app = new MessagingApp(storage);
        var world = await WorldAsync(app);
        var second = await app.ConnectAsync(await app.EnrolDeviceAsync(world.Worker));
        await AssertAwaitingAsync(() => second.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations)));

        var now = app.Clock.GetUtcNow();
        var approval = await (await app.ClientAsync(world.WorkerDevice.Device)).PostAsJsonAsync(TrustRoutes.Approvals, new ApproveDeviceRequest(
            world.MemberKey.Certify(second.Device.Id, second.Device.Keys.Identity.PublicKey, now).ToBytes(), world.MemberKey.SealTo(second.Device.Keys.Identity.PublicKey)));
        Assert.Equal(HttpStatusCode.OK, approval.StatusCode);

        Assert.Contains(await second.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations)), c => c.ConversationId == world.ConversationId);
        Assert.Equal(HttpStatusCode.OK, (await (await app.ClientAsync(second.Device)).GetAsync(TrustRoutes.Grant)).StatusCode);
    }

    [Fact]
    public async Task AMemberWithoutASigningKey_IsNotRestricted_ItsFirstDevicePublishesOne()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var worker = await app.CreateMemberAsync(organisation);
        var colleague = await app.CreateMemberAsync(organisation);
        var device = await app.ConnectAsync(await app.EnrolDeviceAsync(worker));

        var conversation = await MessagingApp.CreateConversationAsync(device, false, colleague);

        Assert.Contains(await device.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations)), c => c.ConversationId == conversation.ConversationId);
    }

    private sealed record World(TestOrganisation Organisation, TestMember Worker, TestMember Admin, ConnectedDevice WorkerDevice, MemberSigningKey MemberKey, Guid ConversationId);

    /// <summary>A worker whose first device published the member key (as every client does at enrolment), in a
    /// conversation with a colleague; the organisation's admin is a member of its own.</summary>
    private static async Task<World> WorldAsync(MessagingApp app)
    {
        var organisation = await app.CreateOrganisationAsync();
        var worker = await app.CreateMemberAsync(organisation);
        var colleague = await app.CreateMemberAsync(organisation);
        var admin = new TestMember(organisation.Admin.Member.Id, organisation.Id, Roles.OrganisationAdmin);
        var first = await app.EnrolDeviceAsync(worker);
        var memberKey = MemberSigningKey.Generate(worker.Id);
        var now = app.Clock.GetUtcNow();
        var published = await (await app.ClientAsync(first)).PostAsJsonAsync(TrustRoutes.MemberKey,
            new PublishMemberKeyRequest(memberKey.Announce(now).ToBytes(), [new CertifiedDevice(memberKey.Certify(first.Id, first.Keys.Identity.PublicKey, now).ToBytes(), null)]));
        Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        var connected = await app.ConnectAsync(first);
        var conversation = await MessagingApp.CreateConversationAsync(connected, false, colleague);
        return new World(organisation, worker, admin, connected, memberKey, conversation.ConversationId);
    }

    private static async Task<(long Members, long Audit, long Referrals, long Conversations, long KeyLog)> CountsAsync(MessagingApp app)
        => (await app.CountAsync("conversation_members"), await app.CountAsync("audit_log"), await app.CountAsync("referrals"),
            await app.CountAsync("conversations"), await app.CountAsync("key_log"));

    private static async Task AssertAwaitingAsync(Func<Task> call)
    {
        var refused = await Assert.ThrowsAsync<HubException>(call);
        Assert.Contains(ErrorCodes.DeviceAwaitingApproval + ":", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>A request of the method's type that binds (each field given a plausible value): the refusal comes before
    /// the call's own checks.</summary>
    private static object WellFormed(Type type, Guid conversationId)
    {
        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        return constructor.Invoke([.. constructor.GetParameters().Select(p => Value(p, conversationId))]);
    }

    private static object? Value(ParameterInfo parameter, Guid conversationId)
    {
        if (parameter.HasDefaultValue)
        {
            return parameter.DefaultValue;
        }

        var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        return type switch
        {
            _ when type == typeof(Uri) => new Uri("https://video.example/room"),
            _ when type == typeof(Guid) => parameter.Name == "ConversationId" ? conversationId : Guid.NewGuid(),
            _ when type == typeof(string) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            _ when type == typeof(DateTimeOffset) => new DateTimeOffset(2030, 1, 7, 9, 0, 0, TimeSpan.Zero),
            _ when type == typeof(DateOnly) => new DateOnly(2030, 1, 7),
            _ when type == typeof(TimeOnly) => new TimeOnly(9, 0),
            _ when type == typeof(byte[]) => new byte[32],
            _ when type == typeof(bool) => false,
            _ when type.IsEnum => Enum.GetValues(type).GetValue(0),
            _ when type.IsPrimitive => Convert.ChangeType(1, type, System.Globalization.CultureInfo.InvariantCulture),
            _ when type.IsArray => Array.CreateInstance(type.GetElementType()!, 0),
            _ when type.IsGenericType && type.GetGenericTypeDefinition() is var g && (g == typeof(IReadOnlyList<>) || g == typeof(List<>) || g == typeof(IList<>)
                || g == typeof(IReadOnlyCollection<>) || g == typeof(IEnumerable<>))
                => Activator.CreateInstance(typeof(List<>).MakeGenericType(type.GetGenericArguments()[0])),
            _ when type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)
                => Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(type.GetGenericArguments())),
            _ when type.IsValueType => Activator.CreateInstance(type),
            _ => WellFormed(type, conversationId),
        };
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
        => (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).TryGetProperty("code", out var code) ? code.GetString() : null;

    public sealed class OnSqlite() : AwaitingApprovalTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : AwaitingApprovalTests(StorageProvider.Postgres);
}
