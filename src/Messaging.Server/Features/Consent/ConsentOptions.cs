using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Consent;

/// <summary>Consent limits (section <c>Messaging:Consent</c>).</summary>
public sealed class ConsentOptions
{
    public const string Section = "Messaging:Consent";

    /// <summary>The longest a recorded consent may stay valid.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "366.00:00:00")]
    public TimeSpan MaxValidity { get; set; } = TimeSpan.FromDays(365);
}
