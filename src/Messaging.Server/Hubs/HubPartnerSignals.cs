using Messaging.Contracts;
using Messaging.Server.Features.Partners;
using Microsoft.AspNetCore.SignalR;

namespace Messaging.Server.Hubs;

/// <summary>Announces partnership changes to every connected device (every connected device belongs to a partner or
/// the operator; withdrawn partners' devices are revoked). A failed push is logged and dropped: partners also list
/// join requests.</summary>
internal sealed partial class HubPartnerSignals(IHubContext<MessagingHub, IMessagingClient> hub, ILogger<HubPartnerSignals> logger) : IPartnerSignals
{
    public async Task AnnounceAsync(PartnerAnnouncementDto announcement)
    {
        try
        {
            await hub.Clients.All.PartnerAnnouncement(announcement);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPushFailed(logger, announcement.Kind, announcement.SubjectId, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partner announcement {Kind} {SubjectId} could not be pushed")]
    private static partial void LogPushFailed(ILogger logger, string kind, Guid subjectId, Exception exception);
}
