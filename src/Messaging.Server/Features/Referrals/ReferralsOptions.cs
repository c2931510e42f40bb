using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Referrals;

/// <summary>Referral deadlines (section <c>Messaging:Referrals</c>).</summary>
public sealed class ReferralsOptions
{
    public const string Section = "Messaging:Referrals";

    /// <summary>How long a referral waits for a decision (proposed, and again after a tripartite interview is proposed)
    /// before it expires.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "365.00:00:00")]
    public TimeSpan ResponseWindow { get; set; } = TimeSpan.FromDays(30);
}
