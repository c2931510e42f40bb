using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Authentication;

/// <summary>Challenge and token lifetimes (section <c>Messaging:Authentication</c>).</summary>
public sealed class DeviceAuthOptions
{
    public const string Section = "Messaging:Authentication";

    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan ChallengeLifetime { get; set; } = TimeSpan.FromMinutes(2);

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(15);
}
