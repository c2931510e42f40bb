using Messaging.Contracts;
using Messaging.Server.Persistence;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>
/// One server with a member of every role, each with one connected device: a prevention service A (admin, worker), a
/// second service B (worker), a justice house J (admin, justice assistant) and the platform operator. Shared by the
/// cases of a policy matrix; every case creates its own conversations, so cases never depend on each other.
/// </summary>
public abstract class PolicyWorld(StorageProvider storage) : IAsyncLifetime
{
    public MessagingApp App { get; } = new(storage, new Dictionary<string, string?>
    {
        ["Messaging:RateLimits:ConversationChangesPerWindow"] = "100000",
        ["Messaging:RateLimits:SendsPerWindow"] = "100000",
        ["Messaging:RateLimits:PreKeyBundleFetchesPerWindow"] = "100000",
        ["Messaging:RateLimits:PreKeyUploadsPerWindow"] = "100000",
    });

    public TestOrganisation ServiceA { get; private set; } = null!;

    public TestOrganisation ServiceB { get; private set; } = null!;

    public TestOrganisation JusticeHouse { get; private set; } = null!;

    public TestMember WorkerA { get; private set; } = null!;

    public TestMember WorkerB { get; private set; } = null!;

    public TestMember JusticeAssistant { get; private set; } = null!;

    public Dictionary<string, ConnectedDevice> ByRole { get; } = new(StringComparer.Ordinal);

    public ConnectedDevice WorkerBDevice { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ServiceA = await App.CreateOrganisationAsync();
        ServiceB = await App.CreateOrganisationAsync();
        JusticeHouse = await App.CreateOrganisationAsync(OrganisationTypes.JusticeHouse);
        WorkerA = await App.CreateMemberAsync(ServiceA);
        WorkerB = await App.CreateMemberAsync(ServiceB);
        JusticeAssistant = await App.CreateMemberAsync(JusticeHouse, Roles.JusticeAssistant);
        ByRole[Roles.Worker] = await App.ConnectAsync(await App.EnrolDeviceAsync(WorkerA, 200));
        ByRole[Roles.OrganisationAdmin] = await App.ConnectAsync(ServiceA.Admin);
        ByRole[Roles.JusticeAssistant] = await App.ConnectAsync(await App.EnrolDeviceAsync(JusticeAssistant, 200));
        ByRole[Roles.PlatformOperator] = await App.ConnectAsync(await App.OperatorAsync());
        WorkerBDevice = await App.ConnectAsync(await App.EnrolDeviceAsync(WorkerB, 200));
    }

    public async Task DisposeAsync()
    {
        foreach (var device in ByRole.Values.Append(WorkerBDevice))
        {
            await device.DisposeAsync();
        }

        await App.DisposeAsync();
    }

    public sealed class OnSqlite() : PolicyWorld(StorageProvider.Sqlite);

    public sealed class OnPostgres() : PolicyWorld(StorageProvider.Postgres);
}
