using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Members;

/// <summary>Enrolment-code lifetime (section <c>Messaging:Members</c>).</summary>
public sealed class MembersOptions
{
    public const string Section = "Messaging:Members";

    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan EnrolmentCodeLifetime { get; set; } = TimeSpan.FromMinutes(15);
}
