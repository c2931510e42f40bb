using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Partners;

/// <summary>Partner lifecycle deadlines (section <c>Messaging:Partners</c>, protocol section 9).</summary>
public sealed class PartnersOptions
{
    public const string Section = "Messaging:Partners";

    /// <summary>How long partners may object to a join request.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "365.00:00:00")]
    public TimeSpan ObjectionWindow { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The withdrawal notice in calendar months (UTC <c>AddMonths</c>): one month by the protocol.</summary>
    [Range(1, 12)]
    public int WithdrawalNoticeMonths { get; set; } = 1;
}
