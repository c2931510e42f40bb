namespace Messaging.Server.Features.Conversations;

/// <summary>Conversations' registration: options validated at start-up and the service (conversations are created and joined over the hub).</summary>
internal static class ConversationsFeature
{
    public static IServiceCollection AddConversations(this IServiceCollection services)
    {
        services.AddOptions<ConversationsOptions>().BindConfiguration(ConversationsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ConversationService>();
        return services;
    }
}
