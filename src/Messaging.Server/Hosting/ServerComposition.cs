using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Attachments;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Consent;
using Messaging.Server.Features.Connections;
using Messaging.Server.Features.Conversations;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Directory;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Health;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Members;
using Messaging.Server.Features.Notices;
using Messaging.Server.Features.Organisations;
using Messaging.Server.Features.Partners;
using Messaging.Server.Features.RateLimiting;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Features.Reports;
using Messaging.Server.Features.Retention;
using Messaging.Server.Features.Scaleout;
using Messaging.Server.Features.Shutdown;
using Messaging.Server.Features.Telemetry;
using Messaging.Server.Hubs;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Hosting;

/// <summary>The composition root's building blocks: each feature registers and maps itself.</summary>
internal static class ServerComposition
{
    public static IServiceCollection AddMessagingServer(this IServiceCollection services)
    {
        services.AddPersistence(); // first: its hosted service migrates before the others start
        services.AddJobs(); // next: its start-up work re-derives pending jobs from the migrated tables
        services.AddTelemetry(); // after the jobs: its job filter provider replaces Hangfire's
        services.AddLogging(logging =>
        {
            // "Request starting … ?access_token=…": the hosting diagnostics log full URLs, and WebSocket clients carry
            // their bearer token in the query. Keep that category at Warning so tokens never reach a log.
            logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        });
        services.AddErrors();
        services.AddRateLimits();
        services.AddAudit();
        services.AddDeviceAuthentication();
        services.AddOrganisations();
        services.AddMembers();
        services.AddDevices();
        services.AddConversations();
        services.AddEnvelopes();
        services.AddAttachments();
        services.AddDirectory();
        services.AddReferrals();
        services.AddConsent();
        services.AddNotices();
        services.AddPartners();
        services.AddReports();
        services.AddInterviews();
        services.AddDeliveryLedger(); // the email ledger of Interviews and Notices: its expiry sweep
        services.AddHostedService<PickupMailWarning>(); // in Production: says when their emails would go to a pickup folder
        services.AddRetention();
        services.AddHealth();
        services.AddConnectionLimits();
        services.AddMessagingHub();
        services.AddScaleout(); // after the hub: it chooses the backplane and wraps the device signals
        services.AddShutdownDrain(); // after the hub: its filter runs inside the error filter
        return services;
    }

    public static WebApplication UseMessagingServer(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseTelemetry(); // before authentication: the scrape is allowed by where it comes from, not by a token
        app.UseConnectionCeiling();
        app.UseShutdownDrain();
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHealth();
        app.MapDeviceAuthentication();
        app.MapOrganisations();
        app.MapMembers();
        app.MapDevices();
        app.MapDirectory();
        app.MapPartners();
        app.MapReports();
        app.MapAttachments();
        app.MapNotices();
        app.MapHub<MessagingHub>(HubRoutes.Messaging);
        return app;
    }

    private static IServiceCollection AddMessagingHub(this IServiceCollection services)
    {
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<IDatabaseDeviceCheck, DatabaseDeviceCheck>();
        services.AddSingleton<IDeviceSignals, HubDeviceSignals>();
        services.AddSingleton<IPartnerSignals, HubPartnerSignals>();
        services.AddSingleton<HubErrorFilter>();
        services.AddStrictHubProtocol();
        services.AddSignalR(o =>
        {
            o.EnableDetailedErrors = false;
            o.AddFilter<HubErrorFilter>();
        })
            // SignalR reads per-hub options only when they come through AddHubOptions (which marks them as set by the user);
            // a bare AddOptions<HubOptions<THub>>() is ignored and the global 32 KiB default applies. The limits themselves
            // are derived from the envelope options below, after AddHubOptions has copied the global defaults in.
            .AddHubOptions<MessagingHub>(_ => { });
        services.AddOptions<HubOptions<MessagingHub>>().Configure<IOptions<EnvelopesOptions>, IOptions<ConnectionLimitsOptions>>((hub, envelopes, connections) =>
        {
            hub.MaximumReceiveMessageSize = envelopes.Value.MaxHubFrameBytes;
            hub.HandshakeTimeout = connections.Value.HandshakeTimeout;
            // The keep-alive agreement with the SDK (HubKeepAlive): the server waits long enough for an SDK pinging at the
            // longest interval it may use, and pings at the configured interval.
            hub.KeepAliveInterval = connections.Value.HubKeepAliveInterval;
            hub.ClientTimeoutInterval = HubKeepAlive.ClientTimeout;
        });
        return services;
    }
}
